"""Workers under faults of their own, against real parts: the outbox sweep's view of jobs
that left the queue."""
import redis

from ats.notifications import services as outbox
from tests.test_delivery import job, queued  # noqa: F401

QUEUE, TAKEN = "rq:queue:emails", "rq:queue:emails:intermediate"


def test_the_sweep_hands_back_queued_jobs_that_left_the_queue(app, queued, job, candidate,
                                                             make_application):
    make_application(candidate, job["id"])
    client = redis.Redis.from_url(queued.url)
    everything = sorted(client.lrange(QUEUE, 0, -1))
    assert len(everything) == 3
    with app.app_context():
        assert outbox.requeue_pending() == 0  # all of them are waiting in the queue

    # what a dead worker's blocking pop does: BLMOVE (one queue, Redis >= 6.2), or BLPOP
    client.lmove(QUEUE, TAKEN)
    client.lpop(QUEUE)
    with app.app_context():
        assert outbox.requeue_pending() == 2
    assert sorted(client.lrange(QUEUE, 0, -1)) == everything
    assert client.llen(TAKEN) == 0  # RQ would later fail it as stuck there
    with app.app_context():
        assert outbox.requeue_pending() == 0


def test_the_sweep_hands_back_a_job_started_by_a_worker_that_is_gone(app, queued, job, candidate,
                                                                     make_application):
    make_application(candidate, job["id"])
    client = redis.Redis.from_url(queued.url)
    client.hset("rq:worker:alive", mapping={"birth": "now"})
    orphaned, running = client.lpop(QUEUE), client.lpop(QUEUE)
    for job_id, worker in ((orphaned, "gone"), (running, "alive")):
        client.hset(f"rq:job:{job_id.decode()}", mapping={"status": "started", "worker_name": worker})

    with app.app_context():
        assert outbox.requeue_pending() == 1
    assert orphaned in client.lrange(QUEUE, 0, -1)
    assert running not in client.lrange(QUEUE, 0, -1)
