from flask import Response, request
from flask_jwt_extended import get_current_user

from ats.models import ADMIN, RECRUITER
from ats.reports import blp, services
from ats.reports.schemas import FunnelOut, OutcomesOut, ReportQuery, TimeInStageOut, TimeToHireOut
from ats.reports.tables import TABLE_COLUMNS, as_csv

JSON, CSV = "application/json", "text/csv"


def csv_documented(name: str):
    """The 200's second media type: the same table as CSV, asked for with Accept: text/csv."""
    return blp.doc(responses={"200": {"content": {CSV: {"schema": {
        "type": "string", "description": f"CSV with a header line: {', '.join(TABLE_COLUMNS[name])}",
        "example": ",".join(TABLE_COLUMNS[name]) + "\r\n"}}}}})


def answered(name: str, report: dict):
    """JSON, unless the client prefers CSV."""
    if request.accept_mimetypes.best_match([JSON, CSV]) != CSV:
        return report
    return Response(as_csv(name, report), content_type=f"{CSV}; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name}.csv"', "Vary": "Accept"})


@blp.get("/funnel", operation_id="getFunnelReport")
@blp.auth(RECRUITER, ADMIN)
@blp.arguments(ReportQuery, location="query")
@blp.response(200, FunnelOut)
@csv_documented("funnel")
@blp.errors(404)
def funnel(args):
    """How many applications reached each stage, are there now, and went on to the next
    pipeline stage, in pipeline order (recruiters: their company; admins: any, or all)."""
    return answered("funnel", services.funnel(get_current_user(), args))


@blp.get("/time-in-stage", operation_id="getTimeInStageReport")
@blp.auth(RECRUITER, ADMIN)
@blp.arguments(ReportQuery, location="query")
@blp.response(200, TimeInStageOut)
@csv_documented("time-in-stage")
@blp.errors(404)
def time_in_stage(args):
    """How long applications stayed in each open stage before leaving it: the stays that
    ended, their count, median and 90th percentile in hours."""
    return answered("time-in-stage", services.time_in_stage(get_current_user(), args))


@blp.get("/time-to-hire", operation_id="getTimeToHireReport")
@blp.auth(RECRUITER, ADMIN)
@blp.arguments(ReportQuery, location="query")
@blp.response(200, TimeToHireOut)
@csv_documented("time-to-hire")
@blp.errors(404)
def time_to_hire(args):
    """Days from application to hired: the hires' count, median and 90th percentile, in all
    and per job."""
    return answered("time-to-hire", services.time_to_hire(get_current_user(), args))


@blp.get("/outcomes", operation_id="getOutcomesReport")
@blp.auth(RECRUITER, ADMIN)
@blp.arguments(ReportQuery, location="query")
@blp.response(200, OutcomesOut)
@csv_documented("outcomes")
@blp.errors(404)
def outcomes(args):
    """How applications ended: rejections by reason and by the stage they were made from,
    withdrawals by reason (`none` when none was given)."""
    return answered("outcomes", services.outcomes(get_current_user(), args))
