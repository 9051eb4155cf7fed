"""PATCH /api/companies/{id}/members/{user_id}: role changes, deactivation and everything it
takes with it (sessions, logins, job assignments, mail), reactivation, and the company's last
active recruiter, also when two changes race (threads, on SQLite and PostgreSQL)."""

import pytest
from sqlalchemy import select

from ats.extensions import db
from ats.models import (HIRING_MANAGER, RECRUITER, AuthSession, Job, Notification, User,
                        job_hiring_managers)
from tests.conftest import PASSWORD
from tests.helpers import answer, assert_error, assert_invalid, at_once

DEACTIVATED = "recipient deactivated"


def patch_member(client, actor, company_id, user_id, body):
    return client.patch(f"/api/companies/{company_id}/members/{user_id}", json=body,
                        headers=actor.headers)


def account(app, user_id) -> tuple:
    with app.app_context():
        user = db.session.get(User, user_id)
        return user.role, user.is_active


def assigned_jobs(app, user_id) -> set[int]:
    with app.app_context():
        return set(db.session.scalars(select(job_hiring_managers.c.job_id).where(
            job_hiring_managers.c.user_id == user_id)))


def login(client, email, password=PASSWORD):
    return client.post("/api/auth/login", json={"email": email, "password": password})


def live_sessions(app, user_id) -> list:
    with app.app_context():
        return db.session.scalars(select(AuthSession).where(
            AuthSession.user_id == user_id, AuthSession.ended_at.is_(None))).all()


def notifications_to(app, user_id) -> list[Notification]:
    with app.app_context():
        return db.session.scalars(select(Notification).where(Notification.recipient_id == user_id)
                                  .order_by(Notification.id)).all()


@pytest.fixture
def team(make_user, recruiter):
    """The recruiter, a second recruiter, and a hiring manager of the same company."""
    return {"recruiter": recruiter, "recruiter2": make_user(RECRUITER, recruiter.company_id),
            "manager": make_user(HIRING_MANAGER, recruiter.company_id)}


@pytest.fixture
def job(make_job, team):
    return make_job(team["recruiter"], hiring_manager_ids=[team["manager"].id])


# --- role changes --------------------------------------------------------------------------

def test_a_recruiter_makes_a_hiring_manager_recruiter_who_leaves_their_jobs(client, app, team, job):
    manager = team["manager"]
    before = client.get(f"/api/jobs/{job['id']}", headers=manager.headers).get_json()
    response = patch_member(client, team["recruiter"], manager.company_id, manager.id,
                            {"role": "Recruiter"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["id"], body["role"], body["is_active"], body["company_id"]) == (
        manager.id, "recruiter", True, manager.company_id)
    assert account(app, manager.id) == (RECRUITER, True)
    assert assigned_jobs(app, manager.id) == set()  # a job names hiring managers only
    after = client.get(f"/api/jobs/{job['id']}", headers=manager.headers).get_json()
    assert after["hiring_manager_ids"] == [] and after["updated_at"] > before["updated_at"]
    # and now they act as a recruiter: their token is the same one
    assert client.patch(f"/api/jobs/{job['id']}", json={"location": "Remote"},
                        headers=manager.headers).status_code == 200


def test_a_recruiter_demotes_another_recruiter(client, app, team):
    other = team["recruiter2"]
    response = patch_member(client, team["recruiter"], other.company_id, other.id,
                            {"role": "hiring_manager"})
    assert response.status_code == 200 and response.get_json()["role"] == "hiring_manager"
    assert account(app, other.id) == (HIRING_MANAGER, True)
    assert client.post("/api/jobs", json={"title": "T", "description": "D"},
                       headers=other.headers).status_code == 403


def test_an_admin_changes_members_of_any_company(client, app, admin, team):
    manager = team["manager"]
    response = patch_member(client, admin, manager.company_id, manager.id,
                            {"role": "recruiter", "is_active": False})
    assert response.status_code == 200
    assert (response.get_json()["role"], response.get_json()["is_active"]) == ("recruiter", False)
    assert account(app, manager.id) == (RECRUITER, False)


def test_an_empty_change_or_the_same_values_change_nothing(client, app, team):
    manager = team["manager"]
    for body in ({}, {"role": "hiring_manager", "is_active": True}):
        response = patch_member(client, team["recruiter"], manager.company_id, manager.id, body)
        assert response.status_code == 200 and response.get_json()["role"] == "hiring_manager"
    assert account(app, manager.id) == (HIRING_MANAGER, True)
    assert len(live_sessions(app, manager.id)) == 1


@pytest.mark.parametrize("body, field", [
    ({"role": "admin"}, "role"), ({"role": "candidate"}, "role"), ({"role": None}, "role"),
    ({"is_active": "false"}, "is_active"), ({"is_active": 0}, "is_active"),
    ({"is_active": None}, "is_active"), ({"name": "New"}, "name"), ({"email": "x@y.example"}, "email"),
    ({"company_id": 1}, "company_id")])
def test_member_changes_are_validated(client, app, team, body, field):
    manager = team["manager"]
    assert_invalid(patch_member(client, team["recruiter"], manager.company_id, manager.id, body), field)
    assert account(app, manager.id) == (HIRING_MANAGER, True)


def test_hiring_managers_may_not_change_members(client, app, team):
    manager, other = team["manager"], team["recruiter2"]
    assert_error(patch_member(client, manager, other.company_id, other.id, {"is_active": False}),
                 403, "forbidden")
    assert_error(patch_member(client, manager, manager.company_id, manager.id, {"role": "recruiter"}),
                 403, "forbidden")
    assert account(app, other.id) == (RECRUITER, True)
    assert account(app, manager.id) == (HIRING_MANAGER, True)


def test_others_do_not_see_the_company_or_its_members(client, app, team, outsider, candidate):
    manager = team["manager"]
    for user in (outsider, candidate):
        assert_error(patch_member(client, user, manager.company_id, manager.id, {"is_active": False}),
                     404, "not_found")
    assert_error(client.patch(f"/api/companies/{manager.company_id}/members/{manager.id}",
                              json={"is_active": False}), 401, "unauthorized")
    assert account(app, manager.id) == (HIRING_MANAGER, True)


def test_a_user_who_is_no_member_of_that_company_is_not_found(client, app, team, outsider,
                                                              candidate, admin):
    company_id = team["recruiter"].company_id
    for user_id in (outsider.id, candidate.id, admin.id, 424242):
        for actor in (team["recruiter"], admin):
            assert_error(patch_member(client, actor, company_id, user_id, {"is_active": False}),
                         404, "not_found")
    assert account(app, outsider.id) == (RECRUITER, True)
    assert account(app, candidate.id)[1] is True
    assert_error(patch_member(client, admin, 424242, outsider.id, {"is_active": False}),
                 404, "not_found")


# --- deactivation --------------------------------------------------------------------------

def test_deactivation_locks_the_member_out_within_one_request(client, app, team):
    manager = team["manager"]
    tokens = login(client, manager.email).get_json()
    assert client.get("/api/auth/me", headers=manager.headers).status_code == 200

    response = patch_member(client, team["recruiter"], manager.company_id, manager.id,
                            {"is_active": False})
    assert response.status_code == 200 and response.get_json()["is_active"] is False

    assert_error(client.get("/api/auth/me", headers=manager.headers), 401, "unauthorized")
    assert_error(client.post("/api/auth/refresh", headers={
        "Authorization": f"Bearer {tokens['refresh_token']}"}), 401, "unauthorized")
    assert live_sessions(app, manager.id) == []
    with app.app_context():
        reasons = set(db.session.scalars(select(AuthSession.end_reason).where(
            AuthSession.user_id == manager.id)))
    assert reasons == {"deactivated"}
    # the right password answers exactly as a wrong one: nothing tells the account exists
    right, wrong = login(client, manager.email), login(client, manager.email, "not-the-password")
    assert right.status_code == wrong.status_code == 401
    assert right.get_json() == wrong.get_json()
    assert live_sessions(app, manager.id) == []


def test_deactivation_takes_the_member_off_their_jobs(client, app, team, job, make_job):
    manager = team["manager"]
    other = make_job(team["recruiter"], hiring_manager_ids=[manager.id])
    patch_member(client, team["recruiter"], manager.company_id, manager.id, {"is_active": False})
    assert assigned_jobs(app, manager.id) == set()
    for job_id in (job["id"], other["id"]):
        body = client.get(f"/api/jobs/{job_id}", headers=team["recruiter"].headers).get_json()
        assert body["hiring_manager_ids"] == []


@pytest.mark.parametrize("how", ["create", "patch"])
def test_jobs_refuse_a_deactivated_hiring_manager(client, app, team, job, how):
    manager, recruiter = team["manager"], team["recruiter"]
    patch_member(client, recruiter, manager.company_id, manager.id, {"is_active": False})
    body = {"hiring_manager_ids": [manager.id]}
    if how == "create":
        response = client.post("/api/jobs", json={"title": "T", "description": "D", **body},
                               headers=recruiter.headers)
    else:
        response = client.patch(f"/api/jobs/{job['id']}", json=body, headers=recruiter.headers)
    assert_invalid(response, "hiring_manager_ids")
    with app.app_context():
        assert len(db.session.scalars(select(Job)).all()) == 1
    assert assigned_jobs(app, manager.id) == set()


def test_deactivated_staff_get_no_mail_and_their_pending_mail_fails(
        client, app, mailbox, team, job, candidate, make_user, make_application):
    recruiter, recruiter2, manager = team["recruiter"], team["recruiter2"], team["manager"]
    mailbox.mode = "reject"  # the SMTP server says "try later": the mails stay pending
    first = make_application(candidate, job["id"])
    assert {n.status for n in notifications_to(app, manager.id)} == {"pending"}
    mailbox.mode = "accept"

    patch_member(client, recruiter, manager.company_id, manager.id, {"is_active": False})
    (mail,) = notifications_to(app, manager.id)
    assert (mail.status, mail.last_error, mail.application_id) == ("failed", DEACTIVATED, first["id"])
    # the others' mail is untouched
    assert {n.status for n in notifications_to(app, recruiter2.id)} == {"pending"}

    patch_member(client, recruiter, recruiter2.company_id, recruiter2.id, {"is_active": False})
    assert [(n.status, n.last_error) for n in notifications_to(app, recruiter2.id)] == [
        ("failed", DEACTIVATED)]
    assert {n.status for n in notifications_to(app, recruiter.id)} == {"pending"}

    make_application(make_user(), job["id"])  # a new application: mail for active staff only
    messages = mailbox.wait_for(2)
    assert len(notifications_to(app, manager.id)) == len(notifications_to(app, recruiter2.id)) == 1
    assert not mailbox.to(manager.email) and not mailbox.to(recruiter2.email)
    assert len(mailbox.to(recruiter.email)) == 1 and len(messages) == 2  # and the candidate's


def test_the_flush_of_pending_mail_is_the_same_transaction(client, app, team, job, candidate,
                                                            mailbox, make_application):
    """A deactivation that loses (the last recruiter) fails no mail either."""
    recruiter, recruiter2 = team["recruiter"], team["recruiter2"]
    patch_member(client, recruiter, recruiter2.company_id, recruiter2.id, {"role": "hiring_manager"})
    mailbox.mode = "reject"
    make_application(candidate, job["id"])
    mailbox.mode = "accept"
    assert_error(patch_member(client, recruiter, recruiter.company_id, recruiter.id,
                              {"is_active": False}), 409, "last_recruiter")
    assert {n.status for n in notifications_to(app, recruiter.id)} == {"pending"}
    assert len(live_sessions(app, recruiter.id)) == 1


def test_history_keeps_a_deactivated_members_name(client, app, team, job, candidate,
                                                  make_application):
    manager = team["manager"]
    application = make_application(candidate, job["id"])
    client.patch(f"/api/applications/{application['id']}/stage", json={"stage": "screening"},
                 headers=manager.headers)
    patch_member(client, team["recruiter"], manager.company_id, manager.id, {"is_active": False})
    history = client.get(f"/api/applications/{application['id']}/history",
                         headers=team["recruiter"].headers).get_json()["items"]
    assert history[-1]["changed_by"] == {"id": manager.id, "name": manager.name,
                                         "role": "hiring_manager"}


def test_deactivated_members_stay_in_the_members_list(client, team):
    manager = team["manager"]
    patch_member(client, team["recruiter"], manager.company_id, manager.id, {"is_active": False})
    items = client.get(f"/api/companies/{manager.company_id}/members",
                       headers=team["recruiter"].headers).get_json()["items"]
    assert {item["id"]: item["is_active"] for item in items} == {
        manager.id: False, team["recruiter"].id: True, team["recruiter2"].id: True}


def test_a_recruiter_may_deactivate_themself_while_another_remains(client, app, team):
    recruiter = team["recruiter"]
    response = patch_member(client, recruiter, recruiter.company_id, recruiter.id, {"is_active": False})
    assert response.status_code == 200 and response.get_json()["is_active"] is False
    assert_error(client.get("/api/auth/me", headers=recruiter.headers), 401, "unauthorized")


def test_reactivation_restores_logins_not_sessions_or_jobs(client, app, team, job):
    manager, recruiter = team["manager"], team["recruiter"]
    patch_member(client, recruiter, manager.company_id, manager.id, {"is_active": False})
    response = patch_member(client, recruiter, manager.company_id, manager.id, {"is_active": True})
    assert response.status_code == 200 and response.get_json()["is_active"] is True
    assert account(app, manager.id) == (HIRING_MANAGER, True)
    assert_error(client.get("/api/auth/me", headers=manager.headers), 401, "unauthorized")
    assert assigned_jobs(app, manager.id) == set()
    fresh = login(client, manager.email)
    assert fresh.status_code == 200
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {fresh.get_json()['access_token']}"})
    assert me.status_code == 200 and me.get_json()["is_active"] is True
    # assignable again
    assert client.patch(f"/api/jobs/{job['id']}", json={"hiring_manager_ids": [manager.id]},
                        headers=recruiter.headers).get_json()["hiring_manager_ids"] == [manager.id]


# --- the last active recruiter ---------------------------------------------------------------

@pytest.mark.parametrize("body", [{"is_active": False}, {"role": "hiring_manager"},
                                  {"role": "hiring_manager", "is_active": False}])
def test_the_last_active_recruiter_stays_one(client, app, recruiter, admin, make_user, body):
    manager = make_user(HIRING_MANAGER, recruiter.company_id)
    gone = make_user(RECRUITER, recruiter.company_id)
    patch_member(client, recruiter, gone.company_id, gone.id, {"is_active": False})
    for actor in (recruiter, admin):  # an inactive second recruiter does not count
        response = patch_member(client, actor, recruiter.company_id, recruiter.id, body)
        assert_error(response, 409, "last_recruiter")
    assert account(app, recruiter.id) == (RECRUITER, True)
    assert len(live_sessions(app, recruiter.id)) == 1
    # another active recruiter first, and it may go
    patch_member(client, recruiter, manager.company_id, manager.id, {"role": "recruiter"})
    assert patch_member(client, admin, recruiter.company_id, recruiter.id, body).status_code == 200


def test_an_inactive_recruiter_may_be_demoted_and_reactivated(client, app, team):
    recruiter, other = team["recruiter"], team["recruiter2"]
    patch_member(client, recruiter, other.company_id, other.id, {"is_active": False})
    assert patch_member(client, recruiter, other.company_id, other.id,
                        {"role": "hiring_manager"}).status_code == 200
    assert patch_member(client, recruiter, other.company_id, other.id,
                        {"is_active": True}).status_code == 200
    assert account(app, other.id) == (HIRING_MANAGER, True)


THREADS = 6


def race(app, requests):
    """Send each (actor, company_id, user_id, body) from its own thread at once ->
    Counter of (status, error code)."""
    return at_once(len(requests), lambda n: answer(patch_member(app.test_client(), *requests[n])))


def active_recruiters(app, company_id) -> set[int]:
    with app.app_context():
        db.session.remove()
        return set(db.session.scalars(select(User.id).where(
            User.company_id == company_id, User.role == RECRUITER, User.is_active)))


def test_of_recruiters_deactivated_at_once_one_remains(app, admin, recruiter, make_user):
    """Each thread takes a different recruiter: without the lock every one of them sees the
    others still active, and the company is left with none."""
    company_id = recruiter.company_id
    recruiters = [recruiter] + [make_user(RECRUITER, company_id) for _ in range(THREADS - 1)]
    outcome = race(app, [(admin, company_id, r.id, {"is_active": False}) for r in recruiters])
    assert outcome == {(200, None): THREADS - 1, (409, "last_recruiter"): 1}
    (remaining,) = active_recruiters(app, company_id)
    assert len(live_sessions(app, remaining)) == 1


def test_of_recruiters_demoted_at_once_one_remains(app, admin, recruiter, make_user):
    company_id = recruiter.company_id
    recruiters = [recruiter] + [make_user(RECRUITER, company_id) for _ in range(THREADS - 1)]
    outcome = race(app, [(admin, company_id, r.id, {"role": "hiring_manager"}) for r in recruiters])
    assert outcome == {(200, None): THREADS - 1, (409, "last_recruiter"): 1}
    assert len(active_recruiters(app, company_id)) == 1


def test_two_recruiters_deactivating_each_other_at_once_one_wins(app, team):
    recruiter, other = team["recruiter"], team["recruiter2"]
    outcome = race(app, [(recruiter, recruiter.company_id, other.id, {"is_active": False}),
                         (other, other.company_id, recruiter.id, {"is_active": False})])
    # the loser is told 409, or (had its token been checked after the winner's commit) 401
    assert outcome[(200, None)] == 1
    assert outcome[(409, "last_recruiter")] + outcome[(401, "unauthorized")] == 1, outcome
    assert len(active_recruiters(app, recruiter.company_id)) == 1
