"""ORM models: columns and relationships only. Services own every transaction."""
from datetime import datetime

from sqlalchemy import (JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String, Text,
                        UniqueConstraint, func, text, true)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ats import workflow
from ats.common.db import UTCDateTime, utcnow
from ats.extensions import db

CANDIDATE, RECRUITER, HIRING_MANAGER, ADMIN = "candidate", "recruiter", "hiring_manager", "admin"
ROLES = (CANDIDATE, RECRUITER, HIRING_MANAGER, ADMIN)
STAFF_ROLES = (RECRUITER, HIRING_MANAGER)

JOB_OPEN, JOB_CLOSED = "open", "closed"
JOB_STATUSES = (JOB_OPEN, JOB_CLOSED)

ATTACHMENT_KINDS = ("resume", "cover_letter", "portfolio", "other")

# stored; an interview answers "completed" once it is scheduled and its end has passed
INTERVIEW_SCHEDULED, INTERVIEW_CANCELLED, INTERVIEW_COMPLETED = "scheduled", "cancelled", "completed"
INTERVIEW_STATUSES = (INTERVIEW_SCHEDULED, INTERVIEW_CANCELLED)
RECOMMENDATIONS = ("strong_no", "no", "yes", "strong_yes")


def _one_of(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Company(db.Model):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    # casefolded name: "TechCorp" and "techcorp" are the same company
    name_key: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @staticmethod
    def key_for(name: str) -> str:
        """What makes two names one company: letter case and runs of spaces do not count."""
        return " ".join(name.casefold().split())


class User(db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_one_of("role", ROLES), name="role"),
        # staff belong to a company; candidates and admins do not
        CheckConstraint(f"(company_id IS NOT NULL) = ({_one_of('role', STAFF_ROLES)})",
                        name="staff_company"),
        Index("ix_users_company_id_id", "company_id", "id"),
        # the admins' list filters, newest first; `q` matches anywhere in the name or the
        # email: trigram indexes on PostgreSQL (plain ones elsewhere)
        Index("ix_users_role_id", "role", "id"),
        Index("ix_users_is_active_id", "is_active", "id"),
        Index("ix_users_name_search", "name", postgresql_using="gin",
              postgresql_ops={"name": "gin_trgm_ops"}),
        Index("ix_users_email_search", "email", postgresql_using="gin",
              postgresql_ops={"email": "gin_trgm_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"))
    # a deactivated user keeps their name in history but can neither log in nor get mail
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # a candidate's profile, shown to the staff of the companies they applied to
    phone: Mapped[str | None] = mapped_column(String(40))
    headline: Mapped[str | None] = mapped_column(String(200))
    location: Mapped[str | None] = mapped_column(String(200))
    links: Mapped[list[str] | None] = mapped_column(JSON)
    # an erased candidate (ats.privacy): when, and by whom: the candidate themself, an admin,
    # or null for the retention run
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    company: Mapped[Company | None] = relationship()

    @property
    def profile(self) -> dict | None:
        if self.role != CANDIDATE:
            return None
        return {"phone": self.phone, "headline": self.headline, "location": self.location,
                "links": self.links or []}

    def is_staff_of(self, company_id: int) -> bool:
        return self.role in STAFF_ROLES and self.company_id == company_id


job_hiring_managers = db.Table(
    "job_hiring_managers",
    db.Column("job_id", ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    db.Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True,
              index=True),
)


class Job(db.Model):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(_one_of("status", JOB_STATUSES), name="status"),
        Index("ix_jobs_status_id", "status", "id"),
        Index("ix_jobs_company_id_id", "company_id", "id"),
        # `q` matches anywhere in the title: a trigram index on PostgreSQL (a plain one elsewhere)
        Index("ix_jobs_title_search", "title", postgresql_using="gin",
              postgresql_ops={"title": "gin_trgm_ops"}),
        # updated_since (ats.common.sync): everything (admins), open jobs, a company's jobs
        Index("ix_jobs_updated_at_id", "updated_at", "id"),
        Index("ix_jobs_status_updated_at_id", "status", "updated_at", "id"),
        Index("ix_jobs_company_id_updated_at_id", "company_id", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default=JOB_OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    company: Mapped[Company] = relationship()
    hiring_managers: Mapped[list[User]] = relationship(secondary=job_hiring_managers,
                                                       order_by=User.id)

    @property
    def hiring_manager_ids(self) -> list[int]:
        return [user.id for user in self.hiring_managers]

    @property
    def is_open(self) -> bool:
        return self.status == JOB_OPEN


class Application(db.Model):
    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("candidate_id", "job_id"),
        CheckConstraint(_one_of("stage", workflow.STAGES), name="stage"),
        Index("ix_applications_job_id_id", "job_id", "id"),
        Index("ix_applications_company_id_id", "company_id", "id"),
        # the stage filter, newest first, for each kind of lister (admin, staff, one job)
        Index("ix_applications_stage_id", "stage", "id"),
        Index("ix_applications_company_id_stage_id", "company_id", "stage", "id"),
        Index("ix_applications_job_id_stage_id", "job_id", "stage", "id"),
        # updated_since (ats.common.sync) for admins, staff, candidates and one job
        Index("ix_applications_updated_at_id", "updated_at", "id"),
        Index("ix_applications_company_id_updated_at_id", "company_id", "updated_at", "id"),
        Index("ix_applications_candidate_id_updated_at_id", "candidate_id", "updated_at", "id"),
        Index("ix_applications_job_id_updated_at_id", "job_id", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    # the job's company, copied (a job never changes company) so staff lists use one index
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    candidate_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    stage: Mapped[str] = mapped_column(String(20), default=workflow.INITIAL)
    cover_letter: Mapped[str | None] = mapped_column(Text)
    # how many attachments it holds: raised by compare-and-set, so racing uploads keep the cap
    attachment_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    job: Mapped[Job] = relationship()
    candidate: Mapped[User] = relationship()


class SyncClock(db.Model):
    """One row: the last updated_at handed out (ats.common.sync). Writers of jobs and
    applications take it in turn, just before they commit."""

    __tablename__ = "sync_clock"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApplicationHistory(db.Model):
    """Append-only: one row per stage an application entered, its creation first."""

    __tablename__ = "application_history"
    __table_args__ = (Index("ix_application_history_application_id_id", "application_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str] = mapped_column(String(20))
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
    # why a final stage was reached (ats.workflow.REASONS): required for rejected
    reason: Mapped[str | None] = mapped_column(String(40))

    application: Mapped[Application] = relationship()
    changed_by: Mapped[User] = relationship()


# what the reports read beside the stage and its seconds: one index serves a whole report
_STAY_REPORTED = ("from_stage", "reason", "applied_at", "job_id", "entered_at")


class StageStay(db.Model):
    """The reports' summary of the history: one row per history entry, that is per stage an
    application entered, with when it left it (null while it is there) and how many seconds
    it stayed. Written in the transaction of the entry (ats.reports.stays), rebuilt from the
    history by ats.reports.stays.rebuild; its indexes keep each company's (each job's,
    everyone's) stays in stage and length order, so a percentile is read without sorting."""

    __tablename__ = "stage_stays"
    __table_args__ = (
        Index("ix_stage_stays_company_id_stage_seconds", "company_id", "stage", "seconds",
              postgresql_include=_STAY_REPORTED),
        Index("ix_stage_stays_job_id_stage_seconds", "job_id", "stage", "seconds",
              postgresql_include=("company_id", *_STAY_REPORTED)),  # a recruiter's: theirs too
        Index("ix_stage_stays_stage_seconds", "stage", "seconds", postgresql_include=_STAY_REPORTED),
        Index("ix_stage_stays_application_id", "application_id"),
    )

    history_id: Mapped[int] = mapped_column(
        ForeignKey("application_history.id", ondelete="CASCADE"), primary_key=True,
        autoincrement=False)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    # the application's, copied (they never change): a report filters one table
    company_id: Mapped[int]
    job_id: Mapped[int]
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime)
    from_stage: Mapped[str | None] = mapped_column(String(20))
    stage: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(40))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seconds: Mapped[float | None]  # left_at - entered_at

    entry: Mapped[ApplicationHistory] = relationship()
    application: Mapped[Application] = relationship()


class Comment(db.Model):
    """A staff note on an application: internal, never shown to its candidate."""

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_application_id_id", "application_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    application: Mapped[Application] = relationship()
    author: Mapped[User] = relationship()


class Attachment(db.Model):
    """A file of an application (a résumé, a portfolio). Its bytes are in attachment_chunks,
    or in object storage under storage_key."""

    __tablename__ = "attachments"
    __table_args__ = (
        CheckConstraint(_one_of("kind", ATTACHMENT_KINDS), name="kind"),
        Index("ix_attachments_application_id_id", "application_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))  # judged from the bytes
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str | None] = mapped_column(String(100))  # null: in the database
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    application: Mapped[Application] = relationship()
    uploaded_by: Mapped[User] = relationship()


class AttachmentChunk(db.Model):
    """A piece of an attachment kept in the database: in pieces, neither an upload nor a
    download ever holds a whole file in memory."""

    __tablename__ = "attachment_chunks"

    attachment_id: Mapped[int] = mapped_column(
        ForeignKey("attachments.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Interview(db.Model):
    """An interview of an application, at a time, with one to ten of its company's staff."""

    __tablename__ = "interviews"
    __table_args__ = (
        CheckConstraint(_one_of("status", INTERVIEW_STATUSES), name="status"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        # an application's interviews by time; a company's agenda (recruiters), everyone's (admins)
        Index("ix_interviews_application_id_starts_at", "application_id", "starts_at"),
        Index("ix_interviews_company_id_starts_at_id", "company_id", "starts_at", "id"),
        Index("ix_interviews_starts_at_id", "starts_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    # the application's company, copied (it never changes) so a recruiter's agenda is one index
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int]
    location: Mapped[str | None] = mapped_column(String(200))
    meeting_url: Mapped[str | None] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(10), default=INTERVIEW_SCHEDULED)
    # the invite's SEQUENCE (RFC 5545): one more on every change, the cancellation included
    sequence: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    application: Mapped[Application] = relationship()
    created_by: Mapped[User] = relationship()
    seats: Mapped[list["InterviewInterviewer"]] = relationship(
        back_populates="interview", cascade="all, delete-orphan",
        order_by="InterviewInterviewer.user_id")

    @property
    def interviewers(self) -> list[User]:
        return [seat.user for seat in self.seats]

    def status_at(self, now: datetime) -> str:
        """scheduled, cancelled, or completed once a scheduled interview's end has passed:
        derived from the time when asked, never stored (so never stale)."""
        if self.status == INTERVIEW_SCHEDULED and self.ends_at <= now:
            return INTERVIEW_COMPLETED
        return self.status


class InterviewInterviewer(db.Model):
    """One interviewer of an interview, with its time range copied: whether an interviewer is
    busy is one indexed query, and on PostgreSQL an exclusion constraint, which no race
    gets past, forbids two active seats of one user whose ranges overlap ([start, end))."""

    __tablename__ = "interview_interviewers"
    __table_args__ = (
        # an interviewer's agenda by time, and the overlap check
        Index("ix_interview_interviewers_user_id_starts_at", "user_id", "starts_at", "interview_id"),
        ExcludeConstraint(
            ("user_id", "="), (func.tstzrange(text("starts_at"), text("ends_at")), "&&"),
            name="ex_interview_interviewers_user_id_time", using="gist", where=text("active"),
        ).ddl_if(dialect="postgresql"),
    )

    interview_id: Mapped[int] = mapped_column(
        ForeignKey("interviews.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # false once the interview is cancelled: the interviewer is free again
    active: Mapped[bool] = mapped_column(default=True, server_default=true())

    interview: Mapped[Interview] = relationship(back_populates="seats")
    user: Mapped[User] = relationship()


class Scorecard(db.Model):
    """What one interviewer thought of one interview: at most one, replaced when sent again."""

    __tablename__ = "scorecards"
    __table_args__ = (
        UniqueConstraint("interview_id", "interviewer_id"),
        CheckConstraint("rating BETWEEN 1 AND 4", name="rating"),
        CheckConstraint(_one_of("recommendation", RECOMMENDATIONS), name="recommendation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id", ondelete="CASCADE"))
    interviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    rating: Mapped[int]
    recommendation: Mapped[str] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    interview: Mapped[Interview] = relationship()
    interviewer: Mapped[User] = relationship()


class AuthSession(db.Model):
    """One login. Its tokens carry its id (`sid`), so ending it revokes all of them at once;
    refresh tokens rotate, and only the newest one (refresh_jti) may be spent."""

    __tablename__ = "auth_sessions"
    # a token names its session by id: SQLite must never hand a deleted session's id out again
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    refresh_jti: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # logout, logout_all, refresh_reuse, ...: why it ended, for whoever reads the table
    end_reason: Mapped[str | None] = mapped_column(String(20))


class PasswordReset(db.Model):
    """A password reset asked for by email. The token is derived from the row and the app's
    secret (so the worker can mail it) and stored only as a hash; it is good once, briefly."""

    __tablename__ = "password_resets"
    # the token is derived from the row's id: SQLite must never hand a deleted row's id out again
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


NOTIFICATION_PENDING, NOTIFICATION_SENT, NOTIFICATION_FAILED = "pending", "sent", "failed"
NOTIFICATION_STATUSES = (NOTIFICATION_PENDING, NOTIFICATION_SENT, NOTIFICATION_FAILED)


class Notification(db.Model):
    """The outbox: one email to send, written in the transaction of the change it reports."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(_one_of("status", NOTIFICATION_STATUSES), name="status"),
        Index("ix_notifications_application_id_id", "application_id", "id"),
        Index("ix_notifications_status_id", "status", "id"),
        Index("ix_notifications_interview_id", "interview_id"),
        # what is addressed to one user: an erasure scrubs it, an export lists it
        Index("ix_notifications_recipient_id_id", "recipient_id", "id"),
    )

    # what the delivery code (ats.notifications.delivery) writes when a row has gone out
    SENT, SENT_AT = NOTIFICATION_SENT, "sent_at"

    id: Mapped[int] = mapped_column(primary_key=True)
    # what the mail is about: an application (and the move), or a password reset
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    history_id: Mapped[int | None] = mapped_column(ForeignKey("application_history.id"))
    password_reset_id: Mapped[int | None] = mapped_column(ForeignKey("password_resets.id"))
    # an interview's mail: the interview, and its sequence when the mail was recorded
    interview_id: Mapped[int | None] = mapped_column(ForeignKey("interviews.id"))
    interview_sequence: Mapped[int | None]
    kind: Mapped[str] = mapped_column(String(40))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recipient: Mapped[str] = mapped_column(String(254))  # the address when it was recorded
    status: Mapped[str] = mapped_column(String(10), default=NOTIFICATION_PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # a sender holds the row until then; a crashed sender's claim simply runs out
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    # the X-Request-ID of the request that recorded it, so its mail can be traced end to end
    request_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # not sent before then (a reminder); null: at once
    send_after: Mapped[datetime | None] = mapped_column(UTCDateTime)

    application: Mapped[Application | None] = relationship()
    history: Mapped[ApplicationHistory | None] = relationship()
    password_reset: Mapped[PasswordReset | None] = relationship()
    interview: Mapped[Interview | None] = relationship()


class Webhook(db.Model):
    """A company's subscription: the events it wants POSTed to url, signed with secret."""

    __tablename__ = "webhooks"
    __table_args__ = (Index("ix_webhooks_company_id_id", "company_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[str]] = mapped_column(JSON)  # event types (ats.webhooks.events.TYPES)
    description: Mapped[str | None] = mapped_column(String(500))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())
    # whsec_ + base64 of random bytes: kept as such, since every send is signed with it
    secret: Mapped[str] = mapped_column(String(100))
    # after a failed attempt its deliveries wait until then without an attempt, so a receiver
    # that hangs costs one timeout per back-off, not one per delivery
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WebhookEvent(db.Model):
    """Something that happened to a company, frozen as it was then: payload is the body every
    delivery of it POSTs ({type, timestamp, data}), in this one column."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_candidate_id", "candidate_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSON)
    # the candidate whose personal data payload carries, if any: an erasure scrubs their events
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


DELIVERY_PENDING, DELIVERY_DELIVERED, DELIVERY_FAILED = "pending", "delivered", "failed"
DELIVERY_STATUSES = (DELIVERY_PENDING, DELIVERY_DELIVERED, DELIVERY_FAILED)


class WebhookDelivery(db.Model):
    """The webhook channel's outbox: one event to POST to one subscription, recorded in the
    transaction of the event. Its life (pending, claimed, retried, failed) is a notification's:
    the same columns, handled by the same code (ats.notifications.delivery)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(_one_of("status", DELIVERY_STATUSES), name="status"),
        # a subscription's deliveries, newest first, and by status; the sweep's pending rows
        Index("ix_webhook_deliveries_webhook_id_id", "webhook_id", "id"),
        Index("ix_webhook_deliveries_webhook_id_status_id", "webhook_id", "status", "id"),
        Index("ix_webhook_deliveries_status_id", "status", "id"),
        Index("ix_webhook_deliveries_event_id", "event_id"),
    )

    SENT, SENT_AT = DELIVERY_DELIVERED, "delivered_at"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), default=DELIVERY_PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    response_status: Mapped[int | None]  # the receiver's last answer (None: no answer)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # not attempted before then: its subscription is backing off after a failure
    send_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    webhook: Mapped[Webhook] = relationship()
    event: Mapped[WebhookEvent] = relationship()


IDEMPOTENCY_IN_PROGRESS, IDEMPOTENCY_DONE = "in_progress", "done"
IDEMPOTENCY_STATUSES = (IDEMPOTENCY_IN_PROGRESS, IDEMPOTENCY_DONE)


class IdempotencyKey(db.Model):
    """A client's Idempotency-Key: claimed before its request runs, then holding the answer
    to replay to a repeat of that request (ats/common/idempotency.py)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        CheckConstraint(_one_of("status", IDEMPOTENCY_STATUSES), name="status"),
        Index("ix_idempotency_keys_created_at", "created_at"),  # the cleanup's range
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    # the request's fingerprint: a repeat must match all three
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(Text)
    body_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the raw body
    status: Mapped[str] = mapped_column(String(12), default=IDEMPOTENCY_IN_PROGRESS)
    response_status: Mapped[int | None] = mapped_column()
    response_body: Mapped[str | None] = mapped_column(Text)
    response_headers: Mapped[dict | None] = mapped_column(JSON)  # Content-Type, Location, ETag
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
