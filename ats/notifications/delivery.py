"""Delivery, for every channel alike: each row of a channel's outbox claimed, sent by the
channel, retried with backoff while a failure is temporary, failed when it is not or attempts
run out; and the sweep that hands stranded rows back to their queue.

A claim is a conditional UPDATE, so a duplicate job, a sweep racing a retry or two workers
never send one row twice. It is a lease: if the sender dies, the lease runs out and the
sweep hands the row to the queue again.

A channel that follows an endpoint (webhooks) sends, after a success, that endpoint's next
due rows in the same job: a run of claims, sends and records, one job for many rows.
"""
import logging
import time
from datetime import timedelta

from flask import current_app
from redis import RedisError
from rq.job import Job, JobStatus
from rq.utils import str_to_date
from rq.worker import Worker
from sqlalchemy import or_, select, update

from ats.common.db import utcnow
from ats.extensions import db
from ats.models import NOTIFICATION_FAILED, NOTIFICATION_PENDING
from ats.notifications.channels import CHANNELS, Channel, kept_open
from ats.notifications.kinds import EMAIL
from ats.notifications.queue import RECORDING_SECONDS, enqueue, job_id, queue_of, redis_connection

log = logging.getLogger(__name__)

# statuses that promise a run on their own; "queued" and "started" are checked further
TRUSTED_JOB = {JobStatus.SCHEDULED, JobStatus.DEFERRED}
MAIL = CHANNELS[EMAIL]
FOLLOWERS = 20  # rows a follow claims at once: at most these are sent again after a crash
FOLLOWING_SECONDS = RECORDING_SECONDS - 1  # into a job, the last moment a follower's send starts


class DeliveryFailed(Exception):
    """A send failed and attempts remain: RQ retries the job after its backoff."""


# --- delivering (in the worker, or inline) -----------------------------------------------

def _lease(channel: Channel) -> timedelta:
    """How long a claim holds: longer than RQ lets a job of the channel run."""
    return timedelta(seconds=channel.send_timeout(current_app.config) + 15)


def _due(outbox, now):
    """SQL condition: a row of outbox that may go out now (not one waiting for its time)."""
    return or_(outbox.send_after.is_(None), outbox.send_after <= now)


def _take(channel: Channel, *where) -> list[int]:
    """Claim the pending rows of channel's outbox that match where -> the ids this sender
    now has. The conditions hold on the row as updated: a concurrent claim makes it skip."""
    outbox, now = channel.outbox, utcnow()
    ids = db.session.execute(
        update(outbox).where(outbox.status == NOTIFICATION_PENDING, *where)
        .values(claimed_until=now + _lease(channel), attempts=outbox.attempts + 1)
        .returning(outbox.id)).scalars().all()
    db.session.commit()
    return sorted(ids)


def _claim(channel: Channel, row_id: int) -> bool:
    """Whether this sender now has the row."""
    outbox, now = channel.outbox, utcnow()
    return bool(_take(channel, outbox.id == row_id,
                      _due(outbox, now),  # a job run early (a duplicate, a back-off) leaves it for its time
                      or_(outbox.claimed_until.is_(None), outbox.claimed_until < now)))


def _noun(channel: Channel) -> str:
    """What a log line calls a row: "notification", "webhook delivery"."""
    return channel.job_prefix.replace("-", " ")


def _failed(channel: Channel, row_id: int, error: Exception, retried_by_job: bool = True):
    """Record a failed attempt -> the row (None if it was deleted meanwhile: its webhook was)
    and whether it is given up. A row whose job will not retry it (a follower, below) waits
    for its retry's time, when the sweep hands it back to the queue."""
    db.session.rollback()
    row = db.session.get(channel.outbox, row_id)
    if row is None:
        return None, True
    row.last_error = f"{type(error).__name__}: {error}"[:1000]
    row.claimed_until = None
    # a permanent refusal fails at once; a temporary one waits for the next attempt
    for_good = channel.refused_for_good(error)
    give_up = for_good or row.attempts >= channel.max_attempts(current_app.config)
    if give_up:
        row.status = NOTIFICATION_FAILED
    elif not retried_by_job:
        row.send_after = utcnow() + timedelta(
            seconds=channel.retry_delays(current_app.config)[row.attempts - 1])
    channel.after_failure(row, error, give_up)
    db.session.commit()
    log.warning("%s %s attempt %s failed%s: %s", _noun(channel), row_id, row.attempts,
                " for good" if for_good else "", row.last_error, extra=channel.trace(row))
    return row, give_up


def _record_sent(channel: Channel, sent: list[tuple]) -> None:
    """sent: (row id, what send took, its columns to record): one UPDATE for the lot when
    they record the same (a webhook's HTTP status), then one commit."""
    outbox, now = channel.outbox, utcnow()
    by_columns = {}
    for row_id, _, recorded in sent:
        by_columns.setdefault(tuple(sorted(recorded.items())), []).append(row_id)
    for columns, ids in by_columns.items():
        db.session.execute(update(outbox).where(outbox.id.in_(ids)).values(
            status=outbox.SENT, claimed_until=None, **{outbox.SENT_AT: now}, **dict(columns)))
    for _, payload, _ in sent:
        channel.after_success(payload)
    db.session.commit()


def deliver(row_id: int, channel: Channel = MAIL) -> str:
    """Send one row of channel's outbox unless another sender has it or it is done: sent,
    skipped or failed. After a success, a channel that follows an endpoint sends that
    endpoint's next due rows in the same job."""
    started = time.monotonic()
    if not _claim(channel, row_id):
        return "skipped"
    try:
        payload, row = channel.build(row_id)
        recorded = channel.send(payload) or {}
    except Exception as error:  # refused or unreachable, or a broken template
        row, give_up = _failed(channel, row_id, error)
        if row is None:
            return "skipped"
        if give_up:
            return "failed"
        raise DeliveryFailed(row.last_error) from error
    _record_sent(channel, [(row_id, payload, recorded)])
    log.info("%s %s sent", _noun(channel), row_id, extra=channel.trace(row))
    if channel.follows and (connection := redis_connection()) is not None:
        _follow(channel, getattr(row, channel.follows), started, connection)
    return "sent"


# --- following an endpoint that answers ------------------------------------------------------

def _claim_next(channel: Channel, endpoint: int) -> list[int]:
    """Claim the endpoint's next FOLLOWERS due rows never attempted -> their ids."""
    outbox = channel.outbox
    unclaimed = outbox.claimed_until.is_(None)
    due = (select(outbox.id)
           .where(getattr(outbox, channel.follows) == endpoint, outbox.status == NOTIFICATION_PENDING,
                  unclaimed, outbox.attempts == 0, _due(outbox, utcnow()))
           .order_by(outbox.id).limit(FOLLOWERS))
    return _take(channel, outbox.id.in_(due), unclaimed)


def _unqueue(connection, channel: Channel, ids: list[int]) -> None:
    """Take the jobs of rows claimed here off the queue: they would only find them sent."""
    key = queue_of(channel, connection).key
    try:
        with connection.pipeline(transaction=False) as pipeline:
            for row_id in ids:
                pipeline.lrem(key, 0, job_id(row_id, channel))
                pipeline.delete(Job.key_for(job_id(row_id, channel)))
            pipeline.execute()
    except RedisError:
        pass  # the jobs run and skip the rows


def _requeue(connection, channel: Channel, ids: list[int]) -> None:
    try:
        enqueue(connection, ids, channel)
    except RedisError:
        pass  # pending and unclaimed: the sweep hands them over


def _release(channel: Channel, ids: list[int]) -> None:
    """Unclaim rows claimed but not sent, as if never attempted."""
    if ids:
        outbox = channel.outbox
        db.session.execute(update(outbox).where(outbox.id.in_(ids)).values(
            claimed_until=None, attempts=outbox.attempts - 1))
        db.session.commit()


def _follow(channel: Channel, endpoint: int, started: float, connection) -> None:
    """The endpoint just answered: send its next due rows now, FOLLOWERS to a claim and a
    commit, which saves each of them a job of its own and two transactions. A follower's
    send starts only within FOLLOWING_SECONDS of the job's start, so it ends inside RQ's job
    timeout; what is left goes back to the queue. The first failure stops the run (its
    subscription pauses). A worker killed in a run sends its unrecorded rows again, with
    the same webhook-id."""
    while time.monotonic() < started + FOLLOWING_SECONDS:
        ids = _claim_next(channel, endpoint)
        if not ids:
            return
        _unqueue(connection, channel, ids)
        sent, left = [], []
        for index, row_id in enumerate(ids):
            if time.monotonic() >= started + FOLLOWING_SECONDS:
                left = ids[index:]
                break
            try:
                payload, _ = channel.build(row_id)
                sent.append((row_id, payload, channel.send(payload) or {}))
            except Exception as error:
                _record_sent(channel, sent)
                _release(channel, ids[index + 1:])  # the failure's pause makes them wait too
                _failed(channel, row_id, error, retried_by_job=False)
                return
        _record_sent(channel, sent)
        log.info("%s: %d more sent to %s %s", _noun(channel), len(sent), channel.follows, endpoint)
        if left:
            _release(channel, left)
            _requeue(connection, channel, left)
            return


def deliver_inline(ids: list[int], channel: Channel = MAIL) -> None:
    """Without Redis: each delivered now, one connection per channel for the batch."""
    with kept_open():
        for row_id in ids:
            try:
                deliver(row_id, channel)
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
    fetched = Job.fetch_many([job_id(i, channel) for i in ids], connection=connection)
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
    """Hand every pending row of every channel that nobody is sending back to its queue.

    Rows whose lease ran out (their sender died) go back whatever Redis remembers of their
    job; rows never claimed go back unless their job is still waiting or running.
    """
    now = utcnow()
    pending = {}
    for channel in CHANNELS.values():
        outbox = channel.outbox
        pending[channel] = db.session.execute(
            select(outbox.id, outbox.claimed_until)
            .where(outbox.status == NOTIFICATION_PENDING, _due(outbox, now),
                   or_(outbox.claimed_until.is_(None), outbox.claimed_until < now))
            .order_by(outbox.id).limit(batch)).all()
    db.session.rollback()  # end the read before slow work
    connection = redis_connection()
    if connection is None:
        for channel, rows in pending.items():
            deliver_inline([row.id for row in rows], channel)
        return sum(map(len, pending.values()))
    requeued = 0
    for channel, rows in pending.items():
        waiting = _still_waiting(connection, channel,
                                 [row.id for row in rows if row.claimed_until is None])
        ids = [row.id for row in rows if row.id not in waiting]
        if ids:
            enqueue(connection, ids, channel)
            # taken by a worker that died: RQ would later fail them as stuck in its taken list
            taken = queue_of(channel, connection).intermediate_queue_key
            with connection.pipeline(transaction=False) as pipeline:
                for row_id in ids:
                    pipeline.lrem(taken, 0, job_id(row_id, channel))
                pipeline.execute()
        requeued += len(ids)
    return requeued


# --- sending again -------------------------------------------------------------------------

def reopen(*where, outbox=MAIL.outbox) -> int:
    """Failed rows back to pending with fresh attempts. last_error stays: it says why the
    row had failed until an attempt replaces it."""
    return db.session.execute(
        update(outbox).where(outbox.status == NOTIFICATION_FAILED, *where)
        .values(status=NOTIFICATION_PENDING, attempts=0, claimed_until=None)).rowcount


def reopen_failed() -> int:
    """Every failed row of every channel back to pending with fresh attempts (for
    requeue_pending)."""
    count = sum(reopen(outbox=channel.outbox) for channel in CHANNELS.values())
    db.session.commit()
    return count
