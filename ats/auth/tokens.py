"""flask-jwt-extended wiring: who a token names, whether its session is live, and 401 for
every failure."""
from flask import g
from flask_jwt_extended import JWTManager
from sqlalchemy import select

from ats.common.schemas import MAX_ID
from ats.errors import error_response
from ats.extensions import db
from ats.models import AuthSession, User


def _unauthorized(message: str):
    return error_response(401, "unauthorized", message)


def register_token_callbacks(jwt: JWTManager) -> None:
    @jwt.user_identity_loader
    def identity(user: User) -> str:
        return str(user.id)

    @jwt.token_in_blocklist_loader
    def is_revoked(_header, payload) -> bool:
        """Asked first: is the token's session live and its user active? It also loads the
        user, in the same round trip. (Whether a refresh token is spent is the refresh's own
        question.)"""
        session_id, user_id = _id(payload.get("sid")), _id(payload.get("sub"))
        if session_id is None or "exp" not in payload:
            return True  # not one of ours: it could never expire nor be revoked
        live = select(AuthSession.id).where(
            AuthSession.id == session_id, AuthSession.user_id == User.id,
            AuthSession.ended_at.is_(None)).exists()
        row = db.session.execute(select(User, live).where(User.id == user_id)).first()
        g.token_user = row[0] if row else None  # no user: load_user answers 401 for it
        return not (row and row[1] and row[0].is_active)

    @jwt.user_lookup_loader
    def load_user(_header, _payload) -> User | None:
        return g.pop("token_user", None)

    # flask-jwt-extended answers 422 {"msg"} by default: every failure is our 401.
    jwt.unauthorized_loader(lambda reason: _unauthorized("Missing or malformed bearer token."))
    jwt.invalid_token_loader(lambda reason: _unauthorized("Invalid token."))
    jwt.expired_token_loader(lambda _h, _p: _unauthorized("Token has expired."))
    jwt.revoked_token_loader(lambda _h, _p: _unauthorized("Token has been revoked."))
    jwt.needs_fresh_token_loader(lambda _h, _p: _unauthorized("Fresh token required."))
    jwt.token_verification_failed_loader(lambda _h, _p: _unauthorized("Invalid token."))
    jwt.user_lookup_error_loader(lambda _h, _p: _unauthorized("The token's user no longer exists."))


def _id(claim) -> int | None:
    """A claim naming a row (sub is a string, sid an integer), if it can name one."""
    if isinstance(claim, int) and not isinstance(claim, bool):
        claim = str(claim)
    if not (isinstance(claim, str) and claim.isascii() and claim.isdigit()):
        return None  # isascii: "²".isdigit() is true, but int("²") fails
    return int(claim) if 0 < int(claim) <= MAX_ID else None
