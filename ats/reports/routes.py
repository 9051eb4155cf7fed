from flask import Response, request
from flask_jwt_extended import get_current_user

from ats.models import ADMIN, RECRUITER
from ats.reports import blp, services
from ats.reports.schemas import FunnelOut, OutcomesOut, ReportQuery, TimeInStageOut, TimeToHireOut
from ats.reports.tables import TABLE_COLUMNS, as_csv

JSON, CSV = "application/json", "text/csv"

# path: (operationId, answer schema, the service, whose docstring says what it answers)
REPORTS = {
    "funnel": ("getFunnelReport", FunnelOut, services.funnel),
    "time-in-stage": ("getTimeInStageReport", TimeInStageOut, services.time_in_stage),
    "time-to-hire": ("getTimeToHireReport", TimeToHireOut, services.time_to_hire),
    "outcomes": ("getOutcomesReport", OutcomesOut, services.outcomes),
}
WHO = ("For the company's recruiters and admins (any company, or every company when "
       "`company_id` is left out). JSON, or with `Accept: text/csv` the same table as CSV.")


def answered(name: str, report: dict):
    """JSON, unless the client prefers CSV."""
    if request.accept_mimetypes.best_match([JSON, CSV]) != CSV:
        return report
    return Response(as_csv(name, report), content_type=f"{CSV}; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name}.csv"', "Vary": "Accept"})


def report_route(name: str, operation_id: str, schema, compute) -> None:
    columns, summary = TABLE_COLUMNS[name], " ".join(compute.__doc__.split())

    @blp.get(f"/{name}", operation_id=operation_id, endpoint=name)
    @blp.auth(RECRUITER, ADMIN)
    @blp.arguments(ReportQuery, location="query")
    @blp.response(200, schema)
    @blp.alt_response(200, success=True, content_type=CSV, schema={
        "type": "string", "description": f"CSV with a header line: {', '.join(columns)}"},
        example=",".join(columns) + "\r\n")
    @blp.doc(summary=summary, description=f"{summary} {WHO}")
    @blp.errors(404)
    def view(args):
        return answered(name, compute(get_current_user(), args))


for path, (operation, answer, service) in REPORTS.items():
    report_route(path, operation, answer, service)
