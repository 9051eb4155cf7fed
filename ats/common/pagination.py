"""Keyset pagination by id (newest first, or oldest first), with a signed, opaque cursor."""
from flask import current_app
from itsdangerous import BadData, URLSafeSerializer

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
    stmt = stmt.order_by(order).limit(limit + 1).options(*options)
    rows = db.session.scalars(stmt).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": _serializer().dumps(rows[-1].id) if has_more else None}
