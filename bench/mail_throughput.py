"""How many mails per second one `python worker.py` sends to a local SMTP server.

    python bench/mail_throughput.py [N]      (needs redis-server on PATH; SQLite by default,
                                              or DATABASE_URL naming an empty PostgreSQL database)

It records N notifications, each to its own address, hands them to a redis-server of its
own, starts the worker and times until a real SMTP server (aiosmtpd) has received them all.
Then it checks that every address got exactly one mail and every row is `sent`, and prints
the rate twice: from the worker's start (its imports included) and from the first mail to
the last (the steady rate).
"""
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.mailbox import Mailbox, recipient  # noqa: E402
from tests.processes import RedisServer, Worker  # noqa: E402

DUPLICATE_WAIT = 1.0  # seconds to keep listening after the last mail, for duplicates


def main(count: int) -> None:
    folder = tempfile.mkdtemp()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{folder}/bench.sqlite3")
    os.environ.update(ATS_ENV="testing", SECRET_KEY="bench-secret-key-0123456789abcdef0123")
    smtp, redis_server = Mailbox(), RedisServer()
    smtp.start()
    redis_server.start()
    os.environ.update(REDIS_URL=redis_server.url, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp.port))

    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from ats import create_app
    from ats.auth import services as accounts
    from ats.extensions import db
    from ats.jobs import services as jobs
    from ats.models import Application, Notification
    from ats.notifications import outbox

    addresses = [f"c{i}@bench.example" for i in range(count)]
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
                             recipient_id=candidate.id, recipient=address,
                             dedupe_key=f"bench:{address}") for address in addresses]
        db.session.add_all(rows)
        db.session.commit()
        outbox.dispatch([row.id for row in rows])

    worker = Worker({}).start()
    started = time.monotonic()
    try:
        smtp.wait_for(count, timeout=600)
        time.sleep(DUPLICATE_WAIT)
    finally:
        worker.stop()
        redis_server.stop()
        smtp.stop()
    with app.app_context():
        statuses = dict(db.session.execute(
            select(Notification.status, func.count()).group_by(Notification.status)).all())

    received = Counter(recipient(message) for message in smtp.messages)
    missing = [a for a in addresses if received[a] == 0]
    twice = [a for a in addresses if received[a] > 1]
    print(f"{len(smtp.messages)} mails received for {count} notifications: {len(missing)} missing, "
          f"{len(twice)} received more than once; rows by status {statuses}")
    if missing or twice or statuses != {"sent": count}:
        raise SystemExit("FAILED: not every notification was sent exactly once")
    arrived = smtp.arrived_at
    total, steady = arrived[-1] - started, arrived[-1] - arrived[0]
    print(f"from the worker's start: {total:.2f} s, {count / total:.0f} mails/s; "
          f"from the first mail to the last: {steady:.2f} s, {(count - 1) / steady:.0f} mails/s")


if __name__ == "__main__":
    main(max(2, int(sys.argv[1])) if len(sys.argv) > 1 else 500)  # a rate needs two mails
