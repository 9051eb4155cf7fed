"""Subscriptions: made, listed, changed, deleted, their secret rotated, pinged; their
deliveries listed and sent again."""
from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from ats.common.access import (can_manage_webhooks, company_visible_or_404, require,
                               webhook_delivery_visible_or_404, webhook_visible_or_404)
from ats.common.pagination import keyset_page
from ats.errors import Conflict, ValidationFailed
from ats.extensions import db
from ats.models import DELIVERY_PENDING, User, Webhook, WebhookDelivery, WebhookEvent
from ats.notifications import outbox
from ats.notifications.kinds import WEBHOOK
from ats.webhooks import events
from ats.webhooks.addresses import RefusedAddress, check_url
from ats.webhooks.sending import fail_pending, new_secret

DEACTIVATED = "subscription deactivated"
# a delivery answers its event's type: one more query per page, not the payloads
WITH_TYPE = (selectinload(WebhookDelivery.event).load_only(WebhookEvent.type),)


def _checked(url: str) -> str:
    try:
        check_url(url, current_app.config["WEBHOOK_ALLOW_PRIVATE_URLS"])
    except RefusedAddress as error:
        raise ValidationFailed({"url": [str(error)]}) from None
    return url


def _managed(user: User, webhook_id: int) -> Webhook:
    webhook = webhook_visible_or_404(webhook_id, user)
    require(can_manage_webhooks(user, webhook.company_id))
    return webhook


def _active(webhook: Webhook | None) -> None:
    if webhook is None or not webhook.is_active:
        raise Conflict("The webhook is inactive: reactivate it first (is_active).",
                       code="webhook_inactive")


def create(user: User, company_id: int, data: dict) -> dict:
    company = company_visible_or_404(company_id, user)
    require(can_manage_webhooks(user, company.id))
    webhook = Webhook(company_id=company.id, url=_checked(data["url"]), events=data["events"],
                      description=data.get("description"), is_active=True, secret=new_secret())
    db.session.add(webhook)
    db.session.commit()
    return webhook


def list_for_company(user: User, company_id: int, args: dict) -> dict:
    company = company_visible_or_404(company_id, user)
    require(can_manage_webhooks(user, company.id))
    return keyset_page(select(Webhook).where(Webhook.company_id == company.id), Webhook.id,
                       args["limit"], args.get("cursor"))


def update(user: User, webhook_id: int, data: dict) -> Webhook:
    webhook = _managed(user, webhook_id)
    if "url" in data:
        _checked(data["url"])
    if data.get("is_active") is False and webhook.is_active:
        fail_pending(webhook.id, DEACTIVATED)  # nothing goes out to it from now on
    if data.get("is_active"):
        webhook.paused_until = None  # reactivated: a fresh start
    for field, value in data.items():
        setattr(webhook, field, value)
    db.session.commit()
    return webhook


def delete_webhook(user: User, webhook_id: int) -> None:
    webhook = _managed(user, webhook_id)
    # its deliveries go with it (ON DELETE CASCADE); one being sent finds no row afterwards
    db.session.execute(delete(Webhook).where(Webhook.id == webhook.id))
    db.session.commit()


def rotate_secret(user: User, webhook_id: int) -> dict:
    """A new secret, signing every send from the commit on (retries of older events too)."""
    webhook = _managed(user, webhook_id)
    webhook.secret = new_secret()
    db.session.commit()
    return {"secret": webhook.secret}


def _delivery(delivery_id: int) -> WebhookDelivery:
    return db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
                              .options(*WITH_TYPE)).one()


def ping(user: User, webhook_id: int) -> WebhookDelivery:
    """A ping event to this subscription, whatever events it takes -> its delivery."""
    webhook = _managed(user, webhook_id)
    _active(webhook)
    events.record(webhook.company_id, events.PING, lambda: {"webhook_id": webhook.id},
                  only=webhook.id)
    db.session.commit()
    sent = events.dispatch()
    if not sent:  # deactivated between the check and the commit
        _active(db.session.get(Webhook, webhook_id, populate_existing=True))
    return _delivery(sent[-1])


def deliveries(user: User, webhook_id: int, args: dict) -> dict:
    webhook = _managed(user, webhook_id)
    stmt = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id)
    if "status" in args:
        stmt = stmt.where(WebhookDelivery.status == args["status"])
    return keyset_page(stmt, WebhookDelivery.id, args["limit"], args.get("cursor"),
                       options=WITH_TYPE)


def redeliver(user: User, delivery_id: int) -> WebhookDelivery:
    """A new delivery of the same event to the same subscription (so the same webhook-id),
    whatever became of the first one; it goes now, even while the subscription backs off."""
    original = webhook_delivery_visible_or_404(delivery_id, user)
    webhook = original.webhook
    require(can_manage_webhooks(user, webhook.company_id))
    _active(webhook)
    again = WebhookDelivery(webhook_id=webhook.id, event_id=original.event_id,
                            status=DELIVERY_PENDING, attempts=0)
    db.session.add(again)
    db.session.commit()
    outbox.dispatch([again.id], WEBHOOK)
    return _delivery(again.id)
