"""Email notifications delivered inline (no REDIS_URL) to a real SMTP server."""
import pytest
from sqlalchemy import select

from ats.extensions import db
from ats.models import HIRING_MANAGER, RECRUITER, Notification
from ats.notifications import delivery, outbox, smtp
from ats.notifications.channels import CHANNELS
from tests.helpers import error_code
from tests.mailbox import recipient, text_of


@pytest.fixture
def team(make_user, recruiter):
    """A second recruiter, an assigned and an unassigned hiring manager of one company."""
    return {
        "recruiter": recruiter,
        "recruiter2": make_user(RECRUITER, recruiter.company_id),
        "assigned": make_user(HIRING_MANAGER, recruiter.company_id),
        "unassigned": make_user(HIRING_MANAGER, recruiter.company_id),
    }


@pytest.fixture
def job(make_job, team):
    return make_job(team["recruiter"], title="Backend Developer",
                    hiring_manager_ids=[team["assigned"].id])


def notifications(app, **filters):
    with app.app_context():
        return db.session.scalars(select(Notification).filter_by(**filters)
                                  .order_by(Notification.id)).all()


def move(client, actor, application_id, stage, **extra):
    return client.patch(f"/api/applications/{application_id}/stage",
                        json={"stage": stage, **extra}, headers=actor.headers)


def test_applying_mails_the_candidate_and_the_hiring_team(app, mailbox, job, team, candidate,
                                                          make_application):
    application = make_application(candidate, job["id"])

    messages = mailbox.wait_for(4)
    assert len(messages) == 4
    (confirmation,) = mailbox.to(candidate.email)
    assert "Backend Developer" in confirmation["Subject"]
    assert "Backend Developer" in text_of(confirmation)
    staff = {team[k].email for k in ("recruiter", "recruiter2", "assigned")}
    assert {recipient(m) for m in messages if recipient(m) != candidate.email} == staff
    assert not mailbox.to(team["unassigned"].email)
    for message in messages:
        assert message["From"] == app.config["MAIL_DEFAULT_SENDER"]
        assert message.get_body(preferencelist=("html",)) is not None

    rows = notifications(app, application_id=application["id"])
    assert sorted(r.kind for r in rows) == ["application_received"] + ["new_application"] * 3
    assert all(r.status == "sent" and r.attempts == 1 and r.sent_at for r in rows)


def test_a_stage_change_tells_the_candidate_from_what_to_what(app, client, mailbox, job, team,
                                                              candidate, make_application):
    application = make_application(candidate, job["id"])
    mailbox.reset()

    assert move(client, team["recruiter"], application["id"], "screening", note="secret").status_code == 200

    (message,) = mailbox.wait_for(1)
    assert recipient(message) == candidate.email
    assert "screening" in message["Subject"]
    body = text_of(message)
    assert "from \"applied\" to \"screening\"" in body and "Backend Developer" in body
    assert "secret" not in body  # staff notes stay inside


def test_a_refused_change_records_and_sends_nothing(app, client, mailbox, job, team, candidate,
                                                     make_application):
    application = make_application(candidate, job["id"])
    mailbox.reset()
    before = len(notifications(app))

    response = move(client, team["recruiter"], application["id"], "hired")
    assert response.status_code == 409 and error_code(response) == "invalid_transition"
    again = client.post(f"/api/jobs/{job['id']}/applications", json={}, headers=candidate.headers)
    assert again.status_code == 409 and error_code(again) == "already_applied"

    assert len(notifications(app)) == before
    assert mailbox.wait_for(1, timeout=0.5) == []


def test_the_losers_of_an_apply_race_roll_back_their_notifications(app, mailbox, job, candidate):
    """Concurrent identical applications: the losers' rows (and mails) vanish with them."""
    import threading

    barrier = threading.Barrier(5)
    statuses = []

    def apply():
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post(f"/api/jobs/{job['id']}/applications", json={},
                                    headers=candidate.headers).status_code)

    threads = [threading.Thread(target=apply) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201, 409, 409, 409, 409]
    assert len(notifications(app)) == 4
    assert len(mailbox.wait_for(5, timeout=1)) == 4


def test_smtp_trouble_is_counted_then_requeue_delivers_once(app, client, runner, mailbox, job,
                                                            candidate, make_application):
    mailbox.mode = "reject"
    application = make_application(candidate, job["id"])  # the request still succeeds

    rows = notifications(app, application_id=application["id"])
    assert rows and all(r.status == "pending" and r.attempts == 1 for r in rows)
    assert all("451" in r.last_error for r in rows)

    mailbox.mode = "accept"
    result = runner.invoke(args=["ats", "requeue"])
    assert result.exit_code == 0, result.output
    assert f"{len(rows)} pending" in result.output
    assert len(mailbox.wait_for(len(rows))) == len(rows)
    assert all(r.status == "sent" and r.attempts == 2 for r in notifications(app))

    runner.invoke(args=["ats", "requeue"])  # nothing left to send
    assert len(mailbox.messages) == len(rows)


def test_after_the_last_attempt_a_notification_is_failed_with_its_error(app, mailbox, job,
                                                                         candidate, make_application):
    mailbox.mode = "reject"
    application = make_application(candidate, job["id"])
    with app.app_context():
        ids = [r.id for r in notifications(app, application_id=application["id"])]
        for _ in range(app.config["MAIL_MAX_ATTEMPTS"] - 1):
            delivery.requeue_pending()
        assert delivery.requeue_pending() == 0  # failed rows are not pending any more

    rows = notifications(app, application_id=application["id"])
    assert [r.id for r in rows] == ids
    assert all(r.status == "failed" and r.attempts == app.config["MAIL_MAX_ATTEMPTS"] for r in rows)
    assert all(r.last_error.startswith("SMTP") for r in rows)
    assert mailbox.messages == []


def test_delivering_twice_sends_once(app, mailbox, job, candidate, make_application):
    application = make_application(candidate, job["id"])
    sent = len(mailbox.wait_for(4))
    with app.app_context():
        first = notifications(app, application_id=application["id"])[0]
        assert delivery.deliver(first.id) == "skipped"
    assert len(mailbox.messages) == sent


def test_mails_share_one_smtp_connection_and_a_cut_one_is_replaced(app, mailbox, job, make_user,
                                                                     make_application):
    make_application(make_user(), job["id"])  # four mails in one go
    assert len(mailbox.wait_for(4)) == 4
    assert len(set(mailbox.peers)) == 1

    mailbox.mode = "reject"  # two more applications, whose mails stay pending
    pending = {make_application(make_user(), job["id"])["id"] for _ in range(2)}
    mailbox.reset()
    ids = [n.id for n in notifications(app) if n.application_id in pending]
    with app.app_context(), smtp.kept_open():
        assert delivery.deliver(ids[0]) == "sent"
        mailbox.restart()  # the server cuts the session kept open (a restart, an idle timeout)
        assert [delivery.deliver(i) for i in ids[1:]] == ["sent"] * (len(ids) - 1)

    rows = [n for n in notifications(app) if n.id in ids]
    assert sorted(recipient(m) for m in mailbox.messages) == sorted(n.recipient for n in rows)
    assert len(set(mailbox.peers)) == 2  # the cut connection, then one for all the rest
    assert all(n.status == "sent" and n.attempts == 2 for n in rows)  # the cut cost no attempt


def test_staff_read_an_applications_notifications(client, app, mailbox, job, team, candidate,
                                                  make_user, make_application, admin):
    application = make_application(candidate, job["id"])
    path = f"/api/applications/{application['id']}/notifications"

    for reader in (team["recruiter"], team["unassigned"], admin):
        response = client.get(path, headers=reader.headers)
        assert response.status_code == 200
        items = response.get_json()["items"]
        assert len(items) == 4
        assert set(items[0]) == {"id", "kind", "recipient", "status", "attempts", "last_error",
                                 "request_id", "created_at", "sent_at"}
        assert [i["id"] for i in items] == sorted((i["id"] for i in items), reverse=True)
        assert all(i["status"] == "sent" for i in items)

    response = client.get(path, headers=candidate.headers)
    assert response.status_code == 403 and error_code(response) == "forbidden"
    outsider = make_user(RECRUITER)
    response = client.get(path, headers=outsider.headers)
    assert response.status_code == 404 and error_code(response) == "not_found"
    assert client.get(path).status_code == 401


def test_health_says_inline_without_redis(client):
    body = client.get("/api/health").get_json()
    assert body == {"status": "ok", "database": "ok", "queue": "inline"}


# --- temporary and permanent failures, sending again --------------------------------------

def test_by_default_a_temporary_failure_is_retried_for_more_than_a_day(monkeypatch):
    from ats import config

    for name in ("MAIL_MAX_ATTEMPTS", "MAIL_RETRY_DELAYS"):
        monkeypatch.delenv(name, raising=False)
    delays = CHANNELS["email"].retry_delays(config.from_environment())
    assert sum(delays) >= 24 * 3600, delays
    assert delays[0] <= 60 and delays == sorted(delays)  # soon at first, then backing off


@pytest.mark.parametrize("value", ["-1", "10,-5", ","])
def test_retry_delays_must_be_seconds(monkeypatch, value):
    from ats import config

    monkeypatch.setenv("MAIL_RETRY_DELAYS", value)
    with pytest.raises(config.ConfigError, match="MAIL_RETRY_DELAYS"):
        config.from_environment()


def test_retry_delays_are_taken_in_order_the_last_one_repeated():
    assert CHANNELS["email"].retry_delays({"MAIL_MAX_ATTEMPTS": 6, "MAIL_RETRY_DELAYS": [1, 5, 9]}) == [1, 5, 9, 9, 9]
    assert CHANNELS["email"].retry_delays({"MAIL_MAX_ATTEMPTS": 3, "MAIL_RETRY_DELAYS": [1, 5, 9]}) == [1, 5]
    assert CHANNELS["email"].retry_delays({"MAIL_MAX_ATTEMPTS": 1, "MAIL_RETRY_DELAYS": [1]}) == []


@pytest.mark.parametrize("mode, code", [("refuse", "550"), ("refuse_sender", "553"),
                                        ("refuse_data", "554")])
def test_a_permanent_refusal_fails_at_once_with_its_error(app, mailbox, job, candidate,
                                                          make_application, mode, code):
    mailbox.mode = mode
    application = make_application(candidate, job["id"])

    rows = notifications(app, application_id=application["id"])
    assert len(rows) == 4
    assert all(r.status == "failed" and r.attempts == 1 and code in r.last_error for r in rows)
    with app.app_context():
        assert delivery.requeue_pending() == 0  # nothing pending: no retry will come
    assert mailbox.messages == []


def resend(client, actor, notification_id):
    return client.post(f"/api/notifications/{notification_id}/resend", headers=actor.headers)


def test_resend_puts_a_failed_notification_back_and_it_is_delivered_once(
        app, client, mailbox, job, team, candidate, admin, make_application):
    mailbox.mode = "refuse"
    application = make_application(candidate, job["id"])
    first, second, *_ = notifications(app, application_id=application["id"])
    mailbox.mode = "accept"

    response = resend(client, team["recruiter"], first.id)
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["id"] == first.id and body["attempts"] == 1
    assert body["status"] == "sent"  # no Redis: delivered inline before the answer
    assert "550" in body["last_error"]  # why it had failed stays visible
    assert [recipient(m) for m in mailbox.wait_for(1)] == [first.recipient]

    again = resend(client, team["recruiter"], first.id)
    assert again.status_code == 409 and error_code(again) == "not_failed"
    assert again.get_json()["error"]["details"] == {"status": "sent"}
    assert resend(client, admin, second.id).status_code == 202
    assert sorted(recipient(m) for m in mailbox.wait_for(2)) == sorted([first.recipient, second.recipient])
    assert len(mailbox.messages) == 2


def test_resend_refuses_pending_rows_and_callers_who_may_not(app, client, mailbox, job, team,
                                                              candidate, make_user, make_application):
    mailbox.mode = "reject"  # temporary: the rows stay pending
    application = make_application(candidate, job["id"])
    pending = notifications(app, application_id=application["id"])[0]
    response = resend(client, team["recruiter"], pending.id)
    assert response.status_code == 409 and error_code(response) == "not_failed"
    assert response.get_json()["error"]["details"] == {"status": "pending"}

    with app.app_context():
        db.session.execute(Notification.__table__.update().values(status="failed"))
        db.session.commit()
    to_staff = notifications(app, application_id=application["id"], kind="new_application")[0]
    for actor, notification, status, code in (
            (team["assigned"], pending, 403, "forbidden"),
            (team["unassigned"], pending, 403, "forbidden"),
            (candidate, pending, 403, "forbidden"),  # the mail addressed to them
            (candidate, to_staff, 404, "not_found"),  # a mail to the staff they never see
            (make_user(RECRUITER), pending, 404, "not_found"),
            (make_user(), pending, 404, "not_found")):
        response = resend(client, actor, notification.id)
        assert response.status_code == status and error_code(response) == code, actor.role
    assert client.post(f"/api/notifications/{pending.id}/resend").status_code == 401
    missing = resend(client, team["recruiter"], 999_999)
    assert missing.status_code == 404 and error_code(missing) == "not_found"
    assert {r.status for r in notifications(app)} == {"failed"}  # nobody above changed a row


def test_requeue_failed_sends_the_failed_ones_again_with_fresh_attempts(
        app, runner, mailbox, job, candidate, make_application):
    mailbox.mode = "refuse"
    make_application(candidate, job["id"])
    rows = notifications(app)
    assert {r.status for r in rows} == {"failed"}
    mailbox.mode = "accept"

    result = runner.invoke(args=["ats", "requeue"])  # pending ones only
    assert result.exit_code == 0 and "0 pending" in result.output, result.output
    assert {r.status for r in notifications(app)} == {"failed"}

    result = runner.invoke(args=["ats", "requeue", "--failed"])
    assert result.exit_code == 0, result.output
    assert f"{len(rows)} failed notification(s) back to pending" in result.output
    assert f"{len(rows)} pending notification(s) handed over" in result.output
    assert all(r.status == "sent" and r.attempts == 1 for r in notifications(app))
    assert sorted(recipient(m) for m in mailbox.wait_for(len(rows))) == sorted(r.recipient for r in rows)

    runner.invoke(args=["ats", "requeue", "--failed"])  # nothing failed, nothing pending
    assert len(mailbox.messages) == len(rows)


# --- Message-ID ---------------------------------------------------------------------------

def test_each_mail_has_a_message_id_of_its_own_kept_across_attempts_and_resends(
        app, client, mailbox, job, team, candidate, make_application):
    import email
    from email.policy import default

    mailbox.mode = "refuse_data"  # the server reads the mail, then refuses it for good
    application = make_application(candidate, job["id"])
    rows = notifications(app, application_id=application["id"])
    refused = {recipient(m): m["Message-ID"] for m in
               (email.message_from_bytes(raw, policy=default) for raw in mailbox.refused)}
    assert len(refused) == len(rows) == len(set(refused.values())) == 4
    domain = app.config["MAIL_DEFAULT_SENDER"].rpartition("@")[2].rstrip(">")
    for row in rows:
        assert refused[row.recipient].startswith(f"<notification-{row.id}.")
        assert refused[row.recipient].endswith(f"@{domain}>")

    mailbox.mode = "accept"
    for row in rows:
        assert resend(client, team["recruiter"], row.id).status_code == 202
    assert {recipient(m): m["Message-ID"] for m in mailbox.wait_for(4)} == refused

    # a send whose "sent" was never recorded (a crash after the server's 250) goes again:
    # the copy carries the same Message-ID, so it is recognisable as the same mail
    with app.app_context():
        db.session.execute(Notification.__table__.update()
                           .where(Notification.id == rows[0].id).values(status="pending"))
        db.session.commit()
        assert delivery.deliver(rows[0].id) == "sent"
    copies = [m["Message-ID"] for m in mailbox.wait_for(5) if recipient(m) == rows[0].recipient]
    assert copies == [refused[rows[0].recipient]] * 2


def test_mail_to_a_user_deactivated_after_it_was_recorded_is_never_sent(app, mailbox, job, team,
                                                                        candidate):
    """A deactivation racing an application can leave a pending mail behind: the send refuses it."""
    from sqlalchemy import update

    from ats.models import User

    with app.app_context():
        application_id = outbox_pending_application(app, candidate, job)
        db.session.execute(update(User).where(User.id == team["recruiter2"].id).values(is_active=False))
        db.session.commit()
        (row,) = db.session.scalars(select(Notification).where(
            Notification.recipient_id == team["recruiter2"].id)).all()
        assert delivery.deliver(row.id) == "failed"
    assert not mailbox.to(team["recruiter2"].email)
    (row,) = notifications(app, recipient_id=team["recruiter2"].id)
    assert row.status == "failed" and "recipient deactivated" in row.last_error
    assert row.application_id == application_id


def outbox_pending_application(app, candidate, job) -> int:
    """An application whose mails are recorded but not yet sent, as a queue would hold them."""
    from ats.models import Application, ApplicationHistory, Job, User

    job_row, user = db.session.get(Job, job["id"]), db.session.get(User, candidate.id)
    application = Application(job=job_row, company_id=job_row.company_id, candidate=user)
    db.session.add(application)
    db.session.add(ApplicationHistory(application=application, to_stage="applied", changed_by_id=user.id))
    outbox.record_new_application(application)
    db.session.commit()
    return application.id
