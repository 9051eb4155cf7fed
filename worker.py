"""`python worker.py`: the RQ worker for the `emails` queue, inside the app context.

Each mail is sent in this process (RQ's SimpleWorker), not in a work horse forked per job,
which would start cold every time: so the database pool, the compiled templates and one
SMTP connection stay warm from one mail to the next. Each job still gets an app context
(so a database session) of its own.

SIGTERM (a PaaS sends it to the whole process group) lets the mail being sent finish: RQ's
warm shutdown stops the loop after the current job. RQ's job timeout (SIGALRM) still
bounds each send. Every maintenance round also sweeps the outbox, so a notification left
pending (Redis was down, a worker was killed, a job expired) goes back to the queue within
a minute without anyone's help.
"""
import logging
import time
from datetime import timedelta

import redis
from flask import current_app
from rq.worker import SimpleWorker

from ats import create_app
from ats.common.db import utcnow
from ats.extensions import db
from ats.notifications.queue import QUEUE_NAME
from ats.notifications import smtp
from ats.notifications.services import requeue_pending

log = logging.getLogger("ats.worker")

SWEEP_SECONDS = 20  # idle workers wake at least this often (worker_ttl - 15) to sweep


class EmailWorker(SimpleWorker):
    stopping = False

    def request_stop(self, signum, frame):
        self.stopping = True
        super().request_stop(signum, frame)

    def heartbeat(self, timeout=None, pipeline=None):
        # RQ beats (two Redis round trips) before and after every job; within a stream of
        # mails one beat a second keeps the worker's key alive just as well
        recent = self.last_heartbeat and utcnow() - self.last_heartbeat < timedelta(seconds=1)
        if timeout or pipeline is not None or not recent:
            super().heartbeat(timeout, pipeline)

    def execute_job(self, job, queue):
        with current_app.app_context():  # a session per job, removed when the job ends
            super().execute_job(job, queue)

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        try:
            if requeued := requeue_pending():
                log.info("sweep: %d pending notification(s) handed to the queue", requeued)
        except Exception:  # database or Redis away: the next round tries again
            log.exception("sweep failed")
        finally:
            db.session.remove()


def main() -> None:
    app = create_app()
    url = app.config["REDIS_URL"]
    if not url:
        raise SystemExit("REDIS_URL is not set: without it notifications are delivered inline.")
    with app.app_context(), smtp.kept_open():
        while True:
            worker = EmailWorker([QUEUE_NAME], connection=redis.Redis.from_url(url),
                                 worker_ttl=SWEEP_SECONDS + 15, maintenance_interval=SWEEP_SECONDS)
            try:
                worker.work(with_scheduler=True, logging_level="INFO")
            except redis.RedisError as error:
                log.warning("Redis unreachable: %s", error)
            if worker.stopping:
                break
            log.warning("worker stopped without being asked: starting again in 2 s")
            time.sleep(2)


if __name__ == "__main__":
    main()
