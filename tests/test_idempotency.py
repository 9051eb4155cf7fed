"""Idempotency-Key on every authenticated POST and PATCH: a repeat gets the first answer and
changes nothing; another request under the key is 422, one still running 409; keys are per
user, live 24 hours, and the worker and `flask ats cleanup` drop expired ones."""
import json
from datetime import timedelta
from hashlib import sha256

import pytest
from sqlalchemy import select, update

from ats.common.db import utcnow
from ats.extensions import db
from ats.models import ApplicationHistory, IdempotencyKey, Job, User
from tests.helpers import assert_error, assert_invalid, at_once, count, error_code
from tests.test_delivery import job, queued, start_worker, wait_until  # noqa: F401

JOB = {"title": "Backend Developer", "description": "Python and PostgreSQL."}


def keyed(actor, key):
    return {**actor.headers, "Idempotency-Key": key}


def age_keys(app, hours):
    with app.app_context():
        db.session.execute(update(IdempotencyKey).values(
            created_at=utcnow() - timedelta(hours=hours)))
        db.session.commit()


def test_a_repeated_create_answers_the_first_job_again_and_makes_no_second(app, client, recruiter):
    first = client.post("/api/jobs", json=JOB, headers=keyed(recruiter, "job-1"))
    again = client.post("/api/jobs", json=JOB, headers=keyed(recruiter, "job-1"))
    assert first.status_code == again.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert again.headers["Content-Type"] == "application/json"
    assert count(app, Job) == 1


def test_a_repeated_stage_change_records_one_move(app, client, recruiter, candidate, make_job,
                                                  make_application):
    application = make_application(candidate, make_job(recruiter)["id"])
    url, body = f"/api/applications/{application['id']}/stage", {"stage": "screening"}
    first = client.patch(url, json=body, headers=keyed(recruiter, "move"))
    again = client.patch(url, json=body, headers=keyed(recruiter, "move"))
    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert count(app, ApplicationHistory) == 2  # applied, screening
    # without a key the same move runs, and the table refuses it
    assert_error(client.patch(url, json=body, headers=recruiter.headers), 409, "invalid_transition")


@pytest.mark.parametrize("method, url", [
    ("post", "/api/jobs"),  # another body
    ("patch", "/api/jobs/{id}"),  # another method and path
])
def test_the_key_with_another_request_is_422_and_changes_nothing(app, client, recruiter, method,
                                                                 url):
    first = client.post("/api/jobs", json=JOB, headers=keyed(recruiter, "k")).get_json()
    response = getattr(client, method)(url.format(id=first["id"]), json={"title": "Frontend"},
                                       headers=keyed(recruiter, "k"))
    assert_error(response, 422, "idempotency_key_reused")
    assert count(app, Job) == 1
    assert client.get(f"/api/jobs/{first['id']}").get_json()["title"] == JOB["title"]


def test_the_same_body_spelt_otherwise_is_another_request(app, client, recruiter):
    assert client.post("/api/jobs", json=JOB, headers=keyed(recruiter, "k")).status_code == 201
    spaced = client.post("/api/jobs", data='{"title": "Backend Developer",  "description": '
                         '"Python and PostgreSQL."}', content_type="application/json",
                         headers=keyed(recruiter, "k"))
    assert_error(spaced, 422, "idempotency_key_reused")  # the raw body's hash decides


def test_simultaneous_duplicates_run_once(app, client, recruiter):
    def post(_):
        response = client.post("/api/jobs", json=JOB, headers=keyed(recruiter, "race"))
        return (response.status_code, error_code(response),
                response.headers.get("Idempotent-Replayed"),
                response.get_json().get("id"))

    outcomes = at_once(8, post)
    ran = [o for o in outcomes.elements() if o[0] == 201 and o[2] is None]
    assert len(ran) == 1, outcomes
    for outcome in outcomes.elements():
        assert outcome in (ran[0], (201, None, "true", ran[0][3]),
                           (409, "idempotency_in_progress", None, None)), outcomes
    assert count(app, Job) == 1


def test_a_key_still_running_answers_409(app, client, recruiter):
    raw = json.dumps(JOB)
    with app.app_context():
        db.session.add(IdempotencyKey(user_id=recruiter.id, key="busy", method="POST",
                                      path="/api/jobs", body_hash=sha256(raw.encode()).hexdigest()))
        db.session.commit()
    response = client.post("/api/jobs", data=raw, content_type="application/json",
                           headers=keyed(recruiter, "busy"))
    assert_error(response, 409, "idempotency_in_progress")
    assert count(app, Job) == 0


def test_keys_are_per_user(app, client, recruiter, make_user):
    other = make_user("recruiter")
    assert client.post("/api/jobs", json=JOB, headers=keyed(recruiter, "same")).status_code == 201
    response = client.post("/api/jobs", json=JOB, headers=keyed(other, "same"))
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert count(app, Job) == 2


def test_a_failed_request_gives_the_key_back(app, client, recruiter):
    bad = client.post("/api/jobs", json={"title": ""}, headers=keyed(recruiter, "retry"))
    assert_invalid(bad, "title")
    assert count(app, IdempotencyKey) == 0
    # the retry, corrected, runs under the same key
    good = client.post("/api/jobs", json=JOB, headers=keyed(recruiter, "retry"))
    assert good.status_code == 201 and "Idempotent-Replayed" not in good.headers
    assert count(app, Job) == 1


def test_a_refused_move_is_not_replayed_but_runs_again(app, client, recruiter, candidate,
                                                       make_job, make_application):
    application = make_application(candidate, make_job(recruiter)["id"])
    url, body = f"/api/applications/{application['id']}/stage", {"stage": "hired"}
    for _ in range(2):
        response = client.patch(url, json=body, headers=keyed(recruiter, "jump"))
        assert_error(response, 409, "invalid_transition")
        assert "Idempotent-Replayed" not in response.headers
    assert count(app, IdempotencyKey) == 0


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there"])
def test_a_malformed_key_is_422(app, client, recruiter, key):
    response = client.post("/api/jobs", json=JOB,
                           headers={**recruiter.headers, "Idempotency-Key": key.encode().decode("latin-1")})
    assert_invalid(response, "Idempotency-Key")
    assert count(app, Job) == 0


def test_the_longest_and_oddest_printable_keys_work(app, client, recruiter):
    for key in ("x" * 255, " !~{}\"'"):
        assert client.post("/api/jobs", json=JOB, headers=keyed(recruiter, key)).status_code == 201
    assert count(app, Job) == 2


def test_anonymous_routes_ignore_the_key(app, client):
    body = {"name": "Ann", "email": "ann@example.com", "password": "correct-horse-1"}
    headers = {"Idempotency-Key": "sign-up"}
    assert client.post("/api/auth/register", json=body, headers=headers).status_code == 201
    assert_error(client.post("/api/auth/register", json=body, headers=headers), 409, "email_taken")
    login = {"email": "ann@example.com", "password": "correct-horse-1"}
    tokens = [client.post("/api/auth/login", json=login, headers=headers).get_json()
              for _ in range(2)]
    assert tokens[0]["access_token"] != tokens[1]["access_token"]  # two logins, two sessions
    assert count(app, IdempotencyKey) == 0 and count(app, User) == 1


def test_a_request_without_the_key_costs_no_statement_more(client, recruiter, count_queries):
    with count_queries() as statements:
        assert client.post("/api/jobs", json=JOB, headers=recruiter.headers).status_code == 201
    assert not [s for s in statements if "idempotency_keys" in s]


def test_a_key_expires_after_24_hours(app, client, recruiter):
    assert client.post("/api/jobs", json=JOB, headers=keyed(recruiter, "old")).status_code == 201
    age_keys(app, 25)
    again = client.post("/api/jobs", json=JOB, headers=keyed(recruiter, "old"))
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert count(app, Job) == 2
    # a day less an hour still replays
    age_keys(app, 23)
    assert client.post("/api/jobs", json=JOB, headers=keyed(recruiter, "old")).headers[
        "Idempotent-Replayed"] == "true"


def keys_left(app) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(IdempotencyKey.key)))


def test_cleanup_deletes_only_expired_keys(app, client, runner, recruiter):
    client.post("/api/jobs", json=JOB, headers=keyed(recruiter, "old"))
    age_keys(app, 25)
    client.post("/api/jobs", json={**JOB, "title": "New"}, headers=keyed(recruiter, "new"))
    result = runner.invoke(args=["ats", "cleanup"])
    assert result.exit_code == 0, result.output
    assert "1 expired idempotency key(s) deleted." in result.output
    assert keys_left(app) == ["new"]


def test_the_workers_round_deletes_expired_keys(app, client, recruiter, start_worker):
    client.post("/api/jobs", json=JOB, headers=keyed(recruiter, "old"))
    age_keys(app, 25)
    client.post("/api/jobs", json={**JOB, "title": "New"}, headers=keyed(recruiter, "new"))
    worker = start_worker(WORKER_SWEEP_SECONDS="1")
    assert wait_until(lambda: keys_left(app) == ["new"], 20), worker.output()
