"""Applications, the hiring pipeline and its history."""
from datetime import datetime

import pytest
from sqlalchemy import select

from ats import workflow
from ats.extensions import db
from ats.models import Application, ApplicationHistory
from tests.helpers import assert_error, assert_invalid, count, ids

PIPELINE = ["applied", "screening", "interview", "offer", "hired"]
OPEN_STAGES = PIPELINE[:-1]


def stored_stage(app, application_id):
    with app.app_context():
        return db.session.get(Application, application_id).stage


def history_rows(app, application_id):
    with app.app_context():
        return [(row.from_stage, row.to_stage, row.changed_by_id) for row in db.session.scalars(
            select(ApplicationHistory).where(ApplicationHistory.application_id == application_id)
            .order_by(ApplicationHistory.id))]


@pytest.fixture
def move(client):
    """move(user, application, stage, note=None, **body) -> response of PATCH .../stage."""
    def do(user, application_id, stage, note=None, **fields):
        body = {"stage": stage, **({"note": note} if note is not None else {}), **fields}
        return client.patch(f"/api/applications/{application_id}/stage", json=body,
                            headers=user.headers)
    return do


def advance(app, application_id, stage):
    """Put an application straight into stage (setup only)."""
    with app.app_context():
        db.session.get(Application, application_id).stage = stage
        db.session.commit()


# --- POST /api/jobs/{id}/applications --------------------------------------------------------

def test_candidate_applies(client, app, candidate, job):
    response = client.post(f"/api/jobs/{job['id']}/applications",
                           json={"cover_letter": "I love Python."}, headers=candidate.headers)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == {"id", "job_id", "candidate_id", "stage", "cover_letter",
                         "created_at", "updated_at"}
    assert (body["job_id"], body["candidate_id"], body["stage"], body["cover_letter"]) == (
        job["id"], candidate.id, "applied", "I love Python.")
    assert datetime.fromisoformat(body["created_at"]).utcoffset().total_seconds() == 0
    assert stored_stage(app, body["id"]) == "applied"
    assert history_rows(app, body["id"]) == [(None, "applied", candidate.id)]
    # the answer is the row as stored, timestamps to the microsecond
    assert client.get(f"/api/applications/{body['id']}", headers=candidate.headers).get_json() == body


def test_cover_letter_is_optional(client, candidate, job):
    response = client.post(f"/api/jobs/{job['id']}/applications", json={}, headers=candidate.headers)
    assert response.status_code == 201 and response.get_json()["cover_letter"] is None


def test_applying_twice_is_a_conflict(client, app, candidate, job, application):
    response = client.post(f"/api/jobs/{job['id']}/applications", json={}, headers=candidate.headers)
    assert_error(response, 409, "already_applied")
    assert count(app, Application) == 1
    assert count(app, ApplicationHistory) == 1


def test_closed_job_takes_no_applications(client, app, candidate, recruiter, make_job):
    closed = make_job(recruiter, status="closed")
    response = client.post(f"/api/jobs/{closed['id']}/applications", json={}, headers=candidate.headers)
    assert_error(response, 409, "job_closed")
    assert count(app, Application) == 0


def test_applying_to_a_missing_job_is_404(client, app, candidate):
    assert_error(client.post("/api/jobs/424242/applications", json={}, headers=candidate.headers),
                 404, "not_found")
    assert count(app, Application) == 0


@pytest.mark.parametrize("who", ["recruiter", "hiring_manager", "admin", "outsider"])
def test_only_candidates_apply(client, app, request, job, who):
    user = request.getfixturevalue(who)
    response = client.post(f"/api/jobs/{job['id']}/applications", json={}, headers=user.headers)
    assert_error(response, 403, "forbidden")
    assert count(app, Application) == 0


def test_applying_needs_a_token(client, app, job):
    assert_error(client.post(f"/api/jobs/{job['id']}/applications", json={}), 401, "unauthorized")
    assert count(app, Application) == 0


def test_cover_letter_length_is_limited(client, app, candidate, job):
    response = client.post(f"/api/jobs/{job['id']}/applications", json={"cover_letter": "x" * 10_001},
                           headers=candidate.headers)
    assert_invalid(response, "cover_letter")
    assert count(app, Application) == 0
    response = client.post(f"/api/jobs/{job['id']}/applications", json={"cover_letter": "x" * 10_000},
                           headers=candidate.headers)
    assert response.status_code == 201


# --- listing ---------------------------------------------------------------------------------

@pytest.fixture
def two_companies(make_user, make_job, make_application, recruiter, outsider, hiring_manager, candidate):
    """Applications to jobs of the recruiter's company and of the outsider's."""
    other_candidate = make_user("candidate")
    own_job = make_job(recruiter, hiring_manager_ids=[hiring_manager.id])
    unassigned_job = make_job(recruiter)
    other_job = make_job(outsider)
    return {
        "other_candidate": other_candidate,
        "own_job": own_job["id"], "unassigned_job": unassigned_job["id"], "other_job": other_job["id"],
        "mine_own": make_application(candidate, own_job["id"])["id"],
        "mine_other": make_application(candidate, other_job["id"])["id"],
        "theirs_own": make_application(other_candidate, own_job["id"])["id"],
        "theirs_unassigned": make_application(other_candidate, unassigned_job["id"])["id"],
        "theirs_other": make_application(other_candidate, other_job["id"])["id"],
    }


def test_candidate_lists_only_own_applications(client, candidate, two_companies):
    assert ids(client.get("/api/applications", headers=candidate.headers)) == [
        two_companies["mine_other"], two_companies["mine_own"]]


@pytest.mark.parametrize("who", ["recruiter", "hiring_manager"])
def test_staff_list_their_company_applications(client, request, two_companies, who):
    user = request.getfixturevalue(who)
    assert ids(client.get("/api/applications", headers=user.headers)) == [
        two_companies["theirs_unassigned"], two_companies["theirs_own"], two_companies["mine_own"]]


def test_admin_lists_every_application(client, admin, two_companies):
    expected = sorted(v for k, v in two_companies.items() if k.startswith(("mine", "theirs")))
    assert ids(client.get("/api/applications", headers=admin.headers)) == expected[::-1]


def test_listing_applications_needs_a_token(client):
    assert_error(client.get("/api/applications"), 401, "unauthorized")


def test_filter_applications_by_job(client, recruiter, admin, two_companies):
    assert ids(client.get(f"/api/applications?job_id={two_companies['own_job']}",
                          headers=recruiter.headers)) == [
        two_companies["theirs_own"], two_companies["mine_own"]]
    # another company's job filters to nothing for the recruiter, not to its applications
    assert ids(client.get(f"/api/applications?job_id={two_companies['other_job']}",
                          headers=recruiter.headers)) == []
    assert ids(client.get(f"/api/applications?job_id={two_companies['other_job']}",
                          headers=admin.headers)) == [
        two_companies["theirs_other"], two_companies["mine_other"]]


def test_filter_applications_by_stage_case_insensitively(client, app, recruiter, move, two_companies):
    assert move(recruiter, two_companies["theirs_own"], "screening").status_code == 200
    assert ids(client.get("/api/applications?stage=Screening", headers=recruiter.headers)) == [
        two_companies["theirs_own"]]
    assert ids(client.get("/api/applications?stage=applied", headers=recruiter.headers)) == [
        two_companies["theirs_unassigned"], two_companies["mine_own"]]


@pytest.mark.parametrize("query", ["stage=archived", "job_id=abc", "job_id=0", "limit=0", "color=red"])
def test_bad_application_filters_are_rejected(client, recruiter, query):
    assert_invalid(client.get(f"/api/applications?{query}", headers=recruiter.headers),
                   query.split("=")[0])


def test_application_list_pages(client, recruiter, two_companies):
    first = client.get("/api/applications?limit=2", headers=recruiter.headers).get_json()
    second = client.get("/api/applications", query_string={"limit": 2, "cursor": first["next_cursor"]},
                        headers=recruiter.headers).get_json()
    assert [i["id"] for i in first["items"] + second["items"]] == [
        two_companies["theirs_unassigned"], two_companies["theirs_own"], two_companies["mine_own"]]
    assert second["next_cursor"] is None


# --- GET /api/jobs/{id}/applications -----------------------------------------------------------

@pytest.mark.parametrize("who", ["recruiter", "hiring_manager", "admin"])
def test_staff_list_a_jobs_applications(client, request, two_companies, who):
    user = request.getfixturevalue(who)
    assert ids(client.get(f"/api/jobs/{two_companies['own_job']}/applications", headers=user.headers)) == [
        two_companies["theirs_own"], two_companies["mine_own"]]


def test_job_applications_filter_by_stage(client, recruiter, move, two_companies):
    move(recruiter, two_companies["mine_own"], "rejected", reason="position_filled")
    url = f"/api/jobs/{two_companies['own_job']}/applications"
    assert ids(client.get(f"{url}?stage=REJECTED", headers=recruiter.headers)) == [two_companies["mine_own"]]
    assert ids(client.get(f"{url}?stage=applied", headers=recruiter.headers)) == [two_companies["theirs_own"]]
    assert_invalid(client.get(f"{url}?stage=nope", headers=recruiter.headers), "stage")


def test_candidate_cannot_list_a_jobs_applications(client, candidate, two_companies):
    assert_error(client.get(f"/api/jobs/{two_companies['own_job']}/applications", headers=candidate.headers),
                 403, "forbidden")


@pytest.mark.parametrize("status, expected", [("open", 403), ("closed", 404)])
def test_other_company_cannot_list_a_jobs_applications(client, recruiter, outsider, two_companies,
                                                       status, expected):
    url = f"/api/jobs/{two_companies['own_job']}"
    assert client.patch(url, json={"status": status}, headers=recruiter.headers).status_code == 200
    assert_error(client.get(f"{url}/applications", headers=outsider.headers),
                 expected, {403: "forbidden", 404: "not_found"}[expected])


def test_candidate_cannot_list_a_closed_jobs_applications(client, recruiter, candidate, two_companies):
    url = f"/api/jobs/{two_companies['own_job']}"
    client.patch(url, json={"status": "closed"}, headers=recruiter.headers)
    assert_error(client.get(f"{url}/applications", headers=candidate.headers), 404, "not_found")


def test_listing_a_missing_jobs_applications_is_404(client, recruiter):
    assert_error(client.get("/api/jobs/424242/applications", headers=recruiter.headers), 404, "not_found")


# --- GET /api/applications/{id} ----------------------------------------------------------------

@pytest.mark.parametrize("who", ["candidate", "recruiter", "hiring_manager", "admin"])
def test_application_is_visible_to_its_people(client, request, application, who):
    response = client.get(f"/api/applications/{application['id']}",
                          headers=request.getfixturevalue(who).headers)
    assert response.status_code == 200
    body = response.get_json()
    # staff and admins also see who applied (tests/test_profiles.py); the candidate is them
    assert ("candidate" in body) == (who != "candidate")
    body.pop("candidate", None)
    assert body == application


@pytest.mark.parametrize("who", ["another candidate", "outsider", "outsider's manager"])
def test_application_is_hidden_from_others(client, make_user, outsider, application, who):
    user = {"another candidate": lambda: make_user("candidate"),
            "outsider": lambda: outsider,
            "outsider's manager": lambda: make_user("hiring_manager", company_id=outsider.company_id)}[who]()
    for path in ("", "/history"):
        assert_error(client.get(f"/api/applications/{application['id']}{path}", headers=user.headers),
                     404, "not_found")


def test_missing_application_is_404(client, admin):
    assert_error(client.get("/api/applications/424242", headers=admin.headers), 404, "not_found")


# --- PATCH /api/applications/{id}/stage ------------------------------------------------------

def test_recruiter_walks_the_whole_pipeline(client, app, recruiter, candidate, application, move):
    for previous, stage in zip(PIPELINE, PIPELINE[1:]):
        response = move(recruiter, application["id"], stage)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["stage"] == stage
        assert stored_stage(app, application["id"]) == stage
    assert history_rows(app, application["id"]) == [(None, "applied", candidate.id)] + [
        (a, b, recruiter.id) for a, b in zip(PIPELINE, PIPELINE[1:])]


@pytest.mark.parametrize("stage", OPEN_STAGES)
def test_rejected_from_every_open_stage(app, recruiter, application, move, stage):
    advance(app, application["id"], stage)
    response = move(recruiter, application["id"], "rejected", reason="skills_mismatch")
    assert response.status_code == 200 and response.get_json()["stage"] == "rejected"
    assert stored_stage(app, application["id"]) == "rejected"
    assert history_rows(app, application["id"])[-1] == (stage, "rejected", recruiter.id)


def test_stage_change_moves_updated_at(client, app, recruiter, application, move):
    body = move(recruiter, application["id"], "screening").get_json()
    assert body["updated_at"] > application["updated_at"]
    assert body["created_at"] == application["created_at"]
    assert client.get(f"/api/applications/{application['id']}", headers=recruiter.headers).get_json() == body


@pytest.mark.parametrize("from_stage, to_stage", [
    ("applied", "offer"),        # skipping
    ("applied", "hired"),
    ("interview", "screening"),  # going back
    ("offer", "applied"),
    ("screening", "screening"),  # staying
    ("hired", "rejected"),       # final
    ("hired", "hired"),
    ("rejected", "applied"),
    ("rejected", "screening"),
    ("rejected", "rejected"),
])
def test_moves_outside_the_table_are_conflicts(app, recruiter, application, move, from_stage, to_stage):
    advance(app, application["id"], from_stage)
    history_before = history_rows(app, application["id"])
    response = move(recruiter, application["id"], to_stage,
                    **({"reason": "other"} if to_stage == "rejected" else {}))
    assert_error(response, 409, "invalid_transition")
    # the recruiter's own moves from there: never the candidate's withdrawal
    assert response.get_json()["error"]["details"] == {
        "from": from_stage, "to": to_stage, "allowed": list(workflow.allowed_moves(from_stage, "recruiter"))}
    assert stored_stage(app, application["id"]) == from_stage
    assert history_rows(app, application["id"]) == history_before


@pytest.mark.parametrize("stage", ["archived", "", "screen", None, 3, ["screening"]])
def test_unknown_stage_is_rejected(app, recruiter, application, move, stage):
    assert_invalid(move(recruiter, application["id"], stage), "stage")
    assert stored_stage(app, application["id"]) == "applied"
    assert len(history_rows(app, application["id"])) == 1


def test_stage_is_required(client, app, recruiter, application):
    response = client.patch(f"/api/applications/{application['id']}/stage", json={"note": "x"},
                            headers=recruiter.headers)
    assert_invalid(response, "stage")
    assert stored_stage(app, application["id"]) == "applied"


@pytest.mark.parametrize("spelling", ["Screening", "SCREENING", " screening "])
def test_stage_input_is_case_insensitive(app, recruiter, application, move, spelling):
    response = move(recruiter, application["id"], spelling)
    assert response.status_code == 200 and response.get_json()["stage"] == "screening"
    assert stored_stage(app, application["id"]) == "screening"


def test_assigned_hiring_manager_moves(app, hiring_manager, application, move):
    assert move(hiring_manager, application["id"], "screening").status_code == 200
    assert history_rows(app, application["id"])[-1] == ("applied", "screening", hiring_manager.id)


def test_admin_moves(app, admin, application, move):
    assert move(admin, application["id"], "rejected", reason="other").status_code == 200
    assert history_rows(app, application["id"])[-1] == ("applied", "rejected", admin.id)


@pytest.mark.parametrize("who, status, code", [
    ("unassigned manager", 403, "forbidden"),
    ("candidate", 403, "forbidden"),
    ("outsider", 404, "not_found"),
    ("another candidate", 404, "not_found"),
])
def test_others_cannot_move(app, make_user, recruiter, candidate, outsider, application, move,
                            who, status, code):
    user = {"unassigned manager": lambda: make_user("hiring_manager", company_id=recruiter.company_id),
            "candidate": lambda: candidate,
            "outsider": lambda: outsider,
            "another candidate": lambda: make_user("candidate")}[who]()
    assert_error(move(user, application["id"], "screening"), status, code)
    assert stored_stage(app, application["id"]) == "applied"
    assert len(history_rows(app, application["id"])) == 1


def test_moving_needs_a_token(client, app, application):
    response = client.patch(f"/api/applications/{application['id']}/stage", json={"stage": "screening"})
    assert_error(response, 401, "unauthorized")
    assert stored_stage(app, application["id"]) == "applied"


def test_moving_a_missing_application_is_404(admin, move):
    assert_error(move(admin, 424242, "screening"), 404, "not_found")


# --- GET /api/applications/{id}/history --------------------------------------------------------

def test_history_is_oldest_first_with_who_and_when(client, app, recruiter, hiring_manager, candidate,
                                                   application, move):
    move(recruiter, application["id"], "screening", note="Strong CV")
    move(hiring_manager, application["id"], "interview", note="Book a call")
    response = client.get(f"/api/applications/{application['id']}/history", headers=recruiter.headers)
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [(i["from_stage"], i["to_stage"], i["changed_by"], i["note"]) for i in items] == [
        (None, "applied", {"id": candidate.id, "name": candidate.name, "role": "candidate"}, None),
        ("applied", "screening", {"id": recruiter.id, "name": recruiter.name, "role": "recruiter"},
         "Strong CV"),
        ("screening", "interview",
         {"id": hiring_manager.id, "name": hiring_manager.name, "role": "hiring_manager"}, "Book a call"),
    ]
    assert [i["id"] for i in items] == sorted(i["id"] for i in items)
    times = [datetime.fromisoformat(i["changed_at"]) for i in items]
    assert times == sorted(times) and all(t.utcoffset().total_seconds() == 0 for t in times)
    assert set(items[0]) == {"id", "from_stage", "to_stage", "changed_by", "changed_at", "note",
                             "reason"}


@pytest.mark.parametrize("who, sees_note", [
    ("recruiter", True), ("hiring_manager", True), ("admin", True), ("candidate", False)])
def test_notes_are_for_staff_only(client, recruiter, application, move, request, who, sees_note):
    move(recruiter, application["id"], "screening", note="Salary too high")
    response = client.get(f"/api/applications/{application['id']}/history",
                          headers=request.getfixturevalue(who).headers)
    assert response.status_code == 200
    assert response.get_json()["items"][-1]["note"] == ("Salary too high" if sees_note else None)


def test_history_needs_a_token(client, application):
    assert_error(client.get(f"/api/applications/{application['id']}/history"), 401, "unauthorized")


# --- a list page costs the same number of queries whatever its size ---------------------------

@pytest.fixture
def grow(app, make_user, make_job, make_application, recruiter):
    """grow(n): n more open jobs (each with its own hiring manager) and an application to each."""
    def do(n):
        for _ in range(n):
            manager = make_user("hiring_manager", company_id=recruiter.company_id)
            job = make_job(recruiter, hiring_manager_ids=[manager.id])
            make_application(make_user("candidate"), job["id"])
    return do


def assert_same_statements_at_2_and_30_rows(count_queries, client, url, user, add_rows, present=0):
    """GET url answers 2 rows, then (after add_rows) 30, with the same number of statements."""
    def page():
        with count_queries() as statements:
            response = client.get(url, headers=user.headers)
        assert response.status_code == 200, response.get_json()
        return len(statements), len(response.get_json()["items"])

    add_rows(2 - present)
    small = page()
    add_rows(28)
    big = page()
    assert (small[1], big[1]) == (2, 30)
    assert small[0] == big[0]


def test_jobs_list_costs_constant_queries(client, recruiter, grow, count_queries):
    assert_same_statements_at_2_and_30_rows(count_queries, client, "/api/jobs?limit=100",
                                            recruiter, grow)


@pytest.mark.parametrize("who", ["recruiter", "admin"])
def test_applications_list_costs_constant_queries(client, request, grow, count_queries, who):
    assert_same_statements_at_2_and_30_rows(count_queries, client, "/api/applications?limit=100",
                                            request.getfixturevalue(who), grow)


def test_job_applications_list_costs_constant_queries(client, make_user, make_application, recruiter,
                                                      job, count_queries):
    def add_applications(n):
        for _ in range(n):
            make_application(make_user("candidate"), job["id"])

    assert_same_statements_at_2_and_30_rows(
        count_queries, client, f"/api/jobs/{job['id']}/applications?limit=100", recruiter,
        add_applications)


def test_history_costs_constant_queries(client, app, make_user, recruiter, application, count_queries):
    """Every entry by a different user: their names must not cost a query each."""
    def add_entries(n):
        authors = [make_user("hiring_manager", company_id=recruiter.company_id).id for _ in range(n)]
        with app.app_context():
            db.session.add_all([ApplicationHistory(application_id=application["id"], from_stage="applied",
                                                   to_stage="applied", changed_by_id=author)
                                for author in authors])
            db.session.commit()

    assert_same_statements_at_2_and_30_rows(  # the application's creation is its first entry
        count_queries, client, f"/api/applications/{application['id']}/history", recruiter,
        add_entries, present=1)
