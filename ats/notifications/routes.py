"""/api/notifications: sending a failed email again. (An application's notifications are
listed under /api/applications/{id}/notifications.)"""
from flask_jwt_extended import get_current_user

from ats.common.api import Blueprint
from ats.notifications import services
from ats.notifications.schemas import NotificationOut

blp = Blueprint("notifications", __name__, url_prefix="/api/notifications",
                description="Email notifications")


@blp.post("/<id:notification_id>/resend", operation_id="resendNotification")
@blp.auth()
@blp.response(202, NotificationOut)
@blp.errors(403, 404, 409)
def resend(notification_id):
    """Send a failed notification again (recruiters of its company, admins): back to
    `pending` with fresh attempts, and to the queue. Any other status: 409 `not_failed`."""
    return services.resend(get_current_user(), notification_id)
