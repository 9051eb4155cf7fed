"""Sessions: every login starts one; refresh tokens rotate; a replayed one ends its session;
logout ends one session and logout-all every session of the caller."""
import jwt as pyjwt
from sqlalchemy import select

from ats.extensions import db
from ats.models import AuthSession
from tests.conftest import PASSWORD
from tests.helpers import assert_error, at_once


def login(client, email):
    response = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def refresh(client, refresh_token):
    return client.post("/api/auth/refresh", headers=bearer(refresh_token))


def works(client, access_token) -> bool:
    status = client.get("/api/auth/me", headers=bearer(access_token)).status_code
    assert status in (200, 401)
    return status == 200


def sessions_of(app, user_id) -> list[AuthSession]:
    with app.app_context():
        return db.session.scalars(select(AuthSession).where(AuthSession.user_id == user_id)
                                  .order_by(AuthSession.id)).all()


def sid(token) -> int:
    return pyjwt.decode(token, options={"verify_signature": False})["sid"]


def test_each_login_starts_a_session_its_tokens_name(client, app, candidate):
    first, second = login(client, candidate.email), login(client, candidate.email)
    assert sid(first["access_token"]) == sid(first["refresh_token"])
    assert sid(first["access_token"]) != sid(second["access_token"])
    started = [s.id for s in sessions_of(app, candidate.id)]
    assert {sid(first["access_token"]), sid(second["access_token"])} <= set(started)


def test_refresh_rotates_the_refresh_token(client, app, candidate):
    tokens = login(client, candidate.email)
    response = refresh(client, tokens["refresh_token"])
    assert response.status_code == 200
    rotated = response.get_json()
    assert set(rotated) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert rotated["refresh_token"] != tokens["refresh_token"]
    assert sid(rotated["refresh_token"]) == sid(tokens["refresh_token"])  # the same session
    assert works(client, rotated["access_token"]) and works(client, tokens["access_token"])
    again = refresh(client, rotated["refresh_token"])  # the new one is good for one refresh
    assert again.status_code == 200


def test_a_replayed_refresh_token_ends_its_whole_session(client, app, candidate):
    tokens = login(client, candidate.email)
    other_device = login(client, candidate.email)
    rotated = refresh(client, tokens["refresh_token"]).get_json()

    assert_error(refresh(client, tokens["refresh_token"]), 401, "unauthorized")  # spent: replayed

    # every token of that session is dead now, the newest pair included
    assert not works(client, tokens["access_token"])
    assert not works(client, rotated["access_token"])
    assert_error(refresh(client, rotated["refresh_token"]), 401, "unauthorized")
    ended = {s.id: s for s in sessions_of(app, candidate.id)}[sid(tokens["access_token"])]
    assert ended.ended_at is not None and ended.end_reason == "refresh_reuse"
    # the user's other sessions are untouched
    assert works(client, other_device["access_token"])
    assert refresh(client, other_device["refresh_token"]).status_code == 200


def test_two_refreshes_racing_with_one_token_end_the_session(client, app, candidate):
    """Both present the same token at once: one rotates it, the other is a replay."""
    tokens = login(client, candidate.email)
    statuses = at_once(2, lambda _: refresh(app.test_client(), tokens["refresh_token"]).status_code)
    assert 401 in statuses and set(statuses) <= {200, 401}
    assert not works(client, tokens["access_token"])  # whoever won, the session is over


def test_logout_ends_that_session_only(client, app, candidate):
    first, second = login(client, candidate.email), login(client, candidate.email)
    response = client.post("/api/auth/logout", headers=bearer(first["access_token"]))
    assert response.status_code == 204 and response.get_data() == b""
    assert not works(client, first["access_token"])
    assert_error(refresh(client, first["refresh_token"]), 401, "unauthorized")
    assert_error(client.post("/api/auth/logout", headers=bearer(first["access_token"])),
                 401, "unauthorized")
    assert works(client, second["access_token"])
    assert refresh(client, second["refresh_token"]).status_code == 200
    ended = {s.id: s for s in sessions_of(app, candidate.id)}[sid(first["access_token"])]
    assert ended.end_reason == "logout"


def test_logout_ends_tokens_issued_by_refreshes_in_that_session(client, candidate):
    tokens = login(client, candidate.email)
    rotated = refresh(client, tokens["refresh_token"]).get_json()
    assert client.post("/api/auth/logout", headers=bearer(tokens["access_token"])).status_code == 204
    assert not works(client, rotated["access_token"])
    assert_error(refresh(client, rotated["refresh_token"]), 401, "unauthorized")


def test_logout_needs_an_access_token(client, app, candidate):
    tokens = login(client, candidate.email)
    assert_error(client.post("/api/auth/logout", headers=bearer(tokens["refresh_token"])),
                 401, "unauthorized")
    assert all(s.ended_at is None for s in sessions_of(app, candidate.id))


def test_logout_all_ends_every_session_of_the_caller_only(client, app, candidate, make_user):
    mine = [login(client, candidate.email) for _ in range(3)]
    someone_else = make_user()
    theirs = login(client, someone_else.email)

    response = client.post("/api/auth/logout-all", headers=bearer(mine[0]["access_token"]))
    assert response.status_code == 204 and response.get_data() == b""

    for tokens in mine:
        assert not works(client, tokens["access_token"])
        assert_error(refresh(client, tokens["refresh_token"]), 401, "unauthorized")
    assert works(client, candidate.token) is False  # the fixture's own session too
    assert all(s.ended_at is not None for s in sessions_of(app, candidate.id))
    assert works(client, theirs["access_token"]) and works(client, someone_else.token)
    # a new login starts afresh
    assert works(client, login(client, candidate.email)["access_token"])


def test_logout_all_needs_a_token(client):
    assert_error(client.post("/api/auth/logout-all"), 401, "unauthorized")


def test_an_authenticated_request_costs_one_statement_for_its_token(client, candidate, count_queries):
    with count_queries() as statements:
        assert client.get("/api/auth/me", headers=candidate.headers).status_code == 200
    assert len(statements) == 1, statements


def test_logging_in_drops_sessions_no_token_can_use_any_more(client, app, candidate):
    from datetime import timedelta

    from ats.common.db import utcnow

    old = login(client, candidate.email)
    with app.app_context():
        stale = db.session.get(AuthSession, sid(old["access_token"]))
        stale.refreshed_at = utcnow() - app.config["JWT_REFRESH_TOKEN_EXPIRES"] - timedelta(minutes=1)
        db.session.commit()
    login(client, candidate.email)
    assert sid(old["access_token"]) not in [s.id for s in sessions_of(app, candidate.id)]
    assert not works(client, old["access_token"])
