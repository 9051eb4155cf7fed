"""Every kind of notification, in one table: its channel, what it says (a subject, and the
templates `templates/<kind>.txt` and `.html` for mail) and what else it needs. A new kind
is a row here (and its templates); the code that records it names it."""
from dataclasses import dataclass

from ats.notifications import invites

EMAIL, WEBHOOK = "email", "webhook"  # the channels of ats.notifications.channels

APPLICATION_RECEIVED, NEW_APPLICATION, STAGE_CHANGED, APPLICATION_WITHDRAWN = (
    "application_received", "new_application", "stage_changed", "application_withdrawn")
INTERVIEW_SCHEDULED, INTERVIEW_UPDATED, INTERVIEW_CANCELLED, INTERVIEW_REMINDER = (
    "interview_scheduled", "interview_updated", "interview_cancelled", "interview_reminder")
PASSWORD_RESET = "password_reset"


@dataclass(frozen=True)
class Kind:
    subject: str  # formatted with the templates' context
    channel: str = EMAIL
    invite: str | None = None  # the METHOD of the iCalendar invite the mail carries
    # waits for its send_after, and goes only while the interview still has that time
    reminder: bool = False
    listed: bool = True  # among its application's notifications (a password reset has none)


KINDS = {
    APPLICATION_RECEIVED: Kind("Your application for {job} at {company}"),
    NEW_APPLICATION: Kind("New application for {job}: {candidate}"),
    STAGE_CHANGED: Kind("Your application for {job} at {company}: now {to_stage}"),
    APPLICATION_WITHDRAWN: Kind("Application withdrawn for {job}: {candidate}"),
    INTERVIEW_SCHEDULED: Kind("Interview for {job} at {company}: {when}", invite=invites.REQUEST),
    INTERVIEW_UPDATED: Kind("Interview moved for {job} at {company}: {when}",
                            invite=invites.REQUEST),
    INTERVIEW_CANCELLED: Kind("Interview cancelled for {job} at {company}: {when}",
                              invite=invites.CANCEL),
    INTERVIEW_REMINDER: Kind("Reminder: interview for {job} at {company}, {when}", reminder=True),
    PASSWORD_RESET: Kind("Reset your password", listed=False),
}
