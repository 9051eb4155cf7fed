"""Idempotency-Key: a POST or PATCH a client repeats (its answer was lost, it timed out) gets
the first answer again instead of running twice.

The key is claimed with an INSERT before the view runs: the unique (user_id, key) makes
exactly one of any number of simultaneous requests the one that runs. The others read the
row: still running → 409, the same request done → its stored answer, another request under
the same key → 422. Only successes are kept: a 4xx or 5xx changed nothing (its transaction
rolled back), so the key is given back and a retry runs anew. Keys live 24 hours
(IDEMPOTENCY_KEY_TTL); delete_expired drops older rows (the worker's rounds, `flask ats cleanup`).
"""
import hashlib
import logging
import re
from functools import wraps

from flask import Response, current_app, request
from flask_jwt_extended import current_user
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ats.common.db import utcnow
from ats.errors import Conflict, Unprocessable, ValidationFailed
from ats.extensions import db
from ats.models import IDEMPOTENCY_DONE, IDEMPOTENCY_IN_PROGRESS, IdempotencyKey

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
METHODS = ("POST", "PATCH")
KEPT_HEADERS = ("Content-Type", "Location", "ETag")  # what a replay needs besides the body
_VALID_KEY = re.compile(r"[\x20-\x7e]{1,255}")

# the reusable header parameter of the OpenAPI document (ats/common/api.py adds it)
PARAMETER = {
    "name": HEADER, "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"},
    "description": "Optional. A repeat of this request (same user, key, method, path and body) "
                   "within 24 hours answers the first success again, with "
                   "`Idempotent-Replayed: true`, and changes nothing. The key with another "
                   "request → 422 `idempotency_key_reused`; while the first still runs → 409 "
                   "`idempotency_in_progress`. Errors are not kept: a retry runs again.",
}


def idempotent(view):
    """Run view at most once per Idempotency-Key of the caller. Without the header (or for an
    anonymous caller) it is the view itself, at no extra statement."""
    @wraps(view)
    def once(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None or request.method not in METHODS or current_user is None:
            return view(*args, **kwargs)
        return _run_once(key, view, args, kwargs)
    return once


def _run_once(key: str, view, args, kwargs):
    if not _VALID_KEY.fullmatch(key):
        raise ValidationFailed({HEADER: ["Must be 1 to 255 printable ASCII characters."]})
    user_id = current_user.id
    fingerprint = (request.method, request.path, _body_digest())
    replay = _claim(user_id, key, fingerprint)
    if replay is not None:
        return replay
    try:
        response = current_app.make_response(view(*args, **kwargs))
    except BaseException:
        db.session.rollback()
        _release(user_id, key)
        raise
    if 200 <= response.status_code < 300:
        _store(user_id, key, response)
    else:
        _release(user_id, key)
    return response


def _body_digest() -> str:
    """The body's SHA-256; of a multipart body, of its fields and files as parsed (its files
    wait on disk: reading the raw body would hold all of it in memory, and its boundary is
    random, so a client's retry would never match)."""
    digest = hashlib.sha256()
    if request.mimetype != "multipart/form-data":
        digest.update(request.get_data())
        return digest.hexdigest()
    for name, value in sorted(request.form.items(multi=True)):
        digest.update(f"{len(name)}:{name}={len(value)}:{value};".encode())
    for name, file in sorted(request.files.items(multi=True), key=lambda item: item[0]):
        filename = file.filename or ""
        digest.update(f"{len(name)}:{name}={len(filename)}:{filename};".encode())
        while piece := file.stream.read(64 * 1024):
            digest.update(piece)
        file.stream.seek(0)
    return digest.hexdigest()


def _claim(user_id: int, key: str, fingerprint: tuple) -> Response | None:
    """None once this request holds the key; else the stored answer to replay (or an error)."""
    method, path, body_hash = fingerprint
    for _ in range(3):  # a row released or expired under us: claim again
        db.session.add(IdempotencyKey(user_id=user_id, key=key, method=method, path=path,
                                      body_hash=body_hash))
        try:
            db.session.commit()
            return None
        except IntegrityError:
            db.session.rollback()
        row = db.session.scalar(select(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.key == key))
        if row is None:
            continue
        if row.created_at <= _cutoff():
            db.session.execute(delete(IdempotencyKey).where(
                IdempotencyKey.id == row.id, IdempotencyKey.created_at <= _cutoff()))
            db.session.commit()
            continue
        if (row.method, row.path, row.body_hash) != fingerprint:
            raise Unprocessable("This Idempotency-Key was used for another request.",
                                code="idempotency_key_reused")
        if row.status == IDEMPOTENCY_IN_PROGRESS:
            raise Conflict("A request with this Idempotency-Key is still running.",
                           code="idempotency_in_progress")
        db.session.rollback()  # nothing to keep open while the answer goes out
        return _replay(row)
    raise Conflict("A request with this Idempotency-Key is still running.",
                   code="idempotency_in_progress")


def _replay(row: IdempotencyKey) -> Response:
    response = Response(row.response_body, status=row.response_status,
                        headers=row.response_headers or {})
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _where(user_id: int, key: str):
    return IdempotencyKey.user_id == user_id, IdempotencyKey.key == key


def _store(user_id: int, key: str, response: Response) -> None:
    headers = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
    db.session.execute(update(IdempotencyKey).where(*_where(user_id, key)).values(
        status=IDEMPOTENCY_DONE, response_status=response.status_code,
        response_body=response.get_data(as_text=True), response_headers=headers))
    db.session.commit()


def _release(user_id: int, key: str) -> None:
    """Give the key back after a failure, so a retry runs."""
    try:
        db.session.execute(delete(IdempotencyKey).where(
            *_where(user_id, key), IdempotencyKey.status == IDEMPOTENCY_IN_PROGRESS))
        db.session.commit()
    except Exception:  # the database went away: the key stays taken until it expires
        db.session.rollback()
        log.exception("could not release an idempotency key")


def _cutoff():
    return utcnow() - current_app.config["IDEMPOTENCY_KEY_TTL"]


def delete_expired() -> int:
    """Drop the keys older than IDEMPOTENCY_KEY_TTL -> how many."""
    deleted = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at <= _cutoff()))
    db.session.commit()
    return deleted.rowcount
