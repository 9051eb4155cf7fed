"""How many webhook deliveries per second one `python worker.py webhooks` makes to a local
receiver.

    python bench/webhook_throughput.py [N]   (needs redis-server on PATH; SQLite by default,
                                              or DATABASE_URL naming an empty PostgreSQL database)

It records N events for one subscription (one delivery each), hands them to a redis-server
of its own, starts the worker and times until a real HTTP receiver (`http.server` in a
thread of this process, HTTP/1.1 keep-alive) has received them all. Then it checks that
every event arrived exactly once (by its webhook-id) and every delivery is `delivered`, and
prints the rate twice: from the worker's start (its imports included) and from the first
delivery to the last (the steady rate).
"""
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.processes import RedisServer, Worker  # noqa: E402
from tests.receivers import Receiver  # noqa: E402

DUPLICATE_WAIT = 1.0  # seconds to keep listening after the last delivery, for duplicates


def main(count: int) -> None:
    folder = tempfile.mkdtemp()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{folder}/bench.sqlite3")
    os.environ.update(ATS_ENV="testing", SECRET_KEY="bench-secret-key-0123456789abcdef0123")
    receiver, redis_server = Receiver(), RedisServer()
    redis_server.start()
    os.environ.update(REDIS_URL=redis_server.url)

    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from ats import create_app
    from ats.auth import services as accounts
    from ats.extensions import db
    from ats.models import Webhook, WebhookDelivery, WebhookEvent
    from ats.notifications import outbox
    from ats.notifications.kinds import WEBHOOK
    from ats.webhooks.sending import message_id, new_secret

    app = create_app()
    with app.app_context():
        upgrade()
        recruiter = accounts.register({"name": "R", "email": "r@bench.example", "password": "password1",
                                       "role": "recruiter", "company_name": f"Bench {time.time()}"})
        webhook = Webhook(company_id=recruiter.company_id, url=receiver.url, events=["job.created"],
                          secret=new_secret())
        events = [WebhookEvent(company_id=recruiter.company_id, type="job.created",
                               payload={"type": "job.created", "timestamp": "2026-01-01T00:00:00+00:00",
                                        "data": {"job": {"id": i, "title": f"Job {i}"}}})
                  for i in range(count)]
        db.session.add_all([webhook, *events])
        db.session.flush()
        rows = [WebhookDelivery(webhook_id=webhook.id, event_id=event.id) for event in events]
        db.session.add_all(rows)
        db.session.commit()
        expected = {message_id(webhook.id, event.id) for event in events}
        outbox.dispatch([row.id for row in rows], WEBHOOK)

    worker = Worker({}, [sys.executable, "worker.py", "webhooks"]).start()
    started = time.monotonic()
    try:
        deadline = started + 600
        while len(receiver.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(DUPLICATE_WAIT)
    finally:
        worker.stop()
        redis_server.stop()
        receiver.stop()
    with app.app_context():
        statuses = dict(db.session.execute(
            select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)).all())

    received = Counter(request.headers["webhook-id"] for request in receiver.requests)
    missing, twice = expected - set(received), [key for key, n in received.items() if n > 1]
    print(f"{len(receiver.requests)} deliveries received for {count} events: {len(missing)} missing, "
          f"{len(twice)} received more than once; rows by status {statuses}")
    if missing or twice or statuses != {"delivered": count}:
        print(worker.output()[-3000:])
        raise SystemExit("FAILED: not every event was delivered exactly once")
    arrived = [request.at for request in receiver.requests]
    total, steady = arrived[-1] - started, arrived[-1] - arrived[0]
    print(f"from the worker's start: {total:.2f} s, {count / total:.0f} deliveries/s; "
          f"from the first delivery to the last: {steady:.2f} s, {(count - 1) / steady:.0f} deliveries/s")


if __name__ == "__main__":
    main(max(2, int(sys.argv[1])) if len(sys.argv) > 1 else 500)  # a rate needs two deliveries
