"""Representative callers and inputs, picked from a loaded database, for the load benchmark
(bench/run.py) and the plan check (bench/explain.py).

Call inside an app context. Tokens come from a session started directly: logging in is
measured on its own, and its password hash would bound every other scenario.
"""
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from ats import volume, workflow
from ats.auth import services as accounts, sessions
from ats.common.db import utcnow
from ats.common.pagination import _serializer as cursor_signer  # the API's own cursor format
from ats.extensions import db
from ats.models import (ADMIN, CANDIDATE, HIRING_MANAGER, RECRUITER, Application,
                        ApplicationHistory, Interview, InterviewInterviewer, Job, User)
from ats.seed import PASSWORD

ADMIN_EMAIL = "bench-admin@bench.example"


def bearer(user: User) -> dict:
    return {"Authorization": f"Bearer {sessions.start(user)['access_token']}"}


def cursor_after(last_id: int) -> str:
    """The next_cursor a page ending at last_id would give."""
    return cursor_signer().dumps(last_id)


def _middle(stmt, id_column):
    """The id halfway down stmt's rows, newest first: where a deep page starts."""
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    return db.session.scalar(stmt.with_only_columns(id_column).order_by(id_column.desc())
                             .offset(total // 2).limit(1))


def _staff(company_id: int, role: str) -> User:
    return db.session.scalar(select(User).where(User.company_id == company_id, User.role == role)
                             .order_by(User.id).limit(1))


@dataclass
class Actors:
    company_id: int  # the company with the most applications
    small_company_id: int  # the one with the fewest
    job_id: int  # the largest company's busiest job
    application_id: int  # one of the largest company's applications, with a long history
    recruiter: dict  # Authorization headers
    hiring_manager: dict
    small_recruiter: dict
    candidate: dict  # the candidate with the most applications
    admin: dict
    company_deep: str  # cursors halfway down the lists they name
    company_stage_deep: str
    all_deep: str
    jobs_deep: str
    interviewer: dict  # the staff member with the most interviews
    interviewing_application_id: int  # an application with interviews
    agenda_deep: str  # the company's agenda halfway down, as the API's (starts_at, id) cursor
    agenda_week: str  # from=…&to=… a week ahead of now


def time_cursor_after(interview: Interview) -> str:
    return cursor_signer().dumps([interview.starts_at.isoformat(), interview.id])


def _interview_actors(company_id: int) -> dict:
    interviewer_id = db.session.scalar(
        select(InterviewInterviewer.user_id).group_by(InterviewInterviewer.user_id)
        .order_by(func.count().desc(), InterviewInterviewer.user_id).limit(1))
    company = select(Interview).where(Interview.company_id == company_id)
    total = db.session.scalar(select(func.count()).select_from(company.subquery()))
    middle = db.session.scalar(company.order_by(Interview.starts_at, Interview.id)
                               .offset(total // 2).limit(1))
    application_id = db.session.scalar(
        select(Interview.application_id).where(Interview.company_id == company_id)
        .order_by(Interview.id).limit(1))
    now = utcnow().replace(microsecond=0)
    week = (f"from={now.isoformat()}&to={(now + timedelta(days=7)).isoformat()}"
            .replace("+", "%2B"))
    return {"interviewer": bearer(db.session.get(User, interviewer_id)),
            "interviewing_application_id": application_id,
            "agenda_deep": time_cursor_after(middle), "agenda_week": week}


def actors() -> Actors:
    per_company = db.session.execute(
        select(Application.company_id, func.count()).group_by(Application.company_id)
        .order_by(func.count().desc(), Application.company_id)).all()
    company_id, small_company_id = per_company[0][0], per_company[-1][0]
    job_id = db.session.scalar(
        select(Application.job_id).where(Application.company_id == company_id)
        .group_by(Application.job_id).order_by(func.count().desc()).limit(1))
    application_id = db.session.scalar(
        select(ApplicationHistory.application_id).join(Application)
        .where(Application.company_id == company_id)
        .group_by(ApplicationHistory.application_id).order_by(func.count().desc()).limit(1))
    candidate_id = db.session.scalar(
        select(Application.candidate_id).group_by(Application.candidate_id)
        .order_by(func.count().desc()).limit(1))
    admin = (db.session.scalar(select(User).where(User.email == ADMIN_EMAIL))
             or accounts.create_user(name="Bench Admin", email=ADMIN_EMAIL, password=PASSWORD,
                                     role=ADMIN))
    company_rows = select(Application).where(Application.company_id == company_id)
    return Actors(
        company_id=company_id, small_company_id=small_company_id, job_id=job_id,
        application_id=application_id,
        recruiter=bearer(_staff(company_id, RECRUITER)),
        hiring_manager=bearer(_staff(company_id, HIRING_MANAGER)),
        small_recruiter=bearer(_staff(small_company_id, RECRUITER)),
        candidate=bearer(db.session.get(User, candidate_id)),
        admin=bearer(admin),
        company_deep=cursor_after(_middle(company_rows, Application.id)),
        company_stage_deep=cursor_after(_middle(
            company_rows.where(Application.stage == workflow.REJECTED), Application.id)),
        all_deep=cursor_after(_middle(select(Application), Application.id)),
        jobs_deep=cursor_after(_middle(select(Job).where(Job.status == "open"), Job.id)),
        **_interview_actors(company_id),
    )


def company_application_ids(company_id: int, count: int) -> list[int]:
    return db.session.scalars(select(Application.id).where(Application.company_id == company_id)
                              .order_by(func.random()).limit(count)).all()


def fresh_candidates(count: int) -> list[User]:
    """count new candidates with no applications yet (bulk: one password hash for all)."""
    volume.load(volume.plan(applications=0, candidates=count))
    return db.session.scalars(select(User).where(User.role == CANDIDATE)
                              .order_by(User.id.desc()).limit(count)).all()


def open_job_ids(count: int) -> list[int]:
    return db.session.scalars(select(Job.id).where(Job.status == "open")
                              .order_by(Job.id.desc()).limit(count)).all()


def movable_applications(count: int) -> list[tuple[int, str, dict]]:
    """(application id, its next stage, a recruiter's headers) for applications still open,
    newest first: each can take one step forward."""
    recruiters = {}
    rows = db.session.execute(
        select(Application.id, Application.stage, Application.company_id)
        .where(Application.stage.in_([s for s in workflow.STAGES if not workflow.is_final(s)]))
        .order_by(Application.id.desc()).limit(count)).all()
    moves = []
    for application_id, stage, company_id in rows:
        if company_id not in recruiters:
            recruiters[company_id] = bearer(_staff(company_id, RECRUITER))
        onward = [s for s in workflow.allowed_moves(stage, RECRUITER) if s != workflow.REJECTED]
        moves.append((application_id, onward[0], recruiters[company_id]))
    return moves
