from flask_jwt_extended import get_current_user

from ats.applications import blp, services
from ats.applications.schemas import (ApplicationForm, ApplicationIn, ApplicationOut,
                                      ApplicationQuery, HistoryOut, StageChange, StageQuery)
from ats.common.etags import ETAG_HEADER, NOT_MODIFIED, etagged
from ats.common.schemas import page_of
from ats.models import CANDIDATE
from ats.notifications.services import list_for_application
from ats.notifications.schemas import NotificationList

ApplicationPage = page_of(ApplicationOut)


@blp.post("/jobs/<id:job_id>/applications", operation_id="applyToJob")
@blp.auth(CANDIDATE)
@blp.arguments(ApplicationForm, location="json_or_multipart")
@blp.doc(requestBody={"content": {"application/json": {"schema": ApplicationIn}}})
@blp.response(201, ApplicationOut)
@blp.errors(404, 409, 413, 415)
def apply(data, job_id):
    """Apply to an open job (candidates, once per job): a JSON body, or a multipart form
    with a résumé, which is stored in the same transaction."""
    return services.apply(get_current_user(), job_id, data)


@blp.get("/jobs/<id:job_id>/applications", operation_id="listJobApplications")
@blp.auth()
@blp.arguments(StageQuery, location="query")
@blp.response(200, ApplicationPage)
@blp.errors(403, 404)
def list_for_job(args, job_id):
    """A job's applications (its company's staff, admins), newest first."""
    return services.list_for_job(get_current_user(), job_id, args)


@blp.get("/applications", operation_id="listApplications")
@blp.auth()
@blp.arguments(ApplicationQuery, location="query")
@blp.response(200, ApplicationPage)
def list_applications(args):
    """Candidates: their own; staff: their company's; admins: all. Newest first."""
    return services.list_applications(get_current_user(), args)


@blp.get("/applications/<id:application_id>", operation_id="getApplication")
@etagged
@blp.auth()
@blp.response(200, ApplicationOut, headers=ETAG_HEADER)
@blp.alt_response(304, description=NOT_MODIFIED)
@blp.errors(404)
def get_application(application_id):
    """An application, for its candidate, its company's staff and admins."""
    return services.get_application(get_current_user(), application_id)


@blp.patch("/applications/<id:application_id>/stage", operation_id="changeApplicationStage")
@etagged
@blp.auth()
@blp.arguments(StageChange)
@blp.response(200, ApplicationOut, headers=ETAG_HEADER)
@blp.errors(403, 404, 409)
def change_stage(data, application_id):
    """Move an application to its next stage (the table in ats.workflow decides who may make
    which move: staff move it on or reject it, with a reason; its candidate withdraws it)."""
    return services.change_stage(get_current_user(), application_id, data["stage"], data.get("note"),
                                 reason=data.get("reason"), expected_stage=data.get("expected_stage"))


@blp.get("/applications/<id:application_id>/history", operation_id="getApplicationHistory")
@blp.auth()
@blp.response(200, HistoryOut)
@blp.errors(404)
def history(application_id):
    """Every stage the application entered, oldest first."""
    return services.history(get_current_user(), application_id)


@blp.get("/applications/<id:application_id>/notifications", operation_id="listApplicationNotifications")
@blp.auth()
@blp.response(200, NotificationList)
@blp.errors(403, 404)
def notifications(application_id):
    """The emails an application caused and whether each was sent (its company's staff, admins)."""
    return list_for_application(get_current_user(), application_id)
