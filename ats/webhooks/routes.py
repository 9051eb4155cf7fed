"""/api/companies/{id}/webhooks, /api/webhooks and /api/webhook-deliveries: a company's
subscriptions to events, for its recruiters and admins."""
from flask_jwt_extended import get_current_user

from ats.common.api import Blueprint
from ats.common.schemas import PageQuery
from ats.webhooks import services
from ats.webhooks.schemas import (DeliveryQuery, SecretOut, WebhookCreated, WebhookDeliveryOut,
                                  WebhookDeliveryPage, WebhookIn, WebhookPage, WebhookOut,
                                  WebhookUpdate)

blp = Blueprint("webhooks", __name__, url_prefix="/api",
                description="Webhooks: events POSTed to a company's subscriptions, signed as "
                            "Standard Webhooks says")


@blp.post("/companies/<id:company_id>/webhooks", operation_id="createWebhook")
@blp.auth()
@blp.arguments(WebhookIn)
@blp.response(201, WebhookCreated)
@blp.errors(403, 404)
def create_webhook(data, company_id):
    """Subscribe a URL to events (the company's recruiters, admins). The answer holds the
    `secret` deliveries are signed with: it is shown here and at rotation only."""
    return services.create(get_current_user(), company_id, data)


@blp.get("/companies/<id:company_id>/webhooks", operation_id="listWebhooks")
@blp.auth()
@blp.arguments(PageQuery, location="query")
@blp.response(200, WebhookPage)
@blp.errors(403, 404)
def list_webhooks(page, company_id):
    """The company's subscriptions, newest first, without their secrets."""
    return services.list_for_company(get_current_user(), company_id, page)


@blp.patch("/webhooks/<id:webhook_id>", operation_id="updateWebhook")
@blp.auth()
@blp.arguments(WebhookUpdate)
@blp.response(200, WebhookOut)
@blp.errors(403, 404)
def update_webhook(data, webhook_id):
    """Change a subscription; `is_active: false` stops it and fails what it had pending."""
    return services.update(get_current_user(), webhook_id, data)


@blp.delete("/webhooks/<id:webhook_id>", operation_id="deleteWebhook")
@blp.auth()
@blp.response(204)
@blp.errors(403, 404)
def delete_webhook(webhook_id):
    """Delete a subscription and its deliveries."""
    services.delete_webhook(get_current_user(), webhook_id)


@blp.post("/webhooks/<id:webhook_id>/rotate-secret", operation_id="rotateWebhookSecret")
@blp.auth()
@blp.response(200, SecretOut)
@blp.errors(403, 404)
def rotate_secret(webhook_id):
    """A new secret; the old one signs nothing from now on."""
    return services.rotate_secret(get_current_user(), webhook_id)


@blp.post("/webhooks/<id:webhook_id>/ping", operation_id="pingWebhook")
@blp.auth()
@blp.response(202, WebhookDeliveryOut)
@blp.errors(403, 404, 409)
def ping(webhook_id):
    """Send a `ping` event to the subscription -> its delivery. An inactive one: 409
    `webhook_inactive`."""
    return services.ping(get_current_user(), webhook_id)


@blp.get("/webhooks/<id:webhook_id>/deliveries", operation_id="listWebhookDeliveries")
@blp.auth()
@blp.arguments(DeliveryQuery, location="query")
@blp.response(200, WebhookDeliveryPage)
@blp.errors(403, 404)
def list_deliveries(args, webhook_id):
    """The subscription's deliveries, newest first; filter `status`."""
    return services.deliveries(get_current_user(), webhook_id, args)


@blp.post("/webhook-deliveries/<id:delivery_id>/redeliver", operation_id="redeliverWebhookDelivery")
@blp.auth()
@blp.response(202, WebhookDeliveryOut)
@blp.errors(403, 404, 409)
def redeliver(delivery_id):
    """Deliver the same event again (same `webhook-id`), whatever became of this delivery ->
    the new delivery. An inactive subscription: 409 `webhook_inactive`."""
    return services.redeliver(get_current_user(), delivery_id)
