"""`python worker.py`: the RQ worker for the `emails` queue, inside the app context.

The app is built once, before the worker forks a work horse per job. SIGTERM (a PaaS sends
it to the whole process group) lets the mail being sent finish. Every maintenance round
also sweeps the outbox, so a notification left pending (Redis was down, a worker was
killed, a job expired) goes back to the queue within a minute without anyone's help.
"""
import logging
import time

import redis
from rq.worker import HerokuWorker

from ats import create_app
from ats.extensions import db
from ats.notifications.queue import QUEUE_NAME
from ats.notifications.services import requeue_pending

log = logging.getLogger("ats.worker")

SWEEP_SECONDS = 20  # idle workers wake at least this often (worker_ttl - 15) to sweep


class EmailWorker(HerokuWorker):
    imminent_shutdown_delay = 20  # of the 30 s a PaaS waits between SIGTERM and SIGKILL
    stopping = False

    def request_stop(self, signum, frame):
        self.stopping = True
        super().request_stop(signum, frame)

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        try:
            if requeued := requeue_pending():
                log.info("sweep: %d pending notification(s) handed to the queue", requeued)
        except Exception:  # database or Redis away: the next round tries again
            log.exception("sweep failed")
        finally:
            db.session.remove()

    def main_work_horse(self, job, queue):
        db.engine.dispose(close=False)  # pooled connections belong to the parent process
        super().main_work_horse(job, queue)


def main() -> None:
    app = create_app()
    url = app.config["REDIS_URL"]
    if not url:
        raise SystemExit("REDIS_URL is not set: without it notifications are delivered inline.")
    with app.app_context():
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
