"""What each notification says: subject and plain-text and HTML bodies from Jinja templates,
in a mail whose headers no field can break.

Every header is rendered here as plain ASCII and stored as is (compat32 storage, folded at
spaces only): the email package's modern header API re-parses what it is given and, on
Python 3.11, folds some display names holding ":" or "=?" into extra addresses. Whatever a
name or title holds, line breaks and other unprintable characters become spaces first; a
name that is not plain ASCII words goes out as RFC 2047 encoded-words, which carry no
character a header could mistake for structure. Addresses go out in their ASCII form (an
internationalised domain as IDNA).
"""
import base64
import re
from datetime import datetime, timedelta, timezone
from email.charset import QP, Charset
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formatdate, parseaddr
from urllib.parse import urlencode

from flask import current_app
from flask_mail import Message
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ats.common import reset_tokens
from ats.common.schemas import LOCAL_PART, idna_domain, is_printable_char
from ats.models import Notification
from ats.notifications import invites
from ats.notifications.kinds import KINDS

_templates = Environment(loader=PackageLoader("ats.notifications", "templates"),
                         autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                         trim_blocks=True, lstrip_blocks=True)

_EPOCH, _MICROSECOND = datetime(1970, 1, 1, tzinfo=timezone.utc), timedelta(microseconds=1)


class UndeliverableAddress(ValueError):
    """An address no SMTP server takes (a non-ASCII local part, a domain without an IDNA
    form): sending again cannot help."""


class Superseded(ValueError):
    """A mail about a state that is gone (a reminder of an interview since moved or
    cancelled): sending it later cannot help either."""


def header_text(text: str) -> str:
    """text as one header line: every unprintable character (line breaks, escapes) becomes
    a space, and runs of spaces one."""
    return " ".join("".join(c if is_printable_char(c) else " " for c in text).split())


def smtp_address(address: str) -> str:
    """address as an SMTP server takes it: an ASCII local part, the domain in IDNA."""
    local, _, domain = address.rpartition("@")
    if not LOCAL_PART.fullmatch(local):
        # the address itself stays out of the message: it reaches the logs
        raise UndeliverableAddress("the part before the @ is not ASCII letters, digits and "
                                   "punctuation: no mail server takes it")
    try:
        return f"{local}@{idna_domain(domain)}".lower()
    except ValueError:
        raise UndeliverableAddress("the domain has no IDNA form") from None


_PLAIN_WORDS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+")  # RFC 5322 atoms and spaces


def encoded_words(text: str) -> str:
    """text as RFC 2047 encoded-words (UTF-8, base64), each under the 75 characters the RFC
    allows, never splitting a character; the spaces between them are dropped when decoded."""
    chunks, chunk = [], b""
    for char in text:
        octets = char.encode()
        if len(chunk) + len(octets) > 45:  # 45 octets -> 60 base64 characters, 72 in all
            chunks.append(chunk)
            chunk = b""
        chunk += octets
    chunks.append(chunk)
    return " ".join(f"=?utf-8?b?{base64.b64encode(c).decode('ascii')}?=" for c in chunks)


def address_header(name: str, address: str) -> str:
    """`Name <address>` for From and To, safe whatever name holds."""
    address, name = smtp_address(address), header_text(name)
    if not name:
        return address
    # Anything but plain words ("Smith, Eve", "Zoë", a literal "=?", which would read as an
    # encoded-word) goes encoded: a quoted-string folded across lines trips older parsers.
    plain = _PLAIN_WORDS.fullmatch(name) and "=?" not in name
    return f"{name if plain else encoded_words(name)} <{address}>"


def subject_header(text: str) -> str | Header:
    text = header_text(text)
    if text.isascii() and "=?" not in text:
        return text
    return Header(text, "utf-8")  # encoded-words, split where a line would grow too long


def message_id(notification: Notification, sender: str) -> str:
    """The same on every attempt and resend of a notification, so a mail sent twice (a crash
    between the server's "250" and the commit) is recognisable as one. The creation time
    keeps it unique across databases that both have a notification 1."""
    created = (notification.created_at - _EPOCH) // _MICROSECOND
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    try:
        domain = idna_domain(domain)
    except ValueError:
        domain = "localhost"
    return f"<notification-{notification.id}.{created:x}@{domain}>"


# headers stored as rendered above and never re-parsed; CRLF as SMTP wants it
_POLICY = compat32.clone(linesep="\r\n")
_BODY_CHARSET = Charset("utf-8")
_BODY_CHARSET.body_encoding = QP  # 7-bit clean through any relay, still readable


class Mail(Message):
    """A flask-mail Message (its connection sends it) whose MIME form is built here.

    The envelope names the bare addresses; the From and To headers carry the names.

    An invite (calendar: the iCalendar bytes, with its METHOD) is laid out as Gmail sends
    one, which Outlook, Apple Mail and Thunderbird all read:

        multipart/mixed
          multipart/alternative
            text/plain
            text/html
            text/calendar; method=REQUEST; charset=utf-8   (what clients show as an invite)
          application/ics; name="invite.ics"               (the same bytes, as a file to import)
    """

    def __init__(self, *, to: tuple[str, str], sender: tuple[str, str], message_id: str,
                 calendar: bytes | None = None, method: str | None = None, **kwargs):
        super().__init__(recipients=[smtp_address(to[1])], sender=smtp_address(sender[1]),
                         **kwargs)
        self.to_header, self.from_header = address_header(*to), address_header(*sender)
        self.msgId = message_id
        self.calendar, self.method = calendar, method

    def _calendar_parts(self) -> tuple:
        inline = MIMEText(self.calendar.decode("utf-8"), "calendar", _BODY_CHARSET, policy=_POLICY)
        # as invites are sent: the method first, the charset bare
        inline.replace_header("Content-Type", f"text/calendar; method={self.method}; charset=utf-8")
        attached = MIMEApplication(self.calendar, "ics", policy=_POLICY, name="invite.ics")
        attached.add_header("Content-Disposition", "attachment", filename="invite.ics")
        return inline, attached

    def _message(self) -> MIMEMultipart:
        message = MIMEMultipart("alternative", policy=_POLICY)
        message.attach(MIMEText(self.body, "plain", _BODY_CHARSET, policy=_POLICY))
        message.attach(MIMEText(self.html, "html", _BODY_CHARSET, policy=_POLICY))
        if self.calendar is not None:
            inline, attached = self._calendar_parts()
            message.attach(inline)
            message = MIMEMultipart("mixed", _subparts=[message, attached], policy=_POLICY)
        message["Subject"] = subject_header(self.subject)
        message["From"] = self.from_header
        message["To"] = self.to_header
        message["Date"] = formatdate(self.date, usegmt=True)
        message["Message-ID"] = self.msgId
        return message


def _context(notification: Notification, recipient_name: str) -> dict:
    """What the templates of the notification's kind say."""
    if notification.password_reset is not None:
        token = reset_tokens.token_for(notification.password_reset)
        page = current_app.config["PASSWORD_RESET_URL"]
        return {"name": recipient_name, "token": token, "minutes": reset_tokens.VALID_MINUTES,
                "link": f"{page}?{urlencode({'token': token})}" if page else None}
    application = notification.application
    job = application.job
    context = {
        "job": job.title,
        "company": job.company.name,
        "candidate": application.candidate.name,
        "application_id": application.id,
        "from_stage": notification.history.from_stage if notification.history else None,
        "to_stage": notification.history.to_stage if notification.history else None,
        # why it ended: for staff only (the candidate's own mails never carry a reason)
        "reason": (notification.history.reason.replace("_", " ")
                   if notification.history and notification.history.reason
                   and notification.recipient_id != application.candidate_id else None),
    }
    if notification.interview is not None:
        context.update(_interview_context(notification), name=recipient_name)
    return context


def _when(interview) -> str:
    """Wednesday 2 December 2026, 14:00-15:00 UTC"""
    start, end = interview.starts_at, interview.ends_at
    day = f"{start:%A} {start.day} {start:%B %Y}"
    return f"{day}, {start:%H:%M}-{end:%H:%M} UTC" if start.date() == end.date() else \
        f"{day}, {start:%H:%M} UTC to {end:%A} {end.day} {end:%B %Y}, {end:%H:%M} UTC"


def _interview_context(notification: Notification) -> dict:
    interview = notification.interview
    return {
        "when": _when(interview),
        "duration_minutes": interview.duration_minutes,
        "location": interview.location,
        "meeting_url": interview.meeting_url,
        "interviewers": [user.name for user in interview.interviewers],
        "to_candidate": notification.recipient_id == notification.application.candidate_id,
    }


def _invite(notification: Notification, context: dict, sender: str) -> bytes:
    """The invite of an interview mail: everyone on it, or for a cancellation sent to an
    interviewer taken off the interview, that interviewer alone."""
    interview = notification.interview
    candidate = notification.application.candidate
    # an erased candidate is no attendee: their placeholder address would only bounce
    people = [(candidate.name, candidate.email)] * (candidate.erased_at is None) + [
        (user.name, user.email) for user in interview.interviewers]
    method = KINDS[notification.kind].invite
    if (method == invites.CANCEL
            and notification.recipient not in {email for _, email in people}):
        people = [(context["name"], notification.recipient)]
    organizer = (context["company"], parseaddr(sender)[1] or "no-reply@localhost")
    return invites.invite(
        interview, method=method,
        sequence=notification.interview_sequence, stamp=notification.created_at,
        organizer=organizer, attendees=people, sender=sender,
        summary=f"Interview: {context['candidate']} for {context['job']} ({context['company']})",
        description="\n".join(filter(None, [
            f"Interview for {context['job']} at {context['company']}.",
            f"Interviewers: {', '.join(context['interviewers'])}.",
            f"Where: {interview.location}" if interview.location else None,
            f"Join: {interview.meeting_url}" if interview.meeting_url else None])))


def build_message(notification: Notification, recipient_name: str) -> Mail:
    context = _context(notification, recipient_name)
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    kind = KINDS[notification.kind]
    return Mail(
        calendar=_invite(notification, context, sender) if kind.invite else None,
        method=kind.invite, subject=header_text(kind.subject.format(**context)),
        to=(recipient_name, notification.recipient),
        sender=parseaddr(sender),
        message_id=message_id(notification, sender),
        body=_templates.get_template(f"{notification.kind}.txt").render(context),
        html=_templates.get_template(f"{notification.kind}.html").render(context),
    )
