"""Workers under faults of their own, against real parts: a worker SIGKILLed alone (its
scheduler child must go with it and nothing queued may be stranded), the outbox sweep's view
of jobs that left the queue, and a plain `rq worker` started exactly as the README shows it,
which must keep every promise `python worker.py` keeps."""
import json
import os
import re
import shlex
import signal
import sys
from pathlib import Path

import pytest
import redis

from ats.notifications import delivery
from tests.processes import ROOT
from tests.test_delivery import (assert_each_sent_once, job, queued, rows, sent_lines,  # noqa: F401
                                 start_worker, wait_until)

QUEUE, TAKEN = "rq:queue:emails", "rq:queue:emails:intermediate"
QUICK_SWEEP = {"WORKER_SWEEP_SECONDS": "2"}


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie nobody reaped counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def blocked_on_the_queue(url: str) -> bool:
    """A worker's connection waits in its blocking pop."""
    return any(client.get("cmd") in ("blmove", "blpop") for client in redis.Redis.from_url(url).client_list())


def readme_rq_worker_command() -> list[str]:
    """The `rq worker …` line of the README, with the virtualenv's rq."""
    line = re.search(r"^\s*(rq worker [^#\n]*?)\s*(#.*)?$", (ROOT / "README.md").read_text(), re.M)
    assert line, "the README shows no `rq worker` command line"
    command = shlex.split(line.group(1))
    return [str(Path(sys.executable).parent / "rq"), *command[1:]]


# --- a worker killed alone -------------------------------------------------------------------

def test_a_worker_killed_alone_takes_its_scheduler_along_and_strands_no_mail(
        app, mailbox, queued, start_worker, job, make_user, make_application):
    candidates = [make_user() for _ in range(5)]
    first = start_worker(**QUICK_SWEEP)
    assert wait_until(lambda: len(first._tree()) > 1 and blocked_on_the_queue(queued.url), 30), \
        first.output()
    children = first._tree()[1:]  # RQ's scheduler

    os.kill(first.process.pid, signal.SIGKILL)  # the main process only, as the OOM killer does
    first.process.wait(10)
    for candidate in candidates:  # at once, while the dead worker's pop may still be waiting
        make_application(candidate, job["id"])
    gone = wait_until(lambda: not any(alive(pid) for pid in children), 5)
    for pid in filter(alive, children):  # leave nothing behind, even on failure
        os.kill(pid, signal.SIGKILL)
    assert gone, f"the scheduler outlived its worker: {first.output()}"

    second = start_worker(**QUICK_SWEEP)
    assert wait_until(lambda: len(mailbox.messages) >= 15, 30), second.output()
    assert wait_until(lambda: all(n.status == "sent" for n in rows(app)), 10), second.output()
    assert_each_sent_once(app, mailbox)


def test_the_sweep_hands_back_queued_jobs_that_left_the_queue(app, queued, job, candidate,
                                                             make_application):
    make_application(candidate, job["id"])
    client = redis.Redis.from_url(queued.url)
    everything = sorted(client.lrange(QUEUE, 0, -1))
    assert len(everything) == 3
    with app.app_context():
        assert delivery.requeue_pending() == 0  # all of them are waiting in the queue

    # what a dead worker's blocking pop does: BLMOVE (one queue, Redis >= 6.2), or BLPOP
    client.lmove(QUEUE, TAKEN)
    client.lpop(QUEUE)
    with app.app_context():
        assert delivery.requeue_pending() == 2
    assert sorted(client.lrange(QUEUE, 0, -1)) == everything
    assert client.llen(TAKEN) == 0  # RQ would later fail it as stuck there
    with app.app_context():
        assert delivery.requeue_pending() == 0


def test_the_sweep_hands_back_a_job_started_by_a_worker_that_is_gone(app, queued, job, candidate,
                                                                     make_application):
    make_application(candidate, job["id"])
    client = redis.Redis.from_url(queued.url)
    client.hset("rq:worker:alive", mapping={"birth": "now"})
    orphaned, running = client.lpop(QUEUE), client.lpop(QUEUE)
    for job_id, worker in ((orphaned, "gone"), (running, "alive")):
        client.hset(f"rq:job:{job_id.decode()}", mapping={"status": "started", "worker_name": worker})

    with app.app_context():
        assert delivery.requeue_pending() == 1
    assert orphaned in client.lrange(QUEUE, 0, -1)
    assert running not in client.lrange(QUEUE, 0, -1)


# --- `rq worker` as the README shows it ------------------------------------------------------

def test_rq_worker_as_the_readme_shows_keeps_every_promise_of_worker_py(
        app, mailbox, queued, start_worker, job, candidate, make_user, make_application):
    make_application(candidate, job["id"])
    redis.Redis.from_url(queued.url).flushdb()  # Redis restarted empty: three rows left pending
    mailbox.mode = "reject"  # 451: a temporary failure, retried after MAIL_RETRY_DELAYS

    worker = start_worker(readme_rq_worker_command(), **QUICK_SWEEP)
    # the sweep hands the rows back, and each first attempt fails
    assert wait_until(lambda: all(n.attempts >= 1 and "451" in (n.last_error or "")
                                  for n in rows(app)), 30), worker.output()
    mailbox.mode = "accept"  # the retries wait in RQ's scheduler: without it none would come
    assert wait_until(lambda: all(n.status == "sent" for n in rows(app)), 30), worker.output()
    assert_each_sent_once(app, mailbox)

    # the app was built once, when the worker started: fifteen more mails in a stream take
    # a fraction of a second each (building it per job costs about 0.5 s a mail)
    for applicant in [make_user() for _ in range(5)]:
        make_application(applicant, job["id"])
    assert wait_until(lambda: len(mailbox.messages) >= 18, 30), worker.output()
    assert mailbox.arrived_at[-1] - mailbox.arrived_at[3] < 15 * 0.2, mailbox.arrived_at
    assert wait_until(lambda: all(n.status == "sent" for n in rows(app)), 10)
    assert_each_sent_once(app, mailbox)

    # each line written once, in the app's format
    lines = [line for line in worker.output().splitlines() if line.strip()]
    assert all(line.startswith("{") for line in lines), worker.output()
    assert len([line for line in lines if "Listening on" in json.loads(line)["message"]]) == 1
    sent = [line["notification_id"] for line in sent_lines(worker)]
    assert sorted(sent) == sorted(n.id for n in rows(app)), worker.output()


def test_rq_worker_reads_flaskenv_like_flask_commands(app, mailbox, start_worker, job, candidate,
                                                     make_application):
    """Neither ATS_ENV nor SECRET_KEY set: .flaskenv says development, which needs neither."""
    worker = start_worker(readme_rq_worker_command(), ATS_ENV=None, SECRET_KEY=None)
    make_application(candidate, job["id"])
    assert len(mailbox.wait_for(3, timeout=30)) == 3, worker.output()
    assert wait_until(lambda: all(n.status == "sent" for n in rows(app)), 10), worker.output()


@pytest.mark.parametrize("command", ["python worker.py", "rq worker (README)"])
def test_a_configuration_error_is_one_line_and_the_worker_exits(start_worker, command):
    argv = None if command == "python worker.py" else readme_rq_worker_command()
    worker = start_worker(argv, ATS_ENV="production", SECRET_KEY=None)
    assert worker.process.wait(30) != 0
    assert worker.output().strip().splitlines() == [
        "Configuration error: SECRET_KEY must be set to at least 32 bytes"], worker.output()
