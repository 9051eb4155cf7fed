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
    """Collects every message the SMTP server accepted. Modes: accept, reject (451), slow."""

    def __init__(self):
        self.port = free_port()
        self.messages: list[email.message.EmailMessage] = []
        self.mode = "accept"
        self.delay = 0.0
        self.rcpt_started = threading.Event()  # set when a slow session is under way
        self._lock = threading.Lock()
        self._controller = None

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.mode == "reject":
            return "451 4.3.0 Try again later"
        if self.mode == "slow":  # hold the session before any data arrives
            self.rcpt_started.set()
            import asyncio
            await asyncio.sleep(self.delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted"

    # control
    def start(self):
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def reset(self):
        with self._lock:
            self.messages.clear()
        self.mode, self.delay = "accept", 0.0
        self.rcpt_started.clear()

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in m["To"]]

    def wait_for(self, count: int, timeout: float = 30.0) -> list:
        """Wait until at least count messages arrived; return them all."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.messages)


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()
