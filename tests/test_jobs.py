"""Job postings: /api/jobs."""
from datetime import datetime

import pytest

from ats.extensions import db
from ats.models import Application, Job, job_hiring_managers
from tests.helpers import assert_error, assert_invalid, count, ids


def job_row(app, job_id):
    """The job as stored, as a plain dict (None if gone)."""
    with app.app_context():
        job = db.session.get(Job, job_id)
        if job is None:
            return None
        return {"title": job.title, "description": job.description, "location": job.location,
                "status": job.status, "company_id": job.company_id,
                "created_at": job.created_at, "updated_at": job.updated_at,
                "hiring_manager_ids": job.hiring_manager_ids}


@pytest.fixture
def board(make_job, recruiter, outsider):
    """An open and a closed job for each of two companies."""
    return {
        "own_open": make_job(recruiter, title="Own open")["id"],
        "own_closed": make_job(recruiter, title="Own closed", status="closed")["id"],
        "other_open": make_job(outsider, title="Other open")["id"],
        "other_closed": make_job(outsider, title="Other closed", status="closed")["id"],
    }


# --- GET /api/jobs: who sees what ----------------------------------------------------------

def test_public_list_shows_only_open_jobs(client, board):
    assert ids(client.get("/api/jobs")) == [board["other_open"], board["own_open"]]


def test_candidates_see_only_open_jobs(client, board, candidate):
    assert ids(client.get("/api/jobs", headers=candidate.headers)) == [
        board["other_open"], board["own_open"]]


@pytest.mark.parametrize("who", ["recruiter", "hiring_manager"])
def test_staff_also_see_their_own_closed_jobs_only(client, board, request, who):
    user = request.getfixturevalue(who)
    assert ids(client.get("/api/jobs", headers=user.headers)) == [
        board["other_open"], board["own_closed"], board["own_open"]]


def test_admin_sees_every_job(client, board, admin):
    assert ids(client.get("/api/jobs", headers=admin.headers)) == sorted(board.values(), reverse=True)


def test_job_body_has_the_contract_fields(client, recruiter, hiring_manager, make_job):
    job = make_job(recruiter, location="Berlin", hiring_manager_ids=[hiring_manager.id])
    [item] = client.get("/api/jobs").get_json()["items"]
    assert item == job
    assert set(item) == {"id", "company_id", "title", "description", "location", "status",
                         "hiring_manager_ids", "created_at", "updated_at"}
    assert item["hiring_manager_ids"] == [hiring_manager.id]
    assert datetime.fromisoformat(item["created_at"]).utcoffset().total_seconds() == 0


# --- filters -------------------------------------------------------------------------------

def test_filter_by_company(client, board, recruiter, outsider):
    assert ids(client.get(f"/api/jobs?company_id={outsider.company_id}")) == [board["other_open"]]
    assert ids(client.get(f"/api/jobs?company_id={recruiter.company_id}",
                          headers=recruiter.headers)) == [board["own_closed"], board["own_open"]]


def test_filter_by_status(client, board, recruiter, admin):
    assert ids(client.get("/api/jobs?status=closed")) == []
    assert ids(client.get("/api/jobs?status=closed", headers=recruiter.headers)) == [board["own_closed"]]
    assert ids(client.get("/api/jobs?status=CLOSED", headers=admin.headers)) == [
        board["other_closed"], board["own_closed"]]
    assert ids(client.get("/api/jobs?status=open", headers=admin.headers)) == [
        board["other_open"], board["own_open"]]


def test_unknown_status_filter_is_rejected(client, board):
    assert_invalid(client.get("/api/jobs?status=archived"), "status")


def test_q_matches_title_case_insensitively(client, recruiter, make_job):
    python = make_job(recruiter, title="Senior PYTHON Developer")["id"]
    make_job(recruiter, title="Go developer")
    assert ids(client.get("/api/jobs?q=python")) == [python]
    assert ids(client.get("/api/jobs?q=Python%20dev")) == [python]
    assert ids(client.get("/api/jobs?q=rust")) == []


@pytest.mark.parametrize("q, expected", [
    ("%", ["100% remote"]),
    ("0%", ["100% remote"]),
    ("_", ["snake_case dev"]),
    ("e_c", ["snake_case dev"]),
    ("\\", ["C:\\Jobs"]),
])
def test_q_wildcards_match_literally(client, recruiter, make_job, q, expected):
    titles = {}
    for title in ("100% remote", "1000 remote", "snake_case dev", "snakeXcase dev", "C:\\Jobs"):
        titles[make_job(recruiter, title=title)["id"]] = title
    response = client.get("/api/jobs", query_string={"q": q})
    assert [titles[i] for i in ids(response)] == expected


def test_filters_combine(client, recruiter, outsider, make_job):
    wanted = make_job(recruiter, title="Data engineer")["id"]
    make_job(recruiter, title="Data engineer", status="closed")
    make_job(outsider, title="Data engineer")
    make_job(recruiter, title="Designer")
    response = client.get("/api/jobs", query_string={
        "company_id": recruiter.company_id, "status": "open", "q": "data"}, headers=recruiter.headers)
    assert ids(response) == [wanted]


# --- pagination ----------------------------------------------------------------------------

@pytest.mark.parametrize("limit", ["0", "101", "abc", "-1", "1.5", "", "7\r", " 7", "+7", "1_0",
                                   "\u0663"])  # "٣": int() takes other scripts' digits
def test_limit_out_of_range_is_rejected(client, limit):
    assert_invalid(client.get("/api/jobs", query_string={"limit": limit}), "limit")


@pytest.mark.parametrize("limit", [1, 100])
def test_limit_bounds_are_accepted(client, recruiter, make_job, limit):
    make_job(recruiter)
    make_job(recruiter)
    assert len(ids(client.get(f"/api/jobs?limit={limit}"))) == min(limit, 2)


def test_default_page_size_is_20(client, recruiter, make_job):
    for _ in range(21):
        make_job(recruiter)
    body = client.get("/api/jobs").get_json()
    assert len(body["items"]) == 20 and body["next_cursor"]


def test_pages_walk_every_job_once_newest_first(client, recruiter, outsider, make_job):
    created = [make_job(owner, title=f"Job {n}")["id"] for n, owner in
               enumerate([recruiter, outsider] * 4)]
    make_job(recruiter, status="closed")  # invisible to the anonymous walker
    seen, cursor, pages = [], None, 0
    while True:
        response = client.get("/api/jobs", query_string={"limit": 3, **({"cursor": cursor} if cursor else {})})
        seen += ids(response)
        pages += 1
        cursor = response.get_json()["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(created, reverse=True)
    assert pages == 3


def test_exact_last_page_has_no_cursor(client, recruiter, make_job):
    for _ in range(2):
        make_job(recruiter)
    assert client.get("/api/jobs?limit=2").get_json()["next_cursor"] is None


def test_tampered_cursor_is_rejected(client, recruiter, make_job):
    for _ in range(3):
        make_job(recruiter)
    cursor = client.get("/api/jobs?limit=1").get_json()["next_cursor"]
    tampered = cursor[:-1] + ("A" if cursor[-1] != "A" else "B")
    assert_invalid(client.get("/api/jobs", query_string={"cursor": tampered}), "cursor")


@pytest.mark.parametrize("cursor", ["garbage", "1", "eyJpZCI6IDF9", "x" * 500, "%00"])
def test_garbage_cursor_is_rejected(client, cursor):
    assert_invalid(client.get(f"/api/jobs?cursor={cursor}"), "cursor")


def test_unknown_query_parameter_is_rejected(client):
    assert_invalid(client.get("/api/jobs?colour=red"), "colour")


# --- POST /api/jobs --------------------------------------------------------------------------

def test_recruiter_posts_a_job_for_own_company(client, app, recruiter, hiring_manager):
    response = client.post("/api/jobs", json={
        "title": "  Backend Developer ", "description": "Python.", "location": "Remote",
        "hiring_manager_ids": [hiring_manager.id]}, headers=recruiter.headers)
    assert response.status_code == 201, response.get_json()
    job = response.get_json()
    assert job["status"] == "open"
    assert job["company_id"] == recruiter.company_id
    assert job["title"] == "Backend Developer"
    assert job["hiring_manager_ids"] == [hiring_manager.id]
    stored = job_row(app, job["id"])
    assert stored["status"] == "open" and stored["company_id"] == recruiter.company_id
    assert stored["hiring_manager_ids"] == [hiring_manager.id]


def test_recruiter_may_name_own_company(client, recruiter):
    response = client.post("/api/jobs", json={"title": "T", "description": "D",
                                              "company_id": recruiter.company_id},
                           headers=recruiter.headers)
    assert response.status_code == 201 and response.get_json()["company_id"] == recruiter.company_id


def test_recruiter_cannot_post_for_another_company(client, app, recruiter, outsider):
    response = client.post("/api/jobs", json={"title": "T", "description": "D",
                                              "company_id": outsider.company_id},
                           headers=recruiter.headers)
    assert_invalid(response, "company_id")
    assert count(app, Job) == 0


def test_admin_posts_for_a_named_company(client, app, admin, recruiter):
    response = client.post("/api/jobs", json={"title": "T", "description": "D",
                                              "company_id": recruiter.company_id},
                           headers=admin.headers)
    assert response.status_code == 201
    assert job_row(app, response.get_json()["id"])["company_id"] == recruiter.company_id


@pytest.mark.parametrize("extra", [{}, {"company_id": 999_999}])
def test_admin_must_name_an_existing_company(client, app, admin, extra):
    response = client.post("/api/jobs", json={"title": "T", "description": "D", **extra},
                           headers=admin.headers)
    assert_invalid(response, "company_id")
    assert count(app, Job) == 0


@pytest.mark.parametrize("role", ["candidate", "hiring_manager"])
def test_only_recruiters_and_admins_post_jobs(client, app, make_user, role):
    user = make_user(role)
    response = client.post("/api/jobs", json={"title": "T", "description": "D"}, headers=user.headers)
    assert_error(response, 403, "forbidden")
    assert count(app, Job) == 0


def test_posting_needs_a_token(client, app):
    assert_error(client.post("/api/jobs", json={"title": "T", "description": "D"}), 401, "unauthorized")
    assert count(app, Job) == 0


@pytest.mark.parametrize("who", ["the recruiter", "another company's manager", "nobody"])
def test_hiring_managers_must_be_of_the_company(client, app, make_user, recruiter, who):
    manager_id = {
        "the recruiter": lambda: recruiter.id,
        "another company's manager": lambda: make_user("hiring_manager").id,
        "nobody": lambda: 999_999,
    }[who]()
    response = client.post("/api/jobs", json={"title": "T", "description": "D",
                                              "hiring_manager_ids": [manager_id]},
                           headers=recruiter.headers)
    assert_invalid(response, "hiring_manager_ids")
    assert count(app, Job) == 0
    assert count(app, job_hiring_managers) == 0


def test_one_bad_hiring_manager_spoils_the_list(client, app, recruiter, hiring_manager):
    response = client.post("/api/jobs", json={"title": "T", "description": "D",
                                              "hiring_manager_ids": [hiring_manager.id, 999_999]},
                           headers=recruiter.headers)
    assert_invalid(response, "hiring_manager_ids")
    assert count(app, Job) == 0


@pytest.mark.parametrize("fields, bad", [
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"description": "x" * 20_001}, "description"),
    ({"location": "x" * 201}, "location"),
    ({"status": "draft"}, "status"),
])
def test_invalid_job_fields_are_rejected(client, app, recruiter, fields, bad):
    body = {"title": "T", "description": "D", **fields}
    assert_invalid(client.post("/api/jobs", json=body, headers=recruiter.headers), bad)
    assert count(app, Job) == 0


@pytest.mark.parametrize("missing", ["title", "description"])
def test_title_and_description_are_required(client, app, recruiter, missing):
    body = {"title": "T", "description": "D"}
    del body[missing]
    assert_invalid(client.post("/api/jobs", json=body, headers=recruiter.headers), missing)
    assert count(app, Job) == 0


def test_longest_allowed_fields_are_accepted(client, app, recruiter):
    body = {"title": "x" * 200, "description": "y" * 20_000, "location": "z" * 200}
    response = client.post("/api/jobs", json=body, headers=recruiter.headers)
    assert response.status_code == 201, response.get_json()
    stored = job_row(app, response.get_json()["id"])
    assert (stored["title"], stored["description"], stored["location"]) == tuple(body.values())


# --- GET /api/jobs/{id} ----------------------------------------------------------------------

@pytest.mark.parametrize("who", [None, "candidate", "outsider", "recruiter", "hiring_manager", "admin"])
def test_open_job_is_visible_to_anyone(client, board, request, who):
    headers = request.getfixturevalue(who).headers if who else {}
    response = client.get(f"/api/jobs/{board['own_open']}", headers=headers)
    assert response.status_code == 200 and response.get_json()["id"] == board["own_open"]


@pytest.mark.parametrize("who", [None, "candidate", "outsider"])
def test_closed_job_is_hidden_from_outsiders(client, board, request, who):
    headers = request.getfixturevalue(who).headers if who else {}
    assert_error(client.get(f"/api/jobs/{board['own_closed']}", headers=headers), 404, "not_found")


@pytest.mark.parametrize("who", ["recruiter", "hiring_manager", "admin"])
def test_closed_job_is_visible_to_its_staff_and_admin(client, board, request, who):
    response = client.get(f"/api/jobs/{board['own_closed']}",
                          headers=request.getfixturevalue(who).headers)
    assert response.status_code == 200 and response.get_json()["status"] == "closed"


def test_missing_job_is_404(client):
    assert_error(client.get("/api/jobs/424242"), 404, "not_found")


# --- PATCH /api/jobs/{id} -------------------------------------------------------------------

def test_recruiter_edits_a_job(client, app, recruiter, hiring_manager, make_job):
    job = make_job(recruiter, location="Berlin")
    before = job_row(app, job["id"])
    changes = {"title": "Staff Engineer", "description": "Lead.", "location": None,
               "status": "closed", "hiring_manager_ids": [hiring_manager.id]}
    response = client.patch(f"/api/jobs/{job['id']}", json=changes, headers=recruiter.headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert {k: body[k] for k in changes} == changes
    stored = job_row(app, job["id"])
    assert {k: stored[k] for k in changes} == changes
    assert stored["updated_at"] > before["updated_at"]
    assert stored["created_at"] == before["created_at"]
    assert datetime.fromisoformat(body["updated_at"]) == stored["updated_at"]


def test_patch_changes_only_the_fields_given(client, app, recruiter, hiring_manager, make_job):
    job = make_job(recruiter, location="Berlin", hiring_manager_ids=[hiring_manager.id])
    response = client.patch(f"/api/jobs/{job['id']}", json={"title": "New"}, headers=recruiter.headers)
    assert response.status_code == 200
    stored = job_row(app, job["id"])
    assert stored["title"] == "New"
    assert (stored["location"], stored["hiring_manager_ids"]) == ("Berlin", [hiring_manager.id])


def test_admin_edits_any_job(client, app, admin, recruiter, make_job):
    job = make_job(recruiter, status="closed")
    response = client.patch(f"/api/jobs/{job['id']}", json={"status": "open"}, headers=admin.headers)
    assert response.status_code == 200
    assert job_row(app, job["id"])["status"] == "open"


def test_hiring_manager_cannot_edit(client, app, recruiter, hiring_manager, make_job):
    job = make_job(recruiter, hiring_manager_ids=[hiring_manager.id])
    before = job_row(app, job["id"])
    response = client.patch(f"/api/jobs/{job['id']}", json={"title": "X"}, headers=hiring_manager.headers)
    assert_error(response, 403, "forbidden")
    assert job_row(app, job["id"]) == before


@pytest.mark.parametrize("status, expected", [("open", 403), ("closed", 404)])
def test_other_company_cannot_edit(client, app, recruiter, outsider, make_job, status, expected):
    job = make_job(recruiter, status=status)
    before = job_row(app, job["id"])
    response = client.patch(f"/api/jobs/{job['id']}", json={"title": "X"}, headers=outsider.headers)
    assert_error(response, expected, {403: "forbidden", 404: "not_found"}[expected])
    assert job_row(app, job["id"]) == before


def test_candidate_cannot_edit_an_open_job(client, app, recruiter, candidate, make_job):
    job = make_job(recruiter)
    before = job_row(app, job["id"])
    assert_error(client.patch(f"/api/jobs/{job['id']}", json={"title": "X"}, headers=candidate.headers),
                 403, "forbidden")
    assert job_row(app, job["id"]) == before


def test_editing_needs_a_token(client, app, recruiter, make_job):
    job = make_job(recruiter)
    assert_error(client.patch(f"/api/jobs/{job['id']}", json={"title": "X"}), 401, "unauthorized")
    assert job_row(app, job["id"])["title"] == job["title"]


@pytest.mark.parametrize("field, value", [
    ("company_id", None), ("id", 12345), ("created_at", "2020-01-01T00:00:00+00:00"),
    ("updated_at", "2020-01-01T00:00:00+00:00"),
])
def test_fixed_fields_cannot_be_set(client, app, recruiter, outsider, make_job, field, value):
    job = make_job(recruiter)
    before = job_row(app, job["id"])
    if field == "company_id":
        value = outsider.company_id
    response = client.patch(f"/api/jobs/{job['id']}", json={field: value, "title": "Changed"},
                            headers=recruiter.headers)
    assert_invalid(response, field)
    assert job_row(app, job["id"]) == before
    assert count(app, Job) == 1


def test_patch_rejects_a_foreign_hiring_manager(client, app, recruiter, hiring_manager, make_user,
                                               make_job):
    job = make_job(recruiter, hiring_manager_ids=[hiring_manager.id])
    stranger = make_user("hiring_manager")
    response = client.patch(f"/api/jobs/{job['id']}", json={"hiring_manager_ids": [stranger.id],
                                                            "title": "Changed"},
                            headers=recruiter.headers)
    assert_invalid(response, "hiring_manager_ids")
    assert job_row(app, job["id"])["hiring_manager_ids"] == [hiring_manager.id]
    assert job_row(app, job["id"])["title"] == job["title"]


@pytest.mark.parametrize("fields, bad", [({"title": ""}, "title"), ({"status": "paused"}, "status"),
                                         ({"description": "x" * 20_001}, "description")])
def test_patch_validates_fields(client, app, recruiter, make_job, fields, bad):
    job = make_job(recruiter)
    before = job_row(app, job["id"])
    assert_invalid(client.patch(f"/api/jobs/{job['id']}", json=fields, headers=recruiter.headers), bad)
    assert job_row(app, job["id"]) == before


# --- DELETE /api/jobs/{id} -------------------------------------------------------------------

def test_recruiter_deletes_a_job_without_applications(client, app, recruiter, hiring_manager, make_job):
    job = make_job(recruiter, hiring_manager_ids=[hiring_manager.id])
    response = client.delete(f"/api/jobs/{job['id']}", headers=recruiter.headers)
    assert response.status_code == 204 and response.data == b""
    assert job_row(app, job["id"]) is None
    assert count(app, job_hiring_managers) == 0
    assert_error(client.get(f"/api/jobs/{job['id']}"), 404, "not_found")


def test_admin_deletes_any_job(client, app, admin, recruiter, make_job):
    job = make_job(recruiter, status="closed")
    assert client.delete(f"/api/jobs/{job['id']}", headers=admin.headers).status_code == 204
    assert job_row(app, job["id"]) is None


def test_job_with_applications_cannot_be_deleted(client, app, recruiter, candidate, make_job,
                                                 make_application):
    job = make_job(recruiter)
    make_application(candidate, job["id"])
    response = client.delete(f"/api/jobs/{job['id']}", headers=recruiter.headers)
    assert_error(response, 409, "job_has_applications")
    assert job_row(app, job["id"]) is not None
    assert count(app, Application) == 1


@pytest.mark.parametrize("status, expected", [("open", 403), ("closed", 404)])
def test_other_company_cannot_delete(client, app, recruiter, outsider, make_job, status, expected):
    job = make_job(recruiter, status=status)
    response = client.delete(f"/api/jobs/{job['id']}", headers=outsider.headers)
    assert_error(response, expected, {403: "forbidden", 404: "not_found"}[expected])
    assert job_row(app, job["id"]) is not None


def test_hiring_manager_cannot_delete(client, app, recruiter, hiring_manager, make_job):
    job = make_job(recruiter, status="closed")
    assert_error(client.delete(f"/api/jobs/{job['id']}", headers=hiring_manager.headers),
                 403, "forbidden")
    assert job_row(app, job["id"]) is not None


def test_deleting_needs_a_token(client, app, recruiter, make_job):
    job = make_job(recruiter)
    assert_error(client.delete(f"/api/jobs/{job['id']}"), 401, "unauthorized")
    assert job_row(app, job["id"]) is not None


def test_deleting_a_missing_job_is_404(client, recruiter):
    assert_error(client.delete("/api/jobs/424242", headers=recruiter.headers), 404, "not_found")
