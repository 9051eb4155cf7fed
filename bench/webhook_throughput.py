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
import sys
from collections import Counter

from delivery_stack import app_with_recruiter, report, run_worker, start_redis, statuses

from tests.receivers import Receiver


def main(count: int) -> None:
    receiver, redis_server = Receiver(), start_redis()

    from ats.extensions import db
    from ats.models import Webhook, WebhookDelivery, WebhookEvent
    from ats.notifications import outbox
    from ats.notifications.kinds import WEBHOOK
    from ats.webhooks.sending import message_id, new_secret

    app, _, company_id = app_with_recruiter()
    with app.app_context():
        webhook = Webhook(company_id=company_id, url=receiver.url, events=["job.created"],
                          secret=new_secret())
        events = [WebhookEvent(company_id=company_id, type="job.created",
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

    run = run_worker([sys.executable, "worker.py", "webhooks"], lambda: len(receiver.requests),
                         count, redis_server, receiver)

    received = Counter(request.headers["webhook-id"] for request in receiver.requests)
    report(("delivery", "deliveries"), count, len(receiver.requests), len(expected - set(received)),
           sum(n > 1 for n in received.values()), statuses(app, WebhookDelivery), "delivered",
           run, [request.at for request in receiver.requests])


if __name__ == "__main__":
    main(max(2, int(sys.argv[1])) if len(sys.argv) > 1 else 500)  # a rate needs two deliveries
