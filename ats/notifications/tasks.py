"""The RQ jobs, one per channel. Under the project's worker (`python worker.py`, or `rq worker -w
worker.EmailWorker`) and inline it runs in the app context already there; anywhere else (a
plain `rq worker`, which forks a work horse per job) it pushes one of its own, building the
app when a process first needs it."""
from contextlib import nullcontext

from flask import has_app_context

from ats.notifications import delivery
from ats.notifications.channels import CHANNELS
from ats.notifications.kinds import WEBHOOK

_app = None


def _app_context():
    global _app
    if has_app_context():
        return nullcontext()
    if _app is None:
        from ats import create_app
        _app = create_app()
    return _app.app_context()


def send_notification(notification_id: int) -> str:
    with _app_context():
        return delivery.deliver(notification_id)


def send_webhook(delivery_id: int) -> str:
    with _app_context():
        return delivery.deliver(delivery_id, CHANNELS[WEBHOOK])
