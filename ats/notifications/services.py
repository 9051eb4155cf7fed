"""The outbox: record in the caller's transaction, hand to the queue after its commit,
deliver each notification at most once.

Delivery claims its row before sending (a conditional UPDATE), so a duplicate job, a sweep
racing a retry or two workers never send one notification twice. A claim is a lease: if
the sender dies, the lease runs out and the sweep hands the row to the queue again.
"""
import logging
from datetime import timedelta

from flask import current_app
from redis import RedisError
from rq import Queue, Retry
from rq.job import Job, JobStatus
from rq.utils import str_to_date
from rq.worker import Worker
from sqlalchemy import insert, literal, or_, select, union, update
from sqlalchemy.orm import joinedload

from ats.common.access import (active_recruiters_of, application_visible_or_404,
                               can_resend_notification, can_see_pipeline,
                               notification_visible_or_404, require)
from ats.common.db import utcnow
from ats.errors import Conflict
from ats.extensions import db
from ats.models import (INTERVIEW_SCHEDULED, NOTIFICATION_FAILED, NOTIFICATION_PENDING,
                        NOTIFICATION_SENT, Application, ApplicationHistory, Interview,
                        InterviewInterviewer, Notification, PasswordReset, User,
                        job_hiring_managers)
from ats.models import Job as JobPosting  # the name Job is rq's here
from ats.notifications import smtp
from ats.notifications.messages import Superseded, UndeliverableAddress, build_message
from ats.notifications.queue import emails_queue, redis_connection
from ats.observability import current_request_id

log = logging.getLogger(__name__)

APPLICATION_RECEIVED, NEW_APPLICATION, STAGE_CHANGED, PASSWORD_RESET = (
    "application_received", "new_application", "stage_changed", "password_reset")
APPLICATION_WITHDRAWN = "application_withdrawn"
INTERVIEW_SCHEDULED_MAIL, INTERVIEW_UPDATED, INTERVIEW_CANCELLED, INTERVIEW_REMINDER = (
    "interview_scheduled", "interview_updated", "interview_cancelled", "interview_reminder")
REMINDER_MOVED = "interview changed: a reminder of its new state replaces this one"
REMINDER_CANCELLED = "interview cancelled"
TASK = "ats.notifications.tasks.send_notification"
RECIPIENT_DEACTIVATED = "recipient deactivated"
# statuses that promise a run on their own; "queued" and "started" are checked further
TRUSTED_JOB = {JobStatus.SCHEDULED, JobStatus.DEFERRED}


class DeliveryFailed(Exception):
    """A send failed and attempts remain: RQ retries the job after its backoff."""


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


def fail_pending_to(user_id: int) -> None:
    """In the caller's transaction (a deactivation): the mail still pending to the user
    fails, and is never sent."""
    db.session.execute(
        update(Notification)
        .where(Notification.recipient_id == user_id, Notification.status == NOTIFICATION_PENDING)
        .values(status=NOTIFICATION_FAILED, last_error=RECIPIENT_DEACTIVATED, claimed_until=None)
        .execution_options(synchronize_session=False))


# --- handing over (after the commit) -----------------------------------------------------

def _lease() -> timedelta:
    """How long a claim holds: longer than RQ lets a send run (MAIL_SEND_TIMEOUT)."""
    return timedelta(seconds=current_app.config["MAIL_SEND_TIMEOUT"] + 15)


def _job_id(notification_id: int) -> str:
    return f"notification-{notification_id}"


def retry_delays(config) -> list[int]:
    """The wait before each retry of a temporary failure: MAIL_RETRY_DELAYS in order, its
    last one repeated, for MAIL_MAX_ATTEMPTS - 1 retries."""
    delays, retries = config["MAIL_RETRY_DELAYS"], config["MAIL_MAX_ATTEMPTS"] - 1
    return [delays[min(i, len(delays) - 1)] for i in range(retries)]


def _enqueue(connection, ids: list[int], at=None) -> None:
    """Hand ids to the queue; with at, to RQ's scheduler, which queues them at that time."""
    config = current_app.config
    delays = retry_delays(config)
    # one delay per retry: RQ counts into its list from the end, by the retries left
    retry = Retry(max=len(delays), interval=delays) if delays else None
    if at is not None:
        queue = emails_queue(connection)
        with connection.pipeline() as pipeline:
            for notification_id in ids:
                queue.enqueue_at(at, TASK, notification_id, job_id=_job_id(notification_id),
                                 job_timeout=config["MAIL_SEND_TIMEOUT"], retry=retry,
                                 result_ttl=3600, failure_ttl=7 * 24 * 3600, pipeline=pipeline)
            pipeline.execute()
        return
    emails_queue(connection).enqueue_many([
        Queue.prepare_data(TASK, args=(notification_id,), job_id=_job_id(notification_id),
                           timeout=config["MAIL_SEND_TIMEOUT"], retry=retry, result_ttl=3600,
                           failure_ttl=7 * 24 * 3600)
        for notification_id in ids])


def _deliver_inline(ids: list[int]) -> None:
    with smtp.kept_open():
        for notification_id in ids:
            try:
                deliver(notification_id)
            except DeliveryFailed:
                pass  # the row keeps its error and stays pending for `flask ats requeue`


def dispatch(ids: list[int]) -> None:
    """Hand committed notifications to the queue (or deliver them inline without Redis).

    Never raises: the change is committed, and a row that cannot be queued now stays
    pending for the worker's sweep.
    """
    if not ids:
        return
    connection = redis_connection()
    if connection is None:
        _deliver_inline(ids)
        return
    try:
        _enqueue(connection, ids)
    except RedisError as error:
        log.warning("queue unreachable (%s): %d notification(s) stay pending", error, len(ids))


def dispatch_at(ids: list[int], when) -> None:
    """Hand committed notifications that wait until when (reminders) to RQ's scheduler. Never
    raises. Without Redis they stay pending: `flask ats requeue` sends those due."""
    if not ids:
        return
    connection = redis_connection()
    if connection is None:
        return
    try:
        _enqueue(connection, ids, at=when)
    except RedisError as error:
        log.warning("queue unreachable (%s): %d reminder(s) stay pending", error, len(ids))


def _due(now):
    """SQL condition: a notification that may go out now (not one waiting for its time)."""
    return or_(Notification.send_after.is_(None), Notification.send_after <= now)


def _still_waiting(connection, ids: list[int]) -> set[int]:
    """Those of ids whose job will run without the sweep's help, in at most four Redis round
    trips whatever the length of the queue.

    A job's status is not enough: a worker killed in its blocking pop (or whose socket an
    orphaned child still holds) has taken a job out of the queue that still reads "queued",
    and a worker killed as it starts a job leaves it "started". The queue is first in, first
    out, so a queued job enqueued before the one at its head has left it; a started job
    counts while its worker's key lives (the worker's heartbeat keeps it).
    """
    if not ids:
        return set()
    fetched = Job.fetch_many([_job_id(i) for i in ids], connection=connection)
    jobs = {i: job for i, job in zip(ids, fetched) if job is not None}
    head = connection.lindex(emails_queue(connection).key, 0)
    head_enqueued = connection.hget(Job.key_for(head.decode()), "enqueued_at") if head else None
    started = [job for job in jobs.values() if job.get_status(refresh=False) == JobStatus.STARTED]
    with connection.pipeline(transaction=False) as pipeline:
        for job in started:
            pipeline.exists(Worker.redis_worker_namespace_prefix + (job.worker_name or ""))
        running = {job.id for job, alive in zip(started, pipeline.execute()) if alive}

    def waiting(job: Job) -> bool:
        status = job.get_status(refresh=False)
        if status == JobStatus.QUEUED:
            if head is None:
                return False  # the queue is empty
            if head_enqueued is None or job.enqueued_at is None:
                return True  # cannot tell: the next round will
            return job.enqueued_at >= str_to_date(head_enqueued)
        return job.id in running if status == JobStatus.STARTED else status in TRUSTED_JOB

    return {i for i, job in jobs.items() if waiting(job)}


def requeue_pending(batch: int = 1000) -> int:
    """Hand every pending notification that nobody is sending back to the queue.

    Rows whose lease ran out (their sender died) go back whatever Redis remembers of their
    job; rows never claimed go back unless their job is still waiting or running.
    """
    now = utcnow()
    rows = db.session.execute(
        select(Notification.id, Notification.claimed_until)
        .where(Notification.status == NOTIFICATION_PENDING, _due(now),
               or_(Notification.claimed_until.is_(None), Notification.claimed_until < now))
        .order_by(Notification.id).limit(batch)).all()
    db.session.rollback()  # end the read before slow work
    connection = redis_connection()
    if connection is None:
        _deliver_inline([row.id for row in rows])
        return len(rows)
    waiting = _still_waiting(connection, [row.id for row in rows if row.claimed_until is None])
    ids = [row.id for row in rows if row.id not in waiting]
    if ids:
        _enqueue(connection, ids)
        # taken by a worker that died: RQ would later fail them as stuck in its list of taken jobs
        taken = emails_queue(connection).intermediate_queue_key
        with connection.pipeline(transaction=False) as pipeline:
            for notification_id in ids:
                pipeline.lrem(taken, 0, _job_id(notification_id))
            pipeline.execute()
    return len(ids)


# --- delivering (in the worker, or inline) -----------------------------------------------

def _claim(notification_id: int) -> bool:
    now = utcnow()
    claimed = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == NOTIFICATION_PENDING,
               _due(now),  # a reminder's job run early (a duplicate) leaves it for its time
               or_(Notification.claimed_until.is_(None), Notification.claimed_until < now))
        .values(claimed_until=now + _lease(), attempts=Notification.attempts + 1)
    ).rowcount == 1
    db.session.commit()
    return claimed


def _trace(notification: Notification) -> dict:
    """What a log line tells of a notification: never its address or its body."""
    return {"notification_id": notification.id, "kind": notification.kind,
            "attempt": notification.attempts, "request_id": notification.request_id}


def _message_for(notification_id: int):
    """The mail and its trace, built from one query (not one per relation it names)."""
    application = joinedload(Notification.application)
    notification, recipient_name, recipient_active = db.session.execute(
        select(Notification, User.name, User.is_active).join(User, User.id == Notification.recipient_id)
        .where(Notification.id == notification_id).options(
            application.joinedload(Application.job).joinedload(JobPosting.company),
            application.joinedload(Application.candidate),
            joinedload(Notification.history), joinedload(Notification.password_reset),
            joinedload(Notification.interview).selectinload(Interview.seats)
            .joinedload(InterviewInterviewer.user))).one()
    if not recipient_active:  # deactivated since the mail was recorded (or resent): never
        db.session.rollback()
        raise UndeliverableAddress(RECIPIENT_DEACTIVATED)
    interview = notification.interview
    if notification.kind == INTERVIEW_REMINDER and (
            interview.status != INTERVIEW_SCHEDULED
            or interview.sequence != notification.interview_sequence):
        db.session.rollback()  # a reminder of a time the interview no longer has: never
        raise Superseded(REMINDER_CANCELLED if interview.status != INTERVIEW_SCHEDULED
                         else REMINDER_MOVED)
    message, trace = build_message(notification, recipient_name), _trace(notification)
    db.session.rollback()  # end the read: no transaction stays open while SMTP talks
    return message, trace


def deliver(notification_id: int) -> str:
    """Send one notification unless another sender has it or it is done: sent, skipped or failed."""
    if not _claim(notification_id):
        return "skipped"
    try:
        message, trace = _message_for(notification_id)
        smtp.send(message)
    except Exception as error:  # SMTP refused or unreachable, or a broken template
        db.session.rollback()
        notification = db.session.get(Notification, notification_id)
        notification.last_error = f"{type(error).__name__}: {error}"[:1000]
        notification.claimed_until = None
        # a permanent refusal fails at once; a temporary one waits for the next attempt
        for_good = isinstance(error, (UndeliverableAddress, Superseded)) or smtp.refused_for_good(error)
        give_up = for_good or notification.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]
        if give_up:
            notification.status = NOTIFICATION_FAILED
        db.session.commit()
        log.warning("notification %s attempt %s failed%s: %s", notification_id,
                    notification.attempts, " for good" if for_good else "",
                    notification.last_error, extra=_trace(notification))
        if give_up:
            return "failed"
        raise DeliveryFailed(notification.last_error) from error
    db.session.execute(update(Notification).where(Notification.id == notification_id)
                       .values(status=NOTIFICATION_SENT, sent_at=utcnow(), claimed_until=None))
    db.session.commit()
    log.info("notification %s sent", notification_id, extra=trace)
    return "sent"


# --- sending again -------------------------------------------------------------------------

def _reopen(*where) -> int:
    """Failed rows back to pending with fresh attempts. last_error stays: it says why the
    row had failed until an attempt replaces it."""
    return db.session.execute(
        update(Notification).where(Notification.status == NOTIFICATION_FAILED, *where)
        .values(status=NOTIFICATION_PENDING, attempts=0, claimed_until=None)).rowcount


def resend(user: User, notification_id: int) -> Notification:
    """A failed notification back to the queue (recruiters of its company, admins)."""
    notification = notification_visible_or_404(notification_id, user)
    require(can_resend_notification(user, notification))
    # conditional, so of two resends racing one wins and the other sees it pending
    if not _reopen(Notification.id == notification.id):
        status = db.session.scalar(select(Notification.status).where(Notification.id == notification.id))
        db.session.rollback()
        raise Conflict(f"Notification {notification_id} is {status}: only a failed one is sent again.",
                       details={"status": status}, code="not_failed")
    db.session.commit()
    dispatch([notification.id])
    return db.session.get(Notification, notification.id)


def reopen_failed() -> int:
    """Every failed notification back to pending with fresh attempts (for requeue_pending)."""
    count = _reopen()
    db.session.commit()
    return count


# --- reading -----------------------------------------------------------------------------

def list_for_application(user: User, application_id: int) -> dict:
    application = application_visible_or_404(application_id, user)
    require(can_see_pipeline(user, application.company_id))
    rows = db.session.scalars(select(Notification)
                              .where(Notification.application_id == application.id)
                              .order_by(Notification.id.desc())).all()
    return {"items": rows}
