import marshmallow as ma
from marshmallow import fields

from ats.common.schemas import Timestamp
from ats.models import NOTIFICATION_STATUSES
from ats.notifications.kinds import KINDS


class NotificationOut(ma.Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={
        "enum": [name for name, kind in KINDS.items() if kind.listed]})
    recipient = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(NOTIFICATION_STATUSES)})
    attempts = fields.Integer(required=True)
    last_error = fields.String(required=True, allow_none=True,
                               metadata={"description": "why the last attempt failed"})
    request_id = fields.String(required=True, allow_none=True, metadata={
        "description": "the X-Request-ID of the request that recorded it"})
    created_at = Timestamp(required=True)
    sent_at = Timestamp(required=True, allow_none=True)


class NotificationList(ma.Schema):
    items = fields.List(fields.Nested(NotificationOut), required=True,
                        metadata={"description": "newest first"})
