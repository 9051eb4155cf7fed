"""Applying, the pipeline and its history. Legal moves come from ats.workflow only."""
from contextlib import nullcontext

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload, selectinload

from ats import workflow
from ats.attachments import services as attachments
from ats.common import sync
from ats.common.access import (application_visible_or_404, can_move_application,
                               can_see_pipeline, is_candidate, job_visible_or_404, require,
                               shows_candidate, visible_applications)
from ats.common.db import conflict_if_lost, utcnow
from ats.common.pagination import keyset_page, time_keyset_page
from ats.errors import Conflict, NotFound
from ats.extensions import db
from ats.interviews import services as interviews
from ats.models import Application, ApplicationHistory, Job, User
from ats.notifications import outbox
from ats.reports import stays
from ats.webhooks import events


# a candidate's card on an application: the columns it shows, for a whole page in one query
WITH_CANDIDATES = (selectinload(Application.candidate).load_only(
    User.id, User.name, User.email, User.role, User.phone, User.headline, User.location,
    User.links),)


def _shown_to(user: User, application: Application) -> Application:
    """The application as user may see it: staff and admins see who applied (the card is
    read now, so the answer needs nothing loaded after a commit)."""
    if shows_candidate(user, application):
        candidate = application.candidate
        application.candidate_card = {"id": candidate.id, "name": candidate.name,
                                      "email": candidate.email, "profile": candidate.profile}
    return application


def _loading_candidate(user: User) -> tuple:
    """For one application staff will see: its candidate in the same query."""
    return () if is_candidate(user) else (joinedload(Application.candidate),)


def _page_shown_to(user: User, page: dict) -> dict:
    for application in page["items"]:
        _shown_to(user, application)
    return page


def _already_applied() -> Conflict:
    return Conflict("You have already applied to this job.", code="already_applied")


def apply(user: User, job_id: int, data: dict) -> Application:
    # the job and whether this candidate already applied to it, in one round trip
    applied = select(Application.id).where(
        Application.candidate_id == user.id, Application.job_id == job_id).exists()
    found = db.session.execute(select(Job, applied).where(Job.id == job_id)).first()
    if found is None:
        raise NotFound(f"Job {job_id} not found.")
    job, already_applied = found
    if not job.is_open:
        raise Conflict("The job is closed and takes no applications.", code="job_closed")
    if already_applied:
        raise _already_applied()
    resume = data.get("resume") and attachments.judge(data["resume"], "resume")  # 413, 415
    now = utcnow()  # the application and its first history entry are one moment
    application = Application(job=job, job_id=job.id, company_id=job.company_id, candidate=user,
                              stage=workflow.INITIAL, cover_letter=data.get("cover_letter"),
                              attachment_count=1 if resume else 0, created_at=now)
    db.session.add(application)
    entry = ApplicationHistory(application=application, from_stage=None,
                               to_stage=workflow.INITIAL, changed_by_id=user.id, changed_at=now)
    db.session.add(entry)
    stays.opened(application, entry)
    with conflict_if_lost(_already_applied):  # the same candidate applying twice at once: one wins
        notifications = outbox.record_new_application(application)  # flushes: may lose the race
        events.application_event(events.APPLICATION_CREATED, application)
        # in the same transaction: no application without its résumé, nor the reverse
        with attachments.stored(resume, application, user) if resume else nullcontext():
            _commit_keeping(application)
    outbox.dispatch(notifications)
    events.dispatch()
    return application


def _commit_keeping(application: Application) -> None:
    """Commit, keeping application as it was written: the answer needs no SELECT afterwards.

    A detached object is not expired by the commit; every column it answers is loaded.
    """
    db.session.expunge(application)
    db.session.commit()


def _filtered(stmt, args: dict):
    if "job_id" in args:
        stmt = stmt.where(Application.job_id == args["job_id"])
    if "stage" in args:
        stmt = stmt.where(Application.stage == args["stage"])
    return stmt


def list_for_job(user: User, job_id: int, args: dict) -> dict:
    job = job_visible_or_404(job_id, user)
    require(can_see_pipeline(user, job.company_id))
    stmt = _filtered(select(Application).where(Application.job_id == job.id), args)
    return _page_shown_to(user, keyset_page(stmt, Application.id, args["limit"], args.get("cursor"),
                                            options=WITH_CANDIDATES))


def list_applications(user: User, args: dict) -> dict:
    stmt = select(Application)
    if (condition := visible_applications(user)) is not None:
        stmt = stmt.where(condition)
    options = () if is_candidate(user) else WITH_CANDIDATES  # a candidate's are all their own
    stmt = _filtered(stmt, args)
    if "updated_since" in args:  # incremental sync (ats.common.sync)
        return _page_shown_to(user, time_keyset_page(
            stmt.where(Application.updated_at >= args["updated_since"]), Application.updated_at,
            Application.id, args["limit"], args.get("cursor"), options=options))
    return _page_shown_to(user, keyset_page(stmt, Application.id, args["limit"],
                                            args.get("cursor"), options=options))


def get_application(user: User, application_id: int) -> Application:
    return _shown_to(user, application_visible_or_404(application_id, user,
                                                      _loading_candidate(user)))


def change_stage(user: User, application_id: int, to_stage: str, note: str | None = None, *,
                 reason: str | None = None, expected_stage: str | None = None) -> Application:
    """Move the application; the table in ats.workflow decides whether user's role may.

    expected_stage: the stage the caller saw; if the application has left it, 409
    stage_conflict and nothing changes (also when another move wins the race meanwhile).
    """
    application = application_visible_or_404(application_id, user, _loading_candidate(user))
    require(can_move_application(user, application))
    from_stage = application.stage
    workflow.check_expected(expected_stage, from_stage)
    workflow.check_change(from_stage, to_stage, user.role, reason)
    # Compare-and-set: of concurrent moves only the one that still finds from_stage wins.
    # The ORM sets the new stage on the loaded application too; the commit, its updated_at.
    moved = db.session.execute(
        update(Application)
        .where(Application.id == application.id, Application.stage == from_stage)
        .values(stage=to_stage, updated_at=utcnow())
    ).rowcount
    if moved != 1:
        db.session.rollback()
        current = db.session.scalar(select(Application.stage).where(Application.id == application.id))
        workflow.check_expected(expected_stage, current)
        raise workflow.InvalidTransition(
            current, to_stage, user.role, f"The application was moved to {current} meanwhile; reload it.")
    sync.changed(Application, [application.id], [application])
    now = utcnow()  # the move's entry, and the end of the stay it closes
    move = ApplicationHistory(application_id=application.id, from_stage=from_stage,
                              to_stage=to_stage, changed_by_id=user.id, note=note, reason=reason,
                              changed_at=now)
    db.session.add(move)
    stays.close(application.id, now)
    stays.opened(application, move)
    # the candidate's own move (a withdrawal) is news for the staff; a staff move, for the candidate
    notifications = (outbox.record_withdrawal(application, move) if is_candidate(user)
                     else outbox.record_stage_change(application, move))
    events.application_event(events.APPLICATION_WITHDRAWN if is_candidate(user)
                             else events.APPLICATION_STAGE_CHANGED, application, move, user)
    if workflow.is_final(to_stage):  # hired, rejected or withdrawn: nobody is to be interviewed
        notifications += interviews.cancel_upcoming(application, utcnow())
    _shown_to(user, application)
    _commit_keeping(application)
    outbox.dispatch(notifications)
    events.dispatch()
    return application


def history(user: User, application_id: int) -> dict:
    application = application_visible_or_404(application_id, user)
    to_candidate = is_candidate(user)
    rows = db.session.scalars(
        select(ApplicationHistory)
        .where(ApplicationHistory.application_id == application.id)
        .order_by(ApplicationHistory.id)
        .options(joinedload(ApplicationHistory.changed_by))
    ).all()
    return {"items": [history_entry_shown(row, to_candidate) for row in rows]}


def history_entry_shown(row: ApplicationHistory, to_candidate: bool) -> dict:
    """A history entry as its reader sees it: the candidate sees no note and no rejection's
    reason (its changed_by must be loaded)."""
    return {"id": row.id, "from_stage": row.from_stage, "to_stage": row.to_stage,
            "changed_by": row.changed_by, "changed_at": row.changed_at,
            "note": None if to_candidate else row.note,
            "reason": workflow.reason_shown(row.to_stage, row.reason, to_candidate)}
