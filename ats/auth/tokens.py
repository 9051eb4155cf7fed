"""flask-jwt-extended wiring: who a token names, revocation, and 401 for every failure."""
from datetime import datetime, timezone

from flask import g
from flask_jwt_extended import JWTManager
from sqlalchemy import select

from ats.common.schemas import MAX_ID
from ats.errors import error_response
from ats.extensions import db
from ats.models import RevokedToken, User


def _unauthorized(message: str):
    return error_response(401, "unauthorized", message)


def register_token_callbacks(jwt: JWTManager) -> None:
    @jwt.user_identity_loader
    def identity(user: User) -> str:
        return str(user.id)

    @jwt.token_in_blocklist_loader
    def is_revoked(_header, payload) -> bool:
        """Asked first; it also looks up the token's user, in the same round trip."""
        jti = payload.get("jti")
        if not isinstance(jti, str) or not 0 < len(jti) <= 64 or "exp" not in payload:
            return True  # not one of ours: it could never expire nor be revoked
        revoked = select(RevokedToken.jti).where(RevokedToken.jti == jti).exists()
        user_id = _user_id(payload)
        row = db.session.execute(select(User, revoked).where(User.id == user_id)).first()
        g.token_user = row[0] if row else None  # no user: load_user answers 401 for it
        return bool(row and row[1])

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


def _user_id(payload: dict) -> int | None:
    subject = payload.get("sub")
    if not (isinstance(subject, str) and subject.isascii() and subject.isdigit()):
        return None  # isascii: "²".isdigit() is true, but int("²") fails
    return int(subject) if int(subject) <= MAX_ID else None


def expiry_of(payload: dict) -> datetime:
    return datetime.fromtimestamp(payload["exp"], timezone.utc)
