"""Email notifications delivered inline (no REDIS_URL) to a real SMTP server."""
import pytest
from sqlalchemy import select

from ats.extensions import db
from ats.models import HIRING_MANAGER, RECRUITER, Notification
from ats.notifications import services as outbox, smtp
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
            outbox.requeue_pending()
        assert outbox.requeue_pending() == 0  # failed rows are not pending any more

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
        assert outbox.deliver(first.id) == "skipped"
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
        assert outbox.deliver(ids[0]) == "sent"
        mailbox.restart()  # the server cuts the session kept open (a restart, an idle timeout)
        assert [outbox.deliver(i) for i in ids[1:]] == ["sent"] * (len(ids) - 1)

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
