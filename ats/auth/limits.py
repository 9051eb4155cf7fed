"""Limits on logins and sign-ups.

Each limit takes its slot atomically before the view runs (the moving window's hit), so no
number of simultaneous requests gets past it; the view then gives the slot back unless its
answer is the one the limit counts: failed logins (401) for logins, new accounts (201) for
sign-ups. A successful login thus never counts, without clearing the email's failures.
"""
import hashlib
import hmac
import time
from functools import wraps

from flask import current_app, g, request
from flask_limiter.util import get_remote_address
from limits import parse
from werkzeug.exceptions import HTTPException

from ats.errors import ApiError, RateLimited
from ats.extensions import limiter

# the bucket Flask-Limiter keeps login_limits' per-email limit in ("endpoint:scope", after the
# key prefix and the key): services that check a password outside a login count there too
LOGIN_EMAIL_BUCKET = "auth.login:login-email"


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
    return _key_of(_body_email() or "")


def _key_of(email: str) -> str:
    """A keyed hash of the email: neither Redis nor the limiter's log lines hold the address."""
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


def _per_email(setting: str, scope: str):
    """The limit of config[setting] per posted email (a body without one is left to the parser)."""
    return limiter.limit(lambda: current_app.config[setting], key_func=_email_key,
                         exempt_when=lambda: _body_email() is None, scope=scope)


def _per_address(setting: str, scope: str):
    return limiter.limit(lambda: current_app.config[setting], key_func=get_remote_address,
                         scope=scope)


def login_limits(view):
    """5 failed logins per email in 15 minutes, 20 per client address in a minute (settings)."""
    limited = _per_email("LOGIN_LIMIT_PER_EMAIL", "login-email")(
        _per_address("LOGIN_LIMIT_PER_ADDRESS", "login-address")(view))
    return counted_when(401)(limited)


def register_limits(view):
    """10 sign-ups per client address in an hour (REGISTER_LIMIT_PER_ADDRESS)."""
    return counted_when(201)(_per_address("REGISTER_LIMIT_PER_ADDRESS", "register-address")(view))


def password_reset_limits(view):
    """3 reset requests per email and 10 per client address in an hour; every request counts."""
    return _per_email("PASSWORD_RESET_LIMIT_PER_EMAIL", "reset-email")(
        _per_address("PASSWORD_RESET_LIMIT_PER_ADDRESS", "reset-address")(view))


# --- the per-email login limit, from services that check a password outside a login -----

def _on_storage(call):
    try:
        return call(limiter.limiter)
    except Exception:  # Redis away: the same memory fallback as the decorators
        limiter._fall_back()
        return call(limiter.limiter)


def _login_bucket(email: str) -> tuple:
    return (parse(current_app.config["LOGIN_LIMIT_PER_EMAIL"]), current_app.config["RATELIMIT_KEY_PREFIX"],
            _key_of(email), LOGIN_EMAIL_BUCKET)


def refuse_if_locked(email: str) -> None:
    """RateLimited while the email has used up its failed logins."""
    bucket = _login_bucket(email)
    if not _on_storage(lambda strategy: strategy.test(*bucket)):
        reset_at, _ = _on_storage(lambda strategy: strategy.get_window_stats(*bucket))
        raise RateLimited(int(reset_at - time.time()) + 1)


def count_failed_login(email: str) -> None:
    bucket = _login_bucket(email)
    _on_storage(lambda strategy: strategy.hit(*bucket))


def clear_failed_logins(email: str) -> None:
    bucket = _login_bucket(email)
    _on_storage(lambda strategy: strategy.clear(*bucket))
