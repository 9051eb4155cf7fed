"""Interviews and scorecards: scheduling without double booking, invites every calendar
reads (parsed back from the mail the real SMTP server received), reminders through the
outbox at their time, and scorecards that only staff read."""
import os
import time
from datetime import datetime, timedelta, timezone

import pytest
from icalendar import Calendar
from sqlalchemy import select, update

from ats.extensions import db
from ats.models import (HIRING_MANAGER, RECRUITER, Application, Interview, InterviewInterviewer,
                        Notification, Scorecard, User)
from ats.notifications import delivery, mail
from tests.helpers import answer, assert_error, assert_invalid, at_once, count
from tests.mailbox import recipient, text_of

POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))


def utc(hours: float = 0, minutes: float = 0) -> datetime:
    """Now plus so long, to the second, in UTC."""
    return (datetime.now(timezone.utc) + timedelta(hours=hours, minutes=minutes)).replace(microsecond=0)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def put_in(app, application_id, stage):
    with app.app_context():
        db.session.get(Application, application_id).stage = stage
        db.session.commit()


def shift(app, interview_id, starts_at, minutes=60):
    """Move an interview behind the API's back (to the past, say), its seats with it."""
    with app.app_context():
        ends_at = starts_at + timedelta(minutes=minutes)
        db.session.execute(update(Interview).where(Interview.id == interview_id).values(
            starts_at=starts_at, ends_at=ends_at, duration_minutes=minutes))
        db.session.execute(update(InterviewInterviewer).where(
            InterviewInterviewer.interview_id == interview_id).values(starts_at=starts_at,
                                                                      ends_at=ends_at))
        db.session.commit()


def notifications(app, interview_id=None):
    with app.app_context():
        stmt = select(Notification).where(Notification.interview_id.is_not(None))
        if interview_id is not None:
            stmt = stmt.where(Notification.interview_id == interview_id)
        return [(n.kind, n.recipient_id, n.status, n.interview_sequence, n.send_after, n.last_error)
                for n in db.session.scalars(stmt.order_by(Notification.id))]


def invite_of(message):
    """(the text/calendar part, the parsed VEVENT, the calendar's METHOD) of an invite mail."""
    parts = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    assert len(parts) == 1, [part.get_content_type() for part in message.walk()]
    calendar = Calendar.from_ical(parts[0].get_content())
    (event,) = calendar.walk("VEVENT")
    return parts[0], event, str(calendar["METHOD"])


def attendees(event) -> set[str]:
    found = event.get("ATTENDEE")
    found = found if isinstance(found, list) else [found]
    return {str(address).removeprefix("mailto:") for address in found}


@pytest.fixture
def application(make_application, candidate, job, app, mailbox):
    """The candidate's application to job, in screening: ready for interviews (the mailbox
    emptied of the application's own mail, delivered inline before the answer)."""
    made = make_application(candidate, job["id"], cover_letter="Hello")
    put_in(app, made["id"], "screening")
    mailbox.reset()
    return made


@pytest.fixture
def schedule(client):
    """schedule(user, application, **fields) -> response of POST .../interviews."""
    def post(user, application, **fields):
        body = {"starts_at": iso(utc(hours=48)), "duration_minutes": 60, **fields}
        return client.post(f"/api/applications/{application['id']}/interviews", json=body,
                           headers=user.headers)
    return post


@pytest.fixture
def interview(schedule, recruiter, hiring_manager, application, mailbox):
    response = schedule(recruiter, application, interviewer_ids=[hiring_manager.id, recruiter.id],
                        location="Room 4", meeting_url="https://meet.example.com/abc")
    assert response.status_code == 201, response.get_json()
    mailbox.wait_for(3)
    mailbox.reset()
    return response.get_json()


# --- scheduling ----------------------------------------------------------------------------

def test_scheduling_answers_the_interview(app, schedule, recruiter, hiring_manager, application):
    starts_at = utc(hours=30)
    response = schedule(recruiter, application, starts_at=iso(starts_at), duration_minutes=45,
                        interviewer_ids=[hiring_manager.id], location="Room 4",
                        meeting_url="https://meet.example.com/abc")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == {"id", "application_id", "starts_at", "ends_at", "duration_minutes",
                         "location", "meeting_url", "interviewers", "status", "sequence",
                         "created_by", "created_at", "updated_at"}
    assert body["application_id"] == application["id"]
    assert body["starts_at"] == iso(starts_at) and body["starts_at"].endswith("+00:00")
    assert body["ends_at"] == iso(starts_at + timedelta(minutes=45))
    assert body["duration_minutes"] == 45 and body["status"] == "scheduled" and body["sequence"] == 0
    assert body["interviewers"] == [{"id": hiring_manager.id, "name": hiring_manager.name,
                                     "role": "hiring_manager"}]
    assert body["created_by"] == {"id": recruiter.id, "name": recruiter.name, "role": "recruiter"}
    assert (body["location"], body["meeting_url"]) == ("Room 4", "https://meet.example.com/abc")
    assert count(app, InterviewInterviewer) == 1


def test_a_time_with_another_offset_is_answered_in_utc(schedule, recruiter, application):
    local = utc(hours=50).astimezone(timezone(timedelta(hours=2)))
    response = schedule(recruiter, application, starts_at=local.isoformat(),
                        interviewer_ids=[recruiter.id])
    assert response.status_code == 201
    assert response.get_json()["starts_at"] == iso(local.astimezone(timezone.utc))


@pytest.mark.parametrize("who", ["hiring_manager", "admin"])
def test_assigned_hiring_managers_and_admins_schedule_too(request, schedule, recruiter, application, who):
    response = schedule(request.getfixturevalue(who), application, interviewer_ids=[recruiter.id])
    assert response.status_code == 201, response.get_json()


def test_who_may_not_schedule(app, schedule, make_user, recruiter, candidate, outsider, application):
    unassigned = make_user(HIRING_MANAGER, recruiter.company_id)
    assert_error(schedule(candidate, application, interviewer_ids=[recruiter.id]), 403, "forbidden")
    assert_error(schedule(unassigned, application, interviewer_ids=[recruiter.id]), 403, "forbidden")
    assert_error(schedule(outsider, application, interviewer_ids=[recruiter.id]), 404, "not_found")
    assert count(app, Interview) == 0


@pytest.mark.parametrize("fields, field", [
    ({"starts_at": "2020-01-01T10:00:00+00:00"}, "starts_at"),
    ({"starts_at": "2999-01-01T10:00:00"}, "starts_at"),  # no offset: whose 10:00?
    ({"starts_at": "tomorrow"}, "starts_at"),
    ({"duration_minutes": 14}, "duration_minutes"),
    ({"duration_minutes": 481}, "duration_minutes"),
    ({"duration_minutes": "60"}, "duration_minutes"),
    ({"interviewer_ids": []}, "interviewer_ids"),
    ({"interviewer_ids": list(range(1, 12))}, "interviewer_ids"),
    ({"location": "a\nb"}, "location"),
    ({"meeting_url": "javascript:alert(1)"}, "meeting_url"),
    ({"room": 4}, "room"),
])
def test_bad_fields_are_refused(app, schedule, recruiter, application, fields, field):
    fields.setdefault("interviewer_ids", [recruiter.id])
    assert_invalid(schedule(recruiter, application, **fields), field)
    assert count(app, Interview) == 0


def test_the_interviewers_are_distinct_active_staff_of_the_company(app, client, schedule, make_user,
                                                                   recruiter, candidate, outsider,
                                                                   admin, application):
    gone = make_user(HIRING_MANAGER, recruiter.company_id)
    with app.app_context():
        db.session.get(User, gone.id).is_active = False
        db.session.commit()
    for ids in ([recruiter.id, recruiter.id], [candidate.id], [outsider.id], [admin.id],
                [gone.id], [recruiter.id, 2**31 - 1]):
        assert_invalid(schedule(recruiter, application, interviewer_ids=ids), "interviewer_ids")
    assert count(app, Interview) == 0


@pytest.mark.parametrize("stage", ["applied", "hired", "rejected", "withdrawn"])
def test_only_applications_in_screening_interview_or_offer(app, schedule, recruiter, application, stage):
    put_in(app, application["id"], stage)
    response = schedule(recruiter, application, interviewer_ids=[recruiter.id])
    assert_error(response, 409, "interview_closed")
    assert response.get_json()["error"]["details"] == {"stage": stage}
    assert count(app, Interview) == 0


@pytest.mark.parametrize("stage", ["interview", "offer"])
def test_interview_and_offer_take_interviews(app, schedule, recruiter, application, stage):
    put_in(app, application["id"], stage)
    assert schedule(recruiter, application, interviewer_ids=[recruiter.id]).status_code == 201


# --- no double booking ------------------------------------------------------------------------

def test_an_overlapping_interview_of_an_interviewer_is_refused(app, schedule, recruiter, hiring_manager,
                                                               make_user, make_application, job,
                                                               interview):
    other = make_application(make_user(), job["id"])
    put_in(app, other["id"], "interview")
    start = datetime.fromisoformat(interview["starts_at"])
    response = schedule(recruiter, other, starts_at=iso(start + timedelta(minutes=59)),
                        interviewer_ids=[hiring_manager.id])
    assert_error(response, 409, "interviewer_busy")
    assert response.get_json()["error"]["details"] == {"interviewer_id": hiring_manager.id,
                                                       "interview_id": interview["id"]}
    assert count(app, Interview) == 1
    # back to back is not an overlap ([start, end)), and another interviewer is free
    assert schedule(recruiter, other, starts_at=iso(start + timedelta(minutes=60)),
                    interviewer_ids=[hiring_manager.id]).status_code == 201
    assert schedule(recruiter, other, starts_at=iso(start - timedelta(minutes=30)),
                    interviewer_ids=[make_user(RECRUITER, recruiter.company_id).id]).status_code == 201


def test_a_cancelled_interview_frees_its_interviewers(client, schedule, recruiter, hiring_manager,
                                                      application, interview):
    assert client.post(f"/api/interviews/{interview['id']}/cancel",
                       headers=recruiter.headers).status_code == 200
    assert schedule(recruiter, application, starts_at=interview["starts_at"],
                    interviewer_ids=[hiring_manager.id]).status_code == 201


def test_racing_bookings_of_one_interviewer_one_wins(app, recruiter, hiring_manager, make_user,
                                                     make_application, job):
    """Real concurrent requests, each its own client and connection: one 201, the rest 409
    interviewer_busy (on PostgreSQL the exclusion constraint decides, on SQLite the writer)."""
    applications = []
    for _ in range(6):
        made = make_application(make_user(), job["id"])
        put_in(app, made["id"], "screening")
        applications.append(made)
    start = utc(hours=72)

    def book(n):
        client = app.test_client()
        return answer(client.post(
            f"/api/applications/{applications[n]['id']}/interviews",
            json={"starts_at": iso(start + timedelta(minutes=5 * n)), "duration_minutes": 60,
                  "interviewer_ids": [hiring_manager.id]}, headers=recruiter.headers))

    outcome = at_once(len(applications), book)
    assert outcome == {(201, None): 1, (409, "interviewer_busy"): len(applications) - 1}, outcome
    assert count(app, Interview) == 1 and count(app, InterviewInterviewer) == 1


@pytest.mark.skipif(not POSTGRES, reason="the exclusion constraint is PostgreSQL's")
def test_the_database_itself_refuses_an_overlapping_seat(app, interview, hiring_manager):
    from sqlalchemy.exc import IntegrityError
    with app.app_context():
        seat = db.session.scalar(select(InterviewInterviewer).where(
            InterviewInterviewer.user_id == hiring_manager.id))
        other = Interview(application_id=interview["application_id"], company_id=hiring_manager.company_id,
                          starts_at=seat.starts_at, ends_at=seat.ends_at, duration_minutes=60,
                          status="scheduled", created_by_id=hiring_manager.id)
        db.session.add(other)
        db.session.flush()
        db.session.add(InterviewInterviewer(interview_id=other.id, user_id=hiring_manager.id,
                                            starts_at=seat.starts_at + timedelta(minutes=1),
                                            ends_at=seat.ends_at + timedelta(minutes=1)))
        with pytest.raises(IntegrityError) as refused:
            db.session.flush()
        assert refused.value.orig.pgcode == "23P01"
        db.session.rollback()


# --- invites ------------------------------------------------------------------------------

def test_scheduling_mails_an_invite_to_the_candidate_and_each_interviewer(
        app, mailbox, schedule, recruiter, hiring_manager, candidate, application):
    starts_at = utc(hours=40)
    response = schedule(recruiter, application, starts_at=iso(starts_at), duration_minutes=90,
                        interviewer_ids=[hiring_manager.id, recruiter.id], location="Room 4",
                        meeting_url="https://meet.example.com/abc")
    interview = response.get_json()
    mails = mailbox.wait_for(3)
    assert sorted(recipient(m) for m in mails) == sorted([candidate.email, hiring_manager.email,
                                                          recruiter.email])
    uids = set()
    for message in mails:
        # Gmail's layout: mixed > alternative (plain, html, calendar) + the .ics as a file
        assert message.get_content_type() == "multipart/mixed"
        alternative, attached = message.get_payload()
        assert [part.get_content_type() for part in alternative.get_payload()] == [
            "text/plain", "text/html", "text/calendar"]
        assert attached.get_content_type() == "application/ics"
        assert attached.get_filename() == "invite.ics"
        part, event, method = invite_of(message)
        assert (part.get_param("method"), part.get_content_charset()) == ("REQUEST", "utf-8")
        assert Calendar.from_ical(attached.get_payload(decode=True)).to_ical() == \
            Calendar.from_ical(part.get_content()).to_ical()
        assert method == "REQUEST"
        assert int(event["SEQUENCE"]) == 0
        assert event.decoded("DTSTART") == starts_at and event.decoded("DTEND") == starts_at + timedelta(minutes=90)
        assert event["DTSTART"].to_ical().endswith(b"Z") and event["DTEND"].to_ical().endswith(b"Z")
        assert str(event["ORGANIZER"]) == "mailto:no-reply@ats.local"
        assert attendees(event) == {candidate.email, hiring_manager.email, recruiter.email}
        assert str(event["LOCATION"]) == "Room 4" and str(event["URL"]) == "https://meet.example.com/abc"
        assert str(event["STATUS"]) == "CONFIRMED"
        uids.add(str(event["UID"]))
        assert "Room 4" in text_of(message) and message["Subject"].startswith("Interview for ")
    # as the server received it, the header calendar clients look for
    assert all(b"\r\nContent-Type: text/calendar; method=REQUEST; charset=utf-8\r\n" in raw
               for raw in mailbox.raw)
    (uid,) = uids  # one event for everyone
    assert uid.startswith(f"interview-{interview['id']}.") and uid.endswith("@ats.local")
    assert {kind for kind, *_ in notifications(app)} == {"interview_scheduled", "interview_reminder"}


def test_a_change_resends_the_invite_with_the_same_uid_and_a_higher_sequence(
        app, client, mailbox, recruiter, hiring_manager, candidate, make_user, interview):
    first_uid = None
    newcomer = make_user(RECRUITER, recruiter.company_id)
    starts_at = utc(hours=60)
    response = client.patch(f"/api/interviews/{interview['id']}", headers=recruiter.headers,
                            json={"starts_at": iso(starts_at), "interviewer_ids": [newcomer.id, hiring_manager.id]})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["sequence"] == 1 and body["starts_at"] == iso(starts_at)
    assert [person["id"] for person in body["interviewers"]] == sorted([newcomer.id, hiring_manager.id])
    assert body["location"] == "Room 4"  # what the change did not name stays
    mails = mailbox.wait_for(4)
    by_address = {recipient(m): m for m in mails}
    assert set(by_address) == {candidate.email, hiring_manager.email, newcomer.email, recruiter.email}
    for address in (candidate.email, hiring_manager.email, newcomer.email):
        _, event, method = invite_of(by_address[address])
        assert (method, int(event["SEQUENCE"])) == ("REQUEST", 1)
        assert event.decoded("DTSTART") == starts_at
        assert attendees(event) == {candidate.email, hiring_manager.email, newcomer.email}
        assert first_uid in (None, str(event["UID"]))
        first_uid = str(event["UID"])
        assert by_address[address]["Subject"].startswith("Interview moved for ")
    # the recruiter taken off the interview: a cancellation of that same event, for them
    _, event, method = invite_of(by_address[recruiter.email])
    assert (method, int(event["SEQUENCE"]), str(event["UID"])) == ("CANCEL", 1, first_uid)
    assert attendees(event) == {recruiter.email}
    assert first_uid.startswith(f"interview-{interview['id']}.")


def test_a_change_checks_what_scheduling_checks(app, client, recruiter, candidate, make_user,
                                                make_application, job, schedule, hiring_manager,
                                                interview):
    url = f"/api/interviews/{interview['id']}"
    assert_invalid(client.patch(url, json={}, headers=recruiter.headers), "_schema")
    assert_invalid(client.patch(url, json={"starts_at": "2020-01-01T00:00:00+00:00"},
                                headers=recruiter.headers), "starts_at")
    assert_invalid(client.patch(url, json={"interviewer_ids": [candidate.id]},
                                headers=recruiter.headers), "interviewer_ids")
    assert_invalid(client.patch(url, json={"status": "cancelled"}, headers=recruiter.headers), "status")
    assert_error(client.patch(url, json={"location": "x"}, headers=candidate.headers), 403, "forbidden")
    # moved onto another interview of one of its interviewers
    other = make_application(make_user(), job["id"])
    put_in(app, other["id"], "screening")
    busy = schedule(recruiter, other, starts_at=iso(utc(hours=100)), interviewer_ids=[hiring_manager.id])
    response = client.patch(url, json={"starts_at": busy.get_json()["starts_at"]}, headers=recruiter.headers)
    assert_error(response, 409, "interviewer_busy")
    assert response.get_json()["error"]["details"] == {"interviewer_id": hiring_manager.id,
                                                       "interview_id": busy.get_json()["id"]}
    with app.app_context():
        assert db.session.get(Interview, interview["id"]).sequence == 0
    # its own time, longer, is no clash with itself
    assert client.patch(url, json={"duration_minutes": 120}, headers=recruiter.headers).status_code == 200


def test_cancelling_mails_method_cancel_and_twice_is_a_conflict(app, client, mailbox, recruiter,
                                                                candidate, hiring_manager, interview):
    url = f"/api/interviews/{interview['id']}/cancel"
    response = client.post(url, headers=recruiter.headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "cancelled" and response.get_json()["sequence"] == 1
    mails = mailbox.wait_for(3)
    assert sorted(recipient(m) for m in mails) == sorted([candidate.email, hiring_manager.email,
                                                          recruiter.email])
    for message in mails:
        part, event, method = invite_of(message)
        assert (part.get_param("method"), part.get_content_charset()) == ("CANCEL", "utf-8")
        assert (method, int(event["SEQUENCE"]), str(event["STATUS"])) == ("CANCEL", 1, "CANCELLED")
        assert str(event["UID"]).startswith(f"interview-{interview['id']}.")
        assert "cancelled" in text_of(message)
    response = client.post(url, headers=recruiter.headers)
    assert_error(response, 409, "interview_closed")
    assert response.get_json()["error"]["details"] == {"status": "cancelled"}
    assert_error(client.patch(f"/api/interviews/{interview['id']}", json={"location": "x"},
                              headers=recruiter.headers), 409, "interview_closed")
    assert_error(client.post(url, headers=candidate.headers), 403, "forbidden")


@pytest.mark.parametrize("final, mover", [("rejected", "recruiter"), ("withdrawn", "candidate")])
def test_a_final_stage_cancels_the_interviews_to_come_and_keeps_the_past(
        app, client, mailbox, schedule, recruiter, hiring_manager, candidate, application,
        interview, request, final, mover):
    past = schedule(recruiter, application, starts_at=iso(utc(hours=72)),
                    interviewer_ids=[recruiter.id]).get_json()
    shift(app, past["id"], utc(hours=-3))  # held three hours ago: completed
    mailbox.wait_for(2)
    mailbox.reset()
    body = {"stage": final, "reason": "skills_mismatch" if final == "rejected" else "accepted_other_offer"}
    response = client.patch(f"/api/applications/{application['id']}/stage", json=body,
                            headers=request.getfixturevalue(mover).headers)
    assert response.status_code == 200, response.get_json()
    listed = {i["id"]: i for i in client.get(f"/api/applications/{application['id']}/interviews",
                                             headers=recruiter.headers).get_json()["items"]}
    assert (listed[interview["id"]]["status"], listed[interview["id"]]["sequence"]) == ("cancelled", 1)
    assert listed[past["id"]]["status"] == "completed"
    assert all(row[1] == "failed" for row in reminders(app, interview["id"]))
    cancellations = [m for m in mailbox.wait_for(4 if final == "rejected" else 5) if "text/calendar" in
                     {part.get_content_type() for part in m.walk()}]
    assert sorted(recipient(m) for m in cancellations) == sorted(
        [candidate.email, hiring_manager.email, recruiter.email])
    assert {invite_of(m)[2] for m in cancellations} == {"CANCEL"}
    with app.app_context():  # its interviewers are free at that time again
        assert db.session.scalars(select(InterviewInterviewer.active).where(
            InterviewInterviewer.interview_id == interview["id"])).all() == [False, False]


def test_racing_cancellations_one_wins(app, recruiter, interview):
    outcome = at_once(4, lambda n: answer(app.test_client().post(
        f"/api/interviews/{interview['id']}/cancel", headers=recruiter.headers)))
    assert outcome == {(200, None): 1, (409, "interview_closed"): 3}
    assert sum(kind == "interview_cancelled" for kind, *_ in notifications(app, interview["id"])) == 3


def test_racing_changes_all_land_each_with_its_own_sequence(app, recruiter, interview):
    outcome = at_once(4, lambda n: answer(app.test_client().patch(
        f"/api/interviews/{interview['id']}", json={"location": f"Room {n}"}, headers=recruiter.headers)))
    assert outcome == {(200, None): 4}
    with app.app_context():
        assert db.session.get(Interview, interview["id"]).sequence == 4
    sequences = [seq for kind, _, _, seq, *_ in notifications(app, interview["id"]) if kind == "interview_updated"]
    assert sorted(sequences) == sorted([1, 2, 3, 4] * 3)


def test_a_past_interview_is_completed_and_closed_to_changes(app, client, recruiter, candidate, interview):
    shift(app, interview["id"], utc(hours=-3))
    url = f"/api/applications/{interview['application_id']}/interviews"
    (shown,) = client.get(url, headers=candidate.headers).get_json()["items"]
    assert shown["status"] == "completed"
    with app.app_context():
        assert db.session.get(Interview, interview["id"]).status == "scheduled"  # derived, not stored
    for response in (client.patch(f"/api/interviews/{interview['id']}", json={"location": "x"},
                                  headers=recruiter.headers),
                     client.post(f"/api/interviews/{interview['id']}/cancel", headers=recruiter.headers)):
        assert_error(response, 409, "interview_closed")
        assert response.get_json()["error"]["details"] == {"status": "completed"}


# --- reading ------------------------------------------------------------------------------

def test_the_candidate_and_staff_list_an_applications_interviews_by_time(
        client, schedule, recruiter, hiring_manager, candidate, outsider, make_user, application):
    later = schedule(recruiter, application, starts_at=iso(utc(hours=80)), interviewer_ids=[recruiter.id])
    sooner = schedule(recruiter, application, starts_at=iso(utc(hours=30)), interviewer_ids=[hiring_manager.id])
    url = f"/api/applications/{application['id']}/interviews"
    for user in (candidate, recruiter, hiring_manager, make_user(HIRING_MANAGER, recruiter.company_id)):
        response = client.get(url, headers=user.headers)
        assert response.status_code == 200
        assert [item["id"] for item in response.get_json()["items"]] == [sooner.get_json()["id"],
                                                                         later.get_json()["id"]]
    assert_error(client.get(url, headers=outsider.headers), 404, "not_found")
    assert_error(client.get(url, headers=make_user().headers), 404, "not_found")


def test_the_agenda_of_each_kind_of_staff(client, schedule, make_user, make_application, job, app,
                                          recruiter, hiring_manager, candidate, admin, outsider,
                                          application):
    colleague = make_user(RECRUITER, recruiter.company_id)
    mine = schedule(recruiter, application, starts_at=iso(utc(hours=30)),
                    interviewer_ids=[hiring_manager.id]).get_json()
    theirs = schedule(recruiter, application, starts_at=iso(utc(hours=20)),
                      interviewer_ids=[colleague.id]).get_json()

    def agenda(user, query=""):
        response = client.get(f"/api/interviews{query}", headers=user.headers)
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert agenda(hiring_manager) == [mine["id"]]  # where they interview
    assert agenda(colleague) == [theirs["id"], mine["id"]]  # a recruiter: the company's
    assert agenda(admin) == [theirs["id"], mine["id"]]
    assert agenda(outsider) == []
    assert agenda(recruiter, f"?from={iso(utc(hours=25)).replace('+', '%2B')}") == [mine["id"]]
    assert agenda(recruiter, f"?to={iso(utc(hours=25)).replace('+', '%2B')}") == [theirs["id"]]
    assert_error(client.get("/api/interviews", headers=candidate.headers), 403, "forbidden")
    assert_invalid(client.get("/api/interviews?from=soon", headers=recruiter.headers), "from")
    assert_invalid(client.get("/api/interviews?who=me", headers=recruiter.headers), "who")
    assert_invalid(client.get("/api/interviews?cursor=forged", headers=recruiter.headers), "cursor")


def test_the_agenda_pages_by_time_and_id_without_skipping_ties(app, client, schedule, make_user,
                                                               recruiter, application):
    """Five interviews at one time (different interviewers) and two later: pages of two."""
    same = iso(utc(hours=30))
    made = [schedule(recruiter, application, starts_at=same,
                     interviewer_ids=[make_user(RECRUITER, recruiter.company_id).id]).get_json()["id"]
            for _ in range(5)]
    made += [schedule(recruiter, application, starts_at=iso(utc(hours=31 + n)),
                      interviewer_ids=[recruiter.id]).get_json()["id"] for n in range(2)]
    seen, cursor = [], None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(f"/api/interviews{query}", headers=recruiter.headers).get_json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == made


@pytest.mark.parametrize("who", ["recruiter", "hiring_manager", "admin"])
def test_the_agenda_costs_constant_statements(request, app, client, schedule, recruiter,
                                              hiring_manager, application, count_queries, who):
    from tests.test_applications import assert_same_statements_at_2_and_30_rows
    made = [0]

    def add(n):
        for _ in range(n):
            made[0] += 1
            response = schedule(recruiter, application, starts_at=iso(utc(hours=24 + 2 * made[0])),
                                interviewer_ids=[hiring_manager.id, recruiter.id])
            assert response.status_code == 201, response.get_json()

    assert_same_statements_at_2_and_30_rows(count_queries, client, "/api/interviews?limit=100",
                                            request.getfixturevalue(who), add)


def test_the_agenda_query_uses_its_index(app, hiring_manager, recruiter):
    """The interviewer's agenda reads interview_interviewers by (user_id, starts_at)."""
    if not POSTGRES:
        plan_sql = "EXPLAIN QUERY PLAN "
    else:
        plan_sql = "EXPLAIN "
    from sqlalchemy import text
    with app.app_context():
        if POSTGRES:
            db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(str(row) for row in db.session.execute(text(
            plan_sql + "SELECT interviews.id FROM interviews JOIN interview_interviewers ON "
            "interview_interviewers.interview_id = interviews.id WHERE interview_interviewers.user_id = 1 "
            "ORDER BY interview_interviewers.starts_at, interview_interviewers.interview_id LIMIT 21")))
        db.session.rollback()
    assert "ix_interview_interviewers_user_id_starts_at" in plan, plan


# --- scorecards ---------------------------------------------------------------------------

def test_scorecards_wait_for_the_start_then_each_interviewer_writes_one(
        app, client, recruiter, hiring_manager, candidate, interview):
    url = f"/api/interviews/{interview['id']}/scorecard"
    card = {"rating": 3, "recommendation": "yes", "notes": "Solid on SQL."}
    response = client.put(url, json=card, headers=hiring_manager.headers)
    assert_error(response, 409, "interview_closed")
    assert response.get_json()["error"]["details"]["status"] == "scheduled"
    shift(app, interview["id"], utc(minutes=-10))  # under way
    response = client.put(url, json=card, headers=hiring_manager.headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["interview_id"] == interview["id"] and body["rating"] == 3
    assert body["interviewer"] == {"id": hiring_manager.id, "name": hiring_manager.name,
                                   "role": "hiring_manager"}
    assert set(body) == {"interview_id", "interviewer", "rating", "recommendation", "notes", "submitted_at"}
    # a second PUT replaces it
    again = client.put(url, json={"rating": 4, "recommendation": "strong_yes"}, headers=hiring_manager.headers)
    assert again.status_code == 200 and again.get_json()["notes"] is None
    assert count(app, Scorecard) == 1
    assert client.put(url, json={"rating": 1, "recommendation": "strong_no"},
                      headers=recruiter.headers).status_code == 200
    assert count(app, Scorecard) == 2


def test_scorecard_rules(app, client, make_user, recruiter, hiring_manager, candidate, outsider, interview):
    shift(app, interview["id"], utc(hours=-2))
    url = f"/api/interviews/{interview['id']}/scorecard"
    card = {"rating": 2, "recommendation": "no"}
    assert_error(client.put(url, json=card, headers=candidate.headers), 403, "forbidden")
    assert_error(client.put(url, json=card, headers=make_user(RECRUITER, recruiter.company_id).headers),
                 403, "forbidden")  # staff, but not on the interview
    assert_error(client.put(url, json=card, headers=outsider.headers), 404, "not_found")
    for bad, field in (({"rating": 0, "recommendation": "no"}, "rating"),
                       ({"rating": 5, "recommendation": "no"}, "rating"),
                       ({"rating": 2.5, "recommendation": "no"}, "rating"),
                       ({"rating": 2, "recommendation": "maybe"}, "recommendation"),
                       ({"rating": 2}, "recommendation"),
                       ({"rating": 2, "recommendation": "no", "score": 9}, "score")):
        assert_invalid(client.put(url, json=bad, headers=hiring_manager.headers), field)
    assert count(app, Scorecard) == 0


def test_a_cancelled_interview_takes_no_scorecard(app, client, recruiter, hiring_manager, interview):
    assert client.post(f"/api/interviews/{interview['id']}/cancel", headers=recruiter.headers).status_code == 200
    shift(app, interview["id"], utc(hours=-2))
    response = client.put(f"/api/interviews/{interview['id']}/scorecard",
                          json={"rating": 2, "recommendation": "no"}, headers=hiring_manager.headers)
    assert_error(response, 409, "interview_closed")


def test_staff_read_the_scorecards_and_the_candidate_never(app, client, make_user, recruiter,
                                                           hiring_manager, candidate, outsider,
                                                           admin, interview, mailbox):
    shift(app, interview["id"], utc(hours=-2))
    client.put(f"/api/interviews/{interview['id']}/scorecard",
               json={"rating": 4, "recommendation": "strong_yes", "notes": "Hire."},
               headers=hiring_manager.headers)
    url = f"/api/applications/{interview['application_id']}/scorecards"
    for user in (recruiter, hiring_manager, admin, make_user(HIRING_MANAGER, recruiter.company_id)):
        response = client.get(url, headers=user.headers)
        assert response.status_code == 200
        (item,) = response.get_json()["items"]
        assert (item["interview_id"], item["interviewer"]["id"], item["rating"], item["notes"]) == (
            interview["id"], hiring_manager.id, 4, "Hire.")
    assert_error(client.get(url, headers=candidate.headers), 403, "forbidden")
    assert_error(client.get(url, headers=outsider.headers), 404, "not_found")
    # nothing the candidate reads carries one
    seen = client.get(f"/api/applications/{interview['application_id']}/interviews",
                      headers=candidate.headers).get_data(as_text=True)
    assert "Hire." not in seen and "strong_yes" not in seen
    assert all("Hire." not in message.as_string() for message in mailbox.messages)


# --- reminders ----------------------------------------------------------------------------

@pytest.fixture
def remind_hours(app):
    saved = app.config["INTERVIEW_REMINDER_HOURS"]
    yield lambda hours: app.config.update(INTERVIEW_REMINDER_HOURS=hours)
    app.config["INTERVIEW_REMINDER_HOURS"] = saved


def reminders(app, interview_id):
    return [(recipient_id, status, seq, send_after, error)
            for kind, recipient_id, status, seq, send_after, error in notifications(app, interview_id)
            if kind == "interview_reminder"]


def test_a_reminder_waits_in_the_outbox_until_its_time(app, schedule, recruiter, hiring_manager,
                                                       candidate, application, mailbox):
    starts_at = utc(hours=48)
    interview = schedule(recruiter, application, starts_at=iso(starts_at),
                         interviewer_ids=[hiring_manager.id]).get_json()
    rows = reminders(app, interview["id"])
    assert sorted(row[0] for row in rows) == sorted([candidate.id, hiring_manager.id])
    assert all(row[1:4] == ("pending", 0, starts_at - timedelta(hours=24)) for row in rows)
    # nothing sends it early: not the sweep, not a job run ahead of its time
    mailbox.wait_for(2)
    with app.app_context():
        assert delivery.requeue_pending() == 0
        for notification_id in db.session.scalars(select(Notification.id).where(
                Notification.kind == "interview_reminder")).all():
            assert delivery.deliver(notification_id) == "skipped"
    assert len(mailbox.messages) == 2
    assert all(row[1] == "pending" for row in reminders(app, interview["id"]))


def test_an_interview_booked_inside_the_reminder_window_gets_none(app, schedule, recruiter, application):
    interview = schedule(recruiter, application, starts_at=iso(utc(hours=23)),
                         interviewer_ids=[recruiter.id]).get_json()
    assert reminders(app, interview["id"]) == []


def test_moving_an_interview_replaces_its_reminders_and_cancelling_drops_them(
        app, client, recruiter, hiring_manager, candidate, interview):
    old = reminders(app, interview["id"])
    assert len(old) == 3 and all(row[1] == "pending" for row in old)
    starts_at = utc(hours=70)
    client.patch(f"/api/interviews/{interview['id']}", json={"starts_at": iso(starts_at)},
                 headers=recruiter.headers)
    rows = reminders(app, interview["id"])
    assert [row[1:3] for row in rows[:3]] == [("failed", 0)] * 3
    assert all(row[4] == mail.REMINDER_MOVED for row in rows[:3])
    assert [row[1:4] for row in rows[3:]] == [("pending", 1, starts_at - timedelta(hours=24))] * 3
    client.post(f"/api/interviews/{interview['id']}/cancel", headers=recruiter.headers)
    assert all(row[1] == "failed" for row in reminders(app, interview["id"]))
    assert reminders(app, interview["id"])[-1][4] == mail.REMINDER_CANCELLED


def test_a_resent_reminder_of_an_old_time_is_never_delivered(app, client, recruiter, interview, mailbox):
    client.patch(f"/api/interviews/{interview['id']}", json={"location": "Room 9"}, headers=recruiter.headers)
    mailbox.wait_for(3)
    mailbox.reset()
    with app.app_context():
        stale = db.session.scalar(select(Notification).where(
            Notification.kind == "interview_reminder", Notification.interview_sequence == 0))
        stale.status, stale.send_after = "pending", utc(minutes=-1)  # as a resend would
        db.session.commit()
        assert delivery.deliver(stale.id) == "failed"
        assert db.session.get(Notification, stale.id).last_error.startswith("Superseded")
    assert mailbox.messages == []


def test_reminders_go_out_at_their_time_through_a_real_worker(app, redis_server, smtp_server,
                                                              mailbox, schedule, recruiter,
                                                              hiring_manager, candidate,
                                                              application, remind_hours):
    """A worker process with RQ's scheduler: each reminder goes out no earlier than its time
    and within a minute of it; a moved interview's old reminder and a cancelled one's never."""
    from tests.processes import Worker
    saved = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = redis_server.url
    app.extensions.pop("ats.redis", None)
    hours = 6 / 3600  # six seconds
    remind_hours(hours)
    worker = Worker({"ATS_ENV": "testing", "SECRET_KEY": app.config["SECRET_KEY"],
                     "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": redis_server.url,
                     "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_server.port),
                     "INTERVIEW_REMINDER_HOURS": str(hours), "WORKER_SWEEP_SECONDS": "2"}).start()
    try:
        starts_at = utc(minutes=0.25)  # in 15 s: the reminder 9 s from now
        kept = schedule(recruiter, application, starts_at=iso(starts_at), duration_minutes=15,
                        interviewer_ids=[hiring_manager.id]).get_json()
        moved = schedule(recruiter, application, starts_at=iso(starts_at + timedelta(minutes=20)),
                         duration_minutes=15, interviewer_ids=[recruiter.id]).get_json()
        dropped = schedule(recruiter, application, starts_at=iso(starts_at + timedelta(minutes=40)),
                           duration_minutes=15, interviewer_ids=[recruiter.id]).get_json()
        client = app.test_client()
        # moved out of the test's reach, cancelled: their reminders of now must never come
        client.patch(f"/api/interviews/{moved['id']}", json={"starts_at": iso(utc(hours=50))},
                     headers=recruiter.headers)
        client.post(f"/api/interviews/{dropped['id']}/cancel", headers=recruiter.headers)
        due = starts_at - timedelta(hours=hours)
        deadline = time.monotonic() + 75
        while time.monotonic() < deadline:
            found = [m for m in mailbox.messages if m["Subject"].startswith("Reminder:")]
            if len(found) >= 2:
                break
            time.sleep(0.2)
        arrived = datetime.now(timezone.utc)
        found = [m for m in mailbox.messages if m["Subject"].startswith("Reminder:")]
        assert sorted(recipient(m) for m in found) == sorted([candidate.email, hiring_manager.email]), \
            worker.output()[-3000:]
        assert due <= arrived < due + timedelta(minutes=1)
        assert all(row[1] == "sent" for row in reminders(app, kept["id"]))
        time.sleep(3)  # the sweep has run since: still nothing of the others
        assert len([m for m in mailbox.messages if m["Subject"].startswith("Reminder:")]) == 2
        assert all(row[1] == "failed" for row in reminders(app, dropped["id"]))
        assert [row[1] for row in reminders(app, moved["id"])] == ["failed", "failed", "pending", "pending"]
    finally:
        worker.stop()
        app.config["REDIS_URL"] = saved
        app.extensions.pop("ats.redis", None)


@pytest.mark.skipif(not POSTGRES, reason="the exclusion constraint is PostgreSQL's")
def test_without_the_applications_checks_the_database_still_lets_one_win(
        app, monkeypatch, recruiter, hiring_manager, make_user, make_application, job):
    """The checks made before writing turned off: the exclusion constraint alone settles
    racing bookings, and its refusal still answers 409 interviewer_busy naming the winner."""
    from ats.interviews import services
    monkeypatch.setattr(services, "_check_free", lambda *args, **kwargs: None)
    applications = []
    for _ in range(6):
        made = make_application(make_user(), job["id"])
        put_in(app, made["id"], "screening")
        applications.append(made)
    start = utc(hours=72)
    bodies = {}

    def book(n):
        response = app.test_client().post(
            f"/api/applications/{applications[n]['id']}/interviews",
            json={"starts_at": iso(start + timedelta(minutes=n)), "duration_minutes": 60,
                  "interviewer_ids": [hiring_manager.id]}, headers=recruiter.headers)
        bodies[n] = response.get_json()
        return answer(response)

    outcome = at_once(len(applications), book)
    assert outcome == {(201, None): 1, (409, "interviewer_busy"): len(applications) - 1}, outcome
    (winner,) = [body["id"] for body in bodies.values() if "id" in body]
    assert all(body["error"]["details"] == {"interviewer_id": hiring_manager.id, "interview_id": winner}
               for body in bodies.values() if "error" in body)


def test_without_redis_a_due_reminder_goes_out_on_requeue(app, schedule, recruiter, candidate,
                                                          application, mailbox):
    """`flask ats requeue` (the sweep) delivers a reminder once its time has come, not before."""
    interview = schedule(recruiter, application, interviewer_ids=[recruiter.id]).get_json()
    mailbox.wait_for(2)
    mailbox.reset()
    with app.app_context():
        assert delivery.requeue_pending() == 0  # not yet
        db.session.execute(update(Notification).where(
            Notification.interview_id == interview["id"], Notification.kind == "interview_reminder")
            .values(send_after=utc(minutes=-1)))
        db.session.commit()
        assert delivery.requeue_pending() == 2
    mails = mailbox.wait_for(2)
    assert sorted(recipient(m) for m in mails) == sorted([candidate.email, recruiter.email])
    assert all(m["Subject"].startswith("Reminder: interview for ") for m in mails)
    assert all(m.get_content_type() == "multipart/alternative" for m in mails)  # no invite
    assert "reminder of your interview" in text_of(mails[[recipient(m) for m in mails].index(candidate.email)])


@pytest.mark.parametrize("value, hours", [("", 24), ("24", 24), ("0.5", 0.5), ("1", 1)])
def test_the_reminder_hours_setting(monkeypatch, value, hours):
    from ats import config
    monkeypatch.setenv("INTERVIEW_REMINDER_HOURS", value)
    assert config.from_environment()["INTERVIEW_REMINDER_HOURS"] == hours


@pytest.mark.parametrize("value", ["-1", "soon", "nan", "inf", "9000"])
def test_a_bad_reminder_hours_setting_is_refused(monkeypatch, value):
    from ats import config
    monkeypatch.setenv("INTERVIEW_REMINDER_HOURS", value)
    with pytest.raises(config.ConfigError, match="INTERVIEW_REMINDER_HOURS"):
        config.from_environment()
