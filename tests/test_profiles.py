"""PATCH /api/auth/me (names, a candidate's profile) and where a profile is shown: the user
itself, and the candidate card staff and admins see on each application."""
import pytest

from ats.extensions import db
from ats.models import User
from tests.helpers import assert_invalid

EMPTY = {"phone": None, "headline": None, "location": None, "links": []}
PROFILE = {"phone": "+49 30 1234567", "headline": "Backend developer, 8 years of Python",
           "location": "Berlin", "links": ["https://github.com/ada", "http://ada.example/cv"]}


def patch_me(client, user, body):
    return client.patch("/api/auth/me", json=body, headers=user.headers)


def stored(app, user_id) -> dict:
    with app.app_context():
        user = db.session.get(User, user_id)
        return {"name": user.name, "phone": user.phone, "headline": user.headline,
                "location": user.location, "links": user.links, "email": user.email,
                "role": user.role}


# --- the user's shape ----------------------------------------------------------------------

def test_a_candidate_has_a_profile_others_do_not(client, candidate, recruiter, hiring_manager, admin):
    body = client.get("/api/auth/me", headers=candidate.headers).get_json()
    assert body["is_active"] is True and body["profile"] == EMPTY
    for user in (recruiter, hiring_manager, admin):
        body = client.get("/api/auth/me", headers=user.headers).get_json()
        assert body["is_active"] is True and "profile" not in body, user.role


# --- PATCH /api/auth/me --------------------------------------------------------------------

def test_a_candidate_sets_their_profile(client, app, candidate):
    response = patch_me(client, candidate, {"name": "  Ada King  ", **PROFILE})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["id"], body["name"], body["profile"]) == (candidate.id, "Ada King", PROFILE)
    assert stored(app, candidate.id) == {**PROFILE, "name": "Ada King", "email": candidate.email,
                                         "role": "candidate"}
    assert client.get("/api/auth/me", headers=candidate.headers).get_json()["profile"] == PROFILE


def test_fields_left_out_stay_and_null_or_empty_clears(client, app, candidate):
    patch_me(client, candidate, PROFILE)
    response = patch_me(client, candidate, {"phone": None, "headline": "", "links": []})
    assert response.status_code == 200
    assert response.get_json()["profile"] == {**EMPTY, "location": "Berlin"}
    assert patch_me(client, candidate, {"links": None}).get_json()["profile"]["links"] == []
    assert stored(app, candidate.id)["headline"] is None


def test_an_empty_body_changes_nothing(client, app, candidate):
    patch_me(client, candidate, PROFILE)
    response = patch_me(client, candidate, {})
    assert response.status_code == 200 and response.get_json()["profile"] == PROFILE


@pytest.mark.parametrize("who", ["recruiter", "hiring_manager", "admin"])
def test_anyone_changes_their_name(client, app, request, who):
    user = request.getfixturevalue(who)
    response = patch_me(client, user, {"name": "New Name"})
    assert response.status_code == 200
    assert response.get_json()["name"] == "New Name" and "profile" not in response.get_json()
    assert stored(app, user.id)["name"] == "New Name"


@pytest.mark.parametrize("who", ["recruiter", "hiring_manager", "admin"])
@pytest.mark.parametrize("field, value", [("phone", "+1 555"), ("headline", "Boss"),
                                          ("location", "Paris"), ("links", [])])
def test_only_candidates_have_a_profile(client, app, request, who, field, value):
    user = request.getfixturevalue(who)
    before = stored(app, user.id)
    assert_invalid(patch_me(client, user, {"name": "Changed", field: value}), field)
    assert stored(app, user.id) == before  # not even the name


@pytest.mark.parametrize("field, value", [
    ("email", "new@example.com"), ("role", "admin"), ("company_id", 1), ("id", 99),
    ("is_active", False), ("password", "new-password-1"), ("profile", {"phone": "1"}),
    ("created_at", "2026-01-01T00:00:00+00:00")])
def test_email_role_and_unknown_fields_cannot_be_set(client, app, candidate, field, value):
    before = stored(app, candidate.id)
    assert_invalid(patch_me(client, candidate, {"name": "Changed", field: value}), field)
    assert stored(app, candidate.id) == before


@pytest.mark.parametrize("field, value", [
    ("name", ""), ("name", "   "), ("name", "x" * 121), ("name", "Ada\nKing"), ("name", None),
    ("name", 5), ("phone", "1" * 41), ("phone", "+49\n30"), ("headline", "h" * 201),
    ("headline", "a\u202eb"), ("location", "l" * 201), ("location", "x\x00y"), ("phone", 49),
    ("links", ["https://a.example"] * 6), ("links", "https://a.example"), ("links", [""]),
    ("links", ["ftp://files.example/cv.pdf"]), ("links", ["javascript:alert(1)"]),
    ("links", ["//ada.example/cv"]), ("links", ["/cv.pdf"]), ("links", ["ada.example"]),
    ("links", ["https://"]), ("links", ["https://exa mple.com"]), ("links", [None]),
    ("links", [42]), ("links", ["https://a.example/" + "x" * 1990]),
    ("links", ["https://a.example/\x00"]), ("links", {"a": "https://a.example"}),
])
def test_profile_input_is_validated(client, app, candidate, field, value):
    before = stored(app, candidate.id)
    assert_invalid(patch_me(client, candidate, {field: value}), field)
    assert stored(app, candidate.id) == before


def test_the_limits_are_accepted(client, candidate):
    longest_link = "https://a.example/" + "x" * (2_000 - len("https://a.example/"))
    body = {"name": "n" * 120, "phone": "1" * 40, "headline": "h" * 200, "location": "l" * 200,
            "links": [longest_link] + [f"https://{n}.example" for n in range(4)]}
    response = patch_me(client, candidate, body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["profile"]["links"][0] == longest_link


def test_links_are_trimmed(client, candidate):
    response = patch_me(client, candidate, {"links": ["  https://ada.example/cv  "]})
    assert response.get_json()["profile"]["links"] == ["https://ada.example/cv"]


def test_a_body_that_is_no_object_is_a_bad_request(client, candidate):
    response = client.patch("/api/auth/me", json=["name"], headers=candidate.headers)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_request"


def test_patching_me_needs_a_token(client):
    response = client.patch("/api/auth/me", json={"name": "X"})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"


def test_a_new_name_shows_in_history(client, recruiter, candidate, make_job, make_application):
    application = make_application(candidate, make_job(recruiter)["id"])
    patch_me(client, candidate, {"name": "Ada Renamed"})
    history = client.get(f"/api/applications/{application['id']}/history",
                         headers=recruiter.headers).get_json()["items"]
    assert history[0]["changed_by"]["name"] == "Ada Renamed"


# --- the candidate card on applications ---------------------------------------------------

@pytest.fixture
def applied(client, recruiter, candidate, make_job, make_application):
    patch_me(client, candidate, PROFILE)
    return make_application(candidate, make_job(recruiter)["id"])


def card(candidate) -> dict:
    return {"id": candidate.id, "name": candidate.name, "email": candidate.email,
            "profile": PROFILE}


@pytest.mark.parametrize("who", ["recruiter", "hiring_manager", "admin"])
def test_staff_and_admins_see_the_candidate_on_each_application(client, request, candidate,
                                                                 applied, who):
    user = request.getfixturevalue(who)
    single = client.get(f"/api/applications/{applied['id']}", headers=user.headers).get_json()
    listed = client.get("/api/applications", headers=user.headers).get_json()["items"]
    of_job = client.get(f"/api/jobs/{applied['job_id']}/applications",
                        headers=user.headers).get_json()["items"]
    assert single["candidate"] == card(candidate)
    assert [item["candidate"] for item in listed] == [card(candidate)]
    assert [item["candidate"] for item in of_job] == [card(candidate)]


def test_a_stage_change_answers_the_candidate_to_staff(client, recruiter, candidate, applied):
    response = client.patch(f"/api/applications/{applied['id']}/stage",
                            json={"stage": "screening"}, headers=recruiter.headers)
    assert response.status_code == 200 and response.get_json()["candidate"] == card(candidate)


def test_the_candidate_gets_no_card_of_themself(client, candidate, applied):
    assert "candidate" not in applied  # the apply answer
    single = client.get(f"/api/applications/{applied['id']}", headers=candidate.headers).get_json()
    listed = client.get("/api/applications", headers=candidate.headers).get_json()["items"]
    assert "candidate" not in single and all("candidate" not in item for item in listed)


def test_another_companys_staff_never_see_the_profile(client, outsider, candidate, applied,
                                                      make_job):
    """The outsider's own company got no application from this candidate."""
    response = client.get(f"/api/applications/{applied['id']}", headers=outsider.headers)
    assert response.status_code == 404
    for url in ("/api/applications", f"/api/users/{candidate.id}"):
        assert PROFILE["headline"] not in client.get(url, headers=outsider.headers).get_data(as_text=True)
