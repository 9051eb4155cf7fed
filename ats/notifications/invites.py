"""The iCalendar invite (RFC 5545, with RFC 5546's METHOD) an interview's mail carries.

One event per interview: its UID never changes, so every calendar that imported the first
invite updates that event when a later one arrives with a higher SEQUENCE, and removes it on
METHOD:CANCEL. Times are UTC (a trailing Z): no time zone definitions to ship or get wrong.
Replies are not asked for (RSVP=FALSE): the organizer is the system's sending address.
"""
from datetime import datetime, timezone
from email.utils import parseaddr

from icalendar import Calendar, Event, vCalAddress, vText

from ats.common.schemas import idna_domain

REQUEST, CANCEL = "REQUEST", "CANCEL"
PRODUCT = "-//ATS//Interviews//EN"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def uid(interview, sender: str) -> str:
    """interview-<id>.<creation time>@<the sender's domain>: the same for every mail about the
    interview, and unique across databases that both have an interview 1."""
    created = int((interview.created_at - _EPOCH).total_seconds() * 1_000_000)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    try:
        domain = idna_domain(domain)
    except ValueError:
        domain = "localhost"
    return f"interview-{interview.id}.{created:x}@{domain}"


def _address(name: str, email: str, **params) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    address.params["CN"] = vText(name)
    for key, value in params.items():
        address.params[key.replace("_", "-").upper()] = vText(value)
    return address


def invite(interview, *, method: str, sequence: int, stamp: datetime, organizer: tuple[str, str],
           attendees: list[tuple[str, str]], summary: str, description: str, sender: str) -> bytes:
    """The VCALENDAR of one VEVENT; organizer and attendees are (name, email)."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    event = Event()
    event.add("uid", uid(interview, sender))
    event.add("sequence", sequence)
    event.add("dtstamp", stamp.astimezone(timezone.utc))
    event.add("dtstart", interview.starts_at.astimezone(timezone.utc))
    event.add("dtend", interview.ends_at.astimezone(timezone.utc))
    event.add("summary", summary)
    event.add("description", description)
    if interview.location:
        event.add("location", interview.location)
    if interview.meeting_url:
        event.add("url", interview.meeting_url)
    event.add("status", "CANCELLED" if method == CANCEL else "CONFIRMED")
    event.add("transp", "OPAQUE")
    event["organizer"] = _address(*organizer)
    for name, email in attendees:
        event.add("attendee", _address(name, email, cutype="INDIVIDUAL", role="REQ-PARTICIPANT",
                                       partstat="NEEDS-ACTION", rsvp="FALSE"), encode=False)
    calendar.add_component(event)
    return calendar.to_ical()
