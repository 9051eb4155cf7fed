"""Webhooks against real receivers: `http.server`s in threads that answer 200, 500, 410 or a
redirect, or hang past the timeout. Signatures are checked with the `standardwebhooks`
library itself. Deliveries go inline (no Redis) or through a real Redis and a real
`python worker.py webhooks`."""
import ipaddress
import sys
import time

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook as Verifier, WebhookVerificationError

from ats.extensions import db
from ats.models import WebhookDelivery, WebhookEvent
from ats.notifications import delivery
from ats.notifications.channels import CHANNELS
from ats.notifications.kinds import WEBHOOK
from ats.webhooks.addresses import is_public
from tests.helpers import assert_error, assert_invalid
from tests.receivers import Received, Receiver
from tests.test_delivery import queued, start_worker, wait_until  # noqa: F401

ALL_TYPES = ["application.created", "application.stage_changed", "application.withdrawn",
             "job.created", "job.updated", "interview.scheduled", "interview.updated",
             "interview.cancelled", "ping"]
@pytest.fixture
def receiver():
    """receiver(mode) -> a running Receiver, stopped after the test."""
    started = []

    def start(mode="ok", **kwargs):
        started.append(Receiver(mode, **kwargs))
        return started[-1]
    yield start
    for server in started:
        server.stop()


@pytest.fixture(autouse=True)
def quick(app, monkeypatch):
    """Short timeouts and retries; a failure pauses its subscription for no time at all."""
    for name, value in {"WEBHOOK_SEND_TIMEOUT": 1, "WEBHOOK_MAX_ATTEMPTS": 3,
                        "WEBHOOK_RETRY_DELAYS": [0], "WEBHOOK_ALLOW_PRIVATE_URLS": True}.items():
        monkeypatch.setitem(app.config, name, value)


def subscribe(client, actor, url, events=ALL_TYPES, status=201, **fields) -> dict:
    response = client.post(f"/api/companies/{actor.company_id}/webhooks",
                           json={"url": url, "events": events, **fields}, headers=actor.headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def verified(secret: str, received: Received) -> dict:
    """The payload, once standardwebhooks has checked its signature and timestamp."""
    return Verifier(secret).verify(received.body, received.headers)


def deliveries(client, actor, webhook_id, query="") -> list[dict]:
    response = client.get(f"/api/webhooks/{webhook_id}/deliveries{query}", headers=actor.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def rows(app) -> list[WebhookDelivery]:
    with app.app_context():
        return db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()


def deliver(app, delivery_id) -> str:
    """One attempt of a delivery, as the worker's job makes it."""
    with app.app_context():
        try:
            return delivery.deliver(delivery_id, CHANNELS[WEBHOOK])
        except delivery.DeliveryFailed:
            return "retry"


# --- events, payloads, signatures ------------------------------------------------------------

def test_each_event_reaches_the_subscription_signed_and_as_the_staff_saw_it(
        app, client, receiver, recruiter, hiring_manager, candidate, make_job):
    hook = receiver()
    webhook = subscribe(client, recruiter, hook.url, description="Our HR tool")
    assert webhook["secret"].startswith("whsec_") and webhook["is_active"] is True
    assert webhook["events"] == ALL_TYPES and webhook["description"] == "Our HR tool"

    job = make_job(recruiter, hiring_manager_ids=[hiring_manager.id])
    client.patch(f"/api/jobs/{job['id']}", json={"status": "closed"}, headers=recruiter.headers)
    client.patch(f"/api/jobs/{job['id']}", json={"status": "open"}, headers=recruiter.headers)
    application = client.post(f"/api/jobs/{job['id']}/applications", json={"cover_letter": "Hi"},
                              headers=candidate.headers).get_json()
    moved = client.patch(f"/api/applications/{application['id']}/stage",
                         json={"stage": "screening", "note": "Strong"}, headers=recruiter.headers)
    interview = client.post(f"/api/applications/{application['id']}/interviews", json={
        "starts_at": "2099-01-05T10:00:00+00:00", "duration_minutes": 30,
        "interviewer_ids": [hiring_manager.id]}, headers=recruiter.headers).get_json()
    client.patch(f"/api/interviews/{interview['id']}", json={"location": "Room 2"},
                 headers=recruiter.headers)
    client.patch(f"/api/applications/{application['id']}/stage",
                 json={"stage": "withdrawn", "reason": "timing"}, headers=candidate.headers)

    payloads = [verified(webhook["secret"], received) for received in hook.requests]
    assert [p["type"] for p in payloads] == [
        "job.created", "job.updated", "job.updated", "application.created",
        "application.stage_changed", "interview.scheduled", "interview.updated",
        "application.withdrawn", "interview.cancelled"]
    job_created, closed, _, created, stage_changed, scheduled, updated, withdrawn, cancelled = payloads
    assert job_created["data"] == {"job": {**job, "updated_at": job_created["data"]["job"]["updated_at"]}}
    assert closed["data"]["job"]["status"] == "closed" and closed["data"]["changed"] == ["status"]
    # the application as its staff see it (the candidate's card), the updated_at the API answers
    shown = client.get(f"/api/applications/{application['id']}", headers=recruiter.headers)
    assert created["data"]["application"]["candidate"]["email"] == candidate.email
    assert stage_changed["data"]["application"]["updated_at"] == moved.get_json()["updated_at"]
    assert stage_changed["data"] == {
        "application": {**moved.get_json(), "candidate": created["data"]["application"]["candidate"]},
        "from": "applied", "to": "screening", "reason": None,
        "changed_by": {"id": recruiter.id, "name": recruiter.name, "role": "recruiter"}}
    assert withdrawn["data"]["application"] == shown.get_json()
    assert (withdrawn["data"]["from"], withdrawn["data"]["to"], withdrawn["data"]["reason"]) == (
        "screening", "withdrawn", "timing")
    assert withdrawn["data"]["changed_by"]["id"] == candidate.id
    assert scheduled["data"]["interview"]["id"] == interview["id"]
    assert updated["data"]["interview"]["location"] == "Room 2"
    assert cancelled["data"]["interview"]["status"] == "cancelled"  # the withdrawal cancelled it
    assert all(p["timestamp"].endswith("+00:00") for p in payloads)

    headers = hook.requests[0].headers
    assert headers["content-type"] == "application/json"
    assert headers["webhook-signature"].startswith("v1,") and headers["webhook-timestamp"].isdigit()
    listed = deliveries(client, recruiter, webhook["id"])
    assert [d["type"] for d in reversed(listed)] == [p["type"] for p in payloads]
    assert all(d["status"] == "delivered" and d["attempts"] == 1 and d["response_status"] == 200
               and d["delivered_at"] and d["last_error"] is None for d in listed)
    with app.app_context():  # one payload per event, in one column
        assert db.session.scalars(select(WebhookEvent.candidate_id).where(
            WebhookEvent.type == "application.created")).all() == [candidate.id]


def test_only_the_subscribed_types_of_the_companys_active_subscriptions_are_sent(
        client, receiver, recruiter, outsider, candidate, make_job):
    jobs_hook, applications_hook, paused_hook, foreign_hook = (receiver() for _ in range(4))
    subscribe(client, recruiter, jobs_hook.url, ["job.created"])
    subscribe(client, recruiter, applications_hook.url, ["application.created"])
    paused = subscribe(client, recruiter, paused_hook.url)
    client.patch(f"/api/webhooks/{paused['id']}", json={"is_active": False}, headers=recruiter.headers)
    subscribe(client, outsider, foreign_hook.url)

    job = make_job(recruiter)
    client.post(f"/api/jobs/{job['id']}/applications", json={}, headers=candidate.headers)
    assert [r.payload["type"] for r in jobs_hook.requests] == ["job.created"]
    assert [r.payload["type"] for r in applications_hook.requests] == ["application.created"]
    assert paused_hook.requests == [] and foreign_hook.requests == []


def test_the_payload_is_frozen_at_the_event_and_the_worker_delivers_it(
        app, client, receiver, queued, start_worker, recruiter, candidate, job):
    hook = receiver()
    webhook = subscribe(client, recruiter, hook.url, ["application.created", "application.stage_changed"])
    application = client.post(f"/api/jobs/{job['id']}/applications", json={"cover_letter": "v1"},
                              headers=candidate.headers).get_json()
    client.patch(f"/api/applications/{application['id']}/stage", json={"stage": "screening"},
                 headers=recruiter.headers)
    client.patch(f"/api/applications/{application['id']}/stage",
                 json={"stage": "rejected", "reason": "other"}, headers=recruiter.headers)
    assert hook.requests == [] and all(d.status == "pending" for d in rows(app))  # queued only

    mail_only = start_worker()  # `python worker.py`: the emails queue, never the webhooks
    time.sleep(3)
    assert hook.requests == [], mail_only.output()
    worker = start_worker([sys.executable, "worker.py", "webhooks"])
    assert wait_until(lambda: len(hook.requests) == 3, 30), worker.output()
    payloads = [verified(webhook["secret"], received) for received in hook.requests]
    by_type = {p["type"]: p for p in payloads}
    assert by_type["application.created"]["data"]["application"]["stage"] == "applied"
    assert [p["data"]["application"]["stage"] for p in payloads[1:]] == ["screening", "rejected"]
    assert wait_until(lambda: all(d.status == "delivered" for d in rows(app)), 10)
    time.sleep(1)
    assert len(hook.requests) == 3  # each once


def test_an_erasure_scrubs_the_candidate_from_stored_payloads(
        app, client, receiver, recruiter, candidate, queued, job):
    hook = receiver()
    subscribe(client, recruiter, hook.url, ["application.created", "job.created"])
    application = client.post(f"/api/jobs/{job['id']}/applications", json={"cover_letter": "Mine"},
                              headers=candidate.headers).get_json()
    [pending] = rows(app)  # queued, not sent yet
    assert client.delete("/api/auth/me", headers=candidate.headers).status_code == 204
    with app.app_context():
        event = db.session.get(WebhookEvent, pending.event_id)
        assert event.payload == {"type": "application.created",
                                 "timestamp": event.payload["timestamp"], "data": {}}
        assert event.payload["timestamp"].endswith("+00:00")
    assert [(d.status, d.last_error) for d in rows(app)] == [("failed", "candidate erased")]
    # redelivered on purpose, it carries nothing of them
    again = client.post(f"/api/webhook-deliveries/{pending.id}/redeliver", headers=recruiter.headers)
    assert deliver(app, again.get_json()["id"]) == "sent"
    assert candidate.email not in hook.requests[0].body.decode()
    assert hook.requests[0].payload["data"] == {} and application["id"]


# --- failures ------------------------------------------------------------------------------

def test_a_failing_receiver_is_retried_then_the_delivery_fails_and_redelivery_keeps_the_id(
        app, client, receiver, recruiter):
    hook = receiver("fail")
    webhook = subscribe(client, recruiter, hook.url)
    ping = client.post(f"/api/webhooks/{webhook['id']}/ping", headers=recruiter.headers)
    assert ping.status_code == 202, ping.get_json()
    first = ping.get_json()
    assert (first["type"], first["status"], first["attempts"], first["response_status"]) == (
        "ping", "pending", 1, 500)
    assert first["last_error"].startswith("BadAnswer: HTTP 500: no no")
    assert len(first["last_error"]) < 300  # a small part of the answer, not all of it
    assert deliver(app, first["id"]) == "retry"
    assert deliver(app, first["id"]) == "failed"  # WEBHOOK_MAX_ATTEMPTS = 3
    assert deliver(app, first["id"]) == "skipped"  # done: never a fourth attempt
    [failed] = deliveries(client, recruiter, webhook["id"], "?status=failed")
    assert (failed["id"], failed["attempts"], failed["response_status"]) == (first["id"], 3, 500)
    assert len(hook.requests) == 3
    assert len({r.headers["webhook-id"] for r in hook.requests}) == 1  # stable across retries

    hook.mode = "ok"
    again = client.post(f"/api/webhook-deliveries/{first['id']}/redeliver", headers=recruiter.headers)
    assert again.status_code == 202, again.get_json()
    assert again.get_json()["status"] == "delivered" and again.get_json()["event_id"] == first["event_id"]
    assert hook.requests[-1].headers["webhook-id"] == hook.requests[0].headers["webhook-id"]
    assert verified(webhook["secret"], hook.requests[-1])["type"] == "ping"
    # a delivered one may go again too, as a delivery of its own
    twice = client.post(f"/api/webhook-deliveries/{again.get_json()['id']}/redeliver",
                        headers=recruiter.headers)
    assert twice.status_code == 202 and len(hook.requests) == 5
    assert [d["status"] for d in deliveries(client, recruiter, webhook["id"])] == [
        "delivered", "delivered", "failed"]


def test_a_redirect_is_a_failure_and_is_not_followed(client, receiver, recruiter):
    target, hook = receiver(), receiver("redirect")
    hook.redirect_to = target.url
    webhook = subscribe(client, recruiter, hook.url)
    first = client.post(f"/api/webhooks/{webhook['id']}/ping", headers=recruiter.headers).get_json()
    assert (first["status"], first["response_status"]) == ("pending", 302)
    assert len(hook.requests) == 1 and target.requests == []


def test_a_receiver_that_hangs_times_out(client, receiver, recruiter):
    hook = receiver("hang", hang_seconds=8)
    webhook = subscribe(client, recruiter, hook.url)
    started = time.monotonic()
    first = client.post(f"/api/webhooks/{webhook['id']}/ping", headers=recruiter.headers).get_json()
    assert time.monotonic() - started < 4  # WEBHOOK_SEND_TIMEOUT = 1, not the receiver's 8 s
    assert first["status"] == "pending" and first["response_status"] is None
    assert "Timeout" in first["last_error"]


def test_410_gone_deactivates_the_subscription_and_fails_what_it_had_pending(
        app, client, receiver, recruiter, queued, make_job):
    hook = receiver("gone")
    webhook = subscribe(client, recruiter, hook.url, ["job.created"])
    for _ in range(3):  # queued, not sent: no worker runs
        make_job(recruiter)
    first, *others = rows(app)
    assert deliver(app, first.id) == "failed"
    assert [(d.status, d.attempts, d.response_status) for d in rows(app)] == [
        ("failed", 1, 410), ("failed", 0, None), ("failed", 0, None)]
    assert all("410 Gone" in d.last_error for d in rows(app)[1:])
    [listed] = client.get(f"/api/companies/{recruiter.company_id}/webhooks",
                          headers=recruiter.headers).get_json()["items"]
    assert listed["is_active"] is False and "secret" not in listed
    assert_error(client.post(f"/api/webhooks/{webhook['id']}/ping", headers=recruiter.headers),
                 409, "webhook_inactive")
    make_job(recruiter)  # an inactive subscription gets nothing more
    assert len(rows(app)) == 3 and len(hook.requests) == 1
    # reactivated, it is sent to again
    hook.mode = "ok"
    client.patch(f"/api/webhooks/{webhook['id']}", json={"is_active": True}, headers=recruiter.headers)
    ping = client.post(f"/api/webhooks/{webhook['id']}/ping", headers=recruiter.headers)
    assert ping.status_code == 202 and ping.get_json()["status"] == "pending"  # queued
    assert deliver(app, ping.get_json()["id"]) == "sent" and len(hook.requests) == 2


def test_a_hanging_receiver_does_not_hold_up_another_endpoint(
        app, client, receiver, recruiter, queued, start_worker, make_job, monkeypatch):
    """Ten jobs, each an event for a receiver that hangs past the 2 s timeout and for a healthy
    one, queued one after the other. After the first timeout the hanging subscription backs
    off (its other deliveries wait without an attempt) and the worker goes on."""
    monkeypatch.setitem(app.config, "WEBHOOK_RETRY_DELAYS", [60])  # the jobs' retries, as queued
    stuck, healthy = receiver("hang", hang_seconds=30), receiver()
    subscribe(client, recruiter, stuck.url, ["job.created"])
    subscribe(client, recruiter, healthy.url, ["job.created"])
    for _ in range(10):
        make_job(recruiter)
    worker = start_worker([sys.executable, "worker.py", "webhooks"], WEBHOOK_SEND_TIMEOUT="2",
                          WEBHOOK_RETRY_DELAYS="60", WEBHOOK_MAX_ATTEMPTS="3")
    assert wait_until(lambda: len(healthy.requests) == 10, 30), worker.output()
    # one timeout, not ten: without the back-off the last would come 20 s after the first
    assert healthy.requests[-1].at - stuck.requests[0].at < 8, worker.output()
    assert len(stuck.requests) == 1, worker.output()
    pending = [d for d in rows(app) if d.status == "pending"]
    assert len(pending) == 10 and sum(d.attempts for d in pending) == 1, [
        (d.id, d.attempts, d.last_error, d.send_after) for d in pending]
    assert all(d.send_after for d in pending if d.attempts == 0)


# --- one job, an endpoint's next deliveries ----------------------------------------------------

def webhook_jobs(redis_server) -> list[str]:
    """The job ids waiting in the webhooks queue of the test's Redis."""
    from redis import Redis
    return [job.decode() for job in Redis.from_url(redis_server.url).lrange("rq:queue:webhooks", 0, -1)]


def deliveries_to_two_receivers(app, client, receiver, recruiter, make_job) -> tuple:
    """Six job.created deliveries to one receiver, and one to another -> (hook, other, the
    ids of hook's deliveries)."""
    hook, other = receiver(), receiver()
    subscribe(client, recruiter, hook.url, ["job.created"])
    for _ in range(5):
        make_job(recruiter)
    subscribe(client, recruiter, other.url, ["job.created"])
    make_job(recruiter)
    recorded = rows(app)
    return hook, other, [d.id for d in recorded if d.webhook_id == recorded[0].webhook_id]


def test_after_a_success_the_job_sends_the_endpoints_next_deliveries_in_order(
        app, client, receiver, recruiter, queued, make_job):
    hook, other, mine = deliveries_to_two_receivers(app, client, receiver, recruiter, make_job)
    assert len(mine) == 6 and len(webhook_jobs(queued)) == 7

    assert deliver(app, mine[0]) == "sent"
    assert [r.headers["webhook-id"] for r in hook.requests] == [
        f"msg_{d.webhook_id}_{d.event_id}" for d in rows(app) if d.id in mine]
    assert [d.status for d in rows(app) if d.id in mine] == ["delivered"] * 6
    assert all(d.attempts == 1 and d.claimed_until is None for d in rows(app) if d.id in mine)
    # the followers' jobs are off the queue (the first's is there: no worker took it here);
    # the other endpoint's delivery waits for its own
    assert other.requests == [] and webhook_jobs(queued) == [
        f"webhook-delivery-{d.id}" for d in rows(app) if d.id == mine[0] or d.id not in mine]


def test_a_follower_that_fails_waits_for_its_retry_and_the_rest_are_left_unattempted(
        app, client, receiver, recruiter, queued, make_job):
    hook, _, mine = deliveries_to_two_receivers(app, client, receiver, recruiter, make_job)
    hook.script = ["ok", "ok", "fail"]

    assert deliver(app, mine[0]) == "sent"
    assert len(hook.requests) == 3
    states = {d.id: d for d in rows(app)}
    assert [states[i].status for i in mine] == ["delivered"] * 2 + ["pending"] * 4
    failed = states[mine[2]]
    assert (failed.attempts, failed.response_status) == (1, 500) and failed.send_after
    assert "HTTP 500" in failed.last_error
    assert all(states[i].attempts == 0 and states[i].claimed_until is None for i in mine[3:])

    # their jobs are gone with the claim: the sweep hands them back, and one job sends them all
    with app.app_context():
        assert delivery.requeue_pending() == 4  # not the other endpoint's, still queued
    assert deliver(app, mine[2]) == "sent"
    assert [d.status for d in rows(app) if d.id in mine] == ["delivered"] * 6
    assert len(hook.requests) == 7  # the failed one twice, with the same webhook-id
    assert hook.requests[2].headers["webhook-id"] == hook.requests[3].headers["webhook-id"]


def test_followers_start_only_early_in_the_job_and_the_rest_go_back_to_the_queue(
        app, client, receiver, recruiter, queued, make_job, monkeypatch):
    """Each answer takes 0.3 s and followers may start within 0.5 s of the job's start: the
    job's own delivery and one follower go, the other four are queued again unattempted."""
    monkeypatch.setattr(delivery, "FOLLOWING_SECONDS", 0.5)
    hook, _, mine = deliveries_to_two_receivers(app, client, receiver, recruiter, make_job)
    hook.mode, hook.hang_seconds = "hang", 0.3

    assert deliver(app, mine[0]) == "sent"
    assert len(hook.requests) == 2
    states = {d.id: d for d in rows(app)}
    assert [states[i].status for i in mine] == ["delivered"] * 2 + ["pending"] * 4
    assert all(states[i].attempts == 0 and states[i].claimed_until is None for i in mine[2:])
    assert set(webhook_jobs(queued)) >= {f"webhook-delivery-{i}" for i in mine[2:]}


def test_two_workers_following_one_endpoint_send_each_delivery_once(
        app, client, receiver, recruiter, queued, start_worker, make_job):
    hook = receiver()
    subscribe(client, recruiter, hook.url, ["job.created"])
    for _ in range(40):
        make_job(recruiter)
    workers = [start_worker([sys.executable, "worker.py", "webhooks"]) for _ in range(2)]
    assert wait_until(lambda: all(d.status == "delivered" for d in rows(app)), 30), [
        worker.output() for worker in workers]
    time.sleep(1)
    ids = [request.headers["webhook-id"] for request in hook.requests]
    assert len(ids) == len(set(ids)) == 40


# --- secrets -------------------------------------------------------------------------------

def test_rotation_signs_with_the_new_secret_at_once(client, receiver, recruiter, hiring_manager):
    hook = receiver()
    webhook = subscribe(client, recruiter, hook.url)
    rotated = client.post(f"/api/webhooks/{webhook['id']}/rotate-secret", headers=recruiter.headers)
    assert rotated.status_code == 200 and set(rotated.get_json()) == {"secret"}
    secret = rotated.get_json()["secret"]
    assert secret.startswith("whsec_") and secret != webhook["secret"]
    client.post(f"/api/webhooks/{webhook['id']}/ping", headers=recruiter.headers)
    assert verified(secret, hook.requests[0])["type"] == "ping"
    with pytest.raises(WebhookVerificationError):
        verified(webhook["secret"], hook.requests[0])
    # the secret is shown at creation and rotation only
    changed = client.patch(f"/api/webhooks/{webhook['id']}", json={"description": "x"},
                           headers=recruiter.headers).get_json()
    assert "secret" not in changed
    assert_error(client.post(f"/api/webhooks/{webhook['id']}/rotate-secret",
                             headers=hiring_manager.headers), 403, "forbidden")


def test_deleting_a_subscription_deletes_its_deliveries(app, client, receiver, recruiter):
    webhook = subscribe(client, recruiter, receiver().url)
    client.post(f"/api/webhooks/{webhook['id']}/ping", headers=recruiter.headers)
    assert client.delete(f"/api/webhooks/{webhook['id']}", headers=recruiter.headers).status_code == 204
    assert rows(app) == []
    assert_error(client.get(f"/api/webhooks/{webhook['id']}/deliveries", headers=recruiter.headers),
                 404, "not_found")


# --- where webhooks may go ---------------------------------------------------------------------

PRIVATE = ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
           "0.0.0.0", "224.0.0.1", "240.0.0.1", "255.255.255.255", "::1", "::", "fe80::1",
           "fd00:ec2::254", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "2002:7f00:1::1",
           "192.0.2.1", "ff02::1"]


@pytest.mark.parametrize("address", PRIVATE)
def test_non_public_addresses_are_not_public(address):
    assert not is_public(ipaddress.ip_address(address))


def test_public_addresses_are():
    assert all(is_public(ipaddress.ip_address(a)) for a in ("8.8.8.8", "1.1.1.1", "2606:4700::1111"))


@pytest.mark.parametrize("url", [
    "http://8.8.8.8/hook",  # not https
    "https://localhost/hook", "https://api.localhost/hook",
    *[f"https://{a}/hook" if ":" not in a else f"https://[{a}]/hook" for a in PRIVATE],
    "https://user:secret@8.8.8.8/hook",
])
def test_only_https_to_public_addresses_is_accepted(app, client, recruiter, monkeypatch, url):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_URLS", False)
    assert_invalid(client.post(f"/api/companies/{recruiter.company_id}/webhooks",
                               json={"url": url, "events": ["ping"]}, headers=recruiter.headers), "url")


def test_a_public_literal_address_is_accepted_without_dns(app, client, recruiter, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_URLS", False)
    webhook = subscribe(client, recruiter, "https://8.8.8.8:8443/ats?x=1", ["job.created"])
    assert webhook["url"] == "https://8.8.8.8:8443/ats?x=1"
    assert_invalid(client.patch(f"/api/webhooks/{webhook['id']}", json={"url": "https://10.0.0.1/"},
                                headers=recruiter.headers), "url")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_subscription_made_while_allowed_is_refused_at_delivery_once_disallowed(
        app, client, receiver, recruiter, monkeypatch, host):
    """https to a loopback address (literally, or a name resolving to it), accepted while
    private URLs were allowed: once they are not, the delivery resolves and checks it, fails
    for good, and nothing reaches the receiver."""
    hook = receiver()
    url = hook.url.replace("http://127.0.0.1", f"https://{host}")
    webhook = subscribe(client, recruiter, url)
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_URLS", False)
    sent = client.post(f"/api/webhooks/{webhook['id']}/ping", headers=recruiter.headers).get_json()
    assert (sent["status"], sent["attempts"]) == ("failed", 1)
    assert sent["last_error"].startswith("RefusedAddress") and "not a public address" in sent["last_error"]
    assert hook.requests == []


# --- input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("body, field", [
    ({"url": "http://127.0.0.1/x", "events": ["job.deleted"]}, "events"),
    ({"url": "http://127.0.0.1/x", "events": []}, "events"),
    ({"url": "http://127.0.0.1/x", "events": ["ping", "PING"]}, "events"),
    ({"url": "http://127.0.0.1/x", "events": "ping"}, "events"),
    ({"url": "http://127.0.0.1/" + "x" * 2040, "events": ["ping"]}, "url"),
    ({"url": "not a url", "events": ["ping"]}, "url"),
    ({"url": "ftp://127.0.0.1/x", "events": ["ping"]}, "url"),
    ({"url": "http://127.0.0.1/x", "events": ["ping"], "description": "a\nb"}, "description"),
    ({"url": "http://127.0.0.1/x", "events": ["ping"], "secret": "whsec_mine"}, "secret"),
    ({"events": ["ping"]}, "url"),
])
def test_a_subscription_must_be_valid(client, recruiter, body, field):
    assert_invalid(client.post(f"/api/companies/{recruiter.company_id}/webhooks", json=body,
                               headers=recruiter.headers), field)


def test_changes_are_validated_too(client, receiver, recruiter):
    webhook = subscribe(client, recruiter, receiver().url)
    url = f"/api/webhooks/{webhook['id']}"
    assert_invalid(client.patch(url, json={}, headers=recruiter.headers), "_schema")
    assert_invalid(client.patch(url, json={"is_active": "no"}, headers=recruiter.headers), "is_active")
    assert_invalid(client.patch(url, json={"company_id": 2}, headers=recruiter.headers), "company_id")
    assert_invalid(client.get(f"{url}/deliveries?status=sent", headers=recruiter.headers), "status")
    changed = client.patch(url, json={"events": ["Job.Created"]}, headers=recruiter.headers)
    assert changed.get_json()["events"] == ["job.created"]


# --- operations ----------------------------------------------------------------------------

def test_check_reports_the_webhook_backlog_beside_the_mail(app, runner, client, receiver,
                                                            recruiter, queued, make_job):
    subscribe(client, recruiter, receiver("gone").url, ["job.created"])
    make_job(recruiter)
    make_job(recruiter)
    output = runner.invoke(args=["ats", "check"]).output
    assert "webhook: 2 pending (oldest " in output, output
    assert "email: " in output and "queue webhooks: 2 job(s) waiting" in output
    deliver(app, rows(app)[0].id)  # 410: both fail
    assert "webhook: 0 pending, 2 failed" in runner.invoke(args=["ats", "check"]).output
