"""The RQ queues (one per channel: see ats.notifications.channels) and the Redis connection
the request path uses."""
import redis
from flask import current_app
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue, Retry as JobRetry

from ats.notifications.channels import CHANNELS, Channel
from ats.notifications.kinds import EMAIL

QUEUE_NAME = CHANNELS[EMAIL].queue  # mail's, which the worker listens on by default
RECORDING_SECONDS = 5  # a job's time beyond its send, to record what came of it


def redis_connection() -> redis.Redis | None:
    """The app's Redis client, or None when REDIS_URL is unset (inline delivery).

    Short timeouts and no retry loop: with Redis down or hung a request loses half a
    second at most (redis-py's defaults block for seconds), and the outbox keeps the mail.
    """
    url = current_app.config["REDIS_URL"]
    if not url:
        return None
    connection = current_app.extensions.get("ats.redis")
    if connection is None:
        connection = redis.Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5,
            retry=Retry(NoBackoff(), 0), retry_on_timeout=False, health_check_interval=30)
        current_app.extensions["ats.redis"] = connection
    return connection


def queue_of(channel: Channel, connection: redis.Redis) -> Queue:
    return Queue(channel.queue, connection=connection)


def job_id(row_id: int, channel: Channel = CHANNELS[EMAIL]) -> str:
    """Deterministic, so a row handed over twice is one job."""
    return f"{channel.job_prefix}-{row_id}"


def enqueue(connection: redis.Redis, ids: list[int], channel: Channel = CHANNELS[EMAIL],
            at=None) -> None:
    """Hand ids (rows of channel's outbox) to its queue; with at, to RQ's scheduler, which
    queues them at that time. Each job retries by the channel's delays, a temporary failure
    at a time."""
    config = current_app.config
    delays = channel.retry_delays(config)
    # one delay per retry: RQ counts into its list from the end, by the retries left
    retry = JobRetry(max=len(delays), interval=delays) if delays else None
    # RQ's job timeout backs up the send's own bound: past it, with time to record the outcome
    timeout = channel.send_timeout(config) + RECORDING_SECONDS
    kept = {"result_ttl": 3600, "failure_ttl": 7 * 24 * 3600}
    queue = queue_of(channel, connection)
    if at is not None:
        with connection.pipeline() as pipeline:
            for row_id in ids:
                queue.enqueue_at(at, channel.task, row_id, job_id=job_id(row_id, channel),
                                 job_timeout=timeout, retry=retry, pipeline=pipeline, **kept)
            pipeline.execute()
        return
    queue.enqueue_many([Queue.prepare_data(channel.task, args=(row_id,),
                                           job_id=job_id(row_id, channel), timeout=timeout,
                                           retry=retry, **kept)
                        for row_id in ids])
