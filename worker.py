"""The RQ worker: `python worker.py` serves the `emails` queue (the Procfile's `worker` line),
`python worker.py webhooks` the webhook deliveries (its `webhooks` line); or RQ's own command
line naming this class, which is the same worker:

    rq worker -w worker.EmailWorker emails

Each channel has its own queue (ats.notifications.channels), served by workers of its own,
so that a slow webhook receiver never holds up mail. Any of them sweeps every channel.

EmailWorker builds the app once, when it starts, and sends each mail in this process (RQ's
SimpleWorker), not in a work horse forked per job, which would start cold every time: so the
database pool, the compiled templates and one SMTP connection stay warm from one mail to the
next. Each job still gets an app context (so a database session) of its own.

Whichever way it is started it listens on the Redis of REDIS_URL, reads `.env` and
`.flaskenv` as `flask` commands do (never over a variable already set), runs RQ's scheduler
(the retry delays wait in it), writes each log line once in the app's format, and answers a
configuration error with one line and a non-zero exit. Every maintenance round (each
WORKER_SWEEP_SECONDS, 20 by default) it sweeps the outbox, so a notification left pending
(Redis was down, a worker was killed, a job expired) goes back to the queue without anyone's
help.

The scheduler runs in a child process that ends with its worker: a worker killed alone
(SIGKILL of its main process, as the kernel's OOM killer does) must leave no child holding
its Redis socket, on which the dead worker's blocking pop would still take a job.

SIGTERM (a PaaS sends it to the whole process group) lets the mail being sent finish: RQ's
warm shutdown stops the loop after the current job. RQ's job timeout (SIGALRM) still bounds
each send. A worker that stops without being asked (Redis restarted, say) starts again.
"""
import ctypes
import logging
import os
import signal
import sys
import threading
import time
from datetime import timedelta
from uuid import uuid4

import redis
from flask.cli import load_dotenv
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.logutils import ColorizingStreamHandler
from rq.queue import Queue
from rq.scheduler import ForkProcess, RQScheduler
from rq.scheduler import run as run_scheduler
from rq.worker import SimpleWorker

from ats import create_app
from ats.common.db import utcnow
from ats.common.idempotency import delete_expired as delete_expired_idempotency_keys
from ats.config import ConfigError
from ats.extensions import db
from ats.notifications import channels
from ats.notifications.queue import QUEUE_NAME
from ats.notifications.delivery import requeue_pending

# at import: `rq worker` imports this class before it makes its own Redis client
load_dotenv()

log = logging.getLogger("ats.worker")

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
SCHEDULER_STOP_SECONDS = 5  # a scheduler asked to stop that has not within this is ended


def build_app():
    """The app; a configuration error is one line and exit status 1, as wsgi.py does for web."""
    try:
        return create_app()
    except ConfigError as error:
        raise SystemExit(f"Configuration error: {error}") from None


def _end_with(parent: int) -> None:
    """Have this process get SIGTERM when parent dies: told to the kernel on Linux
    (PR_SET_PDEATHSIG), watched by a thread elsewhere."""
    try:
        told = ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM)) == 0
    except (OSError, AttributeError):
        told = False
    if not told:
        def watch():
            while os.getppid() == parent:
                time.sleep(1)
            os.kill(os.getpid(), signal.SIGTERM)
        threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:  # it died before the kernel was told
        os.kill(os.getpid(), signal.SIGTERM)


def _run_scheduler(scheduler: RQScheduler, worker_pid: int) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):  # not the worker's handlers, inherited
        signal.signal(signum, signal.SIG_DFL)
    _end_with(worker_pid)
    run_scheduler(scheduler)


class Scheduler(RQScheduler):
    """RQ's scheduler, in a child process that ends with its worker. Ended by SIGTERM, it
    releases its lock, so the next worker's scheduler takes over at once."""

    def start(self):
        self._status = self.Status.STARTED
        self._connection = None  # a Redis client does not cross a fork: the child makes its own
        self._process = ForkProcess(target=_run_scheduler, args=(self, os.getpid()), name="Scheduler")
        self._process.start()
        return self._process

    def request_stop(self, signum=None, frame=None):
        super().request_stop(signum, frame)
        # it stops at its next round; one stuck on a hung Redis is ended all the same
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.alarm(SCHEDULER_STOP_SECONDS)


def _log_once() -> None:
    """`rq worker` gives RQ's logger a handler of its own before the app configures logging:
    beside the app's handler on the root logger it would write every line twice."""
    for name in ("rq.worker", "rq.job", "rq.scheduler"):
        logger = logging.getLogger(name)
        for handler in [h for h in logger.handlers if isinstance(h, ColorizingStreamHandler)]:
            logger.removeHandler(handler)


class EmailWorker(SimpleWorker):
    stopping = False

    def __init__(self, queues=(QUEUE_NAME,), *args, app=None, **kwargs):
        self.app = app or build_app()
        url = self.app.config["REDIS_URL"]
        if not url:
            raise SystemExit("REDIS_URL is not set: without it notifications are delivered inline.")
        if isinstance(queues, str | Queue):
            queues = [queues]
        sweep = self.app.config["WORKER_SWEEP_SECONDS"]
        # the app's Redis and sweep interval, whatever `rq worker` was told: idle, the blocking
        # pop returns every `sweep` seconds (worker_ttl - 15) for the maintenance round
        kwargs.pop("default_worker_ttl", None)
        kwargs.update(connection=redis.Redis.from_url(url), worker_ttl=sweep + 15,
                      maintenance_interval=sweep)
        super().__init__([getattr(queue, "name", queue) for queue in queues], *args, **kwargs)
        _log_once()

    def work(self, burst: bool = False, *args, **kwargs) -> bool:
        kwargs["with_scheduler"] = True  # without it a retry would wait for ever
        once = burst or kwargs.get("max_jobs") or kwargs.get("max_idle_time")
        worked = False
        with self.app.app_context(), channels.kept_open():
            while True:
                try:
                    worked = super().work(burst, *args, **kwargs) or worked
                except redis.RedisError as error:
                    if once:
                        raise
                    log.warning("Redis unreachable: %s", error)
                if once or self.stopping:
                    return worked
                log.warning("worker stopped without being asked: starting again in 2 s")
                time.sleep(2)
                self.name = uuid4().hex  # the last run may have left its name registered

    def _start_scheduler(self, burst: bool = False, logging_level="INFO",
                         date_format=DEFAULT_LOGGING_DATE_FORMAT, log_format=DEFAULT_LOGGING_FORMAT):
        # RQ's own, with the scheduler above
        self.scheduler = Scheduler(
            self.queues, connection=self.connection, serializer=self.serializer,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format, log_format=log_format)
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return  # another worker's scheduler has the queue; maintenance rounds try again
        if not burst:
            self.scheduler.start()
            return
        try:
            self.scheduler.register_birth()
            self.scheduler.enqueue_scheduled_jobs()
        finally:
            self.scheduler.release_locks()
            self.scheduler.register_death()

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
        with self.app.app_context():  # a session per job, removed when the job ends
            super().execute_job(job, queue)

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        try:
            if requeued := requeue_pending():
                log.info("sweep: %d pending notification(s) handed to the queue", requeued)
            if expired := delete_expired_idempotency_keys():
                log.info("sweep: %d expired idempotency key(s) deleted", expired)
        except Exception:  # database or Redis away: the next round tries again
            log.exception("sweep failed")
        finally:
            db.session.remove()


def main() -> None:
    """`python worker.py [QUEUE ...]`: the queues named (channels' queues), else `emails`."""
    known = {channel.queue for channel in channels.CHANNELS.values()}
    queues = sys.argv[1:] or [QUEUE_NAME]
    if unknown := [name for name in queues if name not in known]:
        raise SystemExit(f"Unknown queue {', '.join(unknown)}: the queues are "
                         f"{', '.join(sorted(known))}.")
    EmailWorker(queues).work(logging_level="INFO")


if __name__ == "__main__":
    main()
