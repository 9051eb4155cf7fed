"""Request ids, JSON request logs, the proxy setting and a health check that answers fast."""
import json
import logging
import socket
import time
import uuid

import pytest

from ats import create_app
from ats.extensions import db
from ats.models import Notification
from ats.observability import JsonFormatter
from tests.conftest import PASSWORD
from tests.helpers import assert_error

REQUEST_FIELDS = {"time", "level", "logger", "message", "request_id", "method", "path", "status",
                  "duration_ms", "user_id"}


@pytest.fixture
def request_log(caplog):
    """The request log lines written so far, parsed as the JSON the handler prints."""
    caplog.set_level(logging.INFO)
    formatter = JsonFormatter()

    def lines(logger="ats.request"):
        return [json.loads(formatter.format(r)) for r in caplog.records if r.name == logger]
    return lines


def test_a_request_id_is_made_when_none_is_given(client):
    first = client.get("/api/health").headers["X-Request-ID"]
    second = client.get("/api/health").headers["X-Request-ID"]
    assert len(first) == 32 and first != second


@pytest.mark.parametrize("given", ["abc-123", "7f0c2b1e-9d1a-4c5e-8a44-0c6a1d2e3f40", "x" * 128])
def test_a_router_request_id_is_kept(client, given):
    assert client.get("/api/health", headers={"X-Request-ID": given}).headers["X-Request-ID"] == given


@pytest.mark.parametrize("given", ["", "x" * 129, "two words", "tab\there", "naïve", '{"json":1}'])
def test_a_request_id_that_could_forge_logs_is_replaced(client, given, request_log):
    echoed = client.get("/api/health", headers={"X-Request-ID": given}).headers["X-Request-ID"]
    assert echoed != given and len(echoed) == 32
    assert request_log()[-1]["request_id"] == echoed


def test_one_json_line_per_request_with_who_and_how_long(client, recruiter, request_log):
    client.get("/api/jobs", headers={**recruiter.headers, "X-Request-ID": "req-1"})
    client.get("/api/applications/999", headers={"X-Request-ID": "req-2"})
    first, second = request_log()
    assert set(first) == REQUEST_FIELDS
    assert (first["method"], first["path"], first["status"], first["request_id"], first["user_id"]) == (
        "GET", "/api/jobs", 200, "req-1", recruiter.id)
    assert first["duration_ms"] >= 0
    assert (second["status"], second["request_id"], second["user_id"]) == (401, "req-2", None)


def test_logs_hold_no_password_token_or_mail_body(client, app, recruiter, candidate, make_job,
                                                 caplog, mailbox):
    caplog.set_level(logging.INFO)
    client.post("/api/auth/register", json={"name": "Lee", "email": "lee@example.com",
                                            "password": "a-secret-pass-phrase"})
    tokens = client.post("/api/auth/login", json={"email": "lee@example.com",
                                                  "password": "a-secret-pass-phrase"}).get_json()
    job = make_job(recruiter)
    client.post(f"/api/jobs/{job['id']}/applications", json={"cover_letter": "my private letter"},
                headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert mailbox.messages  # mail went out while we listened
    logged = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    for secret in ("a-secret-pass-phrase", tokens["access_token"], tokens["refresh_token"],
                   recruiter.token, "my private letter", PASSWORD):
        assert secret not in logged


def test_notifications_remember_the_request_that_recorded_them(client, app, recruiter, candidate,
                                                               make_job, mailbox):
    job = make_job(recruiter)
    applied = client.post(f"/api/jobs/{job['id']}/applications", json={},
                          headers={**candidate.headers, "X-Request-ID": "apply-42"})
    moved = client.patch(f"/api/applications/{applied.get_json()['id']}/stage",
                         json={"stage": "screening"},
                         headers={**recruiter.headers, "X-Request-ID": "move-43"})
    assert (applied.status_code, moved.status_code) == (201, 200)
    with app.app_context():
        rows = db.session.query(Notification.kind, Notification.request_id).all()
    assert sorted(rows) == [("application_received", "apply-42"), ("new_application", "apply-42"),
                            ("stage_changed", "move-43")]
    listed = client.get(f"/api/applications/{applied.get_json()['id']}/notifications",
                        headers=recruiter.headers).get_json()["items"]
    assert {item["request_id"] for item in listed} == {"apply-42", "move-43"}


# --- behind a router -----------------------------------------------------------------------

@pytest.fixture
def app_behind_router(database_url, smtp_server):
    """The app as deployed behind one trusted proxy (a PaaS router)."""
    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TRUSTED_PROXIES": 1,
                       "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_server.port})


def failed_logins(client, forwarded_for: list[str]) -> list[int]:
    """One failed login per X-Forwarded-For value, each through the router's address."""
    return [client.post("/api/auth/login",  # a new email each time: only the address limit applies
                        json={"email": f"{uuid.uuid4().hex}@example.com", "password": "wrong-pass"},
                        headers={"X-Forwarded-For": address},
                        environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code
            for address in forwarded_for]


def test_behind_a_trusted_router_each_client_is_limited_on_its_own(app_behind_router):
    client = app_behind_router.test_client()
    assert failed_logins(client, ["203.0.113.7"] * 21)[-2:] == [401, 429]
    assert failed_logins(client, ["198.51.100.9"]) == [401]  # another client is not locked out


def test_without_a_trusted_proxy_a_forged_forwarded_for_evades_nothing(client):
    statuses = failed_logins(client, [f"203.0.113.{n}" for n in range(21)])
    assert statuses[-2:] == [401, 429]


# --- health --------------------------------------------------------------------------------

def unreachable_database_url(kind):
    """A database that is gone: a closed port, or a port that accepts and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    if kind == "silent":
        listener.listen()
    port = listener.getsockname()[1]
    if kind == "closed":
        listener.close()
    return f"postgresql+psycopg2://postgres@127.0.0.1:{port}/ats", listener


@pytest.mark.parametrize("kind", ["closed", "silent"])
def test_health_answers_503_fast_when_the_database_is_gone(kind):
    url, listener = unreachable_database_url(kind)
    try:
        client = create_app({"SQLALCHEMY_DATABASE_URI": url}).test_client()
        started = time.monotonic()
        response = client.get("/api/health")
        elapsed = time.monotonic() - started
    finally:
        listener.close()
    assert response.status_code == 503
    assert response.get_json() == {"status": "down", "database": "down", "queue": "inline"}
    assert elapsed < 5


def test_errors_carry_the_request_id_too(client):
    response = client.get("/api/nowhere", headers={"X-Request-ID": "lost-1"})
    assert_error(response, 404, "not_found")
    assert response.headers["X-Request-ID"] == "lost-1"
