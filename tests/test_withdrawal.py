"""Withdrawal, rejection reasons, expected_stage and ETags, through the API."""
import pytest
from sqlalchemy import select

from ats.extensions import db
from ats.models import HIRING_MANAGER, Application, ApplicationHistory, Notification
from tests.helpers import answer, assert_error, assert_invalid, at_once
from tests.mailbox import recipient, text_of


def stage_of(app, application_id):
    with app.app_context():
        return db.session.get(Application, application_id).stage


def history(app, application_id):
    with app.app_context():
        return [(row.from_stage, row.to_stage, row.changed_by_id, row.reason)
                for row in db.session.scalars(select(ApplicationHistory).where(
                    ApplicationHistory.application_id == application_id)
                    .order_by(ApplicationHistory.id))]


def put_in(app, application_id, stage):
    with app.app_context():
        db.session.get(Application, application_id).stage = stage
        db.session.commit()


def kinds(app, application_id):
    with app.app_context():
        return sorted((n.kind, n.recipient_id) for n in db.session.scalars(
            select(Notification).where(Notification.application_id == application_id)))


@pytest.fixture
def move(client):
    def do(user, application_id, **body):
        return client.patch(f"/api/applications/{application_id}/stage", json=body,
                            headers=user.headers)
    return do


# --- withdrawal ------------------------------------------------------------------------

@pytest.mark.parametrize("stage", ["applied", "screening", "interview", "offer"])
def test_the_candidate_withdraws_from_every_open_stage(app, candidate, application, move, stage):
    put_in(app, application["id"], stage)
    response = move(candidate, application["id"], stage="withdrawn", reason="accepted_other_offer")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["stage"] == "withdrawn" and "candidate" not in body  # the candidate's own view
    assert stage_of(app, application["id"]) == "withdrawn"
    assert history(app, application["id"])[-1] == (stage, "withdrawn", candidate.id,
                                                  "accepted_other_offer")


def test_a_withdrawal_may_give_no_reason(app, candidate, application, move):
    assert move(candidate, application["id"], stage="withdrawn").status_code == 200
    assert history(app, application["id"])[-1][1:] == ("withdrawn", candidate.id, None)


@pytest.mark.parametrize("stage", ["hired", "rejected", "withdrawn"])
def test_no_withdrawal_from_a_final_stage(app, candidate, application, move, stage):
    put_in(app, application["id"], stage)
    response = move(candidate, application["id"], stage="withdrawn")
    assert_error(response, 409, "invalid_transition")
    assert response.get_json()["error"]["details"] == {"from": stage, "to": "withdrawn", "allowed": []}
    assert stage_of(app, application["id"]) == stage and len(history(app, application["id"])) == 1


@pytest.mark.parametrize("to_stage", ["screening", "rejected", "hired"])
def test_the_candidate_makes_no_other_move(app, candidate, application, move, to_stage):
    response = move(candidate, application["id"], stage=to_stage, reason="other")
    assert_error(response, 403, "forbidden")
    assert stage_of(app, application["id"]) == "applied" and len(history(app, application["id"])) == 1


def test_back_to_applied_is_a_conflict_listing_the_candidates_own_moves(app, candidate, application,
                                                                      move):
    put_in(app, application["id"], "screening")
    response = move(candidate, application["id"], stage="applied")
    assert_error(response, 409, "invalid_transition")
    assert response.get_json()["error"]["details"]["allowed"] == ["withdrawn"]


@pytest.mark.parametrize("who", ["recruiter", "hiring_manager", "admin"])
def test_staff_cannot_withdraw(app, application, move, request, who):
    response = move(request.getfixturevalue(who), application["id"], stage="withdrawn")
    assert_error(response, 403, "forbidden")
    assert stage_of(app, application["id"]) == "applied"


def test_another_candidate_cannot_see_it_to_withdraw_it(app, make_user, application, move):
    assert_error(move(make_user("candidate"), application["id"], stage="withdrawn"), 404, "not_found")
    assert stage_of(app, application["id"]) == "applied"


@pytest.mark.parametrize("reason", ["not_qualified", "bogus", ""])
def test_a_withdrawal_reason_comes_from_its_catalogue(app, candidate, application, move, reason):
    assert_invalid(move(candidate, application["id"], stage="withdrawn", reason=reason), "reason")
    assert stage_of(app, application["id"]) == "applied"


def test_staff_are_mailed_the_withdrawal_the_candidate_is_not(app, client, mailbox, make_user,
                                                              recruiter, hiring_manager, candidate,
                                                              application, move):
    make_user(HIRING_MANAGER, recruiter.company_id)  # not assigned to the job: not told
    mailbox.wait_for(3)  # the application's own mails: received, and one to each of the staff
    mailbox.reset()
    assert move(candidate, application["id"], stage="withdrawn", reason="timing").status_code == 200
    mails = mailbox.wait_for(2)
    assert sorted(recipient(m) for m in mails) == sorted([recruiter.email, hiring_manager.email])
    assert all(m["Subject"].startswith("Application withdrawn for") for m in mails)
    assert all(candidate.name in text_of(m) and "Reason given: timing." in text_of(m) for m in mails)
    assert [k for k, _ in kinds(app, application["id"])].count("stage_changed") == 0


# --- rejection reasons -------------------------------------------------------------------

@pytest.mark.parametrize("body", [{}, {"reason": None}, {"reason": "timing"}, {"reason": "bogus"}])
def test_a_rejection_needs_a_reason_from_its_catalogue(app, recruiter, application, move, body):
    assert_invalid(move(recruiter, application["id"], stage="rejected", **body), "reason")
    assert stage_of(app, application["id"]) == "applied" and len(history(app, application["id"])) == 1


def test_other_moves_take_no_reason(app, recruiter, application, move):
    assert_invalid(move(recruiter, application["id"], stage="screening", reason="other"), "reason")
    assert stage_of(app, application["id"]) == "applied"


def test_the_rejection_reason_is_kept_and_shown_to_staff_only(app, client, mailbox, recruiter, admin,
                                                              hiring_manager, candidate, application,
                                                              move):
    response = move(recruiter, application["id"], stage="REJECTED", reason="Skills_Mismatch",
                    note="Not enough Go")
    assert response.status_code == 200 and response.get_json()["stage"] == "rejected"
    assert history(app, application["id"])[-1] == ("applied", "rejected", recruiter.id, "skills_mismatch")
    url = f"/api/applications/{application['id']}/history"
    for staff in (recruiter, admin, hiring_manager):
        assert client.get(url, headers=staff.headers).get_json()["items"][-1]["reason"] == "skills_mismatch"
    seen = client.get(url, headers=candidate.headers)
    assert seen.get_json()["items"][-1]["reason"] is None
    assert "skills" not in seen.get_data(as_text=True)
    mails = mailbox.wait_for(4)  # received, two staff, then the rejection
    (mail,) = [m for m in mails if "now rejected" in m["Subject"]]
    assert recipient(mail) == candidate.email
    assert "skills" not in mail.as_string().lower() and "mismatch" not in mail.as_string().lower()


def test_the_candidate_sees_their_own_withdrawal_reason(client, candidate, application, move):
    move(candidate, application["id"], stage="withdrawn", reason="not_interested")
    items = client.get(f"/api/applications/{application['id']}/history",
                       headers=candidate.headers).get_json()["items"]
    assert [(i["to_stage"], i["reason"]) for i in items] == [("applied", None),
                                                           ("withdrawn", "not_interested")]


# --- expected_stage ----------------------------------------------------------------------

def test_expected_stage_matching_moves(app, recruiter, application, move):
    response = move(recruiter, application["id"], stage="screening", expected_stage="applied")
    assert response.status_code == 200 and stage_of(app, application["id"]) == "screening"


def test_expected_stage_left_is_a_stage_conflict(app, recruiter, application, move):
    put_in(app, application["id"], "interview")
    response = move(recruiter, application["id"], stage="interview", expected_stage="screening")
    assert_error(response, 409, "stage_conflict")
    assert response.get_json()["error"]["details"] == {"expected": "screening", "current": "interview"}
    assert stage_of(app, application["id"]) == "interview" and len(history(app, application["id"])) == 1


def test_unknown_expected_stage_is_invalid(app, recruiter, application, move):
    assert_invalid(move(recruiter, application["id"], stage="screening", expected_stage="nowhere"),
                   "expected_stage")


def test_racing_moves_with_expected_stage_one_wins(app, recruiter, candidate, application):
    """From offer, a hire, rejections and the candidate's withdrawal, all expecting offer."""
    put_in(app, application["id"], "offer")
    url = f"/api/applications/{application['id']}/stage"
    bodies = [({"stage": "hired"}, recruiter), ({"stage": "rejected", "reason": "other"}, recruiter),
              ({"stage": "withdrawn"}, candidate)]

    def call(n):
        body, actor = bodies[n % len(bodies)]
        with app.test_client() as client:
            response = client.patch(url, json={**body, "expected_stage": "offer"}, headers=actor.headers)
            return answer(response)
    outcome = at_once(9, call)
    assert outcome == {(200, None): 1, (409, "stage_conflict"): 8}, outcome
    rows = history(app, application["id"])
    assert [row[0] for row in rows] == [None, "offer"]
    assert stage_of(app, application["id"]) == rows[-1][1]


# --- ETags -------------------------------------------------------------------------------

def test_application_etag_and_304(client, app, recruiter, candidate, application, move):
    url = f"/api/applications/{application['id']}"
    first = client.get(url, headers=recruiter.headers)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag
    again = client.get(url, headers={**recruiter.headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b"" and again.headers["ETag"] == etag
    # the candidate is shown something else (no candidate card): another ETag, no 304 for theirs
    theirs = client.get(url, headers={**candidate.headers, "If-None-Match": etag})
    assert theirs.status_code == 200 and theirs.headers["ETag"] != etag
    moved = move(recruiter, application["id"], stage="screening")
    assert moved.headers["ETag"] != etag
    after = client.get(url, headers={**recruiter.headers, "If-None-Match": etag})
    assert after.status_code == 200 and after.get_json()["stage"] == "screening"
    assert after.headers["ETag"] == moved.headers["ETag"]


def test_job_etag_and_304(client, recruiter, job):
    url = f"/api/jobs/{job['id']}"
    etag = client.get(url).headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(url, headers={"If-None-Match": f'W/{etag}, "other"'}).status_code == 304
    changed = client.patch(url, json={"location": "Remote"}, headers=recruiter.headers)
    assert changed.status_code == 200
    fresh = client.get(url, headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != etag


def test_no_etag_on_errors(client):
    response = client.get("/api/jobs/424242", headers={"If-None-Match": "*"})
    assert_error(response, 404, "not_found")
    assert "ETag" not in response.headers
