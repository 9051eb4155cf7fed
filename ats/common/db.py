"""Column types and helpers shared by the models and the services."""
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import TypeDecorator

from ats.errors import Conflict
from ats.extensions import db


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@contextmanager
def conflict_if_lost(conflict):
    """Around the flushes and the commit of a write a constraint guards (a unique email, one
    application per job, no job deleted under its applications): the IntegrityError of a row
    a concurrent request won becomes conflict, a Conflict or a function making one once the
    winner's row can be read (None: a generic one)."""
    try:
        yield
    except IntegrityError:
        db.session.rollback()
        error = conflict() if callable(conflict) else conflict
        raise error or Conflict("The request conflicts with existing data.") from None


def contains(column, text: str):
    """Case-insensitive "text anywhere in column", its own % and _ taken literally
    (ILIKE on PostgreSQL, lower() LIKE lower() on SQLite)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime on every database (SQLite hands back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime: use ats.common.db.utcnow()")
            value = value.astimezone(timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """SQLite ignores foreign keys unless asked, and should wait for a lock, not fail."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 10000")
        cursor.close()
