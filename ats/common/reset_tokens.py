"""Password-reset tokens.

A token is an HMAC of its row under the app's secret: the worker that mails it can derive it
again, so the token itself is stored nowhere — the row keeps only its SHA-256, to find it by.
Reading the database alone gives no usable token.
"""
import base64
import hashlib
import hmac

from flask import current_app

from ats.models import PasswordReset

VALID_MINUTES = 30


def token_for(reset: PasswordReset) -> str:
    # whole seconds: every database hands the same value back
    message = f"password-reset:{reset.id}:{reset.user_id}:{int(reset.created_at.timestamp())}"
    mac = hmac.new(current_app.config["SECRET_KEY"].encode(), message.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
