"""Delivery through the queue, against real parts: a redis-server of the test's own, a real
`python worker.py` process, a real SMTP server. Each test breaks one of them on purpose."""
import json
import signal
import time

import pytest
import redis
from sqlalchemy import select

from ats.extensions import db
from ats.models import HIRING_MANAGER, RECRUITER, Notification
from ats.notifications.queue import enqueue, redis_connection
from tests.mailbox import recipient
from tests.processes import Worker

FAST_RETRIES = {"MAIL_MAX_ATTEMPTS": 5, "MAIL_RETRY_DELAYS": [1, 1, 1, 1], "MAIL_SEND_TIMEOUT": 5}


@pytest.fixture
def queued(app, redis_server):
    """The app hands notifications to the test's Redis instead of delivering them inline."""
    saved = {key: app.config[key] for key in ("REDIS_URL", *FAST_RETRIES)}
    app.config.update(REDIS_URL=redis_server.url, **FAST_RETRIES)
    app.extensions.pop("ats.redis", None)
    yield redis_server
    app.config.update(saved)
    app.extensions.pop("ats.redis", None)


@pytest.fixture
def start_worker(app, queued, smtp_server):
    """start_worker(command=None, **env) -> a running `python worker.py` (or command) wired to
    this test's database and mail; env adds or (with None) removes variables."""
    workers = []

    def start(command: list[str] | None = None, **extra):
        env = {"ATS_ENV": "testing", "SECRET_KEY": app.config["SECRET_KEY"],
               "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": queued.url,
               "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_server.port),
               "MAIL_MAX_ATTEMPTS": str(FAST_RETRIES["MAIL_MAX_ATTEMPTS"]),
               "MAIL_RETRY_DELAYS": ",".join(map(str, FAST_RETRIES["MAIL_RETRY_DELAYS"])),
               "MAIL_SEND_TIMEOUT": str(FAST_RETRIES["MAIL_SEND_TIMEOUT"]), **extra}
        worker = Worker(env, command).start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def job(make_job, recruiter, make_user):
    manager = make_user(HIRING_MANAGER, recruiter.company_id)
    return make_job(recruiter, title="Queue Engineer", hiring_manager_ids=[manager.id])


def rows(app):
    with app.app_context():
        return db.session.scalars(select(Notification).order_by(Notification.id)).all()


def wait_until(predicate, timeout: float, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def assert_each_sent_once(app, mailbox):
    """Every row sent, and the SMTP server got exactly one mail per row."""
    notifications = rows(app)
    assert notifications and all(n.status == "sent" for n in notifications), \
        [(n.id, n.status, n.attempts, n.last_error) for n in notifications]
    received = sorted(recipient(m) for m in mailbox.messages)
    assert received == sorted(n.recipient for n in notifications)


def sent_lines(worker) -> list[dict]:
    """The worker's JSON log lines that report a mail sent."""
    lines = [json.loads(line) for line in worker.output().splitlines() if line.startswith("{")]
    return [line for line in lines if line["message"].endswith(" sent")]


def test_the_worker_delivers_queued_mail(app, client, mailbox, start_worker, job, candidate,
                                         recruiter):
    worker = start_worker()
    application = client.post(f"/api/jobs/{job['id']}/applications", json={},
                              headers={**candidate.headers, "X-Request-ID": "apply-7"}).get_json()
    client.patch(f"/api/applications/{application['id']}/stage", json={"stage": "screening"},
                 headers={**recruiter.headers, "X-Request-ID": "move-8"})

    assert len(mailbox.wait_for(4, timeout=30)) == 4, worker.output()
    assert wait_until(lambda: all(n.status == "sent" for n in rows(app)), 10)
    assert_each_sent_once(app, mailbox)
    assert client.get("/api/health").get_json()["queue"] == "ok"
    # each mail's log line names the request that caused it, and never its address
    assert wait_until(lambda: len(sent_lines(worker)) == 4, 5), worker.output()
    logged = {(line["notification_id"], line["kind"], line["request_id"]) for line in sent_lines(worker)}
    assert logged == {(n.id, n.kind, "move-8" if n.kind == "stage_changed" else "apply-7")
                      for n in rows(app)}
    assert not any(n.recipient in worker.output() for n in rows(app))


def test_redis_down_requests_stay_fast_and_every_mail_arrives_once_it_is_back(
        app, client, mailbox, queued, start_worker, job, candidate, recruiter, make_application):
    worker = start_worker()
    queued.stop()

    application, took = timed(lambda: client.post(
        f"/api/jobs/{job['id']}/applications", json={}, headers=candidate.headers))
    assert application.status_code == 201 and took < 2, took
    application_id = application.get_json()["id"]
    for stage in ("screening", "interview"):
        response, took = timed(lambda: client.patch(
            f"/api/applications/{application_id}/stage", json={"stage": stage},
            headers=recruiter.headers))
        assert response.status_code == 200 and took < 2, took
    assert client.get("/api/health").get_json()["queue"] == "down"
    assert all(n.status == "pending" for n in rows(app))

    queued.start()  # empty: whatever was queued before is gone, the outbox is not
    assert wait_until(lambda: len(mailbox.messages) >= 5, 90), worker.output()
    assert wait_until(lambda: all(n.status == "sent" for n in rows(app)), 10)
    time.sleep(2)  # a duplicate would arrive now
    assert_each_sent_once(app, mailbox)


def test_a_hung_redis_does_not_hang_requests(app, client, queued, job, candidate):
    queued.pause()
    response, took = timed(lambda: client.post(
        f"/api/jobs/{job['id']}/applications", json={}, headers=candidate.headers))
    queued.resume()
    assert response.status_code == 201
    assert took < 2, took
    assert all(n.status == "pending" for n in rows(app))


def test_a_worker_killed_mid_send_is_replaced_and_the_mail_arrives_once(
        app, client, mailbox, start_worker, job, candidate, make_application):
    mailbox.mode, mailbox.delay = "slow", 3.0
    first = start_worker()
    make_application(candidate, job["id"])
    assert mailbox.rcpt_started.wait(30), first.output()
    first.kill()

    mailbox.delay = 0.5
    second = start_worker()
    # the killed sender's lease runs out, the sweep hands the row back, the new worker sends
    assert wait_until(lambda: all(n.status == "sent" for n in rows(app)), 90), second.output()
    time.sleep(2)
    assert_each_sent_once(app, mailbox)


def test_a_send_that_hangs_times_out_and_the_worker_carries_on(app, mailbox, start_worker, job,
                                                              candidate, make_application):
    """The job timeout interrupts a send inside the worker's own process: the attempt is
    counted, the SMTP connection dropped, and the same worker delivers once the server answers."""
    mailbox.mode, mailbox.delay = "slow", 3 * FAST_RETRIES["MAIL_SEND_TIMEOUT"]
    worker = start_worker()
    make_application(candidate, job["id"])
    assert wait_until(lambda: any(n.last_error for n in rows(app)), 30), worker.output()
    assert all(n.status == "pending" for n in rows(app))

    mailbox.mode = "accept"
    assert wait_until(lambda: all(n.status == "sent" for n in rows(app)), 60), worker.output()
    time.sleep(2)
    assert_each_sent_once(app, mailbox)
    assert worker.process.poll() is None  # the same worker throughout


def test_smtp_down_attempts_are_counted_and_delivery_resumes(app, client, mailbox, smtp_server,
                                                             start_worker, job, candidate,
                                                             make_application):
    mailbox.mode = "reject"
    worker = start_worker()
    make_application(candidate, job["id"])
    assert wait_until(lambda: all(n.attempts >= 2 for n in rows(app)), 30), worker.output()
    assert all(n.status == "pending" and "451" in n.last_error for n in rows(app))

    mailbox.mode = "accept"
    assert wait_until(lambda: all(n.status == "sent" for n in rows(app)), 60), worker.output()
    assert_each_sent_once(app, mailbox)


def test_after_the_last_retry_the_row_is_failed_and_visible(app, client, mailbox, start_worker,
                                                            job, candidate, recruiter,
                                                            make_application):
    mailbox.mode = "reject"
    worker = start_worker()
    application = make_application(candidate, job["id"])
    limit = FAST_RETRIES["MAIL_MAX_ATTEMPTS"]
    assert wait_until(lambda: all(n.status == "failed" for n in rows(app)), 60), worker.output()

    items = client.get(f"/api/applications/{application['id']}/notifications",
                       headers=recruiter.headers).get_json()["items"]
    assert items and all(i["status"] == "failed" and i["attempts"] == limit for i in items)
    assert all("451" in i["last_error"] for i in items)
    assert mailbox.messages == []


def test_sigterm_lets_the_mail_being_sent_finish(app, mailbox, start_worker, job, candidate,
                                                 make_application):
    mailbox.mode, mailbox.delay = "slow", 3.0
    worker = start_worker()
    make_application(candidate, job["id"])
    assert mailbox.rcpt_started.wait(30), worker.output()

    worker.signal_all(signal.SIGTERM)  # as a PaaS does: every process
    worker.process.wait(30)
    assert len(mailbox.messages) >= 1, worker.output()
    first = recipient(mailbox.messages[0])
    sent = [n for n in rows(app) if n.recipient == first]
    assert sent[0].status == "sent" and sent[0].attempts == 1


def test_a_duplicate_job_sends_nothing_more(app, mailbox, start_worker, job, candidate,
                                            make_application):
    start_worker()
    make_application(candidate, job["id"])
    assert wait_until(lambda: all(n.status == "sent" for n in rows(app)), 30)
    with app.app_context():
        ids = [n.id for n in rows(app)]
        enqueue(redis_connection(), ids)  # the same jobs once more
    time.sleep(3)
    assert_each_sent_once(app, mailbox)


def test_applying_costs_the_same_statements_whatever_the_team_size(
        app, client, queued, make_user, make_job, recruiter, count_queries):
    """One query finds every recipient and one INSERT records them all; each gets its job."""
    def apply_to(job) -> tuple[int, int]:
        with count_queries() as statements:
            response = client.post(f"/api/jobs/{job['id']}/applications", json={},
                                   headers=make_user().headers)
        assert response.status_code == 201, response.get_json()
        return len(statements), len(rows(app))

    small = apply_to(make_job(recruiter))
    managers = [make_user(HIRING_MANAGER, recruiter.company_id).id for _ in range(4)]
    for _ in range(4):
        make_user(RECRUITER, recruiter.company_id)
    big = apply_to(make_job(recruiter, hiring_manager_ids=managers))

    assert small[1] == 2 and big[1] - small[1] == 10  # the candidate, 5 recruiters, 4 managers
    assert small[0] == big[0]
    queue = redis.Redis.from_url(queued.url)
    assert queue.llen("rq:queue:emails") == big[1]


# --- outages and refusals of the mail server ------------------------------------------------

def test_each_queued_mail_carries_a_retry_schedule_of_more_than_a_day(app, queued, job, candidate,
                                                                      make_application, monkeypatch):
    from ats import config
    from rq.job import Job as RqJob

    for name in ("MAIL_MAX_ATTEMPTS", "MAIL_RETRY_DELAYS"):
        monkeypatch.delenv(name, raising=False)
    defaults = config.from_environment()
    app.config.update(MAIL_MAX_ATTEMPTS=defaults["MAIL_MAX_ATTEMPTS"],
                      MAIL_RETRY_DELAYS=defaults["MAIL_RETRY_DELAYS"])
    make_application(candidate, job["id"])

    connection = redis.Redis.from_url(queued.url)
    for notification in rows(app):
        queued_job = RqJob.fetch(f"notification-{notification.id}", connection=connection)
        assert queued_job.retries_left == defaults["MAIL_MAX_ATTEMPTS"] - 1
        assert sum(queued_job.retry_intervals) >= 24 * 3600
        assert queued_job.get_retry_interval() == defaults["MAIL_RETRY_DELAYS"][0]  # the first wait first


def test_mail_waits_out_an_smtp_outage_and_arrives_once_the_server_is_back(
        app, client, mailbox, smtp_server, start_worker, job, candidate, recruiter,
        make_application, monkeypatch):
    """The default number of attempts, with the waits shrunk from hours to seconds: an outage
    longer than five attempts (which used to fail every row) is waited out."""
    from ats import config

    monkeypatch.delenv("MAIL_MAX_ATTEMPTS", raising=False)
    delays = [1, 1, 1, 1, 1, 2, 4, 8]
    app.config.update(MAIL_MAX_ATTEMPTS=config.from_environment()["MAIL_MAX_ATTEMPTS"],
                      MAIL_RETRY_DELAYS=delays)  # the app gives each job its retries
    worker = start_worker(MAIL_MAX_ATTEMPTS=None, MAIL_RETRY_DELAYS=",".join(map(str, delays)))
    smtp_server.stop()
    try:
        application = make_application(candidate, job["id"])
        moved = client.patch(f"/api/applications/{application['id']}/stage",
                             json={"stage": "screening"}, headers=recruiter.headers)
        assert moved.status_code == 200
        # connection refused, attempt after attempt: the rows wait
        assert wait_until(lambda: all(n.attempts >= 6 or n.status != "pending" for n in rows(app)),
                          60), worker.output()
        assert all(n.status == "pending" and "ConnectionRefusedError" in n.last_error
                   for n in rows(app)), [(n.status, n.attempts, n.last_error) for n in rows(app)]
    finally:
        smtp_server.start()
    assert wait_until(lambda: all(n.status == "sent" for n in rows(app)), 60), worker.output()
    time.sleep(2)  # a duplicate would arrive now
    assert len(rows(app)) == 4
    assert_each_sent_once(app, mailbox)


def test_a_550_fails_at_once_and_resend_and_requeue_failed_deliver_each_once(
        app, client, runner, mailbox, start_worker, job, candidate, recruiter, make_application):
    mailbox.mode = "refuse"
    worker = start_worker()
    make_application(candidate, job["id"])
    assert wait_until(lambda: all(n.status == "failed" for n in rows(app)), 30), worker.output()
    time.sleep(2.5)  # retries, 1 s apart, would have come by now
    assert all(n.status == "failed" and n.attempts == 1 and "550" in n.last_error
               for n in rows(app)), [(n.status, n.attempts, n.last_error) for n in rows(app)]
    assert mailbox.messages == []

    mailbox.mode = "accept"
    first, *others = rows(app)
    response = client.post(f"/api/notifications/{first.id}/resend", headers=recruiter.headers)
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["status"] in ("pending", "sent")  # the worker may be quick
    assert wait_until(lambda: rows(app)[0].status == "sent", 30), worker.output()
    assert [recipient(m) for m in mailbox.messages] == [first.recipient]
    assert all(n.status == "failed" for n in rows(app)[1:])

    result = runner.invoke(args=["ats", "requeue", "--failed"])
    assert result.exit_code == 0, result.output
    assert f"{len(others)} failed notification(s) back to pending" in result.output
    assert wait_until(lambda: all(n.status == "sent" for n in rows(app)), 30), worker.output()
    time.sleep(2)  # a duplicate would arrive now
    assert_each_sent_once(app, mailbox)
    assert all(n.attempts == 1 for n in rows(app))  # fresh attempts, one each
