from flask_jwt_extended import get_current_user

from ats.models import ADMIN, HIRING_MANAGER, RECRUITER
from ats.interviews import blp, services
from ats.interviews.schemas import (AgendaQuery, InterviewChange, InterviewIn, InterviewList,
                                    InterviewOut, InterviewPage, ScorecardIn, ScorecardList,
                                    ScorecardOut)


@blp.post("/applications/<id:application_id>/interviews", operation_id="scheduleInterview")
@blp.auth()
@blp.arguments(InterviewIn)
@blp.response(201, InterviewOut)
@blp.errors(403, 404, 409)
def schedule_interview(data, application_id):
    """Schedule an interview (recruiters of the company, hiring managers assigned to the job,
    admins): the candidate and each interviewer are mailed an invite. The application must
    be in screening, interview or offer (409 `interview_closed`); an interviewer in an
    overlapping scheduled interview: 409 `interviewer_busy` with `details: {interviewer_id,
    interview_id}`."""
    return services.schedule(get_current_user(), application_id, data)


@blp.get("/applications/<id:application_id>/interviews", operation_id="listApplicationInterviews")
@blp.auth()
@blp.response(200, InterviewList)
@blp.errors(404)
def list_application_interviews(application_id):
    """An application's interviews by starts_at (whoever may see it: its candidate too)."""
    return services.list_for_application(get_current_user(), application_id)


@blp.get("/interviews", operation_id="listInterviews")
@blp.auth(RECRUITER, HIRING_MANAGER, ADMIN)
@blp.arguments(AgendaQuery, location="query")
@blp.response(200, InterviewPage)
def list_interviews(args):
    """An agenda by starts_at, earliest first: a hiring manager's interviews as an
    interviewer, a recruiter's company's, every one for an admin. `from` and `to` bound the
    start (from inclusive, to exclusive)."""
    return services.agenda(get_current_user(), args)


@blp.patch("/interviews/<id:interview_id>", operation_id="updateInterview")
@blp.auth()
@blp.arguments(InterviewChange)
@blp.response(200, InterviewOut)
@blp.errors(403, 404, 409)
def update_interview(data, interview_id):
    """Move an interview or change its interviewers, place or link (as for scheduling):
    `sequence` + 1, and everyone is mailed the updated invite (an interviewer taken off it, a
    cancellation). A cancelled or completed interview: 409 `interview_closed`."""
    return services.change(get_current_user(), interview_id, data)


@blp.post("/interviews/<id:interview_id>/cancel", operation_id="cancelInterview")
@blp.auth()
@blp.response(200, InterviewOut)
@blp.errors(403, 404, 409)
def cancel_interview(interview_id):
    """Cancel an interview (as for scheduling): everyone is mailed METHOD:CANCEL and no
    reminder goes out. Already cancelled, or completed: 409 `interview_closed`."""
    return services.cancel(get_current_user(), interview_id)


@blp.put("/interviews/<id:interview_id>/scorecard", operation_id="submitScorecard")
@blp.auth()
@blp.arguments(ScorecardIn)
@blp.response(200, ScorecardOut)
@blp.errors(403, 404, 409)
def submit_scorecard(data, interview_id):
    """The caller's scorecard of an interview they are an interviewer of, once it has
    started (before, or on a cancelled interview: 409 `interview_closed`); a second PUT
    replaces it."""
    return services.submit_scorecard(get_current_user(), interview_id, data)


@blp.get("/applications/<id:application_id>/scorecards", operation_id="listScorecards")
@blp.auth()
@blp.response(200, ScorecardList)
@blp.errors(403, 404)
def list_scorecards(application_id):
    """An application's scorecards (its company's staff, admins; its candidate: 403)."""
    return services.scorecards(get_current_user(), application_id)
