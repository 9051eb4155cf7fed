"""The SMTP side of delivery: mail goes out over one kept connection inside kept_open()
(the worker's whole life, an inline batch), else on a connection of its own, or to the
console when no MAIL_SERVER is set.
"""
import logging
import smtplib
import time
from contextvars import ContextVar

from flask import current_app

from ats.common.context import kept
from ats.extensions import mail

log = logging.getLogger(__name__)


def _hung_up(error: BaseException) -> bool:
    """The server closed the session (it went away, or answered 421 "closing channel"), as
    opposed to refusing the mail or not answering in time."""
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return not isinstance(error.__context__, TimeoutError)
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code == 421


def refused_for_good(error: BaseException) -> bool:
    """The server refused this mail with a permanent (5xx) answer: to its sender, its
    recipient or its data. Sending again cannot help. Anything else (no connection, a
    timeout, a 4xx, a greeting or login refused: the server's state, not the mail's) is
    temporary."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(
            500 <= code < 600 for code, _ in error.recipients.values())
    if isinstance(error, (smtplib.SMTPSenderRefused, smtplib.SMTPDataError)):
        return 500 <= error.smtp_code < 600
    return False


class _SmtpLink:
    """One SMTP connection for many mails: a new one per mail costs a connect, the greeting
    and EHLO (and STARTTLS and a login on a real relay) before every mail.

    Any error drops the connection, since its state is then unknown; the next mail opens a
    new one. If the server has hung up on a connection kept from an earlier mail (idle
    timeout, restart, a per-connection limit), the mail goes once more on a new connection
    within the same attempt. Like any retry, that resends only if the server kept a mail
    but the line broke before its "250": the window SMTP itself leaves open.
    """

    IDLE_SECONDS = 10  # a connection quiet for longer is replaced, not trusted

    def __init__(self):
        self._connection = None
        self._last_used = 0.0

    def send(self, message) -> None:
        if self._connection is not None and time.monotonic() - self._last_used > self.IDLE_SECONDS:
            self.close()
        kept = self._connection is not None
        try:
            self._send_once(message)
        except BaseException as error:
            if not (kept and _hung_up(error)):
                raise
            self._send_once(message)  # on a new connection, within the same attempt
        self._last_used = time.monotonic()

    def _send_once(self, message) -> None:
        if self._connection is None:
            self._connection = self._connect()
        try:
            self._connection.send(message)
        except BaseException:  # a job timeout too: the session's state is unknown now
            self._drop()
            raise

    @staticmethod
    def _connect():
        connection = mail.connect()
        connection.__enter__()  # what `with mail.connect()` does: connect, STARTTLS, login
        if connection.host is not None:  # None while flask-mail suppresses sending
            # an SMTP server that stops answering cannot hold the worker (QUIT included)
            connection.host.sock.settimeout(current_app.config["MAIL_SEND_TIMEOUT"])
        return connection

    def _take_host(self):
        """The open smtplib session, if any; the link holds none afterwards."""
        connection, self._connection = self._connection, None
        return connection.host if connection is not None else None

    def _drop(self) -> None:
        if (host := self._take_host()) is not None:
            host.close()

    def close(self) -> None:
        if (host := self._take_host()) is not None:
            try:
                host.quit()
            except (smtplib.SMTPException, OSError):
                host.close()


_kept_link: ContextVar[_SmtpLink | None] = ContextVar("kept_smtp_link", default=None)


def kept_open():
    """Inside the block, the mails this thread sends share one SMTP connection."""
    return kept(_kept_link, _SmtpLink())


def send(message) -> None:
    """Send one mail: over the kept connection inside kept_open(), else on its own one."""
    if not current_app.config["MAIL_SERVER"]:  # zero-setup mode: the mail goes to the console
        log.info("mail (not sent: MAIL_SERVER is unset)\nTo: %s\nSubject: %s\n\n%s",
                 ", ".join(message.recipients), message.subject, message.body)
    elif (link := _kept_link.get()) is not None:
        link.send(message)
    else:
        mail.send(message)
