"""Login sessions: every login starts one, and its tokens name it (the `sid` claim).

Ending a session revokes its access token and every refresh token issued in it, on any
database and without Redis. Refresh tokens rotate: each refresh spends the one presented and
issues the next. Presenting a spent one again means two parties hold the session (a stolen
token, as OAuth 2.0's security best current practice warns), so the whole session ends.
"""
import uuid

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import delete, update

from ats.common.db import utcnow
from ats.errors import Unauthorized
from ats.extensions import db
from ats.models import AuthSession, User

# why a session ended
LOGOUT, LOGOUT_ALL, REFRESH_REUSE = "logout", "logout_all", "refresh_reuse"
PASSWORD_CHANGED, PASSWORD_RESET, DEACTIVATED = "password_changed", "password_reset", "deactivated"
ERASED = "erased"


def _new_jti() -> str:
    return uuid.uuid4().hex


def _tokens(user: User, session_id: int, refresh_jti: str) -> dict:
    claims = {"sid": session_id}
    return {
        "access_token": create_access_token(identity=user, additional_claims=claims),
        "refresh_token": create_refresh_token(identity=user,
                                              additional_claims={**claims, "jti": refresh_jti}),
        "token_type": "Bearer",
        "expires_in": int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds()),
    }


def start(user: User) -> dict:
    """A new session for user, committed; its first tokens."""
    now = utcnow()
    # sessions idle for longer than a refresh token lives can never be used again
    db.session.execute(delete(AuthSession).where(
        AuthSession.user_id == user.id,
        AuthSession.refreshed_at < now - current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]))
    session = AuthSession(user_id=user.id, refresh_jti=_new_jti(), created_at=now, refreshed_at=now)
    db.session.add(session)
    db.session.flush()
    tokens = _tokens(user, session.id, session.refresh_jti)
    db.session.commit()
    return tokens


def rotate(user: User, refresh_payload: dict) -> dict:
    """Spend the presented refresh token for the next pair; a spent one ends its session."""
    session_id, spent, fresh = refresh_payload["sid"], refresh_payload["jti"], _new_jti()
    # compare-and-set: of two refreshes with one token only the first finds it unspent
    rotated = db.session.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.refresh_jti == str(spent),
               AuthSession.ended_at.is_(None))
        .values(refresh_jti=fresh, refreshed_at=utcnow())).rowcount
    if rotated != 1:
        end(session_id, REFRESH_REUSE)
        raise Unauthorized("This refresh token was already used: its session has ended. Log in again.")
    db.session.commit()
    return _tokens(user, session_id, fresh)


def _end_where(condition, reason: str) -> None:
    db.session.execute(update(AuthSession).where(condition, AuthSession.ended_at.is_(None))
                       .values(ended_at=utcnow(), end_reason=reason))
    db.session.commit()


def end(session_id: int, reason: str = LOGOUT) -> None:
    _end_where(AuthSession.id == session_id, reason)


def end_all(user_id: int, reason: str = LOGOUT_ALL, keep: int | None = None) -> None:
    """End every session of the user (but keep, if given: the caller's own)."""
    condition = AuthSession.user_id == user_id
    if keep is not None:
        condition = condition & (AuthSession.id != keep)
    _end_where(condition, reason)
