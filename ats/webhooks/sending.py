"""The webhook channel's side of delivery: a delivery read with its event and subscription in
one query, signed as the Standard Webhooks specification says with the subscription's secret
of the moment, POSTed with httpx to the address checked after DNS; which answers no later
attempt can change; and what a failure does to the subscription (410 Gone deactivates it,
anything else pauses its other deliveries for the retry's delay).

httpx: it can connect to the address that was checked while TLS still verifies the name
(the `sni_hostname` extension and the Host header), its timeouts bound every phase, it
follows no redirect unless asked, and it streams the answer so that only its first bytes
are read.
"""
import base64
import hashlib
import hmac
import json
import secrets
import time
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta

import httpx
from flask import current_app
from sqlalchemy import select, update

from ats.common.context import kept
from ats.common.db import utcnow
from ats.extensions import db
from ats.models import (DELIVERY_FAILED, DELIVERY_PENDING, Webhook, WebhookDelivery,
                        WebhookEvent)
from ats.webhooks.addresses import RefusedAddress, Target, target_of

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
ANSWER_BYTES = 1024  # of a receiver's answer, at most this much is read (for last_error)
USER_AGENT = "ATS-Webhooks/1"
GONE = 410
DEACTIVATED = "subscription deactivated: the receiver answered 410 Gone"
INACTIVE = "subscription inactive"


class Inactive(Exception):
    """The subscription was deactivated after the delivery was recorded."""


class BadAnswer(Exception):
    """The receiver answered, not with a 2xx."""

    def __init__(self, status: int, text: str):
        self.status = status
        super().__init__(f"HTTP {status}" + (f": {text}" if text else ""))


@dataclass(frozen=True)
class Request:
    """One signed POST to make: everything send needs, no database object."""

    url: str
    message_id: str
    body: bytes
    secret: str
    webhook_id: int
    paused: bool  # its subscription is backing off: a success ends that


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature(secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    """v1,<base64 of HMAC-SHA256 over "id.timestamp.body"> keyed by the secret's bytes."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def message_id(webhook_id: int, event_id: int) -> str:
    """The webhook-id header: one per event and subscription, the same on every retry and
    redelivery, so a receiver recognises a message it has already handled."""
    return f"msg_{webhook_id}_{event_id}"


def body_of(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def request_for(delivery_id: int) -> tuple[Request, WebhookDelivery]:
    """The request and its delivery (detached, for the log), from one query. No transaction
    stays open while HTTP talks."""
    delivery, url, secret, active, paused_until, payload = db.session.execute(
        select(WebhookDelivery, Webhook.url, Webhook.secret, Webhook.is_active,
               Webhook.paused_until, WebhookEvent.payload)
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.id == delivery_id)).one()
    try:
        if not active:
            raise Inactive(INACTIVE)
        return Request(url, message_id(delivery.webhook_id, delivery.event_id), body_of(payload),
                       secret, delivery.webhook_id, paused_until is not None), delivery
    finally:
        db.session.expunge(delivery)
        db.session.rollback()  # end the read


# --- HTTP ----------------------------------------------------------------------------------

def _client() -> httpx.Client:
    # trust_env=False: no proxy from the environment stands between the check and the connect
    return httpx.Client(follow_redirects=False, trust_env=False,
                        headers={"user-agent": USER_AGENT})


class _Clients:
    """Kept connections, one pool per host name: a TLS connection verified for one name is
    never reused for another name that resolves to the same address."""

    LIMIT = 256  # names; beyond, the pools are closed and started again

    def __init__(self):
        self.by_host: dict[str, httpx.Client] = {}

    def get(self, host: str) -> httpx.Client:
        client = self.by_host.get(host)
        if client is None:
            if len(self.by_host) >= self.LIMIT:
                self.close()
            client = self.by_host[host] = _client()
        return client

    def close(self) -> None:
        clients, self.by_host = self.by_host, {}
        for client in clients.values():
            client.close()


_kept: ContextVar[_Clients | None] = ContextVar("kept_http_clients", default=None)


def kept_open():
    """Inside the block, this thread's deliveries reuse their connections."""
    return kept(_kept, _Clients())


def _head_of(response: httpx.Response, deadline: float) -> str:
    """The first ANSWER_BYTES of the answer, read by the deadline (a receiver trickling its
    body cannot hold the sender)."""
    head = b""
    for chunk in response.iter_raw():
        head += chunk
        if len(head) >= ANSWER_BYTES:
            break
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("the answer took longer than WEBHOOK_SEND_TIMEOUT")
    return " ".join(head[:ANSWER_BYTES].decode(errors="replace").split())[:200]


def _post(client: httpx.Client, target: Target, request: Request, timeout: int) -> tuple[int, str]:
    timestamp = str(int(time.time()))
    headers = {"host": target.host_header, "content-type": "application/json",
               "webhook-id": request.message_id, "webhook-timestamp": timestamp,
               "webhook-signature": signature(request.secret, request.message_id, timestamp,
                                              request.body)}
    # TLS to the checked address, verifying the certificate for the name in the URL
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    deadline = time.monotonic() + timeout
    with client.stream("POST", target.url, content=request.body, headers=headers,
                       extensions=extensions, timeout=httpx.Timeout(timeout)) as response:
        return response.status_code, _head_of(response, deadline)


def send(request: Request) -> dict:
    """POST it; a 2xx -> the columns to record. Anything else raises: a 3xx (no redirect is
    followed), a 4xx or 5xx (BadAnswer), no answer in WEBHOOK_SEND_TIMEOUT, an address refused."""
    config = current_app.config
    target = target_of(request.url, config["WEBHOOK_ALLOW_PRIVATE_URLS"])  # resolved now
    timeout = config["WEBHOOK_SEND_TIMEOUT"]
    if (kept := _kept.get()) is not None:
        status, text = _post(kept.get(target.host), target, request, timeout)
    else:
        with _client() as client:
            status, text = _post(client, target, request, timeout)
    if not 200 <= status < 300:
        raise BadAnswer(status, text)
    return {"response_status": status}


def refused_for_good(error: BaseException) -> bool:
    """410 Gone, a subscription deactivated, an address that is not public."""
    return isinstance(error, (Inactive, RefusedAddress)) or (
        isinstance(error, BadAnswer) and error.status == GONE)


# --- what a result does to the subscription ---------------------------------------------------

def fail_pending(webhook_id: int, why: str) -> None:
    """In the caller's transaction: the subscription's pending deliveries fail, never sent
    (one being sent now finishes its attempt)."""
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.status == DELIVERY_PENDING,
               WebhookDelivery.claimed_until.is_(None))
        .values(status=DELIVERY_FAILED, last_error=why)
        .execution_options(synchronize_session=False))


def pause(webhook_id: int, until, but: int | None = None) -> None:
    """In the caller's transaction: the subscription's deliveries (but the one of id but)
    wait until then; None: they may go now."""
    db.session.execute(update(Webhook).where(Webhook.id == webhook_id).values(paused_until=until))
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.status == DELIVERY_PENDING,
               WebhookDelivery.claimed_until.is_(None), WebhookDelivery.id != but)
        .values(send_after=until).execution_options(synchronize_session=False))


def after_failure(delivery: WebhookDelivery, error: BaseException, given_up: bool) -> None:
    """410 Gone deactivates the subscription and fails what it still has pending. Any other
    failure pauses its other deliveries for as long as this one waits for its retry, so a
    receiver that hangs costs one timeout per round, not one per delivery, and the worker
    moves on to other endpoints."""
    delivery.response_status = getattr(error, "status", None)
    if isinstance(error, Inactive):
        return
    if isinstance(error, BadAnswer) and error.status == GONE:
        db.session.execute(update(Webhook).where(Webhook.id == delivery.webhook_id)
                           .values(is_active=False, paused_until=None))
        fail_pending(delivery.webhook_id, DEACTIVATED)
        return
    delays = current_app.config["WEBHOOK_RETRY_DELAYS"]
    wait = delays[min(delivery.attempts, len(delays)) - 1]
    pause(delivery.webhook_id, utcnow() + timedelta(seconds=wait), but=delivery.id)


def after_success(request: Request) -> None:
    """The receiver answers again: its paused deliveries may go at once (the sweep hands
    them over)."""
    if request.paused:
        pause(request.webhook_id, None)


def trace(delivery: WebhookDelivery) -> dict:
    """What a log line tells of a delivery: never its body or its secret."""
    return {"delivery_id": delivery.id, "webhook_id": delivery.webhook_id,
            "event_id": delivery.event_id, "attempt": delivery.attempts}
