"""Job postings: listing, posting, editing, deleting."""
from sqlalchemy import exists, select
from sqlalchemy.orm import selectinload

from ats.common.access import (assignable_managers_of, can_manage_job, is_admin,
                               job_visible_or_404, require, visible_jobs)
from ats.common.db import conflict_if_lost, contains, utcnow
from ats.common.pagination import keyset_page, time_keyset_page
from ats.errors import Conflict, ValidationFailed
from ats.extensions import db
from ats.models import Application, Company, Job, User
from ats.webhooks import events

# the list shows only the managers' ids: no need to load whole accounts (password hashes included)
WITH_MANAGERS = (selectinload(Job.hiring_managers).load_only(User.id),)


def list_jobs(user: User | None, args: dict) -> dict:
    stmt = select(Job)
    if (condition := visible_jobs(user)) is not None:
        stmt = stmt.where(condition)
    if "company_id" in args:
        stmt = stmt.where(Job.company_id == args["company_id"])
    if "status" in args:
        stmt = stmt.where(Job.status == args["status"])
    if args.get("q"):
        stmt = stmt.where(contains(Job.title, args["q"]))
    if "updated_since" in args:  # incremental sync (ats.common.sync)
        return time_keyset_page(stmt.where(Job.updated_at >= args["updated_since"]), Job.updated_at,
                                Job.id, args["limit"], args.get("cursor"), options=WITH_MANAGERS)
    return keyset_page(stmt, Job.id, args["limit"], args.get("cursor"), options=WITH_MANAGERS)


def get_job(user: User | None, job_id: int) -> Job:
    return job_visible_or_404(job_id, user)


def _hiring_managers(company_id: int, ids: list[int]) -> list[User]:
    wanted = set(ids)
    found = db.session.scalars(select(User).where(
        User.id.in_(wanted), assignable_managers_of(company_id))).all()
    missing = wanted - {user.id for user in found}
    if missing:
        raise ValidationFailed({"hiring_manager_ids": [
            f"Not active hiring managers of this company: {', '.join(map(str, sorted(missing)))}."]})
    return sorted(found, key=lambda user: user.id)


def _company_for_new_job(user: User, company_id: int | None) -> int:
    if is_admin(user):
        if company_id is None:
            raise ValidationFailed({"company_id": ["Admins must say which company posts the job."]})
        if db.session.get(Company, company_id) is None:
            raise ValidationFailed({"company_id": [f"Company {company_id} does not exist."]})
        return company_id
    if company_id not in (None, user.company_id):
        raise ValidationFailed({"company_id": ["Recruiters post jobs for their own company."]})
    return user.company_id


def create_job(user: User, data: dict) -> Job:
    company_id = _company_for_new_job(user, data.pop("company_id", None))
    managers = _hiring_managers(company_id, data.pop("hiring_manager_ids", []))
    job = Job(company_id=company_id, hiring_managers=managers, **data)
    db.session.add(job)
    events.job_event(events.JOB_CREATED, job)
    db.session.commit()
    events.dispatch()
    return job


def update_job(user: User, job_id: int, data: dict) -> Job:
    job = job_visible_or_404(job_id, user)
    require(can_manage_job(user, job))
    events.job_event(events.JOB_UPDATED, job, changed=list(data))  # as it is at the commit
    if "hiring_manager_ids" in data:
        job.hiring_managers = _hiring_managers(job.company_id, data.pop("hiring_manager_ids"))
    for field, value in data.items():
        setattr(job, field, value)
    # the row itself is rewritten (locked) even when only its managers change; the commit
    # gives it its final stamp (ats.common.sync)
    job.updated_at = utcnow()
    db.session.commit()
    events.dispatch()
    return job


def delete_job(user: User, job_id: int) -> None:
    job = job_visible_or_404(job_id, user)
    require(can_manage_job(user, job))
    has_applications = Conflict("The job has applications: close it instead.",
                                code="job_has_applications")
    if db.session.scalar(select(exists().where(Application.job_id == job.id))):
        raise has_applications
    with conflict_if_lost(has_applications):  # an application arrived meanwhile
        db.session.delete(job)
        db.session.commit()
