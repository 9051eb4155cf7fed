"""How many mails per second one `python worker.py` sends to a local SMTP server.

    python bench/mail_throughput.py [N]      (needs redis-server on PATH; SQLite by default,
                                              or DATABASE_URL for PostgreSQL)

It records N notifications for one application, hands them to a redis-server of its own,
starts the worker and times until the SMTP server has received them all.
"""
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.mailbox import Mailbox  # noqa: E402
from tests.processes import RedisServer, Worker  # noqa: E402


def main(count: int) -> None:
    folder = tempfile.mkdtemp()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{folder}/bench.sqlite3")
    os.environ.update(ATS_ENV="testing", SECRET_KEY="bench-secret-key-0123456789abcdef0123")
    smtp, redis_server = Mailbox(), RedisServer()
    smtp.start()
    redis_server.start()
    os.environ.update(REDIS_URL=redis_server.url, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp.port))

    from flask_migrate import upgrade

    from ats import create_app
    from ats.auth import services as accounts
    from ats.extensions import db
    from ats.jobs import services as jobs
    from ats.models import Application, Notification
    from ats.notifications import services as outbox

    app = create_app()
    with app.app_context():
        upgrade()
        recruiter = accounts.register({"name": "R", "email": "r@bench.example", "password": "password1",
                                       "role": "recruiter", "company_name": f"Bench {time.time()}"})
        candidate = accounts.create_user(name="C", email="c@bench.example", password="password1",
                                         role="candidate")
        job = jobs.create_job(recruiter, {"title": "Bench", "description": "-"})
        application = Application(job=job, company_id=job.company_id, candidate_id=candidate.id)
        db.session.add(application)
        db.session.flush()
        rows = [Notification(application=application, kind="application_received",
                             recipient_id=candidate.id, recipient=candidate.email,
                             dedupe_key=f"bench:{i}") for i in range(count)]
        db.session.add_all(rows)
        db.session.commit()
        outbox.dispatch([row.id for row in rows])

    worker = Worker({}).start()
    started = time.monotonic()
    try:
        smtp.wait_for(count, timeout=600)
        elapsed = time.monotonic() - started
    finally:
        worker.stop()
        redis_server.stop()
        smtp.stop()
    print(f"{len(smtp.messages)} of {count} mails in {elapsed:.1f} s "
          f"(worker start included): {len(smtp.messages) / elapsed:.0f} mails/s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
