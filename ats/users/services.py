"""Accounts as admins and companies run them: listing and finding users, changing a member's
role, deactivating and reactivating.

One service, change_account, changes an account's role or state whoever asks: the members
route, the users route and `flask ats users`.
"""
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import aliased

from ats.auth import sessions
from ats.common import sync
from ats.common.access import get_or_404, user_visible_or_404
from ats.common.db import contains, utcnow
from ats.common.pagination import keyset_page
from ats.errors import Conflict, NotFound, ValidationFailed
from ats.extensions import db
from ats.models import HIRING_MANAGER, RECRUITER, Company, Job, User, job_hiring_managers
from ats.notifications import outbox



def list_users(args: dict) -> dict:
    """Every account (admins), newest first, filtered."""
    stmt = select(User)
    if "role" in args:
        stmt = stmt.where(User.role == args["role"])
    if "company_id" in args:
        stmt = stmt.where(User.company_id == args["company_id"])
    if "is_active" in args:
        stmt = stmt.where(User.is_active == args["is_active"])
    if args.get("q"):
        stmt = stmt.where(or_(contains(User.name, args["q"]), contains(User.email, args["q"])))
    return keyset_page(stmt, User.id, args["limit"], args.get("cursor"))


def get_user(viewer: User, user_id: int) -> User:
    return user_visible_or_404(user_id, viewer)


def user_by_email(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        raise NotFound(f"No user has the email {email}.")
    return user


def set_active(actor: User | None, user: User, active: bool) -> User:
    """An admin's (or the shell's, actor None) deactivation or reactivation of any account."""
    if actor is not None and actor.id == user.id and not active:
        raise ValidationFailed({"is_active": ["You cannot deactivate yourself."]})
    if user.erased_at is not None and active:  # erasing is final
        raise ValidationFailed({"is_active": ["An erased account stays inactive."]})
    return change_account(user, is_active=active)


def set_active_by_id(actor: User, user_id: int, active: bool) -> User:
    return set_active(actor, get_or_404(User, user_id), active)


def _last_recruiter() -> Conflict:
    return Conflict("The company's last active recruiter can be neither demoted nor "
                    "deactivated: make another member recruiter first.", code="last_recruiter")


def _keeps_a_recruiter(user: User):
    """SQL condition for the row being updated: it is no active recruiter, or another active
    recruiter of its company remains. Read by the UPDATE itself, so no other writer can slip
    between the check and the change."""
    other = aliased(User)
    another = select(other.id).where(
        other.company_id == user.company_id, other.role == RECRUITER, other.is_active,
        other.id != user.id).exists()
    return or_(User.role != RECRUITER, ~User.is_active, another)


def _lock_company(company_id: int) -> None:
    """Serialise the changes to one company's members until commit.

    PostgreSQL (read committed) would let two transactions each deactivate one of the last
    two recruiters, each seeing the other still active; with the company row locked the
    second waits and its UPDATE then reads the first one's outcome. FOR NO KEY UPDATE, so
    rows that merely reference the company (a new job, an application) need not wait.
    SQLite renders no FOR UPDATE: it runs one writer at a time, and the conditional UPDATE
    reads the data as that writer left it.
    """
    db.session.execute(select(Company.id).where(Company.id == company_id)
                       .with_for_update(key_share=True))


def _leave_jobs(user_id: int) -> None:
    """Off every job the user was assigned to; those jobs changed (stamped at the commit)."""
    assigned = select(job_hiring_managers.c.job_id).where(job_hiring_managers.c.user_id == user_id)
    jobs = db.session.scalars(update(Job).where(Job.id.in_(assigned)).values(updated_at=utcnow())
                              .returning(Job.id).execution_options(synchronize_session=False))
    sync.changed(Job, jobs.all())
    db.session.execute(delete(job_hiring_managers).where(job_hiring_managers.c.user_id == user_id))


def change_account(user: User, *, role: str | None = None, is_active: bool | None = None) -> User:
    """Set a member's role and an account's state, with all that follows, in one transaction.

    - Deactivating ends every session of the user at once (tokens and logins answer 401),
      takes them off every job assignment and fails the mail still pending to them
      ("recipient deactivated"); history keeps their name.
    - A hiring manager made recruiter leaves their jobs too: a job names hiring managers only.
    - The company's last active recruiter can be neither demoted nor deactivated (409
      last_recruiter), also when two such changes race.
    - Reactivating lets the user log in again; their old sessions and jobs stay gone.
    """
    role = user.role if role is None else role
    active = user.is_active if is_active is None else is_active
    changes = {name: value for name, value in (("role", role), ("is_active", active))
               if value != getattr(user, name)}
    if not changes:
        return user
    deactivating, was_manager = user.is_active and not active, user.role == HIRING_MANAGER
    change = update(User).where(User.id == user.id).values(**changes)
    if user.company_id is not None and not (role == RECRUITER and active):
        _lock_company(user.company_id)
        change = change.where(_keeps_a_recruiter(user))
    if db.session.execute(change.execution_options(synchronize_session=False)).rowcount != 1:
        db.session.rollback()
        raise _last_recruiter()
    if was_manager and not (active and role == HIRING_MANAGER):
        _leave_jobs(user.id)
    if deactivating:
        outbox.fail_pending_to(user.id)
        sessions.end_all(user.id, sessions.DEACTIVATED)  # commits it all, in one transaction
    else:
        db.session.commit()
    return user  # expired by the commit: its answer reads the row as it now is
