"""The email channel's side of delivery: a mail notification read in one query, checked
(is its recipient still active, does a reminder's interview still have that time) and
built into its message; and which failures no later attempt can change."""
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ats.extensions import db
from ats.models import (INTERVIEW_SCHEDULED, Application, Interview, InterviewInterviewer, Job,
                        Notification, User)
from ats.notifications import smtp
from ats.notifications.kinds import KINDS
from ats.notifications.messages import Superseded, UndeliverableAddress, build_message

RECIPIENT_DEACTIVATED = "recipient deactivated"
RECIPIENT_ERASED = "recipient erased"
REMINDER_MOVED = "interview changed: a reminder of its new state replaces this one"
REMINDER_CANCELLED = "interview cancelled"


def message_for(notification_id: int):
    """The mail and its notification (detached, for the log), built from one query (not one
    per relation it names). No transaction stays open while SMTP talks."""
    application = joinedload(Notification.application)
    notification, recipient_name, recipient_active, recipient_erased = db.session.execute(
        select(Notification, User.name, User.is_active, User.erased_at.is_not(None))
        .join(User, User.id == Notification.recipient_id)
        .where(Notification.id == notification_id).options(
            application.joinedload(Application.job).joinedload(Job.company),
            application.joinedload(Application.candidate),
            joinedload(Notification.history), joinedload(Notification.password_reset),
            joinedload(Notification.interview).selectinload(Interview.seats)
            .joinedload(InterviewInterviewer.user))).one()
    try:
        if not recipient_active:  # deactivated since the mail was recorded (or resent): never
            raise UndeliverableAddress(RECIPIENT_ERASED if recipient_erased
                                       else RECIPIENT_DEACTIVATED)
        interview = notification.interview
        if KINDS[notification.kind].reminder and (
                interview.status != INTERVIEW_SCHEDULED
                or interview.sequence != notification.interview_sequence):
            # a reminder of a time the interview no longer has: never
            raise Superseded(REMINDER_CANCELLED if interview.status != INTERVIEW_SCHEDULED
                             else REMINDER_MOVED)
        return build_message(notification, recipient_name), notification
    finally:
        db.session.expunge(notification)
        db.session.rollback()  # end the read


def refused_for_good(error: BaseException) -> bool:
    """An address no server takes, a reminder superseded, or a permanent SMTP refusal."""
    return isinstance(error, (UndeliverableAddress, Superseded)) or smtp.refused_for_good(error)


def trace(notification: Notification) -> dict:
    """What a log line tells of a notification: never its address or its body."""
    return {"notification_id": notification.id, "kind": notification.kind,
            "attempt": notification.attempts, "request_id": notification.request_id}
