"""A candidate's data: exported to them, or erased (by themself, an admin or the retention run).

Erasure keeps the hiring record and removes the person. The applications, their stages and
every history entry with its time stay, so reports keep their numbers; the comments and
scorecards the staff wrote stay too (the company's records, not the candidate's). What the
candidate gave or is identified by goes, in one transaction: name and email (an undeliverable
placeholder), password, profile, cover letters, the notes of their own moves, every file of
their applications with its bytes, their sessions, password resets and idempotency keys (which
hold answers naming them); the mail still pending to them fails, and their address leaves every
notification; the webhook events that carried their data keep only their type and time (their
pending deliveries fail). The row records who erased it and when. Erasing is final; erasing again changes
nothing.
"""
from calendar import monthrange
from datetime import datetime

from sqlalchemy import and_, delete, exists, func, not_, null, or_, select, update
from sqlalchemy.orm import joinedload

from ats import workflow
from ats.applications.services import history_entry_shown
from ats.attachments import services as attachments
from ats.auth import sessions
from ats.common import sync
from ats.common.access import get_or_404
from ats.common.db import utcnow
from ats.errors import ValidationFailed
from ats.extensions import db
from ats.interviews import services as interviews
from ats.models import (CANDIDATE, Application, ApplicationHistory, Attachment, IdempotencyKey,
                        Interview, Job, Notification, PasswordReset, User)
from ats.notifications import outbox
from ats.notifications.mail import RECIPIENT_ERASED
from ats.webhooks import events as webhook_events

ERASED_NAME = "Erased candidate"
# never a valid argon2 hash: no password verifies against it
UNUSABLE_PASSWORD = "!erased"


def placeholder_email(user_id: int) -> str:
    """Unique (it names the id) and undeliverable: .invalid is reserved (RFC 2606)."""
    return f"erased-{user_id}@erased.invalid"


# --- export ------------------------------------------------------------------------------

def export(user: User) -> dict:
    """Everything held about the candidate, in a constant number of queries: the account, each
    application with its job's title and company, its history (no staff notes, no rejection
    reasons), interviews, files (metadata and download path), and the mail addressed to them.
    Nothing internal: no comments, scorecards, rejection reasons or other people's emails."""
    now = utcnow()
    applications = db.session.scalars(
        select(Application).where(Application.candidate_id == user.id)
        .order_by(Application.id)
        .options(joinedload(Application.job).joinedload(Job.company))).all()
    ids = [application.id for application in applications]
    history = _by_application(db.session.scalars(
        select(ApplicationHistory).where(ApplicationHistory.application_id.in_(ids))
        .order_by(ApplicationHistory.id).options(joinedload(ApplicationHistory.changed_by))))
    meetings = _by_application(db.session.scalars(
        select(Interview).where(Interview.application_id.in_(ids))
        .order_by(Interview.starts_at, Interview.id).options(*interviews.WITH_PEOPLE)))
    files = _by_application(db.session.scalars(
        select(Attachment).where(Attachment.application_id.in_(ids))
        .order_by(Attachment.id).options(*attachments.WITH_UPLOADER)))
    notifications = db.session.scalars(
        select(Notification).where(Notification.recipient_id == user.id)
        .order_by(Notification.id)).all()
    return {
        "exported_at": now,
        "user": user,
        "applications": [{
            "id": application.id, "job_id": application.job_id,
            "job_title": application.job.title, "company_id": application.company_id,
            "company_name": application.job.company.name, "stage": application.stage,
            "cover_letter": application.cover_letter, "created_at": application.created_at,
            "updated_at": application.updated_at,
            "history": [_own_entry(row, user) for row in history.get(application.id, [])],
            "interviews": [interviews.shown(meeting, now)
                           for meeting in meetings.get(application.id, [])],
            "attachments": [_file(attachment) for attachment in files.get(application.id, [])],
        } for application in applications],
        "notifications": notifications,
    }


def _by_application(rows) -> dict:
    grouped = {}
    for row in rows:
        grouped.setdefault(row.application_id, []).append(row)
    return grouped


def _own_entry(row: ApplicationHistory, user: User) -> dict:
    """A history entry as its candidate sees it, plus the note of a move they made
    themselves (their own words, never the staff's)."""
    entry = history_entry_shown(row, to_candidate=True)
    if row.changed_by_id == user.id:
        entry["note"] = row.note
    return entry


def _file(attachment: Attachment) -> Attachment:
    attachment.download_path = f"/api/attachments/{attachment.id}"
    return attachment


# --- erasure -----------------------------------------------------------------------------

def erase_me(user: User) -> None:
    """DELETE /api/auth/me: the candidate erases themself (the route admits candidates only)."""
    erase(user.id, erased_by=user)


def erase_user(admin: User, user_id: int) -> None:
    """POST /api/users/{id}/erase: a candidate → erased (again: nothing changes); anyone
    else → 422."""
    user = get_or_404(User, user_id)
    if user.role != CANDIDATE:
        raise ValidationFailed({"user_id": ["Only a candidate's account can be erased."]})
    erase(user.id, erased_by=admin)


def erase(user_id: int, erased_by: User | None) -> bool:
    """Erase the candidate user_id (erased_by None: the retention run) -> whether this call
    did it (False: erased already, also by a concurrent erasure: the row's compare-and-set
    lets exactly one through, and the other changes nothing). Every statement is an indexed
    lookup by the candidate or their applications."""
    address = db.session.scalar(select(User.email).where(User.id == user_id))
    placeholder = placeholder_email(user_id)
    claimed = db.session.execute(
        update(User)
        .where(User.id == user_id, User.role == CANDIDATE, User.erased_at.is_(None))
        .values(name=ERASED_NAME, email=placeholder, password_hash=UNUSABLE_PASSWORD,
                is_active=False, phone=None, headline=None, location=None, links=null(),
                erased_at=utcnow(), erased_by_id=erased_by.id if erased_by else None)
        .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        db.session.rollback()
        return False
    own_applications = select(Application.id).where(Application.candidate_id == user_id)
    # stages and times stay; the cover letters and the files go (the count with them). Every
    # one changed for a syncing client: its candidate card is now the erased one.
    changed = db.session.scalars(
        update(Application).where(Application.candidate_id == user_id)
        .values(cover_letter=None, attachment_count=0)
        .returning(Application.id).execution_options(synchronize_session=False)).all()
    sync.changed(Application, changed)
    db.session.execute(  # the candidate's words on their own moves (a withdrawal's note)
        update(ApplicationHistory)
        .where(ApplicationHistory.application_id.in_(own_applications),
               ApplicationHistory.changed_by_id == user_id, ApplicationHistory.note.is_not(None))
        .values(note=None).execution_options(synchronize_session=False))
    outbox.fail_pending_to(user_id, RECIPIENT_ERASED)
    outbox.scrub_addressed_to(user_id, address, placeholder)
    webhook_events.scrub_candidate(user_id)  # the payloads that carried their data
    db.session.execute(delete(PasswordReset).where(PasswordReset.user_id == user_id))
    db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.user_id == user_id))
    attachments.delete_all_of_candidate(user_id)  # last: S3 is asked only once all else is done
    sessions.end_all(user_id, sessions.ERASED)  # commits it all, in one transaction
    return True


# --- retention ---------------------------------------------------------------------------

def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time months earlier (the month's last day where it is shorter)."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _ended_before(cutoff: datetime):
    """SQL condition on a user: a candidate not erased, whose account is older than cutoff
    and each of whose applications (none too) reached a final stage before it."""
    still_open = and_(Application.candidate_id == User.id, or_(
        Application.stage.not_in(workflow.FINAL_STAGES),
        exists().where(ApplicationHistory.application_id == Application.id,
                       ApplicationHistory.to_stage.in_(workflow.FINAL_STAGES),
                       ApplicationHistory.changed_at >= cutoff)))
    return and_(User.role == CANDIDATE, User.erased_at.is_(None), User.created_at < cutoff,
                not_(exists().where(still_open)))


def retention_count(cutoff: datetime) -> int:
    return db.session.scalar(select(func.count()).select_from(User).where(_ended_before(cutoff)))


def retention_batch(cutoff: datetime, after_id: int, size: int) -> list[int]:
    """The next size candidates due for erasure, by id after after_id."""
    ids = db.session.scalars(select(User.id).where(_ended_before(cutoff), User.id > after_id)
                             .order_by(User.id).limit(size)).all()
    db.session.rollback()  # end the read: each erasure is a transaction of its own
    return ids
