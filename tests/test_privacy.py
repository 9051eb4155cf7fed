"""Privacy: a candidate's export, erasure (by themself or an admin) and the retention run.

Erasure keeps the hiring record (applications, stages, history with its times: what reports
are computed from) and removes the person; each effect is checked in the database and over
the API, with real mail (tests/mailbox.py) and real object storage (moto, tests/objectstore.py).
"""
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from ats.common.db import utcnow
from ats.extensions import db, limiter
from ats.models import (Application, ApplicationHistory, Attachment, AttachmentChunk,
                        AuthSession, Comment, IdempotencyKey, Notification, PasswordReset,
                        Scorecard, User)
from ats.notifications import delivery
from ats.privacy.services import months_before
from tests.conftest import PASSWORD
from tests.helpers import assert_error, assert_invalid, at_once, count
from tests.mailbox import recipient, text_of
from tests.test_attachments import Store, object_store, pdf, s3_app, store  # noqa: F401 (fixtures)

PROFILE = {"phone": "+49 30 1234567", "headline": "Python developer", "location": "Berlin",
           "links": ["https://github.com/erika"]}
COVER = "Dear team, I would love to join."
WITHDRAWAL_NOTE = "I took another offer, thank you."


def login(client, email, password=PASSWORD):
    return client.post("/api/auth/login", json={"email": email, "password": password})


def rows(app, *columns, where=()):
    """Rows of columns, read straight from the database, ordered by the first."""
    with app.app_context():
        stmt = select(*columns).where(*where).order_by(columns[0])
        return [tuple(row) for row in db.session.execute(stmt)]


def hiring_record(app, candidate_id) -> dict:
    """What reports are computed from: each application's stage and times, and every history
    entry (stages, who, when, reason)."""
    with app.app_context():
        applications = db.session.execute(
            select(Application.id, Application.job_id, Application.company_id, Application.stage,
                   Application.created_at)
            .where(Application.candidate_id == candidate_id).order_by(Application.id)).all()
        history = db.session.execute(
            select(ApplicationHistory.id, ApplicationHistory.application_id,
                   ApplicationHistory.from_stage, ApplicationHistory.to_stage,
                   ApplicationHistory.changed_by_id, ApplicationHistory.changed_at,
                   ApplicationHistory.reason)
            .where(ApplicationHistory.application_id.in_([a.id for a in applications]))
            .order_by(ApplicationHistory.id)).all()
        return {"applications": [tuple(a) for a in applications],
                "history": [tuple(h) for h in history]}


@pytest.fixture
def erika(make_user):
    """A candidate with a profile."""
    return make_user(name="Erika Mustermann", email=f"erika-{uuid.uuid4().hex[:8]}@example.com")


def build_record(client, store, erika, recruiter, hiring_manager, make_job):
    """Two applications of erika at the recruiter's company: one in screening (a staff note, her
    résumé and a staff file, a comment, an interview with a scorecard), one she withdrew from
    with a reason and a note; a profile; an idempotency key."""
    assert client.patch("/api/auth/me", json=PROFILE, headers=erika.headers).status_code == 200
    job = make_job(recruiter, hiring_manager_ids=[hiring_manager.id])
    other = make_job(recruiter, title="Data Engineer")
    applied = store.apply(erika, job["id"], pdf(), filename="erika-cv.pdf", cover_letter=COVER)
    assert applied.status_code == 201, applied.get_json()
    application = applied.get_json()
    moved = client.patch(f"/api/applications/{application['id']}/stage",
                         json={"stage": "screening", "note": "Strong CV, call her"},
                         headers=recruiter.headers)
    assert moved.status_code == 200
    store.uploaded(hiring_manager, application["id"], pdf(2000), filename="notes.pdf",
                   kind="other")
    comment = client.post(f"/api/applications/{application['id']}/comments",
                          json={"body": "Erika seems great"}, headers=recruiter.headers)
    assert comment.status_code == 201
    start = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    interview = client.post(f"/api/applications/{application['id']}/interviews", json={
        "starts_at": start.isoformat(), "duration_minutes": 60,
        "interviewer_ids": [hiring_manager.id], "location": "Room 1"}, headers=recruiter.headers)
    assert interview.status_code == 201, interview.get_json()
    with store.app.app_context():  # a scorecard of an interview already held
        db.session.add(Scorecard(interview_id=interview.get_json()["id"],
                                 interviewer_id=hiring_manager.id, rating=4,
                                 recommendation="strong_yes", notes="Hire her"))
        db.session.commit()
    second = client.post(f"/api/jobs/{other['id']}/applications", json={"cover_letter": "Me too"},
                         headers={**erika.headers, "Idempotency-Key": "apply-once"})
    assert second.status_code == 201
    withdrawn = client.patch(f"/api/applications/{second.get_json()['id']}/stage", json={
        "stage": "withdrawn", "reason": "accepted_other_offer", "note": WITHDRAWAL_NOTE},
        headers=erika.headers)
    assert withdrawn.status_code == 200, withdrawn.get_json()
    return {"application": application, "withdrawn": second.get_json(), "job": job,
            "other": other, "interview": interview.get_json()}


# --- export ------------------------------------------------------------------------------

def test_the_export_holds_the_candidates_data_and_nothing_internal(
        app, client, erika, recruiter, hiring_manager, make_job, mailbox):
    made = build_record(client, Store("database", app), erika, recruiter, hiring_manager, make_job)
    response = client.get("/api/auth/me/export", headers=erika.headers)
    assert response.status_code == 200
    export = response.get_json()
    assert set(export) == {"exported_at", "user", "applications", "notifications"}
    assert export["user"] == {**client.get("/api/auth/me", headers=erika.headers).get_json()}
    assert export["user"]["profile"] == PROFILE

    first, second = export["applications"]
    assert set(first) == {"id", "job_id", "job_title", "company_id", "company_name", "stage",
                          "cover_letter", "created_at", "updated_at", "history", "interviews",
                          "attachments"}
    assert (first["id"], first["job_title"], first["stage"], first["cover_letter"]) == (
        made["application"]["id"], made["job"]["title"], "screening", COVER)
    with app.app_context():
        company = db.session.get(Application, first["id"]).job.company.name
    assert first["company_name"] == company and second["company_name"] == company
    # history: who and when, no staff note; her own withdrawal with its reason and her note
    assert [(e["from_stage"], e["to_stage"], e["note"], e["reason"]) for e in first["history"]] == [
        (None, "applied", None, None), ("applied", "screening", None, None)]
    assert first["history"][1]["changed_by"] == {"id": recruiter.id, "name": recruiter.name,
                                                 "role": "recruiter"}
    assert [(e["to_stage"], e["note"], e["reason"]) for e in second["history"]] == [
        ("applied", None, None), ("withdrawn", WITHDRAWAL_NOTE, "accepted_other_offer")]
    # interviews as she sees them; files: metadata and where to download them (both)
    assert [i["id"] for i in first["interviews"]] == [made["interview"]["id"]]
    assert first["interviews"][0]["location"] == "Room 1"
    assert [(f["filename"], f["download_path"]) for f in first["attachments"]] == [
        ("erika-cv.pdf", f"/api/attachments/{first['attachments'][0]['id']}"),
        ("notes.pdf", f"/api/attachments/{first['attachments'][1]['id']}")]
    download = client.get(first["attachments"][0]["download_path"], headers=erika.headers)
    assert download.status_code == 200 and download.data == pdf()
    # every mail addressed to her, with her own address, and none to anyone else
    with app.app_context():
        hers = db.session.scalars(select(Notification.id).where(
            Notification.recipient_id == erika.id).order_by(Notification.id)).all()
    assert [n["id"] for n in export["notifications"]] == hers and len(hers) >= 3
    assert {n["recipient"] for n in export["notifications"]} == {erika.email}
    assert set(export["notifications"][0]) == {"id", "kind", "application_id", "recipient",
                                               "status", "created_at", "sent_at"}

    text = response.get_data(as_text=True)
    for internal in ("Strong CV, call her", "Erika seems great", "Hire her", "strong_yes",
                     recruiter.email, hiring_manager.email, "scorecard", "last_error"):
        assert internal not in text, internal


def test_a_rejection_reason_is_never_exported(client, candidate, recruiter, application):
    moved = client.patch(f"/api/applications/{application['id']}/stage", json={
        "stage": "rejected", "reason": "skills_mismatch", "note": "Not senior enough"},
        headers=recruiter.headers)
    assert moved.status_code == 200
    export = client.get("/api/auth/me/export", headers=candidate.headers).get_json()
    assert [(e["to_stage"], e["reason"], e["note"])
            for e in export["applications"][0]["history"]] == [
        ("applied", None, None), ("rejected", None, None)]
    assert "skills_mismatch" not in str(export) and "Not senior enough" not in str(export)


def test_only_a_candidate_exports(client, admin, recruiter, hiring_manager, candidate):
    assert_error(client.get("/api/auth/me/export"), 401, "unauthorized")
    for someone in (admin, recruiter, hiring_manager):
        assert_error(client.get("/api/auth/me/export", headers=someone.headers), 403, "forbidden")
    assert_invalid(client.get("/api/auth/me/export?format=csv", headers=candidate.headers),
                   "format")


def test_the_export_costs_the_same_queries_for_one_application_or_many(
        client, make_user, make_job, recruiter, count_queries):
    def statements(applications: int) -> int:
        someone = make_user()
        for _ in range(applications):
            job = make_job(recruiter)
            client.post(f"/api/jobs/{job['id']}/applications", json={}, headers=someone.headers)
        with count_queries() as run:
            assert client.get("/api/auth/me/export", headers=someone.headers).status_code == 200
        return len(run)

    assert statements(1) == statements(4)


# --- erasure -----------------------------------------------------------------------------

def test_erasing_oneself_removes_the_person_and_keeps_the_record(
        client, store, erika, recruiter, hiring_manager, make_job, mailbox):
    app = store.app
    client = store.client
    made = build_record(client, store, erika, recruiter, hiring_manager, make_job)
    first_id, second_id = made["application"]["id"], made["withdrawn"]["id"]
    client.post("/api/auth/password-reset", json={"email": erika.email})
    second_session = login(client, erika.email).get_json()
    record = hiring_record(app, erika.id)
    files = rows(app, Attachment.id, where=[Attachment.application_id == first_id])
    assert len(files) == 2 and all(i in store.held() for (i,) in files)
    with app.app_context():
        for model in (PasswordReset, IdempotencyKey):
            assert db.session.scalar(select(model.id).where(model.user_id == erika.id))
    before = utcnow()

    response = client.delete("/api/auth/me", headers=erika.headers)
    assert response.status_code == 204 and response.data == b""

    # the person: gone from the account
    with app.app_context():
        user = db.session.get(User, erika.id)
        assert (user.name, user.email, user.is_active, user.profile) == (
            "Erased candidate", f"erased-{erika.id}@erased.invalid", False,
            {"phone": None, "headline": None, "location": None, "links": []})
        assert user.erased_by_id == erika.id and before <= user.erased_at <= utcnow()
        assert not user.password_hash.startswith("$argon2")
        assert db.session.scalar(select(User.id).where(User.id == erika.id, User.links.is_(None)))
        assert db.session.scalars(select(Application.cover_letter).where(
            Application.candidate_id == erika.id)).all() == [None, None]
        assert db.session.scalars(select(Application.attachment_count).where(
            Application.candidate_id == erika.id)).all() == [0, 0]
        # the note of her own withdrawal went; the staff's note stays (their record)
        assert db.session.scalars(select(ApplicationHistory.note).where(
            ApplicationHistory.application_id.in_([first_id, second_id]))
            .order_by(ApplicationHistory.id)).all() == [None, "Strong CV, call her", None, None]
        assert db.session.scalars(select(AuthSession.ended_at).where(
            AuthSession.user_id == erika.id, AuthSession.ended_at.is_(None))).all() == []
        for model in (PasswordReset, IdempotencyKey):
            assert db.session.scalars(select(model.id).where(model.user_id == erika.id)).all() == []
        addresses = db.session.scalars(select(Notification.recipient).where(
            Notification.recipient_id == erika.id)).all()
        assert addresses and set(addresses) == {f"erased-{erika.id}@erased.invalid"}
        # the staff's own records about her stay
        assert db.session.scalar(select(Comment.body).where(Comment.application_id == first_id))
        assert db.session.scalar(select(Scorecard.notes)) == "Hire her"
    # the files, and their bytes in the database or the bucket
    assert rows(app, Attachment.id, where=[Attachment.application_id == first_id]) == []
    assert rows(app, AttachmentChunk.attachment_id) == []
    assert store.held() == {}
    # the record: every stage, history entry and time as it was
    assert hiring_record(app, erika.id) == record

    # over the API: no login, no token, no session
    assert_error(login(client, erika.email), 401, "unauthorized")
    assert_error(login(client, f"erased-{erika.id}@erased.invalid", "!erased"), 401, "unauthorized")
    assert_error(client.get("/api/auth/me", headers=erika.headers), 401, "unauthorized")
    assert_error(client.get("/api/auth/me", headers={
        "Authorization": f"Bearer {second_session['access_token']}"}), 401, "unauthorized")
    assert_error(client.post("/api/auth/refresh", headers={
        "Authorization": f"Bearer {second_session['refresh_token']}"}), 401, "unauthorized")
    # the staff see the erased candidate on the application, its stage and history intact
    shown = client.get(f"/api/applications/{first_id}", headers=recruiter.headers).get_json()
    assert shown["stage"] == "screening" and shown["cover_letter"] is None
    assert shown["candidate"] == {"id": erika.id, "name": "Erased candidate",
                                  "email": f"erased-{erika.id}@erased.invalid",
                                  "profile": {"phone": None, "headline": None, "location": None,
                                              "links": []}}
    history = client.get(f"/api/applications/{first_id}/history", headers=recruiter.headers)
    assert [e["changed_by"]["name"] for e in history.get_json()["items"]] == [
        "Erased candidate", recruiter.name]
    listed = client.get(f"/api/applications/{first_id}/attachments", headers=recruiter.headers)
    assert listed.get_json()["items"] == []
    assert "Erika" not in client.get(f"/api/users/{erika.id}", headers=recruiter.headers).get_data(
        as_text=True)
    # no mail ever goes to her again: a password reset for her old address sends nothing
    mailbox.reset()
    client.post("/api/auth/password-reset", json={"email": erika.email})
    assert mailbox.messages == []


def test_an_erasure_the_bucket_refuses_changes_nothing(app, database_url, smtp_server, candidate,
                                                       application, admin):
    """S3 objects go before the commit: with the store unreachable the erasure fails (500) and
    rolls back whole, so a 204 always means the bytes are gone; a retry then completes it."""
    from ats import create_app
    from ats.attachments.storage import storage
    from tests.objectstore import ObjectStore, aws_environment
    server = ObjectStore().start()
    try:
        s3 = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "MAIL_SERVER": "127.0.0.1",
                         "MAIL_PORT": smtp_server.port, "S3_BUCKET": server.make_bucket(),
                         "S3_ENDPOINT_URL": server.url})
        with aws_environment(), s3.app_context():
            storage()
        on_s3 = Store("s3", s3, server)
        on_s3.uploaded(candidate, application["id"], pdf())
        (key,) = server.keys(s3.config["S3_BUCKET"])
        server.stop()
        before = rows(app, User.name, User.erased_at, where=[User.id == candidate.id])
        assert_error(on_s3.client.post(f"/api/users/{candidate.id}/erase", headers=admin.headers),
                     500, "internal_error")
        assert rows(app, User.name, User.erased_at, where=[User.id == candidate.id]) == before
        assert rows(app, Attachment.storage_key) == [(key,)]
        assert client_status(on_s3, candidate) == 200  # still logged in: nothing happened
        server.start()  # back, empty (moto keeps nothing): deleting a missing key succeeds
        server.client.create_bucket(Bucket=s3.config["S3_BUCKET"])
        assert on_s3.client.post(f"/api/users/{candidate.id}/erase",
                                 headers=admin.headers).status_code == 204
        assert rows(app, Attachment.id) == [] and client_status(on_s3, candidate) == 401
    finally:
        server.stop()
        limiter.init_app(app)  # the limiter is one object: give the suite's app its memory back


def client_status(store, someone) -> int:
    return store.client.get("/api/auth/me", headers=someone.headers).status_code


def test_an_admin_erases_a_candidate_and_nobody_else(client, admin, candidate, recruiter,
                                                    hiring_manager, make_user):
    other_admin = make_user("admin")
    for someone in (recruiter, hiring_manager, admin, other_admin):
        assert_invalid(client.post(f"/api/users/{someone.id}/erase", headers=admin.headers),
                       "user_id")
    assert_error(client.post("/api/users/999999/erase", headers=admin.headers), 404, "not_found")
    assert_error(client.post(f"/api/users/{candidate.id}/erase", headers=recruiter.headers),
                 403, "forbidden")
    assert_error(client.post(f"/api/users/{candidate.id}/erase", headers=candidate.headers),
                 403, "forbidden")
    assert count(client.application, User, User.erased_at.is_not(None)) == 0

    assert client.post(f"/api/users/{candidate.id}/erase", headers=admin.headers).status_code == 204
    first = rows(client.application, User.erased_at, User.erased_by_id, User.name,
                 where=[User.id == candidate.id])
    assert first[0][1:] == (admin.id, "Erased candidate")
    # again, by another admin: 204, and the first erasure's record stays as it was
    again = client.post(f"/api/users/{candidate.id}/erase", headers=other_admin.headers)
    assert again.status_code == 204
    assert rows(client.application, User.erased_at, User.erased_by_id, User.name,
                where=[User.id == candidate.id]) == first
    # erasing is final: the account cannot be reactivated
    assert_invalid(client.patch(f"/api/users/{candidate.id}", json={"is_active": True},
                                headers=admin.headers), "is_active")
    assert rows(client.application, User.is_active, where=[User.id == candidate.id]) == [(False,)]
    # staff and admins cannot erase themselves this way either
    for someone in (recruiter, admin):
        assert_error(client.delete("/api/auth/me", headers=someone.headers), 403, "forbidden")
    assert_error(client.delete("/api/auth/me"), 401, "unauthorized")


def test_erasures_racing_erase_once(app, admin, make_user, application, candidate):
    others = [make_user("admin") for _ in range(3)]
    callers = [admin, *others]

    def erase(i):
        response = app.test_client().post(f"/api/users/{candidate.id}/erase",
                                          headers=callers[i].headers)
        return response.status_code

    assert at_once(4, erase) == {204: 4}
    (erased_by,) = rows(app, User.erased_by_id, where=[User.id == candidate.id])[0]
    assert erased_by in {c.id for c in callers}
    assert rows(app, User.name, where=[User.erased_at.is_not(None)]) == [("Erased candidate",)]


def test_erasing_runs_the_same_statements_whatever_the_candidate_holds(
        app, client, make_user, make_job, recruiter, count_queries):
    def statements(applications: int) -> int:
        someone = make_user()
        for _ in range(applications):
            job = make_job(recruiter)
            client.post(f"/api/jobs/{job['id']}/applications", json={"cover_letter": "Hi"},
                        headers=someone.headers)
        with count_queries() as run:
            assert client.delete("/api/auth/me", headers=someone.headers).status_code == 204
        return len(run)

    assert statements(1) == statements(5)


def test_pending_mail_to_an_erased_candidate_is_never_sent(
        app, client, admin, candidate, recruiter, hiring_manager, application, mailbox):
    """Mail still pending (the server said "try later") to her fails as "recipient erased";
    the staff's pending mail about her goes out once the server is back, naming her erased;
    her address leaves every notification, a mail server's error included."""
    placeholder = f"erased-{candidate.id}@erased.invalid"
    with app.app_context():  # as a server's refusal quotes the address
        db.session.execute(update(Notification).where(Notification.recipient_id == candidate.id)
                           .values(last_error=f"550 <{candidate.email}>: mailbox full"))
        db.session.commit()
    mailbox.reset()
    mailbox.mode = "reject"  # 451: every mail stays pending, to be tried again
    for stage, mover in (("screening", recruiter), ("withdrawn", candidate)):
        moved = client.patch(f"/api/applications/{application['id']}/stage",
                             json={"stage": stage}, headers=mover.headers)
        assert moved.status_code == 200
    with app.app_context():
        pending = set(db.session.scalars(select(Notification.recipient_id).where(
            Notification.status == "pending")))
    assert pending == {candidate.id, recruiter.id, hiring_manager.id}

    assert client.post(f"/api/users/{candidate.id}/erase", headers=admin.headers).status_code == 204
    with app.app_context():
        to_her = set(db.session.execute(select(
            Notification.kind, Notification.status, Notification.last_error, Notification.recipient)
            .where(Notification.recipient_id == candidate.id)).all())
    assert to_her == {("application_received", "sent", f"550 <{placeholder}>: mailbox full",
                       placeholder),
                      ("stage_changed", "failed", "recipient erased", placeholder)}

    mailbox.mode = "accept"
    with app.app_context():
        assert delivery.requeue_pending() == 2  # no Redis here: delivered inline
    sent = mailbox.messages
    assert sorted(recipient(m) for m in sent) == sorted([recruiter.email, hiring_manager.email])
    for message in sent:
        assert "Erased candidate" in message["Subject"]
        assert candidate.name not in message["Subject"] + text_of(message)


def test_invites_after_an_erasure_leave_the_erased_candidate_off(
        client, admin, candidate, recruiter, hiring_manager, application, mailbox):
    from tests.test_interviews import attendees, invite_of
    assert client.patch(f"/api/applications/{application['id']}/stage", json={
        "stage": "screening"}, headers=recruiter.headers).status_code == 200
    start = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    interview = client.post(f"/api/applications/{application['id']}/interviews", json={
        "starts_at": start.isoformat(), "duration_minutes": 30,
        "interviewer_ids": [hiring_manager.id]}, headers=recruiter.headers).get_json()
    assert client.post(f"/api/users/{candidate.id}/erase", headers=admin.headers).status_code == 204
    mailbox.reset()
    cancelled = client.post(f"/api/interviews/{interview['id']}/cancel", headers=recruiter.headers)
    assert cancelled.status_code == 200
    (message,) = mailbox.messages  # the interviewer's: the erased candidate is mailed nothing
    assert recipient(message) == hiring_manager.email
    _, event, method = invite_of(message)
    assert method == "CANCEL" and attendees(event) == {hiring_manager.email}
    assert "Erased candidate" in str(event["SUMMARY"]) and candidate.name not in message.as_string()


def test_erased_applications_come_back_in_incremental_sync(
        app, client, candidate, recruiter, application, admin):
    stamp = client.get(f"/api/applications/{application['id']}",
                       headers=recruiter.headers).get_json()["updated_at"]
    assert client.post(f"/api/users/{candidate.id}/erase", headers=admin.headers).status_code == 204
    synced = client.get("/api/applications", query_string={"updated_since": stamp},
                        headers=recruiter.headers).get_json()["items"]
    assert [(a["id"], a["candidate"]["name"]) for a in synced] == [
        (application["id"], "Erased candidate")]
    assert synced[0]["updated_at"] > stamp


# --- retention ---------------------------------------------------------------------------

def ended_ago(app, application_id: int, days: int) -> None:
    """Move the application's final history entry (and its account's creation) days back."""
    with app.app_context():
        when = utcnow() - timedelta(days=days)
        entry = db.session.scalars(select(ApplicationHistory).where(
            ApplicationHistory.application_id == application_id)
            .order_by(ApplicationHistory.id.desc())).first()
        entry.changed_at = when
        candidate_id = db.session.get(Application, application_id).candidate_id
        db.session.execute(update(User).where(User.id == candidate_id)
                           .values(created_at=when - timedelta(days=30)))
        db.session.commit()


def registered_ago(app, user_id: int, days: int) -> None:
    with app.app_context():
        db.session.execute(update(User).where(User.id == user_id)
                           .values(created_at=utcnow() - timedelta(days=days)))
        db.session.commit()


@pytest.fixture
def retention_world(app, client, make_user, make_job, recruiter):
    """Candidates: done (rejected 400 days ago), recent (withdrew 10 days ago), open (one old
    application hired 400 days ago, one still open), idle (no application, registered 400 days
    ago), new (no application, registered today)."""
    job, second_job = make_job(recruiter), make_job(recruiter)
    people = {key: make_user(name=f"Person {key}")
              for key in ("done", "recent", "open", "idle", "new")}

    def apply(person, job_id, stage=None):
        made = client.post(f"/api/jobs/{job_id}/applications", json={"cover_letter": "Hi"},
                           headers=people[person].headers).get_json()
        if stage == "withdrawn":
            client.patch(f"/api/applications/{made['id']}/stage", json={"stage": stage},
                         headers=people[person].headers)
        elif stage:
            client.patch(f"/api/applications/{made['id']}/stage",
                         json={"stage": stage, "reason": "other"}, headers=recruiter.headers)
        return made["id"]

    ended_ago(app, apply("done", job["id"], "rejected"), 400)
    ended_ago(app, apply("recent", job["id"], "withdrawn"), 10)
    ended_ago(app, apply("open", job["id"], "rejected"), 400)
    apply("open", second_job["id"])
    registered_ago(app, people["idle"].id, 400)
    return people


def erased_ids(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(User.id).where(User.erased_at.is_not(None))))


def test_retention_dry_run_lists_and_changes_nothing(app, runner, retention_world):
    from tests.test_access_matrix import database_rows
    before = database_rows(app)
    result = runner.invoke(args=["ats", "retention", "--months", "12", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Would erase 2 candidate(s)" in result.output
    listed = {int(word) for line in result.output.splitlines() if line[:1].isdigit()
              for word in line.split()}
    assert listed == {retention_world["done"].id, retention_world["idle"].id}
    assert "Nothing was changed" in result.output
    assert database_rows(app) == before


def test_retention_erases_those_whose_applications_all_ended_long_ago(
        app, runner, retention_world, recruiter):
    result = runner.invoke(args=["ats", "retention", "--months", "12"])
    assert result.exit_code == 0, result.output
    assert "Erased 2 candidate(s)" in result.output
    done, idle = retention_world["done"].id, retention_world["idle"].id
    assert erased_ids(app) == {done, idle}
    assert rows(app, User.id, User.erased_by_id, User.name, where=[User.id.in_([done, idle])]) == [
        (done, None, "Erased candidate"), (idle, None, "Erased candidate")]
    # a second run finds nobody left; a shorter period reaches the recent withdrawal too
    again = runner.invoke(args=["ats", "retention", "--months", "12"])
    assert "Erased 0 candidate(s)" in again.output
    shorter = runner.invoke(args=["ats", "retention", "--months", "1"])
    assert "Erased 0 candidate(s)" in shorter.output  # 10 days ago is not a month ago
    assert retention_world["recent"].id not in erased_ids(app)


def test_retention_takes_its_period_from_the_setting_or_refuses(app, runner, retention_world):
    result = runner.invoke(args=["ats", "retention"])
    assert result.exit_code != 0
    assert "--months N or set DATA_RETENTION_MONTHS" in result.output
    assert erased_ids(app) == set()
    app.config["DATA_RETENTION_MONTHS"] = 12
    try:
        result = runner.invoke(args=["ats", "retention", "--dry-run"])
    finally:
        app.config["DATA_RETENTION_MONTHS"] = None
    assert "Would erase 2 candidate(s)" in result.output and "(12 months ago)" in result.output
    assert runner.invoke(args=["ats", "retention", "--months", "0"]).exit_code == 2


def test_the_setting_is_a_whole_number_of_months(monkeypatch):
    from ats.config import ConfigError, from_environment
    monkeypatch.setenv("DATA_RETENTION_MONTHS", "18")
    assert from_environment()["DATA_RETENTION_MONTHS"] == 18
    monkeypatch.delenv("DATA_RETENTION_MONTHS")
    assert from_environment()["DATA_RETENTION_MONTHS"] is None
    for wrong in ("0", "-3", "1.5", "a year"):
        monkeypatch.setenv("DATA_RETENTION_MONTHS", wrong)
        with pytest.raises(ConfigError):
            from_environment()


def test_months_before_keeps_the_day_or_takes_the_months_last():
    from datetime import datetime, timezone
    moment = datetime(2026, 3, 31, 8, 0, tzinfo=timezone.utc)
    assert months_before(moment, 1) == datetime(2026, 2, 28, 8, 0, tzinfo=timezone.utc)
    assert months_before(moment, 13) == datetime(2025, 2, 28, 8, 0, tzinfo=timezone.utc)
    assert months_before(moment, 24) == datetime(2024, 3, 31, 8, 0, tzinfo=timezone.utc)
    assert months_before(datetime(2024, 1, 15, tzinfo=timezone.utc), 1) == datetime(
        2023, 12, 15, tzinfo=timezone.utc)
