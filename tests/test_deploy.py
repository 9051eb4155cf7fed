"""Deploys as written: every Procfile line started the way a PaaS starts it (from the
repository's root, settings from the environment alone, ATS_ENV unset so production defaults
apply) against a new, empty PostgreSQL database, a redis-server and the suite's SMTP server."""
import json
import os
import runpy
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from rq import Queue

from ats.config import database_url as database_url_from
from ats.extensions import db
from ats.models import NOTIFICATION_PENDING, NOTIFICATION_SENT
from ats.notifications.queue import QUEUE_NAME
from tests.databases import throwaway_postgres_database
from tests.mailbox import free_port, recipient
from tests.processes import ROOT, RedisServer

SERVER_URL = database_url_from(os.environ.get("TEST_DATABASE_URL"))

needs_postgresql = pytest.mark.skipif(
    not (SERVER_URL or "").startswith("postgresql"),
    reason="deploys run on PostgreSQL: set TEST_DATABASE_URL=postgresql://… to run them")

START_SECONDS = 10  # from the command to an answering /api/health, on a busy 2-core machine
PASSWORD = "correct-horse-battery"


def procfile() -> dict[str, str]:
    """{process type: command}, as a PaaS reads the Procfile."""
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            kind, _, command = line.partition(":")
            entries[kind.strip()] = command.strip()
    return entries


def gunicorn_setting(name: str):
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))[name]


class Processes:
    """Procfile commands run through a shell, each in a process group of its own (a PaaS
    signals the whole group); whatever is still running at the end is killed."""

    def __init__(self, env: dict, logs: Path):
        self.env = env
        self.logs = logs
        self.started: list[subprocess.Popen] = []

    def start(self, kind: str, **env) -> subprocess.Popen:
        log_path = self.logs / f"{kind}-{len(self.started)}.log"
        # exec: the shell becomes the command, so its exit status is the command's own
        with log_path.open("wb") as log:
            process = subprocess.Popen(["/bin/sh", "-c", f"exec {procfile()[kind]}"], cwd=ROOT,
                                       env={**self.env, **env}, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        process.log_path = log_path
        self.started.append(process)
        return process

    def run(self, kind: str, timeout: float = 120) -> subprocess.CompletedProcess:
        process = self.start(kind)
        process.wait(timeout)
        return subprocess.CompletedProcess(process.args, process.returncode, output(process))

    def kill_all(self):
        """SIGKILL each process group and every descendant (a descendant may leave the group)."""
        for process in self.started:
            running = process.poll() is None  # else its pid may already be someone else's
            for pid in descendants(process.pid) if running else []:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(10)


def output(process) -> str:
    return Path(process.log_path).read_text(errors="replace")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid:
                found.append(int(entry.name))
    return found


def descendants(pid: int) -> list[int]:
    found = [pid]
    for parent in found:
        found += children(parent)
    return found


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def wait_until(predicate, timeout: float, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(step)
    return predicate()


def call(port: int, method: str, path: str, body=None, token=None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api{path}", method=method,
                                     headers=headers,
                                     data=None if body is None else json.dumps(body).encode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def sign_up(port: int, email: str, **fields) -> str:
    """Register through the running web process and log in -> the access token."""
    status, body = call(port, "POST", "/auth/register",
                        {"name": "Someone", "email": email, "password": PASSWORD, **fields})
    assert status == 201, body
    status, body = call(port, "POST", "/auth/login", {"email": email, "password": PASSWORD})
    assert status == 200, body
    return body["access_token"]


def wait_for_health(web, port: int) -> dict:
    """GET /api/health until it answers; fail with web's output if it never does."""
    def answer():
        assert web.poll() is None, f"web exited with {web.returncode}:\n{output(web)}"
        try:
            status, body = call(port, "GET", "/health")
        except OSError:
            return None
        return body if status == 200 else None

    body = wait_until(answer, START_SECONDS)
    assert body, f"no healthy answer on port {port} within {START_SECONDS} s:\n{output(web)}"
    return body


@pytest.fixture(scope="module")
def deployment(smtp_server):
    """The add-ons a PaaS attaches (database, Redis, SMTP) and the environment it passes."""
    redis_server = RedisServer()
    databases = throwaway_postgres_database(SERVER_URL)
    try:
        redis_server.start()
        url = sa.make_url(next(databases)).set(drivername="postgres")  # the PaaS spelling
        env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.defpath}",
               "PORT": str(free_port()),
               "DATABASE_URL": url.render_as_string(hide_password=False),
               "SECRET_KEY": secrets.token_urlsafe(48),
               "REDIS_URL": redis_server.url,
               "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_server.port)}
        engine = sa.create_engine(database_url_from(env["DATABASE_URL"]))
        yield {"env": env, "engine": engine, "redis": redis_server}
        engine.dispose()
    finally:
        redis_server.stop()
        databases.close()  # drops the database, whatever is still connected


@pytest.fixture
def processes(deployment, tmp_path):
    started = Processes(deployment["env"], tmp_path)
    yield started
    started.kill_all()


@pytest.fixture(scope="module")
def released(deployment, tmp_path_factory):
    """The release phase, run once before web and worker, as on every deploy."""
    started = Processes(deployment["env"], tmp_path_factory.mktemp("release"))
    try:
        yield started.run("release")
    finally:
        started.kill_all()


def test_procfile_declares_release_web_and_the_workers():
    assert set(procfile()) == {"release", "web", "worker", "webhooks"}
    assert procfile()["webhooks"] == "python worker.py webhooks"  # mail never waits behind it


@needs_postgresql
def test_release_migrates_an_empty_database_to_head(deployment, released):
    assert released.returncode == 0, released.stdout
    inspector = sa.inspect(deployment["engine"])
    assert set(inspector.get_table_names()) == set(db.metadata.tables) | {"alembic_version"}
    with deployment["engine"].connect() as connection:
        revisions = connection.scalars(sa.text("SELECT version_num FROM alembic_version")).all()
    assert revisions == [ScriptDirectory(str(ROOT / "migrations")).get_current_head()]


@needs_postgresql
def test_release_again_changes_nothing(processes, released):
    assert released.returncode == 0, released.stdout
    again = processes.run("release")
    assert again.returncode == 0, again.stdout


@needs_postgresql
def test_web_answers_health_with_web_concurrency_workers_and_stops_on_sigterm(
        deployment, released, processes):
    assert released.returncode == 0, released.stdout
    port = int(deployment["env"]["PORT"])
    web = processes.start("web", WEB_CONCURRENCY="3")
    assert wait_for_health(web, port) == {"status": "ok", "database": "ok", "queue": "ok"}
    assert wait_until(lambda: len(children(web.pid)) == 3, 10), (children(web.pid), output(web))

    graceful_timeout = gunicorn_setting("graceful_timeout")
    stopping = time.monotonic()
    os.killpg(web.pid, signal.SIGTERM)  # what a PaaS does to stop or restart a dyno
    assert web.wait(graceful_timeout + 10) == 0, output(web)
    assert time.monotonic() - stopping < graceful_timeout
    assert wait_until(lambda: not group_alive(web.pid), 5), "a gunicorn worker outlived its master"


@needs_postgresql
def test_worker_delivers_the_mail_of_an_application_made_through_web(
        deployment, released, processes, mailbox):
    assert released.returncode == 0, released.stdout
    port, engine = int(deployment["env"]["PORT"]), deployment["engine"]
    web = processes.start("web", WEB_CONCURRENCY="1")
    wait_for_health(web, port)

    recruiter = sign_up(port, "rita@deploy.example", role="recruiter", company_name="Deploy Corp")
    candidate = sign_up(port, "carl@deploy.example")
    status, job = call(port, "POST", "/jobs", {"title": "Site Reliability Engineer",
                                              "description": "Keeps things running."}, recruiter)
    assert status == 201, job
    status, application = call(port, "POST", f"/jobs/{job['id']}/applications",
                               {"cover_letter": "Hello!"}, candidate)
    assert status == 201, application

    def statuses():
        with engine.connect() as connection:
            return connection.scalars(sa.text(
                "SELECT status FROM notifications WHERE application_id = :id"),
                {"id": application["id"]}).all()

    # web only queued the mails: nobody has consumed them yet
    queue = Queue(QUEUE_NAME, connection=redis.Redis.from_url(deployment["redis"].url))
    assert statuses() == [NOTIFICATION_PENDING] * 2 and queue.count == 2 and mailbox.messages == []

    worker = processes.start("worker")
    recipients = sorted(recipient(m) for m in mailbox.wait_for(2, timeout=30))
    assert recipients == ["carl@deploy.example", "rita@deploy.example"], output(worker)
    sent = wait_until(lambda: statuses() == [NOTIFICATION_SENT] * 2, 10)
    assert sent, (statuses(), output(worker))
    assert queue.count == 0

    os.killpg(worker.pid, signal.SIGTERM)
    assert worker.wait(30) == 0, output(worker)
