import marshmallow as ma
from marshmallow import fields, validate

from ats.common.schemas import (Choice, DistinctList, Flag, PageQuery, Str, Timestamp, page_of,
                                single_line)
from ats.models import DELIVERY_STATUSES
from ats.webhooks.events import TYPES

URL = validate.And(validate.Length(max=2048),
                   validate.URL(schemes={"http", "https"}, require_tld=False))
URL_RULES = ("https, on a public address (http and private addresses only with "
             "WEBHOOK_ALLOW_PRIVATE_URLS); at most 2,048 characters")
DESCRIPTION = single_line(validate.Length(max=500))


class EventTypes(DistinctList):
    """1 to all of the event types, each once."""

    def __init__(self, **kwargs):
        super().__init__(Choice(TYPES), len(TYPES), "Name each event type once.", **kwargs)


class WebhookUpdate(ma.Schema):
    url = Str(validate=URL, metadata={"description": URL_RULES})
    events = EventTypes(metadata={"description": "the event types to receive"})
    description = Str(validate=DESCRIPTION, allow_none=True)
    is_active = Flag(metadata={"description": "false: nothing is sent, and what was pending "
                                              "fails"})

    @ma.validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("Give at least one field to change.", "_schema")


class WebhookIn(ma.Schema):
    url = Str(required=True, validate=URL, metadata={"description": URL_RULES})
    events = EventTypes(required=True, metadata={"description": "the event types to receive"})
    description = Str(validate=DESCRIPTION, allow_none=True)


class WebhookOut(ma.Schema):
    id = fields.Integer(required=True)
    company_id = fields.Integer(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(metadata={"enum": list(TYPES)}), required=True)
    description = fields.String(required=True, allow_none=True)
    is_active = fields.Boolean(required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


class SecretOut(ma.Schema):
    secret = fields.String(required=True, metadata={
        "description": "whsec_ + base64 of the key: shown at creation and rotation only"})


class WebhookCreated(WebhookOut, SecretOut):
    pass


class WebhookDeliveryOut(ma.Schema):
    id = fields.Integer(required=True)
    event_id = fields.Integer(required=True, metadata={
        "description": "the event: its deliveries (a redelivery too) carry the same webhook-id"})
    type = fields.String(required=True, attribute="event.type", metadata={"enum": list(TYPES)})
    status = fields.String(required=True, metadata={"enum": list(DELIVERY_STATUSES)})
    attempts = fields.Integer(required=True)
    response_status = fields.Integer(required=True, allow_none=True, metadata={
        "description": "the receiver's last HTTP status; null when it did not answer"})
    last_error = fields.String(required=True, allow_none=True,
                               metadata={"description": "why the last attempt failed"})
    created_at = Timestamp(required=True)
    delivered_at = Timestamp(required=True, allow_none=True)


WebhookPage = page_of(WebhookOut)
WebhookDeliveryPage = page_of(WebhookDeliveryOut)


class DeliveryQuery(PageQuery):
    status = Choice(DELIVERY_STATUSES)
