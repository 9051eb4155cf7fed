"""Keyset pagination by id (newest first, or oldest first), or by a time and id, with a signed,
opaque cursor."""
from datetime import datetime

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import literal, tuple_

from ats.errors import ValidationFailed
from ats.extensions import db


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="ats.cursor")


def _decode(cursor: str) -> int:
    try:
        last_id = _serializer().loads(cursor)
    except BadData:
        last_id = None
    if not isinstance(last_id, int) or isinstance(last_id, bool):
        raise ValidationFailed({"cursor": ["Invalid cursor."]})
    return last_id


def keyset_page(stmt, id_column, limit: int, cursor: str | None = None, options=(),
                ascending: bool = False) -> dict:
    """One page of stmt's rows, newest first (oldest first if ascending), as {items, next_cursor}.

    One query whatever the page size: the caller passes eager-load options for related rows.
    """
    if cursor:
        last_id = _decode(cursor)
        stmt = stmt.where(id_column > last_id if ascending else id_column < last_id)
    order = id_column.asc() if ascending else id_column.desc()
    return _page(stmt.order_by(order).options(*options), limit, lambda row: row.id)


def _page(stmt, limit: int, key_of) -> dict:
    """One more row than the page shows tells whether another page follows; its cursor is
    key_of(the page's last row), signed."""
    rows = db.session.scalars(stmt.limit(limit + 1)).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": _serializer().dumps(key_of(rows[-1])) if has_more else None}


def _decode_time_key(cursor: str) -> tuple[datetime, int]:
    try:
        at, last_id = _serializer().loads(cursor)
        at = datetime.fromisoformat(at)
    except (BadData, TypeError, ValueError):
        at = last_id = None
    if (at is None or at.tzinfo is None or not isinstance(last_id, int)
            or isinstance(last_id, bool)):
        raise ValidationFailed({"cursor": ["Invalid cursor."]})
    return at, last_id


def time_keyset_page(stmt, time_column, id_column, limit: int, cursor: str | None = None,
                     options=()) -> dict:
    """One page of stmt's rows by (time_column, id_column), earliest first, as {items,
    next_cursor}: the cursor carries both, so rows at the same time are neither skipped nor
    repeated. Each row (an ORM object) answers the pair as the attribute named like
    time_column (.starts_at, .updated_at) and .id. One query whatever the page size."""
    if cursor:
        at, last_id = _decode_time_key(cursor)
        stmt = stmt.where(tuple_(time_column, id_column) > tuple_(literal(at, time_column.type),
                                                                   literal(last_id)))
    stmt = stmt.order_by(time_column.asc(), id_column.asc()).options(*options)
    return _page(stmt, limit, lambda row: [getattr(row, time_column.key).isoformat(), row.id])
