"""/api/users: admins list, filter and (de)activate every account; a user is visible to
admins, to themself, and to staff when a member of their company or a candidate who applied
to it. `flask ats users` is in tests/test_cli.py."""
import pytest
from sqlalchemy import select

from ats.extensions import db
from ats.models import HIRING_MANAGER, RECRUITER, AuthSession, Notification, User
from tests.conftest import PASSWORD
from tests.helpers import assert_error, assert_invalid, ids


def login(client, email):
    return client.post("/api/auth/login", json={"email": email, "password": PASSWORD})


def is_active(app, user_id) -> bool:
    with app.app_context():
        return db.session.get(User, user_id).is_active


def set_active(client, actor, user_id, active):
    return client.patch(f"/api/users/{user_id}", json={"is_active": active}, headers=actor.headers)


# --- GET /api/users --------------------------------------------------------------------------

@pytest.fixture
def people(make_user, admin):
    """Two companies' staff, candidates with searchable names, the admin."""
    rita = make_user(RECRUITER, name="Rita Recruiter", email="rita@acme.example")
    return {
        "admin": admin, "rita": rita,
        "hank": make_user(HIRING_MANAGER, rita.company_id, name="Hank Manager",
                          email="hank@acme.example"),
        "otto": make_user(RECRUITER, name="Otto Other", email="otto@globex.example"),
        "carl": make_user(name="Carl Candidate", email="carl@mail.example"),
        "cora": make_user(name="Cora 100%_Sure", email="cora_x@mail.example"),
    }


def listed(client, admin, query=""):
    response = client.get(f"/api/users?limit=100{query}", headers=admin.headers)
    return ids(response)


def test_admins_list_every_user_newest_first(client, people):
    everyone = sorted((p.id for p in people.values()), reverse=True)
    assert listed(client, people["admin"]) == everyone
    body = client.get("/api/users", headers=people["admin"].headers).get_json()
    carl = next(item for item in body["items"] if item["id"] == people["carl"].id)
    assert carl["is_active"] is True and carl["profile"]["links"] == []
    rita = next(item for item in body["items"] if item["id"] == people["rita"].id)
    assert "profile" not in rita


def test_the_users_list_pages(client, people):
    admin, pages, cursor = people["admin"], [], None
    while True:
        query = f"/api/users?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(query, headers=admin.headers).get_json()
        pages.append([item["id"] for item in body["items"]])
        if not (cursor := body["next_cursor"]):
            break
    assert [len(page) for page in pages] == [2, 2, 2]
    assert sum(pages, []) == sorted((p.id for p in people.values()), reverse=True)


@pytest.mark.parametrize("query, who", [
    ("&role=candidate", {"carl", "cora"}), ("&role=RECRUITER", {"rita", "otto"}),
    ("&role=hiring_manager", {"hank"}), ("&role=admin", {"admin"}),
    ("&q=acme", {"rita", "hank"}), ("&q=MANAGER", {"hank"}), ("&q=%25", {"cora"}),
    ("&q=_", {"cora"}), ("&q=100%25_s", {"cora"}), ("&q=r%25r", set()), ("&q=c_ra", set()),
    ("&q=nobody", set()), ("&q=CARL@MAIL", {"carl"}), ("&role=candidate&q=mail.example", {"carl", "cora"}),
])
def test_the_users_list_filters(client, people, query, who):
    assert set(listed(client, people["admin"], query)) == {people[key].id for key in who}


def test_the_users_list_filters_by_company_and_state(client, app, people):
    admin, rita = people["admin"], people["rita"]
    assert set(listed(client, admin, f"&company_id={rita.company_id}")) == {rita.id, people["hank"].id}
    assert listed(client, admin, "&company_id=424242") == []
    set_active(client, admin, people["hank"].id, False)
    set_active(client, admin, people["carl"].id, False)
    assert set(listed(client, admin, "&is_active=false")) == {people["hank"].id, people["carl"].id}
    assert set(listed(client, admin, "&is_active=True")) == {
        p.id for key, p in people.items() if key not in ("hank", "carl")}
    assert listed(client, admin, f"&is_active=false&company_id={rita.company_id}&role=hiring_manager") == [
        people["hank"].id]


@pytest.mark.parametrize("query, field", [
    ("role=owner", "role"), ("company_id=0", "company_id"), ("company_id=abc", "company_id"),
    ("is_active=yes", "is_active"), ("is_active=", "is_active"), ("q=" + "x" * 201, "q"),
    ("limit=0", "limit"), ("cursor=forged", "cursor"), ("name=rita", "name"), ("active=true", "active")])
def test_the_users_list_arguments_are_validated(client, people, query, field):
    assert_invalid(client.get(f"/api/users?{query}", headers=people["admin"].headers), field)


@pytest.mark.parametrize("who", ["rita", "hank", "carl"])
def test_only_admins_list_users(client, people, who):
    assert_error(client.get("/api/users", headers=people[who].headers), 403, "forbidden")


def test_listing_users_needs_a_token(client):
    assert_error(client.get("/api/users"), 401, "unauthorized")


def test_the_users_list_costs_the_same_statements_at_any_size(client, make_user, admin, count_queries):
    def page():
        with count_queries() as statements:
            response = client.get("/api/users?limit=100", headers=admin.headers)
        return len(statements), len(response.get_json()["items"])

    make_user()
    small = page()
    for _ in range(14):
        make_user()
        make_user(RECRUITER)
    big = page()
    assert (small[1], big[1]) == (2, 30) and small[0] == big[0]


# --- GET /api/users/{id} -----------------------------------------------------------------------

@pytest.fixture
def applied(people, make_job, make_application):
    """Carl applied to Rita's company; Cora applied nowhere."""
    make_application(people["carl"], make_job(people["rita"])["id"])
    return people


@pytest.mark.parametrize("viewer, target, status", [
    ("admin", "carl", 200), ("admin", "cora", 200), ("admin", "otto", 200), ("admin", "admin", 200),
    ("carl", "carl", 200), ("carl", "cora", 404), ("carl", "rita", 404), ("carl", "admin", 404),
    ("rita", "rita", 200), ("rita", "hank", 200), ("rita", "carl", 200), ("rita", "cora", 404),
    ("rita", "otto", 404), ("rita", "admin", 404),
    ("hank", "rita", 200), ("hank", "carl", 200), ("hank", "cora", 404),
    ("otto", "carl", 404), ("otto", "rita", 404), ("otto", "otto", 200),
])
def test_who_sees_which_user(client, applied, viewer, target, status):
    response = client.get(f"/api/users/{applied[target].id}", headers=applied[viewer].headers)
    assert response.status_code == status, response.get_json()
    if status == 200:
        body = response.get_json()
        assert (body["id"], body["email"], body["name"]) == (
            applied[target].id, applied[target].email, applied[target].name)
    else:
        assert response.get_json()["error"]["code"] == "not_found"
        assert applied[target].email not in response.get_data(as_text=True)


def test_staff_see_the_profile_of_a_candidate_who_applied(client, applied):
    profile = {"phone": "+1 555 0100", "headline": "Data engineer", "location": "Lisbon",
               "links": ["https://carl.example"]}
    client.patch("/api/auth/me", json=profile, headers=applied["carl"].headers)
    body = client.get(f"/api/users/{applied['carl'].id}", headers=applied["hank"].headers).get_json()
    assert body["profile"] == profile


def test_a_missing_user_is_not_found(client, admin):
    assert_error(client.get("/api/users/424242", headers=admin.headers), 404, "not_found")
    assert_error(client.get("/api/users/424242"), 401, "unauthorized")


# --- PATCH /api/users/{id} ---------------------------------------------------------------------

def test_an_admin_deactivates_and_reactivates_a_candidate(client, app, mailbox, admin, candidate,
                                                          recruiter, make_job, make_application):
    application = make_application(candidate, make_job(recruiter)["id"])
    mailbox.reset()
    response = set_active(client, admin, candidate.id, False)
    assert response.status_code == 200
    assert response.get_json()["is_active"] is False and "profile" in response.get_json()
    assert not is_active(app, candidate.id)
    assert_error(client.get("/api/auth/me", headers=candidate.headers), 401, "unauthorized")
    assert_error(login(client, candidate.email), 401, "unauthorized")
    # their application goes on, without mail to them
    moved = client.patch(f"/api/applications/{application['id']}/stage", json={"stage": "screening"},
                         headers=recruiter.headers)
    assert moved.status_code == 200
    with app.app_context():
        kinds = db.session.scalars(select(Notification.kind).where(
            Notification.recipient_id == candidate.id)).all()
    assert kinds == ["application_received"]
    assert mailbox.wait_for(1, timeout=0.5) == []

    response = set_active(client, admin, candidate.id, True)
    assert response.status_code == 200 and response.get_json()["is_active"] is True
    assert login(client, candidate.email).status_code == 200


def test_an_admin_deactivates_staff_with_the_same_effects(client, app, admin, recruiter,
                                                          hiring_manager, make_job):
    job = make_job(recruiter, hiring_manager_ids=[hiring_manager.id])
    assert set_active(client, admin, hiring_manager.id, False).status_code == 200
    assert client.get(f"/api/jobs/{job['id']}", headers=recruiter.headers).get_json()[
        "hiring_manager_ids"] == []
    with app.app_context():
        assert db.session.scalars(select(AuthSession.end_reason).where(
            AuthSession.user_id == hiring_manager.id)).all() == ["deactivated"]


def test_an_admin_cannot_deactivate_the_last_active_recruiter(client, app, admin, recruiter):
    assert_error(set_active(client, admin, recruiter.id, False), 409, "last_recruiter")
    assert is_active(app, recruiter.id)


def test_an_admin_cannot_deactivate_themself(client, app, admin, make_user):
    assert_invalid(set_active(client, admin, admin.id, False), "is_active")
    assert is_active(app, admin.id)
    assert client.get("/api/auth/me", headers=admin.headers).status_code == 200
    assert set_active(client, admin, admin.id, True).status_code == 200  # a no-op, but allowed
    other = make_user("admin")
    assert set_active(client, admin, other.id, False).status_code == 200  # another admin: yes


@pytest.mark.parametrize("body, field", [
    ({}, "is_active"), ({"is_active": "false"}, "is_active"), ({"is_active": 0}, "is_active"),
    ({"is_active": None}, "is_active"), ({"is_active": False, "role": "admin"}, "role"),
    ({"is_active": False, "name": "X"}, "name")])
def test_user_changes_are_validated(client, app, admin, candidate, body, field):
    assert_invalid(client.patch(f"/api/users/{candidate.id}", json=body, headers=admin.headers), field)
    assert is_active(app, candidate.id)


@pytest.mark.parametrize("who", ["recruiter", "hiring_manager", "candidate"])
def test_only_admins_change_users(client, app, request, recruiter, hiring_manager, candidate, who):
    actor = request.getfixturevalue(who)
    for target in (recruiter, hiring_manager, candidate):
        assert_error(set_active(client, actor, target.id, False), 403, "forbidden")
        assert is_active(app, target.id)


def test_changing_a_missing_user_is_not_found(client, admin):
    assert_error(set_active(client, admin, 424242, False), 404, "not_found")
    assert_error(client.patch("/api/users/1", json={"is_active": False}), 401, "unauthorized")
