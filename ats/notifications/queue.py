"""The RQ queue `emails` and the Redis connection the request path uses."""
import redis
from flask import current_app
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue

QUEUE_NAME = "emails"


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


def emails_queue(connection: redis.Redis) -> Queue:
    return Queue(QUEUE_NAME, connection=connection)
