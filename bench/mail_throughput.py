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
from collections import Counter

from delivery_stack import app_with_recruiter, report, run_worker, start_redis, statuses

from tests.mailbox import Mailbox, recipient


def main(count: int) -> None:
    smtp, redis_server = Mailbox(), start_redis()
    smtp.start()
    os.environ.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp.port))

    from ats.auth import services as accounts
    from ats.extensions import db
    from ats.jobs import services as jobs
    from ats.models import Application, Notification, User
    from ats.notifications import outbox

    addresses = [f"c{i}@bench.example" for i in range(count)]
    app, recruiter_id, _ = app_with_recruiter()
    with app.app_context():
        candidate = accounts.create_user(name="C", email="c@bench.example", password="password1",
                                         role="candidate")
        job = jobs.create_job(db.session.get(User, recruiter_id), {"title": "Bench", "description": "-"})
        application = Application(job=job, company_id=job.company_id, candidate_id=candidate.id)
        db.session.add(application)
        db.session.flush()
        rows = [Notification(application=application, kind="application_received",
                             recipient_id=candidate.id, recipient=address,
                             dedupe_key=f"bench:{address}") for address in addresses]
        db.session.add_all(rows)
        db.session.commit()
        outbox.dispatch([row.id for row in rows])

    run = run_worker(None, lambda: len(smtp.messages), count, redis_server, smtp)

    received = Counter(recipient(message) for message in smtp.messages)
    report(("mail", "mails"), count, len(smtp.messages), sum(received[a] == 0 for a in addresses),
           sum(received[a] > 1 for a in addresses), statuses(app, Notification), "sent", run, smtp.arrived_at)


if __name__ == "__main__":
    main(max(2, int(sys.argv[1])) if len(sys.argv) > 1 else 500)  # a rate needs two mails
