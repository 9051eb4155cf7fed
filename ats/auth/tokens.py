"""flask-jwt-extended wiring: who a token names, revocation, and 401 for every failure."""
from datetime import datetime, timezone

from flask_jwt_extended import JWTManager

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

    @jwt.user_lookup_loader
    def load_user(_header, payload) -> User | None:
        subject = payload.get("sub")
        if not (isinstance(subject, str) and subject.isascii() and subject.isdigit()):
            return None  # isascii: "²".isdigit() is true, but int("²") fails
        if int(subject) > MAX_ID:
            return None
        return db.session.get(User, int(subject))

    @jwt.token_in_blocklist_loader
    def is_revoked(_header, payload) -> bool:
        jti = payload.get("jti")
        if not isinstance(jti, str) or not 0 < len(jti) <= 64 or "exp" not in payload:
            return True  # not one of ours: it could never expire nor be revoked
        return db.session.get(RevokedToken, jti) is not None

    # flask-jwt-extended answers 422 {"msg"} by default: every failure is our 401.
    jwt.unauthorized_loader(lambda reason: _unauthorized("Missing or malformed bearer token."))
    jwt.invalid_token_loader(lambda reason: _unauthorized("Invalid token."))
    jwt.expired_token_loader(lambda _h, _p: _unauthorized("Token has expired."))
    jwt.revoked_token_loader(lambda _h, _p: _unauthorized("Token has been revoked."))
    jwt.needs_fresh_token_loader(lambda _h, _p: _unauthorized("Fresh token required."))
    jwt.token_verification_failed_loader(lambda _h, _p: _unauthorized("Invalid token."))
    jwt.user_lookup_error_loader(lambda _h, _p: _unauthorized("The token's user no longer exists."))


def expiry_of(payload: dict) -> datetime:
    return datetime.fromtimestamp(payload["exp"], timezone.utc)
