"""What the delivery benchmarks (mail_throughput.py, webhook_throughput.py) share: a database
(SQLite in a fresh folder unless DATABASE_URL names an empty one) and a redis-server of their
own, the migrated app with one recruiter's company, and the report of what arrived."""
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.processes import RedisServer  # noqa: E402

DUPLICATE_WAIT = 1.0  # seconds to keep listening after the last arrival, for duplicates


def start_redis() -> RedisServer:
    """The environment the app and the worker read, with a redis-server of the run's own."""
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3")
    os.environ.update(ATS_ENV="testing", SECRET_KEY="bench-secret-key-0123456789abcdef0123")
    redis_server = RedisServer()
    redis_server.start()
    os.environ["REDIS_URL"] = redis_server.url
    return redis_server


def app_with_recruiter():
    """(the migrated app, the id of a recruiter of a new company, that company's id)."""
    from flask_migrate import upgrade

    from ats import create_app
    from ats.auth import services as accounts

    app = create_app()
    with app.app_context():
        upgrade()
        recruiter = accounts.register({"name": "R", "email": "r@bench.example", "password": "password1",
                                       "role": "recruiter", "company_name": f"Bench {time.time()}"})
        return app, recruiter.id, recruiter.company_id


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_worker(command, arrived, count: int, *services) -> tuple[float, float]:
    """Start the worker (command: None for `python worker.py`), wait until arrived() reaches
    count (ten minutes at most) and a moment for duplicates, then stop it and services ->
    (when it started, the CPU seconds its process used from the first arrival to the last):
    on a machine shared with other work the rate says how much of it the worker got, the
    CPU time what each row costs."""
    from tests.processes import Worker

    worker = Worker({}, command).start()
    started, first_cpu = time.monotonic(), None
    try:
        while arrived() < count and time.monotonic() < started + 600:
            if first_cpu is None and arrived():
                first_cpu = cpu_seconds(worker.process.pid)
            time.sleep(0.01)
        used = cpu_seconds(worker.process.pid) - (first_cpu or 0)
        time.sleep(DUPLICATE_WAIT)
    finally:
        worker.stop()
        for service in services:
            service.stop()
    return started, used


def statuses(app, outbox) -> dict:
    """{status: rows} of an outbox table."""
    from sqlalchemy import func, select

    from ats.extensions import db

    with app.app_context():
        return dict(db.session.execute(
            select(outbox.status, func.count()).group_by(outbox.status)).all())


def report(what: tuple[str, str], count: int, received: int, missing: int, twice: int,
           statuses: dict, done: str, run: tuple[float, float], arrived: list[float]) -> None:
    """Print what arrived (what: its name, one and many) and the rates; exit non-zero unless
    each of count arrived once. run: what run_worker answered."""
    one, many = what
    started, cpu = run
    print(f"{received} {many} received for {count} rows: {missing} missing, "
          f"{twice} received more than once; rows by status {statuses}")
    if missing or twice or statuses != {done: count}:
        raise SystemExit("FAILED: not every row arrived exactly once")
    total, steady = arrived[-1] - started, arrived[-1] - arrived[0]
    print(f"from the worker's start: {total:.2f} s, {count / total:.0f} {many}/s; "
          f"from the first {one} to the last: {steady:.2f} s, {(count - 1) / steady:.0f} {many}/s; "
          f"the worker's CPU: {cpu * 1000 / (count - 1):.1f} ms per {one}, "
          f"{(count - 1) / cpu:.0f} {many} per CPU-second")
