"""How many webhook deliveries per second one `python worker.py webhooks` makes to local
receivers.

    python bench/webhook_throughput.py [N] [--endpoints K]
        (needs redis-server on PATH; SQLite by default, or DATABASE_URL naming an empty
        PostgreSQL database)

It records N deliveries (N / K events, each for K subscriptions, one receiver each: 1 by
default), hands them to a redis-server of its own, starts the worker and times until real
HTTP receivers (`http.server`s in threads of this process, HTTP/1.1 keep-alive) have
received them all. Then it checks that every event reached every subscription exactly once
(by its webhook-id) and every delivery is `delivered`, and prints the rate twice: from the
worker's start (its imports included) and from the first delivery to the last (the steady
rate).
"""
import argparse
import sys
from collections import Counter

from delivery_stack import app_with_recruiter, report, run_worker, start_redis, statuses

from tests.receivers import Receiver


def main(count: int, endpoints: int) -> None:
    receivers, redis_server = [Receiver() for _ in range(endpoints)], start_redis()

    from ats.extensions import db
    from ats.models import Webhook, WebhookDelivery, WebhookEvent
    from ats.notifications import outbox
    from ats.notifications.kinds import WEBHOOK
    from ats.webhooks.sending import message_id, new_secret

    app, _, company_id = app_with_recruiter()
    with app.app_context():
        webhooks = [Webhook(company_id=company_id, url=receiver.url, events=["job.created"],
                            secret=new_secret()) for receiver in receivers]
        events = [WebhookEvent(company_id=company_id, type="job.created",
                               payload={"type": "job.created", "timestamp": "2026-01-01T00:00:00+00:00",
                                        "data": {"job": {"id": i, "title": f"Job {i}"}}})
                  for i in range(count // endpoints)]
        db.session.add_all([*webhooks, *events])
        db.session.flush()
        rows = [WebhookDelivery(webhook_id=webhook.id, event_id=event.id)
                for event in events for webhook in webhooks]  # as recorded: event by event
        db.session.add_all(rows)
        db.session.commit()
        expected = {message_id(row.webhook_id, row.event_id) for row in rows}
        outbox.dispatch([row.id for row in rows], WEBHOOK)

    def requests():
        return [request for receiver in receivers for request in receiver.requests]

    run = run_worker([sys.executable, "worker.py", "webhooks"], lambda: len(requests()), len(rows),
                     redis_server, *receivers)

    received = Counter(request.headers["webhook-id"] for request in requests())
    report(("delivery", "deliveries"), len(rows), sum(received.values()),
           len(expected - set(received)), sum(n > 1 for n in received.values()),
           statuses(app, WebhookDelivery), "delivered", run,
           sorted(request.at for request in requests()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("count", nargs="?", type=int, default=1000, help="deliveries (at least 2)")
    parser.add_argument("--endpoints", type=int, default=1, help="subscriptions, one receiver each")
    arguments = parser.parse_args()
    main(max(2, arguments.count), max(1, arguments.endpoints))
