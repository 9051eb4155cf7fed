"""Incremental sync: every job and application gets its updated_at in commit order.

Why: a request takes its timestamps before its transaction commits, so with freely taken
times a slow transaction could commit a row older than one a syncing client has already read
past: that change would be lost for it. Instead, each transaction that wrote jobs or
applications takes one stamp just before its COMMIT from the one-row table sync_clock
(UPDATE ... RETURNING: the row stays locked until the transaction ends) and gives it to the
rows it wrote. A stamp is max(the last one + 1 µs, now): strictly increasing, and taken only
once the previous holder has committed (PostgreSQL releases a row lock after the commit is
visible; SQLite has one writer at a time). So stamps grow in commit order, any snapshot that
sees a stamp sees every smaller one, and a row committed later always lands ahead of every
position a client holds (ats.common.pagination.time_keyset_page, from updated_since on).

Which writes count: the unit of work's inserts and updates of Job and Application objects
(their columns or, for a job, its hiring managers) are noticed at each flush; a bulk UPDATE
names its rows with changed(). Writers queue for the clock only for their last statements and
the COMMIT, never while a file uploads or mail is recorded; each writer changes its rows
before taking the clock, so waiting for it never holds a row another holder needs.
"""
from datetime import timedelta
from itertools import chain

from sqlalchemy import event, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ats.common.db import utcnow
from ats.extensions import db
from ats.models import Application, Job, SyncClock

SYNCED = (Job, Application)
_KEY = "ats.sync.changed"
_TICK = timedelta(microseconds=1)


def _changed_rows(session: Session) -> dict:
    return session.info.setdefault(_KEY, {})


def changed(model, ids, objects=()) -> None:
    """Rows of model (Job or Application) a bulk UPDATE changed: stamped at the commit, and
    objects (loaded copies of some of them) answer the stamp."""
    rows = _changed_rows(db.session).setdefault(model, {})
    for row_id in ids:
        rows.setdefault(row_id, None)
    for obj in objects:
        rows[obj.id] = obj


@event.listens_for(Session, "after_flush")
def _notice(session: Session, _context) -> None:
    for obj in chain(session.new, session.dirty):
        if isinstance(obj, SYNCED) and (obj in session.new or session.is_modified(obj)):
            _changed_rows(session).setdefault(type(obj), {})[obj.id] = obj


@event.listens_for(Session, "before_commit")
def _stamp(session: Session) -> None:
    session.flush()
    rows = session.info.pop(_KEY, None)
    if not rows:
        return
    stamp = _next_stamp(session)
    for model, by_id in rows.items():
        table = model.__table__
        session.execute(update(table).where(table.c.id.in_(sorted(by_id))).values(updated_at=stamp))
        for obj in by_id.values():
            if obj is not None:
                set_committed_value(obj, "updated_at", stamp)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    if transaction.parent is None:  # a savepoint's rollback keeps what came before it
        session.info.pop(_KEY, None)


def _next_stamp(session: Session):
    clock = SyncClock.__table__
    take = update(clock).where(clock.c.id == 1).values(at=clock.c.at).returning(clock.c.at)
    last = session.execute(take).scalar()
    if last is None:  # a fresh (or emptied) database: the first writer starts the clock
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(dialect.insert(clock).values(id=1, at=utcnow()).on_conflict_do_nothing())
        last = session.execute(take).scalar()
    stamp = max(last + _TICK, utcnow())
    session.execute(update(clock).where(clock.c.id == 1).values(at=stamp))
    return stamp
