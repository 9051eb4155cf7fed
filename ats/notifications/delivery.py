"""Delivery: each notification claimed, sent by its channel, retried with backoff while a
failure is temporary, failed when it is not or attempts run out; and the sweep that hands
stranded rows back to the queue.

A claim is a conditional UPDATE, so a duplicate job, a sweep racing a retry or two workers
never send one notification twice. It is a lease: if the sender dies, the lease runs out
and the sweep hands the row to the queue again.
"""
import logging
from datetime import timedelta

from flask import current_app
from rq.job import Job, JobStatus
from rq.utils import str_to_date
from rq.worker import Worker
from sqlalchemy import or_, select, update

from ats.common.db import utcnow
from ats.extensions import db
from ats.models import NOTIFICATION_FAILED, NOTIFICATION_PENDING, NOTIFICATION_SENT, Notification
from ats.notifications.channels import CHANNELS, Channel, kept_open
from ats.notifications.kinds import KINDS
from ats.notifications.queue import enqueue, job_id, queue_of, redis_connection

log = logging.getLogger(__name__)

# statuses that promise a run on their own; "queued" and "started" are checked further
TRUSTED_JOB = {JobStatus.SCHEDULED, JobStatus.DEFERRED}


class DeliveryFailed(Exception):
    """A send failed and attempts remain: RQ retries the job after its backoff."""


def channel_of(kind: str) -> Channel:
    return CHANNELS[KINDS[kind].channel]


# --- delivering (in the worker, or inline) -----------------------------------------------

def _lease() -> timedelta:
    """How long a claim holds: longer than RQ lets a send of any channel run (the claim
    comes before the row, so its channel, is read)."""
    longest = max(channel.send_timeout(current_app.config) for channel in CHANNELS.values())
    return timedelta(seconds=longest + 15)


def _due(now):
    """SQL condition: a notification that may go out now (not one waiting for its time)."""
    return or_(Notification.send_after.is_(None), Notification.send_after <= now)


def _claim(notification_id: int) -> str | None:
    """The notification's kind if this sender now has it, else None."""
    now = utcnow()
    kind = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == NOTIFICATION_PENDING,
               _due(now),  # a reminder's job run early (a duplicate) leaves it for its time
               or_(Notification.claimed_until.is_(None), Notification.claimed_until < now))
        .values(claimed_until=now + _lease(), attempts=Notification.attempts + 1)
        .returning(Notification.kind)).scalar_one_or_none()
    db.session.commit()
    return kind


def _trace(notification: Notification) -> dict:
    """What a log line tells of a notification: never its address or its body."""
    return {"notification_id": notification.id, "kind": notification.kind,
            "attempt": notification.attempts, "request_id": notification.request_id}


def deliver(notification_id: int) -> str:
    """Send one notification by its kind's channel unless another sender has it or it is
    done: sent, skipped or failed."""
    kind = _claim(notification_id)
    if kind is None:
        return "skipped"
    channel = channel_of(kind)
    try:
        payload, notification = channel.build(notification_id)
        channel.send(payload)
    except Exception as error:  # refused or unreachable, or a broken template
        db.session.rollback()
        notification = db.session.get(Notification, notification_id)
        notification.last_error = f"{type(error).__name__}: {error}"[:1000]
        notification.claimed_until = None
        # a permanent refusal fails at once; a temporary one waits for the next attempt
        for_good = channel.refused_for_good(error)
        give_up = for_good or notification.attempts >= channel.max_attempts(current_app.config)
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
    log.info("notification %s sent", notification_id, extra=_trace(notification))
    return "sent"


def deliver_inline(ids: list[int]) -> None:
    """Without Redis: each delivered now, one connection per channel for the batch."""
    with kept_open():
        for notification_id in ids:
            try:
                deliver(notification_id)
            except DeliveryFailed:
                pass  # the row keeps its error and stays pending for `flask ats requeue`


# --- the sweep ---------------------------------------------------------------------------

def _still_waiting(connection, channel: Channel, ids: list[int]) -> set[int]:
    """Those of ids (of channel) whose job will run without the sweep's help, in at most four
    Redis round trips whatever the length of the queue.

    A job's status is not enough: a worker killed in its blocking pop (or whose socket an
    orphaned child still holds) has taken a job out of the queue that still reads "queued",
    and a worker killed as it starts a job leaves it "started". The queue is first in, first
    out, so a queued job enqueued before the one at its head has left it; a started job
    counts while its worker's key lives (the worker's heartbeat keeps it).
    """
    if not ids:
        return set()
    fetched = Job.fetch_many([job_id(i) for i in ids], connection=connection)
    jobs = {i: job for i, job in zip(ids, fetched) if job is not None}
    head = connection.lindex(queue_of(channel, connection).key, 0)
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
    """Hand every pending notification that nobody is sending back to its channel's queue.

    Rows whose lease ran out (their sender died) go back whatever Redis remembers of their
    job; rows never claimed go back unless their job is still waiting or running.
    """
    now = utcnow()
    rows = db.session.execute(
        select(Notification.id, Notification.kind, Notification.claimed_until)
        .where(Notification.status == NOTIFICATION_PENDING, _due(now),
               or_(Notification.claimed_until.is_(None), Notification.claimed_until < now))
        .order_by(Notification.id).limit(batch)).all()
    db.session.rollback()  # end the read before slow work
    connection = redis_connection()
    if connection is None:
        deliver_inline([row.id for row in rows])
        return len(rows)
    requeued = 0
    for channel in CHANNELS.values():
        ours = [row for row in rows if channel_of(row.kind) is channel]
        waiting = _still_waiting(connection, channel,
                                 [row.id for row in ours if row.claimed_until is None])
        ids = [row.id for row in ours if row.id not in waiting]
        if ids:
            enqueue(connection, ids, channel)
            # taken by a worker that died: RQ would later fail them as stuck in its taken list
            taken = queue_of(channel, connection).intermediate_queue_key
            with connection.pipeline(transaction=False) as pipeline:
                for notification_id in ids:
                    pipeline.lrem(taken, 0, job_id(notification_id))
                pipeline.execute()
        requeued += len(ids)
    return requeued


# --- sending again -------------------------------------------------------------------------

def reopen(*where) -> int:
    """Failed rows back to pending with fresh attempts. last_error stays: it says why the
    row had failed until an attempt replaces it."""
    return db.session.execute(
        update(Notification).where(Notification.status == NOTIFICATION_FAILED, *where)
        .values(status=NOTIFICATION_PENDING, attempts=0, claimed_until=None)).rowcount


def reopen_failed() -> int:
    """Every failed notification back to pending with fresh attempts (for requeue_pending)."""
    count = reopen()
    db.session.commit()
    return count
