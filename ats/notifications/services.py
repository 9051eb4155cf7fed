"""What the API offers of notifications: an application's list, a failed one sent again."""
from sqlalchemy import select

from ats.common.access import (application_visible_or_404, can_resend_notification,
                               can_see_pipeline, notification_visible_or_404, require)
from ats.errors import Conflict
from ats.extensions import db
from ats.models import Notification, User
from ats.notifications import outbox
from ats.notifications.delivery import reopen
from ats.notifications.kinds import KINDS


def resend(user: User, notification_id: int) -> Notification:
    """A failed notification back to the queue (recruiters of its company, admins)."""
    notification = notification_visible_or_404(notification_id, user)
    require(can_resend_notification(user, notification))
    # conditional, so of two resends racing one wins and the other sees it pending
    if not reopen(Notification.id == notification.id):
        status = db.session.scalar(select(Notification.status).where(Notification.id == notification.id))
        db.session.rollback()
        raise Conflict(f"Notification {notification_id} is {status}: only a failed one is sent again.",
                       details={"status": status}, code="not_failed")
    db.session.commit()
    outbox.dispatch([notification.id], KINDS[notification.kind].channel)
    return db.session.get(Notification, notification.id)


def list_for_application(user: User, application_id: int) -> dict:
    application = application_visible_or_404(application_id, user)
    require(can_see_pipeline(user, application.company_id))
    rows = db.session.scalars(select(Notification)
                              .where(Notification.application_id == application.id)
                              .order_by(Notification.id.desc())).all()
    return {"items": rows}
