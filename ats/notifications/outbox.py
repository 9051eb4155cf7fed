"""The outbox: notifications recorded in the caller's transaction, handed to their
channel's queue after its commit (or delivered inline without Redis).

A row never lost: one that cannot be queued now stays pending, and the worker's sweep
(ats.notifications.delivery) hands it over later.
"""
import logging
from datetime import timedelta

from flask import current_app
from redis import RedisError
from sqlalchemy import func, insert, literal, select, union, update

from ats.common.access import active_recruiters_of
from ats.extensions import db
from ats.models import (NOTIFICATION_FAILED, NOTIFICATION_PENDING, Application, ApplicationHistory,
                        Interview, Notification, PasswordReset, User, job_hiring_managers)
from ats.notifications.channels import CHANNELS
from ats.notifications.delivery import deliver_inline
from ats.notifications.kinds import (APPLICATION_RECEIVED, APPLICATION_WITHDRAWN, EMAIL,
                                     INTERVIEW_REMINDER, NEW_APPLICATION, PASSWORD_RESET,
                                     STAGE_CHANGED)
from ats.notifications.mail import RECIPIENT_DEACTIVATED
from ats.notifications.queue import enqueue, redis_connection
from ats.observability import current_request_id

log = logging.getLogger(__name__)


# --- recording (inside the caller's transaction) ----------------------------------------

# Written with Core, all of a change's rows in one INSERT: an ORM object per row and its
# flush cost more CPU than the rest of the recording.
_outbox = Notification.__table__


def _row(application: Application, kind: str, recipient_id: int, address, event_id: int,
         history_id: int | None = None) -> dict:
    """A pending notification; address is the recipient's email or an SQL expression for it."""
    return {"application_id": application.id, "history_id": history_id, "kind": kind,
            "recipient_id": recipient_id, "recipient": address, "request_id": current_request_id(),
            "dedupe_key": f"{kind}:{event_id}:{recipient_id}"}


def _insert(rows: list[dict]) -> list[int]:
    """One statement for all the rows, their ids back."""
    return db.session.execute(insert(_outbox).returning(_outbox.c.id), rows).scalars().all()


def _staff_to_tell(application: Application) -> list:
    """(id, email) of each active recruiter of the company and hiring manager assigned to the job."""
    # deactivated staff get no mail (and a deactivated manager is assigned to no job)
    recruiters = select(User.id, User.email).where(active_recruiters_of(application.company_id))
    managers = select(User.id, User.email).join(
        job_hiring_managers, job_hiring_managers.c.user_id == User.id).where(
        job_hiring_managers.c.job_id == application.job_id, User.is_active)
    # one round trip; a UNION lets each half use its index, where an OR would read every user
    return db.session.execute(union(recruiters, managers)).all()


def record_new_application(application: Application) -> list[int]:
    """The candidate's confirmation and a mail to each recruiter of the company and each
    hiring manager assigned to the job."""
    db.session.flush()  # the application's id names the event
    staff = _staff_to_tell(application)
    candidate = application.candidate
    rows = [_row(application, APPLICATION_RECEIVED, candidate.id, candidate.email, application.id)]
    rows += [_row(application, NEW_APPLICATION, id_, email, application.id) for id_, email in staff]
    return _insert(rows)


def record_withdrawal(application: Application, history: ApplicationHistory) -> list[int]:
    """The candidate withdrew: a mail to the same staff as a new application (the candidate,
    who made the move and has the answer, gets none)."""
    db.session.flush()  # the history row's id names the event
    rows = [_row(application, APPLICATION_WITHDRAWN, id_, email, history.id, history_id=history.id)
            for id_, email in _staff_to_tell(application)]
    return _insert(rows) if rows else []


def record_stage_change(application: Application, history: ApplicationHistory) -> list[int]:
    db.session.flush()  # the history row's id names the event
    # INSERT … SELECT reads the candidate's address itself (no round trip to load the user)
    # and records nothing for a deactivated candidate
    row = _row(application, STAGE_CHANGED, application.candidate_id, User.email, history.id,
               history_id=history.id)
    source = select(*(value if name == "recipient" else literal(value, _outbox.c[name].type)
                      for name, value in row.items())).where(
        User.id == application.candidate_id, User.is_active)
    return db.session.execute(insert(_outbox).from_select(list(row), source)
                              .returning(_outbox.c.id)).scalars().all()


def record_password_reset(user: User, reset: PasswordReset) -> list[int]:
    return _insert([{"password_reset_id": reset.id, "kind": PASSWORD_RESET, "recipient_id": user.id,
                     "recipient": user.email, "request_id": current_request_id(),
                     "dedupe_key": f"{PASSWORD_RESET}:{reset.id}:{user.id}"}])


def _interview_row(interview: Interview, kind: str, user: User, send_after=None) -> dict:
    """A pending mail about interview as it is now (its sequence names the change)."""
    return {"application_id": interview.application_id, "interview_id": interview.id,
            "interview_sequence": interview.sequence, "kind": kind, "recipient_id": user.id,
            "recipient": user.email, "request_id": current_request_id(), "send_after": send_after,
            "dedupe_key": f"{kind}:{interview.id}.{interview.sequence}:{user.id}"}


def record_interview(interview: Interview, kind: str, people: list[User]) -> list[int]:
    """A mail of kind (scheduled, updated, cancelled: each carries the invite) to each of
    people still active: the candidate and the interviewers."""
    db.session.flush()  # the interview's id and sequence name the event
    rows = [_interview_row(interview, kind, user) for user in people if user.is_active]
    return _insert(rows) if rows else []


def reminder_time(interview: Interview):
    return interview.starts_at - timedelta(hours=current_app.config["INTERVIEW_REMINDER_HOURS"])


def record_reminders(interview: Interview, people: list[User], now) -> tuple[list[int], object]:
    """The reminders of the interview's current time, not sent before INTERVIEW_REMINDER_HOURS
    ahead of its start -> (their ids, that time). An interview booked closer to its start
    than that gets none: the invite has just told everyone."""
    when = reminder_time(interview)
    if when <= now:
        return [], when
    rows = [_interview_row(interview, INTERVIEW_REMINDER, user, send_after=when)
            for user in people if user.is_active]
    return (_insert(rows) if rows else []), when


def withdraw_reminders(interview_id: int, why: str) -> None:
    """In the caller's transaction (the interview moved or was cancelled): its pending
    reminders fail, and are never sent."""
    db.session.execute(
        update(Notification)
        .where(Notification.interview_id == interview_id, Notification.kind == INTERVIEW_REMINDER,
               Notification.status == NOTIFICATION_PENDING)
        .values(status=NOTIFICATION_FAILED, last_error=why, claimed_until=None)
        .execution_options(synchronize_session=False))


def fail_pending_to(user_id: int, why: str = RECIPIENT_DEACTIVATED) -> None:
    """In the caller's transaction (a deactivation, an erasure): the mail still pending to
    the user fails with why, and is never sent."""
    db.session.execute(
        update(Notification)
        .where(Notification.recipient_id == user_id, Notification.status == NOTIFICATION_PENDING)
        .values(status=NOTIFICATION_FAILED, last_error=why, claimed_until=None)
        .execution_options(synchronize_session=False))


def scrub_addressed_to(user_id: int, address: str, placeholder: str) -> None:
    """In the caller's transaction (an erasure): the user's address leaves every notification
    to them, as the recipient and inside an error a mail server gave; the password resets
    they name are about to go."""
    db.session.execute(
        update(Notification).where(Notification.recipient_id == user_id)
        .values(recipient=placeholder, password_reset_id=None,
                last_error=func.replace(Notification.last_error, address, placeholder))
        .execution_options(synchronize_session=False))


# --- handing over (after the commit) -----------------------------------------------------

def dispatch(ids: list[int], channel: str = EMAIL) -> None:
    """Hand committed rows of channel's outbox (notifications, webhook deliveries) to its
    queue, or deliver them inline without Redis.

    Never raises: the change is committed, and a row that cannot be queued now stays
    pending for the worker's sweep.
    """
    if not ids:
        return
    connection = redis_connection()
    if connection is None:
        deliver_inline(ids, CHANNELS[channel])
        return
    try:
        enqueue(connection, ids, CHANNELS[channel])
    except RedisError as error:
        log.warning("queue unreachable (%s): %d %s(s) stay pending", error, len(ids), channel)


def dispatch_at(ids: list[int], when, channel: str = EMAIL) -> None:
    """Hand committed notifications that wait until when (reminders) to RQ's scheduler. Never
    raises. Without Redis they stay pending: `flask ats requeue` sends those due."""
    if not ids:
        return
    connection = redis_connection()
    if connection is None:
        return
    try:
        enqueue(connection, ids, CHANNELS[channel], at=when)
    except RedisError as error:
        log.warning("queue unreachable (%s): %d reminder(s) stay pending", error, len(ids))
