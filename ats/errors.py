"""The ApiError family and every handler: all non-2xx answers share one body.

    {"error": {"code": "...", "message": "...", "details": {...}}}
"""
import logging
import re
import time

from flask import jsonify
from werkzeug.exceptions import HTTPException

from ats.workflow import InvalidReason, InvalidTransition, MoveNotAllowed, StageConflict

log = logging.getLogger(__name__)


class ApiError(Exception):
    status = 400
    code = "bad_request"
    message = "Bad request."

    def __init__(self, message: str | None = None, details: dict | None = None, code: str | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.details = details or {}
        self.code = code or self.code


class Unauthorized(ApiError):
    status, code, message = 401, "unauthorized", "Authentication required."


class Forbidden(ApiError):
    status, code, message = 403, "forbidden", "You may not do this."


class NotFound(ApiError):
    status, code, message = 404, "not_found", "Not found."


class Conflict(ApiError):
    """409; the code says which conflict (email_taken, already_applied, ...)."""

    status, code, message = 409, "conflict", "Conflict."


class Unprocessable(ApiError):
    """422 that is not a field error; the code says which (idempotency_key_reused)."""

    status, code, message = 422, "unprocessable", "The request cannot be processed."


class PayloadTooLarge(ApiError):
    status, code, message = 413, "payload_too_large", "The body is too large."


class UnsupportedMediaType(ApiError):
    """415: an upload whose content is not a type we take (its name and declared type do not count)."""

    status, code = 415, "unsupported_media_type"
    message = ("Accepted are PDF, DOCX, DOC, ODT, RTF, plain text, PNG and JPEG files, "
               "judged by their content.")


class InvalidToken(ApiError):
    status, code, message = 400, "invalid_token", "This token is unknown, used or expired."


class RateLimited(ApiError):
    """429 raised by a service (limits checked outside Flask-Limiter's decorators)."""

    status, code, message = 429, "rate_limited", "Too many attempts: try again later."

    def __init__(self, retry_after: int):
        super().__init__()
        self.headers = {"Retry-After": str(max(1, retry_after))}


class ValidationFailed(ApiError):
    """422 with details mapping each field to its messages."""

    status, code, message = 422, "validation_error", "The input is not valid."

    def __init__(self, details: dict, message: str | None = None):
        super().__init__(message, details)


def error_response(status: int, code: str, message: str, details: dict | None = None, headers=None):
    response = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    response.status_code = status
    if headers:
        response.headers.update(headers)
    return response


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def _as_messages(messages) -> list[str]:
    """A field's messages as a flat list of strings (a list's item errors come keyed by index)."""
    if isinstance(messages, dict):
        return [f"{key}: {text}" for key, value in messages.items() for text in _as_messages(value)]
    if isinstance(messages, (list, tuple)):
        return [text for item in messages for text in _as_messages(item)]
    return [str(messages)]


def _flatten_validation(messages: dict) -> dict:
    """webargs nests messages by location ({"json": {...}, "query": {...}}): callers want fields."""
    details = {}
    for location_messages in messages.values():
        if isinstance(location_messages, dict):
            details.update({str(field): _as_messages(field_messages)  # JSON keys are strings
                            for field, field_messages in location_messages.items()})
        else:
            details.setdefault("_schema", []).extend(_as_messages(location_messages))
    return details


def _retry_after() -> str:
    from ats.extensions import limiter

    current = limiter.current_limit
    if current is None:
        return "60"
    try:
        return str(max(1, int(current.reset_at - time.time()) + 1))
    except Exception:  # the storage stopped answering since the hit: the whole window is safe
        return str(current.limit.get_expiry())


def register_error_handlers(app):
    from ats.extensions import db

    def rollback():
        db.session.rollback()

    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError):
        rollback()
        return error_response(error.status, error.code, error.message, error.details,
                              headers=getattr(error, "headers", None))

    @app.errorhandler(InvalidTransition)
    def handle_invalid_transition(error: InvalidTransition):
        rollback()
        return error_response(409, "invalid_transition", str(error), {
            "from": error.from_stage, "to": error.to_stage, "allowed": error.allowed})

    @app.errorhandler(MoveNotAllowed)
    def handle_move_not_allowed(error: MoveNotAllowed):
        rollback()
        return error_response(403, "forbidden", str(error))

    @app.errorhandler(InvalidReason)
    def handle_invalid_reason(error: InvalidReason):
        rollback()
        return error_response(422, "validation_error", "The input is not valid.",
                              {"reason": [str(error)]})

    @app.errorhandler(StageConflict)
    def handle_stage_conflict(error: StageConflict):
        rollback()
        return error_response(409, "stage_conflict", str(error),
                              {"expected": error.expected, "current": error.current})

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        rollback()
        status = error.code or 500
        code = HTTP_CODES.get(status) or re.sub(r"\W+", "_", error.name.lower()).strip("_")
        data = getattr(error, "data", None) or {}
        if status == 422 and "messages" in data:
            return error_response(422, code, "The input is not valid.",
                                  _flatten_validation(data["messages"]))
        if status == 400 and "messages" in data:
            return error_response(400, code, "The body is not valid JSON.")
        if status >= 500:
            log.error("HTTP %s: %s", status, error.description)
            return error_response(500, "internal_error", "Something went wrong on our side.")
        message, headers = error.description or error.name, None
        if status == 429:
            message, headers = "Too many attempts: try again later.", {"Retry-After": _retry_after()}
        elif status == 405:
            headers = {"Allow": ", ".join(error.valid_methods or [])}
        return error_response(status, code, message, headers=headers)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        rollback()
        log.exception("unhandled error")
        return error_response(500, "internal_error", "Something went wrong on our side.")
