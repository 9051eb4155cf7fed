"""The RQ job. It pushes an app context of its own when it has none, so it runs the same
under `python worker.py`, a plain `rq worker`, and inline."""
from contextlib import nullcontext

from flask import has_app_context

from ats.notifications import services

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
        return services.deliver(notification_id)
