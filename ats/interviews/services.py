"""Interviews: scheduling, moving and cancelling them without double-booking anyone, their
mail (invites and reminders, through the outbox), and the interviewers' scorecards.

No double booking: an interviewer's seats carry the interview's time range. PostgreSQL
settles every race with an exclusion constraint over (user_id, tstzrange) among active seats,
whose violation (SQLSTATE 23P01) answers 409 interviewer_busy like the check made before
writing. SQLite has one writer at a time: the check is made again after the transaction's
first write, when no other writer can come between it and the commit.
"""
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ats import workflow
from ats.common.access import (agenda_scope, application_visible_or_404, can_interview_for,
                               can_schedule_interview, can_score_interview, can_see_scorecards,
                               interview_visible_or_404, require)
from ats.common.db import utcnow
from ats.common.pagination import time_keyset_page
from ats.errors import Conflict, ValidationFailed
from ats.extensions import db
from ats.models import (INTERVIEW_CANCELLED, INTERVIEW_SCHEDULED, Application, Interview,
                        InterviewInterviewer, Job, Scorecard, User)
from ats.notifications import kinds, mail, outbox
from ats.webhooks import events

EXCLUSION_VIOLATION = "23P01"  # PostgreSQL's SQLSTATE for an exclusion constraint refusing a row
MAX_RETRIES = 5  # a change that lost its compare-and-set to another one starts again

# what an interview answers: its interviewers and its author, a page in a constant number of
# statements
WITH_PEOPLE = (selectinload(Interview.seats).joinedload(InterviewInterviewer.user),
               joinedload(Interview.created_by))
# and, to act on it, its application with the job's managers (who may schedule) and candidate
WITH_APPLICATION = (*WITH_PEOPLE,
                    joinedload(Interview.application).joinedload(Application.job)
                    .selectinload(Job.hiring_managers),
                    joinedload(Interview.application).joinedload(Application.candidate))
APPLICATION_FOR_SCHEDULING = (joinedload(Application.job).selectinload(Job.hiring_managers),
                              joinedload(Application.candidate))


def _actor(user: User) -> dict:
    return {"id": user.id, "name": user.name, "role": user.role}


def shown(interview: Interview, now) -> dict:
    """The interview's answer, read now: nothing is loaded after the commit."""
    return {"id": interview.id, "application_id": interview.application_id,
            "starts_at": interview.starts_at, "ends_at": interview.ends_at,
            "duration_minutes": interview.duration_minutes, "location": interview.location,
            "meeting_url": interview.meeting_url,
            "interviewers": [_actor(user) for user in interview.interviewers],
            "status": interview.status_at(now), "sequence": interview.sequence,
            "created_by": _actor(interview.created_by), "created_at": interview.created_at,
            "updated_at": interview.updated_at}


def _closed(message: str, **details) -> Conflict:
    return Conflict(message, details=details, code="interview_closed")


def _check_application_open(application: Application) -> None:
    if not workflow.takes_interviews(application.stage):
        raise _closed(f"The application is in {application.stage}: interviews are scheduled "
                      f"for open applications in {', '.join(workflow.INTERVIEW_STAGES)}.",
                      stage=application.stage)


def _check_future(starts_at, now) -> None:
    if starts_at <= now:
        raise ValidationFailed({"starts_at": ["Must be in the future."]})


def _interviewers(company_id: int, ids: list[int]) -> list[User]:
    """The users of ids, in that order; each must be active staff of the company (422)."""
    found = {user.id: user for user in db.session.scalars(
        select(User).where(User.id.in_(ids), can_interview_for(company_id)))}
    others = [str(user_id) for user_id in ids if user_id not in found]
    if others:
        raise ValidationFailed({"interviewer_ids": [
            f"Not active staff (a recruiter or hiring manager) of the company: {', '.join(others)}."]})
    return [found[user_id] for user_id in ids]


def _first_busy(user_ids: list[int], starts_at, ends_at, interview_id: int | None = None):
    """(interviewer_id, interview_id) of an active seat of one of user_ids whose time overlaps
    [starts_at, ends_at), other than interview_id's own; None if they are all free."""
    seat = InterviewInterviewer
    stmt = select(seat.user_id, seat.interview_id).where(
        seat.user_id.in_(user_ids), seat.active, seat.starts_at < ends_at, seat.ends_at > starts_at)
    if interview_id is not None:
        stmt = stmt.where(seat.interview_id != interview_id)
    return db.session.execute(stmt.order_by(seat.starts_at, seat.user_id).limit(1)).first()


def _busy(found) -> Conflict:
    interviewer_id, interview_id = found
    return Conflict(f"Interviewer {interviewer_id} is in interview {interview_id} at that time.",
                    details={"interviewer_id": interviewer_id, "interview_id": interview_id},
                    code="interviewer_busy")


def _check_free(user_ids, starts_at, ends_at, interview_id=None) -> None:
    if (found := _first_busy(user_ids, starts_at, ends_at, interview_id)) is not None:
        raise _busy(found)


@contextmanager
def _no_double_booking(user_ids, starts_at, ends_at, interview_id=None):
    """Around the writes of seats: PostgreSQL's refusal of an overlapping seat (a concurrent
    booking won) becomes 409 interviewer_busy, naming the winner's interview."""
    try:
        yield
    except IntegrityError as error:
        if getattr(error.orig, "pgcode", None) != EXCLUSION_VIOLATION:
            raise
        db.session.rollback()
        found = _first_busy(user_ids, starts_at, ends_at, interview_id)
        db.session.rollback()
        if found is None:  # the winner has been moved or cancelled since: still a conflict
            raise Conflict("An interviewer was booked at that time meanwhile; try again.",
                           code="interviewer_busy") from None
        raise _busy(found) from None


def _people(interview: Interview, application: Application) -> list[User]:
    """Who is mailed about the interview: its candidate and its interviewers."""
    return [application.candidate, *interview.interviewers]


def _answer_then_commit(interview: Interview, now) -> dict:
    """The answer, read before the commit (which would expire what it reads)."""
    answer = shown(interview, now)
    db.session.commit()
    return answer


def _dispatch(now_ids: list[int], reminders: tuple[list[int], object]) -> None:
    outbox.dispatch(now_ids)
    outbox.dispatch_at(*reminders)
    events.dispatch()


# --- scheduling ----------------------------------------------------------------------------

def _application_for_scheduling(user: User, application_id: int) -> Application:
    application = application_visible_or_404(application_id, user, APPLICATION_FOR_SCHEDULING)
    require(can_schedule_interview(user, application))
    return application


def schedule(user: User, application_id: int, data: dict) -> dict:
    application = _application_for_scheduling(user, application_id)
    _check_application_open(application)
    now = utcnow()
    _check_future(data["starts_at"], now)
    starts_at = data["starts_at"]
    ends_at = starts_at + timedelta(minutes=data["duration_minutes"])
    interviewers = _interviewers(application.company_id, data["interviewer_ids"])
    ids = [interviewer.id for interviewer in interviewers]
    _check_free(ids, starts_at, ends_at)  # the ordinary case, told before anything is written
    interview = Interview(application_id=application.id, company_id=application.company_id,
                          starts_at=starts_at, ends_at=ends_at,
                          duration_minutes=data["duration_minutes"],
                          location=data.get("location"), meeting_url=data.get("meeting_url"),
                          status=INTERVIEW_SCHEDULED, sequence=0, created_by=user,
                          created_at=now, updated_at=now)
    db.session.add(interview)
    with _no_double_booking(ids, starts_at, ends_at):
        db.session.flush()  # the first write: on SQLite no other writer until the commit
        _check_free(ids, starts_at, ends_at)  # so this check holds until then
        interview.seats = [InterviewInterviewer(user=interviewer, starts_at=starts_at,
                                                ends_at=ends_at, active=True)
                           for interviewer in interviewers]
        people = _people(interview, application)
        notifications = outbox.record_interview(interview, kinds.INTERVIEW_SCHEDULED, people)
        reminders = outbox.record_reminders(interview, people, now)
        events.interview_event(events.INTERVIEW_SCHEDULED, application,
                               lambda: shown(interview, now))
        answer = _answer_then_commit(interview, now)
    _dispatch(notifications, reminders)
    return answer


def list_for_application(user: User, application_id: int) -> dict:
    application = application_visible_or_404(application_id, user)
    now = utcnow()
    interviews = db.session.scalars(
        select(Interview).where(Interview.application_id == application.id)
        .order_by(Interview.starts_at, Interview.id).options(*WITH_PEOPLE)).all()
    return {"items": [shown(interview, now) for interview in interviews]}


def agenda(user: User, args: dict) -> dict:
    condition, by_seat = agenda_scope(user)
    if by_seat:  # the interviewer's seats, by their copy of the time (one index)
        stmt = select(Interview).join(InterviewInterviewer,
                                      InterviewInterviewer.interview_id == Interview.id)
        time_column, id_column = InterviewInterviewer.starts_at, InterviewInterviewer.interview_id
    else:
        stmt = select(Interview)
        time_column, id_column = Interview.starts_at, Interview.id
    if condition is not None:
        stmt = stmt.where(condition)
    if "from_" in args:
        stmt = stmt.where(time_column >= args["from_"])
    if "to" in args:
        stmt = stmt.where(time_column < args["to"])
    page = time_keyset_page(stmt, time_column, id_column, args["limit"], args.get("cursor"),
                            options=WITH_PEOPLE)
    now = utcnow()
    return {"items": [shown(interview, now) for interview in page["items"]],
            "next_cursor": page["next_cursor"]}


# --- changing ------------------------------------------------------------------------------

def _interview_to_change(user: User, interview_id: int) -> Interview:
    interview = interview_visible_or_404(interview_id, user, WITH_APPLICATION)
    require(can_schedule_interview(user, interview.application))
    return interview


def _check_scheduled(interview: Interview, now) -> None:
    status = interview.status_at(now)
    if status != INTERVIEW_SCHEDULED:
        raise _closed(f"The interview is {status}.", status=status)


def _won(interview: Interview, now, **values) -> bool:
    """Compare-and-set: the change applies only to the sequence the caller read, so of two
    concurrent changes one wins and the other starts again from the new state. The loaded
    interview is given the values written (nothing left for the ORM to write again)."""
    values.update(sequence=interview.sequence + 1, updated_at=now)
    won = db.session.execute(
        update(Interview)
        .where(Interview.id == interview.id, Interview.sequence == interview.sequence,
               Interview.status == INTERVIEW_SCHEDULED)
        .values(**values).execution_options(synchronize_session=False)).rowcount == 1
    if won:
        for name, value in values.items():
            set_committed_value(interview, name, value)
    return won


def change(user: User, interview_id: int, data: dict, _attempt: int = 1) -> dict:
    interview = _interview_to_change(user, interview_id)
    application = interview.application
    now = utcnow()
    _check_scheduled(interview, now)
    _check_application_open(application)
    if "starts_at" in data:
        _check_future(data["starts_at"], now)
    starts_at = data.get("starts_at", interview.starts_at)
    duration = data.get("duration_minutes", interview.duration_minutes)
    ends_at = starts_at + timedelta(minutes=duration)
    before = interview.interviewers
    after = (_interviewers(application.company_id, data["interviewer_ids"])
             if "interviewer_ids" in data else before)
    ids = [interviewer.id for interviewer in after]
    _check_free(ids, starts_at, ends_at, interview.id)
    values = {"starts_at": starts_at, "ends_at": ends_at, "duration_minutes": duration}
    values.update({name: data[name] for name in ("location", "meeting_url") if name in data})
    with _no_double_booking(ids, starts_at, ends_at, interview.id):
        if not _won(interview, now, **values):  # another change came first: from its result
            db.session.rollback()
            if _attempt >= MAX_RETRIES:
                raise Conflict("The interview is being changed by someone else; try again.",
                               code="interview_closed")
            return change(user, interview_id, data, _attempt + 1)
        _check_free(ids, starts_at, ends_at, interview.id)  # SQLite: inside the write
        kept = {interviewer.id for interviewer in after}
        for seat in list(interview.seats):
            if seat.user_id in kept:
                seat.starts_at, seat.ends_at = starts_at, ends_at
            else:
                interview.seats.remove(seat)
        present = {seat.user_id for seat in interview.seats}
        interview.seats.extend(InterviewInterviewer(user=interviewer, starts_at=starts_at,
                                                    ends_at=ends_at, active=True)
                               for interviewer in after if interviewer.id not in present)
        interview.seats.sort(key=lambda seat: seat.user.id)
        db.session.flush()
        # the old time's reminders never go out; the new time has its own
        outbox.withdraw_reminders(interview.id, mail.REMINDER_MOVED)
        people = _people(interview, application)
        notifications = outbox.record_interview(interview, kinds.INTERVIEW_UPDATED, people)
        dropped = [interviewer for interviewer in before if interviewer.id not in kept]
        notifications += outbox.record_interview(interview, kinds.INTERVIEW_CANCELLED, dropped)
        reminders = outbox.record_reminders(interview, people, now)
        events.interview_event(events.INTERVIEW_UPDATED, application, lambda: shown(interview, now))
        answer = _answer_then_commit(interview, now)
    _dispatch(notifications, reminders)
    return answer


def cancel(user: User, interview_id: int, _attempt: int = 1) -> dict:
    interview = _interview_to_change(user, interview_id)
    now = utcnow()
    _check_scheduled(interview, now)
    if not _won(interview, now, status=INTERVIEW_CANCELLED):  # two cancellations: one wins
        db.session.rollback()
        if _attempt >= MAX_RETRIES:
            raise Conflict("The interview is being changed by someone else; try again.",
                           code="interview_closed")
        # from the new state: 409 interview_closed if another cancellation won
        return cancel(user, interview_id, _attempt + 1)
    # its interviewers are free again at that time
    db.session.execute(update(InterviewInterviewer)
                       .where(InterviewInterviewer.interview_id == interview.id)
                       .values(active=False).execution_options(synchronize_session=False))
    outbox.withdraw_reminders(interview.id, mail.REMINDER_CANCELLED)
    notifications = outbox.record_interview(interview, kinds.INTERVIEW_CANCELLED,
                                            _people(interview, interview.application))
    events.interview_event(events.INTERVIEW_CANCELLED, interview.application,
                           lambda: shown(interview, now))
    answer = _answer_then_commit(interview, now)
    outbox.dispatch(notifications)
    events.dispatch()
    return answer


def cancel_upcoming(application: Application, now) -> list[int]:
    """In the caller's transaction (the application reached a final stage): its interviews
    still to come are cancelled, their interviewers freed and their reminders withdrawn, and
    everyone is sent the cancellation (and subscriptions its event) -> the notification ids.
    One UPDATE: a concurrent change of one of them loses its compare-and-set and finds it
    cancelled."""
    cancelled = db.session.scalars(
        update(Interview)
        .where(Interview.application_id == application.id,
               Interview.status == INTERVIEW_SCHEDULED, Interview.ends_at > now)
        .values(status=INTERVIEW_CANCELLED, sequence=Interview.sequence + 1, updated_at=now)
        .returning(Interview.id).execution_options(synchronize_session=False)).all()
    if not cancelled:
        return []
    db.session.execute(update(InterviewInterviewer)
                       .where(InterviewInterviewer.interview_id.in_(cancelled))
                       .values(active=False).execution_options(synchronize_session=False))
    notifications = []
    for interview in db.session.scalars(
            select(Interview).where(Interview.id.in_(cancelled)).order_by(Interview.id)
            .options(*WITH_PEOPLE).execution_options(populate_existing=True)):
        outbox.withdraw_reminders(interview.id, mail.REMINDER_CANCELLED)
        notifications += outbox.record_interview(interview, kinds.INTERVIEW_CANCELLED,
                                                 _people(interview, application))
        events.interview_event(events.INTERVIEW_CANCELLED, application,
                               lambda interview=interview: shown(interview, now))
    return notifications


# --- scorecards ----------------------------------------------------------------------------

def _scorecard_shown(card: Scorecard, interviewer: User) -> dict:
    return {"interview_id": card.interview_id, "interviewer": _actor(interviewer),
            "rating": card.rating, "recommendation": card.recommendation, "notes": card.notes,
            "submitted_at": card.submitted_at}


def submit_scorecard(user: User, interview_id: int, data: dict) -> dict:
    """The caller's scorecard, made or replaced (the last PUT wins)."""
    interview = interview_visible_or_404(interview_id, user, WITH_PEOPLE)
    require(can_score_interview(user, interview))
    now = utcnow()
    if interview.status == INTERVIEW_CANCELLED:
        raise _closed("The interview is cancelled: it takes no scorecards.", status="cancelled")
    if interview.starts_at > now:
        raise _closed("Scorecards are taken once the interview has started.",
                      status="scheduled", starts_at=interview.starts_at.isoformat())
    values = {"rating": data["rating"], "recommendation": data["recommendation"],
              "notes": data.get("notes"), "submitted_at": now}
    for _ in range(2):  # a second try only if a concurrent first PUT of the same card won
        card = db.session.scalar(select(Scorecard).where(
            Scorecard.interview_id == interview.id, Scorecard.interviewer_id == user.id))
        if card is None:
            card = Scorecard(interview_id=interview.id, interviewer_id=user.id, **values)
            db.session.add(card)
        else:
            for name, value in values.items():
                setattr(card, name, value)
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            continue
        answer = _scorecard_shown(card, user)
        db.session.commit()
        return answer
    raise Conflict("The scorecard is being written by another request; try again.")


def scorecards(user: User, application_id: int) -> dict:
    application = application_visible_or_404(application_id, user)
    require(can_see_scorecards(user, application))
    rows = db.session.execute(
        select(Scorecard, User).join(Interview, Interview.id == Scorecard.interview_id)
        .join(User, User.id == Scorecard.interviewer_id)
        .where(Interview.application_id == application.id)
        .order_by(Interview.starts_at, Interview.id, Scorecard.interviewer_id)).all()
    return {"items": [_scorecard_shown(card, interviewer) for card, interviewer in rows]}
