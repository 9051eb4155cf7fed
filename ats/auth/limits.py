"""Failed logins are limited per email and per client address; successes never count."""
from flask import current_app, request
from flask_limiter.util import get_remote_address

from ats.extensions import limiter


def _login_email() -> str:
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    return "email:" + (email.strip().lower() if isinstance(email, str) else "")


def _failed(response) -> bool:
    return response.status_code == 401


def login_limits(view):
    per_email = limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_EMAIL"],
                              key_func=_login_email, deduct_when=_failed, scope="login-email")
    per_address = limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
                                key_func=get_remote_address, deduct_when=_failed,
                                scope="login-address")
    return per_email(per_address(view))
