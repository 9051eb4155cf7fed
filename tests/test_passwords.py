"""Passwords: change with the current one; reset by a mailed single-use token."""
import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from ats.common.db import utcnow
from ats.extensions import db
from ats.models import AuthSession, Notification, PasswordReset, User
from tests.conftest import PASSWORD
from tests.helpers import assert_error, assert_invalid, at_once, count
from tests.mailbox import text_of

NEW_PASSWORD = "a-brand-new-password"


def login(client, email, password=PASSWORD):
    return client.post("/api/auth/login", json={"email": email, "password": password})


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def works(client, access_token) -> bool:
    return client.get("/api/auth/me", headers=bearer(access_token)).status_code == 200


def change(client, headers, current=PASSWORD, new=NEW_PASSWORD):
    return client.post("/api/auth/password", headers=headers,
                       json={"current_password": current, "new_password": new})


def ask_reset(client, email, address="127.0.0.1"):
    return client.post("/api/auth/password-reset", json={"email": email},
                       environ_base={"REMOTE_ADDR": address})


def confirm(client, token, new=NEW_PASSWORD):
    return client.post("/api/auth/password-reset/confirm",
                       json={"token": token, "new_password": new})


def mailed_token(mailbox, email) -> str:
    (message,) = [m for m in mailbox.wait_for(1) if email in m["To"]]
    found = re.search(r"token[=:]\s*([A-Za-z0-9_-]{20,})", text_of(message))
    assert found, text_of(message)
    return found.group(1)


# --- change -----------------------------------------------------------------------------

def test_changing_the_password_keeps_this_session_and_ends_the_others(client, app, candidate):
    other = login(client, candidate.email).get_json()
    response = change(client, candidate.headers)
    assert response.status_code == 204 and response.get_data() == b""

    assert works(client, candidate.token)  # the session that changed it
    assert not works(client, other["access_token"])
    assert_error(client.post("/api/auth/refresh", headers=bearer(other["refresh_token"])),
                 401, "unauthorized")
    assert_error(login(client, candidate.email), 401, "unauthorized")
    assert login(client, candidate.email, NEW_PASSWORD).status_code == 200


def test_a_wrong_current_password_is_401_and_counts_as_a_failed_login(client, app, candidate):
    for _ in range(4):
        assert_error(change(client, candidate.headers, current="not-my-password"), 401, "unauthorized")
    assert_error(login(client, candidate.email, "still-wrong"), 401, "unauthorized")  # the 5th
    assert_error(login(client, candidate.email), 429, "rate_limited")
    response = change(client, candidate.headers)  # locked: not even the right one is checked
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0
    with app.app_context():
        assert db.session.get(User, candidate.id).password_hash  # unchanged: the old one works
    assert works(client, candidate.token)


def test_a_changed_password_is_validated_and_nothing_changes_on_error(client, app, candidate):
    with app.app_context():
        before = db.session.get(User, candidate.id).password_hash
    assert_invalid(change(client, candidate.headers, new="short"), "new_password")
    assert_invalid(client.post("/api/auth/password", headers=candidate.headers,
                               json={"new_password": NEW_PASSWORD}), "current_password")
    assert_error(change(client, {}), 401, "unauthorized")
    with app.app_context():
        assert db.session.get(User, candidate.id).password_hash == before


# --- reset ------------------------------------------------------------------------------

def test_a_reset_mails_a_token_that_sets_a_new_password_and_ends_every_session(
        client, app, mailbox, candidate):
    other = login(client, candidate.email).get_json()
    response = ask_reset(client, candidate.email.upper())
    assert response.status_code == 202 and set(response.get_json()) == {"message"}
    token = mailed_token(mailbox, candidate.email)
    with app.app_context():
        (row,) = db.session.scalars(select(PasswordReset)).all()
        assert token not in (row.token_hash, str(row.id))  # stored only as a hash
        (notification,) = db.session.scalars(
            select(Notification).where(Notification.kind == "password_reset")).all()
        assert notification.status == "sent" and notification.application_id is None

    assert confirm(client, token).status_code == 204
    assert not works(client, candidate.token) and not works(client, other["access_token"])
    assert_error(login(client, candidate.email), 401, "unauthorized")
    assert login(client, candidate.email, NEW_PASSWORD).status_code == 200
    assert_error(confirm(client, token, "yet-another-password"), 400, "invalid_token")  # spent


def test_a_reset_answers_the_same_for_an_unknown_email_and_mails_nothing(client, mailbox, candidate):
    known, unknown = ask_reset(client, candidate.email), ask_reset(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 202
    assert known.get_data() == unknown.get_data()
    assert len(mailbox.wait_for(1)) == 1
    time.sleep(0.2)
    assert [m["To"] for m in mailbox.messages] == [m["To"] for m in mailbox.to(candidate.email)]


def test_an_unknown_email_takes_about_as_long_as_a_known_one(client, candidate):
    def median(email):
        times = []
        for n in range(5):
            started = time.perf_counter()
            ask_reset(client, email, address=f"10.0.0.{n}")
            times.append(time.perf_counter() - started)
        return sorted(times)[2]
    from ats.extensions import limiter
    known = median(candidate.email)
    limiter.reset()
    unknown = median("nobody@example.com")
    assert abs(known - unknown) < 0.05, (known, unknown)


def test_reset_requests_are_limited_per_email_and_per_address(client, candidate, make_user):
    for n in range(3):
        assert ask_reset(client, candidate.email, address=f"10.1.0.{n}").status_code == 202
    response = ask_reset(client, candidate.email, address="10.1.0.9")
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0
    for n in range(10):
        assert ask_reset(client, f"someone{n}@example.com", address="10.2.0.1").status_code == 202
    assert_error(ask_reset(client, make_user().email, address="10.2.0.1"), 429, "rate_limited")


@pytest.mark.parametrize("token", ["", "x" * 43, "not a token", "a" * 201])
def test_an_unknown_token_is_400_invalid_token_or_422(client, candidate, token):
    response = confirm(client, token)
    assert response.status_code in (400, 422)
    assert_error(response, 400, "invalid_token") if response.status_code == 400 else None
    assert login(client, candidate.email).status_code == 200


def test_an_expired_token_is_refused(client, app, mailbox, candidate):
    ask_reset(client, candidate.email)
    token = mailed_token(mailbox, candidate.email)
    with app.app_context():
        db.session.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert_error(confirm(client, token), 400, "invalid_token")
    assert login(client, candidate.email).status_code == 200


def test_a_token_lasts_thirty_minutes(client, app, mailbox, candidate):
    ask_reset(client, candidate.email)
    with app.app_context():
        row = db.session.scalars(select(PasswordReset)).one()
        assert timedelta(minutes=29) < row.expires_at - row.created_at <= timedelta(minutes=30)


def test_confirming_spends_every_outstanding_token_of_that_user(client, mailbox, candidate):
    ask_reset(client, candidate.email)
    first = mailed_token(mailbox, candidate.email)
    mailbox.reset()
    ask_reset(client, candidate.email)
    second = mailed_token(mailbox, candidate.email)
    assert first != second
    assert confirm(client, second).status_code == 204
    assert_error(confirm(client, first), 400, "invalid_token")


def test_two_confirmations_racing_with_one_token_one_wins(client, app, mailbox, candidate):
    ask_reset(client, candidate.email)
    token = mailed_token(mailbox, candidate.email)
    passwords = ("first-new-pass", "second-new-pass")
    statuses = at_once(2, lambda n: confirm(app.test_client(), token, passwords[n]).status_code)
    assert statuses == {204: 1, 400: 1}
    assert [login(client, candidate.email, p).status_code
            for p in ("first-new-pass", "second-new-pass")].count(200) == 1


def test_confirming_clears_the_emails_login_lock(client, mailbox, candidate):
    for _ in range(5):
        login(client, candidate.email, "wrong-password")
    assert_error(login(client, candidate.email, "wrong-password"), 429, "rate_limited")
    ask_reset(client, candidate.email)
    assert confirm(client, mailed_token(mailbox, candidate.email)).status_code == 204
    assert login(client, candidate.email, NEW_PASSWORD).status_code == 200


def test_a_deactivated_account_gets_no_reset_mail_and_no_reset(client, app, mailbox, candidate):
    ask_reset(client, candidate.email)
    token = mailed_token(mailbox, candidate.email)
    mailbox.reset()
    with app.app_context():
        db.session.execute(update(User).where(User.id == candidate.id).values(is_active=False))
        db.session.commit()
    assert_error(confirm(client, token), 400, "invalid_token")
    assert ask_reset(client, candidate.email).status_code == 202
    time.sleep(0.2)
    assert not mailbox.messages
    assert count(app, PasswordReset) == 1


def test_the_mail_gives_a_link_when_a_reset_page_is_configured(client, app, mailbox, candidate):
    app.config["PASSWORD_RESET_URL"] = "https://jobs.example.com/reset"
    try:
        ask_reset(client, candidate.email)
        (message,) = mailbox.wait_for(1)
        assert re.search(r"https://jobs\.example\.com/reset\?token=[A-Za-z0-9_-]{20,}", text_of(message))
        assert "30 minutes" in text_of(message)
    finally:
        app.config["PASSWORD_RESET_URL"] = None


def test_sessions_are_ended_by_a_reset(client, app, mailbox, candidate):
    ask_reset(client, candidate.email)
    confirm(client, mailed_token(mailbox, candidate.email))
    with app.app_context():
        reasons = db.session.scalars(select(AuthSession.end_reason)
                                     .where(AuthSession.user_id == candidate.id)).all()
    assert reasons and set(reasons) == {"password_reset"}
