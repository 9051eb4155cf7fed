"""Webhook events, recorded in the transaction of the change they report: one frozen payload
per event ({type, timestamp, data}, data the resource as the company's staff see it at that
moment) and one delivery per active subscription of the company to that type, handed to the
queue `webhooks` after the commit (dispatch), or sent inline without Redis.

The services say what happened (record) as they make the change; the rows are written just
before the COMMIT, after ats.common.sync has stamped updated_at, so that a payload shows the
very updated_at the API answers from then on. A rollback forgets them with the change.
"""
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import event, func, insert, select, update
from sqlalchemy.orm import Session

from ats.applications.schemas import Actor, ApplicationOut, CandidateOut
from ats.common import sync  # noqa: F401 (its stamp comes first at each commit: see above)
from ats.common.db import utcnow
from ats.extensions import db
from ats.interviews.schemas import InterviewOut
from ats.jobs.schemas import JobOut
from ats.models import (DELIVERY_FAILED, DELIVERY_PENDING, Webhook, WebhookDelivery,
                        WebhookEvent)
from ats.notifications import outbox
from ats.notifications.kinds import WEBHOOK

APPLICATION_CREATED, APPLICATION_STAGE_CHANGED, APPLICATION_WITHDRAWN = (
    "application.created", "application.stage_changed", "application.withdrawn")
JOB_CREATED, JOB_UPDATED = "job.created", "job.updated"
INTERVIEW_SCHEDULED, INTERVIEW_UPDATED, INTERVIEW_CANCELLED = (
    "interview.scheduled", "interview.updated", "interview.cancelled")
PING = "ping"
TYPES = (APPLICATION_CREATED, APPLICATION_STAGE_CHANGED, APPLICATION_WITHDRAWN, JOB_CREATED,
         JOB_UPDATED, INTERVIEW_SCHEDULED, INTERVIEW_UPDATED, INTERVIEW_CANCELLED, PING)

_QUEUED = "ats.webhooks.queued"  # events said in this transaction, not written yet
_WRITTEN = "ats.webhooks.written"  # delivery ids written in it, not committed yet
_RECORDED = "ats.webhooks.recorded"  # delivery ids committed, to dispatch


@dataclass(frozen=True)
class _Event:
    company_id: int
    type: str
    data: Callable[[], dict]  # read at the commit: the resource as it is then
    candidate_id: int | None
    only: int | None  # a ping: to this subscription, whatever its events


def record(company_id: int, type_: str, data: Callable[[], dict], candidate_id: int | None = None,
           only: int | None = None) -> None:
    """In the caller's transaction: type_ happened to the company. data() gives the event's
    data; candidate_id names the candidate whose personal data it carries (for an erasure)."""
    db.session.info.setdefault(_QUEUED, []).append(
        _Event(company_id, type_, data, candidate_id, only))


# --- what the services say ---------------------------------------------------------------

def _application(application) -> dict:
    """The application as its company's staff see it: with the candidate's card."""
    candidate = application.candidate
    shown = ApplicationOut().dump(application)
    shown["candidate"] = CandidateOut().dump({"id": candidate.id, "name": candidate.name,
                                              "email": candidate.email,
                                              "profile": candidate.profile})
    return shown


def application_event(type_: str, application, move=None, mover=None) -> None:
    """An application created, or moved (move: its history row, made by mover)."""
    def data() -> dict:
        shown = {"application": _application(application)}
        if move is not None:
            shown.update({"from": move.from_stage, "to": move.to_stage, "reason": move.reason,
                          "changed_by": Actor().dump(mover)})
        return shown
    record(application.company_id, type_, data, candidate_id=application.candidate_id)


def job_event(type_: str, job, changed=()) -> None:
    """A job posted, or changed (changed: the fields the change gave)."""
    def data() -> dict:
        shown = {"job": JobOut().dump(job)}
        return {**shown, "changed": sorted(changed)} if type_ == JOB_UPDATED else shown
    record(job.company_id, type_, data)


def interview_event(type_: str, application, shown: Callable[[], dict]) -> None:
    """An interview of application scheduled, changed or cancelled; shown() is its answer."""
    record(application.company_id, type_, lambda: {"interview": InterviewOut().dump(shown())},
           candidate_id=application.candidate_id)


CANDIDATE_ERASED = "candidate erased"


def scrub_candidate(candidate_id: int) -> None:
    """In the caller's transaction (an erasure): every event that carried the candidate's data
    keeps its type and timestamp and loses its data (`data: {}`), in one UPDATE; its
    deliveries still pending fail."""
    events = select(WebhookEvent.id).where(WebhookEvent.candidate_id == candidate_id)
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.event_id.in_(events), WebhookDelivery.status == DELIVERY_PENDING,
               WebhookDelivery.claimed_until.is_(None))
        .values(status=DELIVERY_FAILED, last_error=CANDIDATE_ERASED)
        .execution_options(synchronize_session=False))
    build = (func.json_build_object if db.session.get_bind().dialect.name == "postgresql"
             else func.json_object)
    db.session.execute(
        update(WebhookEvent).where(WebhookEvent.candidate_id == candidate_id)
        .values(payload=build("type", WebhookEvent.type,
                              "timestamp", WebhookEvent.payload["timestamp"].as_string(),
                              "data", build()))
        .execution_options(synchronize_session=False))


def dispatch() -> list[int]:
    """After the commit: hand the deliveries it recorded to the queue -> their ids. Never
    raises; one not handed over now is swept later."""
    ids = db.session.info.pop(_RECORDED, [])
    outbox.dispatch(ids, WEBHOOK)
    return ids


def _wanted(subscription, item: _Event) -> bool:
    if subscription.company_id != item.company_id:
        return False
    return subscription.id == item.only if item.only else item.type in subscription.events


@event.listens_for(Session, "before_commit")
def _write(session: Session) -> None:
    queued = session.info.pop(_QUEUED, None)
    if not queued:
        return
    # one read of the subscriptions for the whole transaction; events nobody listens to
    # write nothing
    subscriptions = session.execute(
        select(Webhook.id, Webhook.company_id, Webhook.events, Webhook.paused_until)
        .where(Webhook.company_id.in_({item.company_id for item in queued}), Webhook.is_active)
        .order_by(Webhook.id)).all()
    now, written = utcnow(), session.info.setdefault(_WRITTEN, [])
    for item in queued:
        targets = [subscription for subscription in subscriptions if _wanted(subscription, item)]
        if not targets:
            continue
        payload = {"type": item.type, "timestamp": now.isoformat(), "data": item.data()}
        event_id = session.execute(insert(WebhookEvent).values(
            company_id=item.company_id, type=item.type, payload=payload,
            candidate_id=item.candidate_id, created_at=now).returning(WebhookEvent.id)).scalar_one()
        rows = [{"webhook_id": subscription.id, "event_id": event_id, "status": DELIVERY_PENDING,
                 "attempts": 0, "created_at": now,
                 # a subscription backing off: its new deliveries wait with the others
                 "send_after": subscription.paused_until
                 if subscription.paused_until and subscription.paused_until > now else None}
                for subscription in targets]
        written += session.execute(insert(WebhookDelivery).returning(WebhookDelivery.id),
                                   rows).scalars().all()


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if written := session.info.pop(_WRITTEN, None):
        session.info.setdefault(_RECORDED, []).extend(written)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    """What this transaction said or wrote is gone with it (what earlier ones committed stays
    to dispatch)."""
    session.info.pop(_QUEUED, None)
    session.info.pop(_WRITTEN, None)
