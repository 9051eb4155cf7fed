"""Concurrent requests: the database settles every race, and no loser sees a 500.

Each thread drives its own test client (its own app context, session and connection);
a barrier releases them together.
"""
import pytest
from sqlalchemy import select

from ats.extensions import db
from ats.models import Application, ApplicationHistory, Company, User
from tests.conftest import PASSWORD
from tests.helpers import answer, at_once, count

THREADS = 8


def race(app, send):
    """Run send(client, n) in THREADS threads at once -> Counter of (status, error code)."""
    outcome = at_once(THREADS, lambda n: answer(send(app.test_client(), n)))
    assert all(status < 500 for status, _ in outcome), outcome
    return outcome


@pytest.fixture
def application(make_job, make_application, recruiter, candidate):
    return make_application(candidate, make_job(recruiter)["id"])


def test_identical_stage_moves_one_wins(app, recruiter, application):
    url = f"/api/applications/{application['id']}/stage"
    outcome = race(app, lambda client, n: client.patch(url, json={"stage": "screening"},
                                                       headers=recruiter.headers))
    assert outcome == {(200, None): 1, (409, "invalid_transition"): THREADS - 1}
    with app.app_context():
        assert db.session.get(Application, application["id"]).stage == "screening"
    assert count(app, ApplicationHistory, ApplicationHistory.application_id == application["id"]) == 2
    assert count(app, ApplicationHistory, ApplicationHistory.to_stage == "screening") == 1


def test_competing_final_moves_one_wins(app, recruiter, application):
    """From offer, half try hired and half rejected: both are final, so only one can land."""
    with app.app_context():
        db.session.get(Application, application["id"]).stage = "offer"
        db.session.commit()
    url = f"/api/applications/{application['id']}/stage"
    outcome = race(app, lambda client, n: client.patch(
        url, json={"stage": "hired"} if n % 2 else {"stage": "rejected", "reason": "position_filled"},
        headers=recruiter.headers))
    assert outcome == {(200, None): 1, (409, "invalid_transition"): THREADS - 1}
    with app.app_context():
        rows = db.session.scalars(select(ApplicationHistory).where(
            ApplicationHistory.application_id == application["id"]).order_by(ApplicationHistory.id)).all()
        assert [row.from_stage for row in rows] == [None, "offer"]
        assert db.session.get(Application, application["id"]).stage == rows[-1].to_stage


def test_identical_applications_one_wins(app, recruiter, candidate, make_job):
    job = make_job(recruiter)
    url = f"/api/jobs/{job['id']}/applications"
    outcome = race(app, lambda client, n: client.post(url, json={"cover_letter": f"try {n}"},
                                                      headers=candidate.headers))
    assert outcome == {(201, None): 1, (409, "already_applied"): THREADS - 1}
    assert count(app, Application, Application.candidate_id == candidate.id) == 1
    assert count(app, ApplicationHistory) == 1


def test_same_email_registers_once(app):
    def register(client, n):
        email = "Same.Person@Example.com" if n % 2 else "same.person@example.com"
        return client.post("/api/auth/register", json={
            "name": f"Person {n}", "email": email, "password": PASSWORD})

    outcome = race(app, register)
    assert outcome == {(201, None): 1, (409, "email_taken"): THREADS - 1}
    assert count(app, User, User.email == "same.person@example.com") == 1
    assert count(app, User) == 1


def test_same_company_name_registers_once(app):
    def register(client, n):
        return client.post("/api/auth/register", json={
            "name": f"Founder {n}", "email": f"founder{n}@example.com", "password": PASSWORD,
            "role": "recruiter", "company_name": "Acme Corp" if n % 2 else "ACME corp"})

    outcome = race(app, register)
    assert outcome == {(201, None): 1, (409, "company_taken"): THREADS - 1}
    assert count(app, Company) == 1
    assert count(app, User) == 1
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        assert user.role == "recruiter" and user.company_id == db.session.scalars(select(Company.id)).one()
