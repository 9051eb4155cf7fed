"""The reports' summary of the history (stage_stays), kept true in the transaction of every
entry: an application's creation opens its first stay, each move closes the open one and opens
the next. rebuild() derives the same rows from the history alone (LEAD over each application's
entries): the bulk load and anyone who rewrote history timestamps call it."""
from datetime import datetime

from sqlalchemy import Float, cast, delete, func, insert, literal, select, text, update

from ats.common.db import UTCDateTime
from ats.extensions import db
from ats.models import Application, ApplicationHistory, StageStay

DAY = 86400.0


def seconds_between(later, earlier):
    """later - earlier in seconds, as a float, on either database."""
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(func.extract("epoch", later - earlier), Float)
    return (func.julianday(later) - func.julianday(earlier)) * DAY


def opened(application: Application, entry: ApplicationHistory) -> StageStay:
    """The stay an entry opens, added to the session (it is inserted after the entry)."""
    stay = StageStay(entry=entry, application=application, company_id=application.company_id,
                     job_id=application.job_id, applied_at=application.created_at,
                     from_stage=entry.from_stage, stage=entry.to_stage, reason=entry.reason,
                     entered_at=entry.changed_at)
    db.session.add(stay)
    return stay


def close(application_id: int, at: datetime) -> None:
    """End the application's open stay at `at` (the moment of the move that ends it)."""
    moment = literal(at, UTCDateTime)
    db.session.execute(update(StageStay).where(
        StageStay.application_id == application_id, StageStay.left_at.is_(None)).values(
        left_at=moment, seconds=seconds_between(moment, StageStay.entered_at)))


def rebuild(from_history_id: int = 1) -> None:
    """Replace the stays of the history entries from from_history_id on with what the history
    says (in the caller's transaction): the entries of those applications must all be there."""
    history, application = ApplicationHistory, Application
    left_at = func.lead(history.changed_at).over(partition_by=history.application_id,
                                                 order_by=history.id)
    entries = (select(history.id, history.application_id, application.company_id,
                      application.job_id, application.created_at, history.from_stage,
                      history.to_stage, history.reason, history.changed_at,
                      left_at.label("left_at"))
               .join(application, application.id == history.application_id)
               .where(history.id >= from_history_id).subquery("entries"))
    db.session.execute(delete(StageStay).where(StageStay.history_id >= from_history_id))
    db.session.execute(insert(StageStay).from_select(
        ["history_id", "application_id", "company_id", "job_id", "applied_at", "from_stage",
         "stage", "reason", "entered_at", "left_at", "seconds"],
        select(*entries.c, seconds_between(entries.c.left_at, entries.c.changed_at))))


def rebuild_all() -> int:
    """Every stay rebuilt from the history, committed -> how many there are. On PostgreSQL
    moves wait meanwhile: one committed during the rebuild would close a stay it deletes."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("LOCK TABLE application_history IN SHARE MODE"))
    rebuild()
    count = db.session.scalar(select(func.count()).select_from(StageStay))
    db.session.commit()
    return count
