"""A real SMTP server (aiosmtpd) in the test process, and what it received."""
import email
import email.policy
import socket
import threading
import time

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """Collects every message the SMTP server accepted. Modes: accept, reject (451 at RCPT),
    slow, and the permanent refusals refuse (550 at RCPT), refuse_sender (553 at MAIL) and
    refuse_data (554 after the data, whose bytes are kept in `refused`)."""

    def __init__(self):
        self.port = free_port()
        self._received: list[bytes] = []  # as the server acknowledged them
        self._parsed: list[email.message.EmailMessage] = []
        self.arrived_at: list[float] = []  # time.monotonic() of each message, in order
        self.peers: list[tuple] = []  # the client's address of each message: one per connection
        self.envelopes: list[tuple[str, list[str]]] = []  # (MAIL FROM, RCPT TOs) of each message
        self.refused: list[bytes] = []  # messages whose data the server refused
        self.mode = "accept"
        self.delay = 0.0
        self.rcpt_started = threading.Event()  # set when a slow session is under way
        self._lock = threading.Lock()
        self._controller = None

    # aiosmtpd handler hooks
    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.mode == "refuse_sender":
            return "553 5.7.1 Sender address rejected"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.mode == "reject":
            return "451 4.3.0 Try again later"
        if self.mode == "refuse":
            return "550 5.1.1 No such user here"
        if self.mode == "slow":  # hold the session before any data arrives
            self.rcpt_started.set()
            import asyncio
            await asyncio.sleep(self.delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        # keep the bytes: parsing MIME here (about 1 ms) would delay every 250 reply
        with self._lock:
            if self.mode == "refuse_data":
                self.refused.append(envelope.content)
                return "554 5.6.0 Message refused"
            self._received.append(envelope.content)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.arrived_at.append(time.monotonic())
            self.peers.append(session.peer)
        return "250 Message accepted"

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        """Every message accepted so far, in order, parsed."""
        with self._lock:
            for content in self._received[len(self._parsed):]:
                self._parsed.append(email.message_from_bytes(content, policy=email.policy.default))
            return list(self._parsed)

    # control
    def start(self):
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def restart(self):
        """Go away and come back on the same port: every open SMTP session is cut."""
        self.stop()
        self.start()

    def reset(self):
        with self._lock:
            self._received.clear()
            self._parsed.clear()
            self.arrived_at.clear()
            self.peers.clear()
            self.envelopes.clear()
            self.refused.clear()
        self.mode, self.delay = "accept", 0.0
        self.rcpt_started.clear()

    @property
    def raw(self) -> list[bytes]:
        """Every message accepted so far, in order, as the server received it."""
        with self._lock:
            return list(self._received)

    def to(self, address: str) -> list:
        return [m for m in self.messages if recipient(m) == address]

    def wait_for(self, count: int, timeout: float = 30.0) -> list:
        """Wait until at least count messages arrived; return them all."""
        deadline = time.monotonic() + timeout
        while len(self._received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.messages)


def recipient(message) -> str:
    """The address a mail's To header names (the header carries the name too)."""
    (address,) = message["To"].addresses
    return address.addr_spec


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()
