"""Limits on logins and sign-ups.

Each limit takes its slot atomically before the view runs (the moving window's hit), so no
number of simultaneous requests gets past it; the view then gives the slot back unless its
answer is the one the limit counts: failed logins (401) for logins, new accounts (201) for
sign-ups. A successful login thus never counts, without clearing the email's failures.
"""
import hashlib
import hmac
from functools import wraps

from flask import current_app, g, request
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import HTTPException

from ats.errors import ApiError
from ats.extensions import limiter


def _body_email() -> str | None:
    """The posted email as the schema normalises it, or None; never raises, whatever was sent."""
    if "limit_email" not in g:
        try:
            body = request.get_json(silent=True)
        except Exception:  # e.g. RecursionError from deep nesting: the body parser answers 400
            body = None
        email = body.get("email") if isinstance(body, dict) else None
        g.limit_email = email.strip().lower() if isinstance(email, str) else None
    return g.limit_email


def _email_key() -> str:
    """A keyed hash of the email: neither Redis nor the limiter's log lines hold the address."""
    email = _body_email() or ""
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, email.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return "email-" + digest.hexdigest()[:32]


def _status_of(error: BaseException) -> int:
    if isinstance(error, ApiError):
        return error.status
    if isinstance(error, HTTPException):
        return error.code or 500
    return 500


def counted_when(*statuses: int):
    """Keep the slots the request took only when its answer has one of statuses."""
    def decorator(view):
        @wraps(view)
        def counted(*args, **kwargs):
            try:
                response = view(*args, **kwargs)
            except BaseException as error:
                if _status_of(error) not in statuses:
                    limiter.give_back()
                raise
            if getattr(response, "status_code", 200) not in statuses:
                limiter.give_back()
            return response
        return counted
    return decorator


def login_limits(view):
    """5 failed logins per email in 15 minutes, 20 per client address in a minute (settings)."""
    per_email = limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_EMAIL"],
                              key_func=_email_key, exempt_when=lambda: _body_email() is None,
                              scope="login-email")
    per_address = limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
                                key_func=get_remote_address, scope="login-address")
    return counted_when(401)(per_email(per_address(view)))


def register_limits(view):
    """10 sign-ups per client address in an hour (REGISTER_LIMIT_PER_ADDRESS)."""
    per_address = limiter.limit(lambda: current_app.config["REGISTER_LIMIT_PER_ADDRESS"],
                                key_func=get_remote_address, scope="register-address")
    return counted_when(201)(per_address(view))
