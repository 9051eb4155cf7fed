"""Companies and their staff: /api/companies."""
import pytest

from ats.extensions import db
from ats.models import Company, User
from tests.conftest import PASSWORD
from tests.helpers import assert_error, count


def member(role="hiring_manager", email="new.member@example.com", **fields):
    return {"name": "New Member", "email": email, "password": PASSWORD, "role": role, **fields}


# --- POST /api/companies -----------------------------------------------------------------

def test_admin_creates_a_company(client, app, admin):
    response = client.post("/api/companies", json={"name": "  Globex  "}, headers=admin.headers)
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"id", "name", "created_at"} and body["name"] == "Globex"
    with app.app_context():
        assert db.session.get(Company, body["id"]).name == "Globex"


@pytest.mark.parametrize("role", ["recruiter", "candidate", "hiring_manager"])
def test_only_admins_create_companies(client, app, make_user, role):
    user = make_user(role)
    before = count(app, Company)
    assert_error(client.post("/api/companies", json={"name": "Globex"}, headers=user.headers),
                 403, "forbidden")
    assert count(app, Company) == before


def test_creating_a_company_needs_a_token(client, app):
    assert_error(client.post("/api/companies", json={"name": "Globex"}), 401, "unauthorized")
    assert count(app, Company) == 0


def test_company_names_are_unique_case_insensitively(client, app, admin):
    assert client.post("/api/companies", json={"name": "Globex"}, headers=admin.headers).status_code == 201
    response = client.post("/api/companies", json={"name": "GLOBEX"}, headers=admin.headers)
    assert_error(response, 409, "company_taken")
    assert count(app, Company) == 1


@pytest.mark.parametrize("body, field", [({}, "name"), ({"name": ""}, "name"),
                                         ({"name": "x" * 121}, "name"),
                                         ({"name": "ß" * 61}, "name"),  # "ss" * 61 as a key
                                         ({"name": "Globex", "id": 5}, "id")])
def test_company_input_is_validated(client, app, admin, body, field):
    response = client.post("/api/companies", json=body, headers=admin.headers)
    assert_error(response, 422, "validation_error")
    assert field in response.get_json()["error"]["details"]
    assert count(app, Company) == 0


# --- GET /api/companies/{id} -------------------------------------------------------------

def test_staff_and_admins_see_the_company(client, recruiter, hiring_manager, admin):
    for user in (recruiter, hiring_manager, admin):
        response = client.get(f"/api/companies/{recruiter.company_id}", headers=user.headers)
        assert response.status_code == 200
        assert response.get_json()["id"] == recruiter.company_id


def test_others_do_not_see_the_company(client, recruiter, outsider, make_user, candidate):
    other_manager = make_user("hiring_manager", company_id=outsider.company_id)
    for user in (outsider, other_manager, candidate):
        response = client.get(f"/api/companies/{recruiter.company_id}", headers=user.headers)
        assert_error(response, 404, "not_found")


def test_unknown_company_is_not_found(client, admin):
    assert_error(client.get("/api/companies/999999", headers=admin.headers), 404, "not_found")


def test_company_needs_a_token(client, recruiter):
    assert_error(client.get(f"/api/companies/{recruiter.company_id}"), 401, "unauthorized")


# --- GET /api/companies/{id}/members -----------------------------------------------------

def test_members_are_listed_newest_first_and_paginated(client, make_user, recruiter, outsider, candidate):
    company_id = recruiter.company_id
    managers = [make_user("hiring_manager", company_id=company_id) for _ in range(2)]
    expected = [m.id for m in reversed(managers)] + [recruiter.id]

    first = client.get(f"/api/companies/{company_id}/members?limit=2", headers=recruiter.headers)
    assert first.status_code == 200
    page = first.get_json()
    assert set(page) == {"items", "next_cursor"} and page["next_cursor"]
    second = client.get(f"/api/companies/{company_id}/members",
                        query_string={"limit": 2, "cursor": page["next_cursor"]},
                        headers=recruiter.headers).get_json()
    assert second["next_cursor"] is None
    ids = [u["id"] for u in page["items"] + second["items"]]
    assert ids == expected  # neither the outsider nor the candidate
    assert all(u["company_id"] == company_id for u in page["items"] + second["items"])


def test_members_are_visible_to_staff_and_admins_only(client, recruiter, hiring_manager, admin, outsider, candidate):
    url = f"/api/companies/{recruiter.company_id}/members"
    for user in (recruiter, hiring_manager, admin):
        assert client.get(url, headers=user.headers).status_code == 200
    for user in (outsider, candidate):
        assert_error(client.get(url, headers=user.headers), 404, "not_found")
    assert_error(client.get("/api/companies/999999/members", headers=admin.headers), 404, "not_found")


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=abc", "cursor=tampered"])
def test_members_paging_arguments_are_validated(client, recruiter, query):
    response = client.get(f"/api/companies/{recruiter.company_id}/members?{query}",
                          headers=recruiter.headers)
    assert_error(response, 422, "validation_error")


# --- POST /api/companies/{id}/members ----------------------------------------------------

@pytest.mark.parametrize("role", ["recruiter", "hiring_manager"])
def test_recruiter_adds_staff_to_their_company(client, app, recruiter, role):
    response = client.post(f"/api/companies/{recruiter.company_id}/members",
                           json=member(role, email="New.Member@Example.com"), headers=recruiter.headers)
    assert response.status_code == 201
    body = response.get_json()
    assert (body["role"], body["company_id"], body["email"]) == (role, recruiter.company_id,
                                                                "new.member@example.com")
    assert "password" not in body
    with app.app_context():
        stored = db.session.get(User, body["id"])
        assert (stored.role, stored.company_id) == (role, recruiter.company_id)
    login = client.post("/api/auth/login", json={"email": "new.member@example.com", "password": PASSWORD})
    assert login.status_code == 200


def test_admin_adds_staff_to_any_company(client, app, admin, recruiter):
    response = client.post(f"/api/companies/{recruiter.company_id}/members",
                           json=member("recruiter"), headers=admin.headers)
    assert response.status_code == 201
    assert response.get_json()["company_id"] == recruiter.company_id


@pytest.mark.parametrize("role", ["candidate", "admin", "owner"])
def test_members_are_only_recruiters_or_hiring_managers(client, app, recruiter, role):
    before = count(app, User)
    response = client.post(f"/api/companies/{recruiter.company_id}/members",
                           json=member(role), headers=recruiter.headers)
    assert_error(response, 422, "validation_error")
    assert "role" in response.get_json()["error"]["details"]
    assert count(app, User) == before


def test_member_input_rejects_unknown_fields(client, app, recruiter, outsider):
    before = count(app, User)
    response = client.post(f"/api/companies/{recruiter.company_id}/members",
                           json=member(company_id=outsider.company_id), headers=recruiter.headers)
    assert_error(response, 422, "validation_error")
    assert count(app, User) == before


def test_hiring_manager_cannot_add_members(client, app, recruiter, hiring_manager):
    before = count(app, User)
    response = client.post(f"/api/companies/{recruiter.company_id}/members",
                           json=member(), headers=hiring_manager.headers)
    assert_error(response, 403, "forbidden")
    assert count(app, User) == before


@pytest.mark.parametrize("who", ["outsider", "candidate"])
def test_others_cannot_see_the_company_to_add_members(client, app, request, recruiter, who):
    user = request.getfixturevalue(who)
    before = count(app, User)
    response = client.post(f"/api/companies/{recruiter.company_id}/members",
                           json=member(), headers=user.headers)
    assert_error(response, 404, "not_found")
    assert count(app, User) == before


def test_member_email_must_be_free(client, app, recruiter, candidate):
    before = count(app, User)
    response = client.post(f"/api/companies/{recruiter.company_id}/members",
                           json=member(email=candidate.email.upper()), headers=recruiter.headers)
    assert_error(response, 409, "email_taken")
    assert count(app, User) == before
