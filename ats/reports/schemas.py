from datetime import date, datetime, time, timedelta, timezone

import marshmallow as ma
from marshmallow import fields

from ats import workflow
from ats.common.schemas import Id, Instant

STAGE = {"enum": list(workflow.STAGES)}


class DayOrInstant(fields.Field):
    """A date (2026-11-20: that whole day in UTC) or a date-time with an offset, as the half-open
    range [start, end) of instants it covers (a date-time covers that one microsecond)."""

    default_error_messages = {"invalid": "Must be an ISO 8601 date (2026-11-20) or date-time "
                                         "with an offset (2026-11-20T10:15:00+00:00)."}

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {})
        kwargs["metadata"] = {"type": "string", "example": "2026-11-20", **kwargs["metadata"]}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            if isinstance(value, str) and len(value) == 10:
                start = datetime.combine(date.fromisoformat(value), time(), timezone.utc)
                return start, start + timedelta(days=1)
            start = Instant().deserialize(value)
            return start, start + timedelta(microseconds=1)
        except (ValueError, OverflowError, ma.ValidationError):  # 9999-12-31 has no next day
            raise self.make_error("invalid") from None


class ReportQuery(ma.Schema):
    company_id = Id(metadata={"description": (
        "the company (recruiters: their own, the default; admins: any, or every company when "
        "left out)")})
    job_id = Id(metadata={"description": "only this job's applications"})
    from_ = DayOrInstant(data_key="from", metadata={
        "description": "applications created at or after it (a date: from its start, UTC)"})
    to = DayOrInstant(metadata={
        "description": "applications created at or before it (a date: to its end, UTC)"})

    @ma.post_load
    def as_range(self, data, **kwargs):
        """from and to as the half-open range [start, end) of creation times."""
        start = data.pop("from_", (None, None))[0]
        end = data.pop("to", (None, None))[1]
        if start is not None and end is not None and start >= end:
            raise ma.ValidationError("Must not be before from.", "to")
        return {**data, "start": start, "end": end}


def share(description: str) -> fields.Float:
    return fields.Float(required=True, allow_none=True, metadata={"description": description})


class FunnelStage(ma.Schema):
    stage = fields.String(required=True, metadata=STAGE)
    entered = fields.Integer(required=True, metadata={
        "description": "applications that ever reached this stage"})
    current = fields.Integer(required=True, metadata={"description": "applications there now"})
    conversion = share("of those that entered it, the share that reached the next pipeline "
                       "stage (0 to 1); null where none entered, and for the final stages")


class FunnelOut(ma.Schema):
    stages = fields.List(fields.Nested(FunnelStage), required=True)


class StageTime(ma.Schema):
    stage = fields.String(required=True, metadata=STAGE)
    count = fields.Integer(required=True, metadata={"description": "stays in it that ended"})
    median_hours = share("median length of those stays (null without any)")
    p90_hours = share("90th percentile of those stays (null without any)")


class TimeInStageOut(ma.Schema):
    stages = fields.List(fields.Nested(StageTime), required=True)


class JobTimeToHire(ma.Schema):
    job_id = fields.Integer(required=True)
    count = fields.Integer(required=True, metadata={"description": "hires"})
    median_days = share("median days from application to hired")
    p90_days = share("90th percentile of days from application to hired")


class TimeToHireOut(JobTimeToHire):
    class Meta:
        exclude = ("job_id",)

    jobs = fields.List(fields.Nested(JobTimeToHire), required=True, metadata={
        "description": "each job with at least one hire, by id"})


class Counts(fields.Dict):
    def __init__(self, description: str):
        super().__init__(keys=fields.String(), values=fields.Integer(), required=True,
                         metadata={"description": description})


class RejectedOut(ma.Schema):
    by_reason = Counts("every reason of the catalogue, with how many rejections gave it")
    by_stage = Counts("every open stage, with how many rejections were made from it")


class WithdrawnOut(ma.Schema):
    by_reason = Counts("every reason of the catalogue and `none`, with how many withdrawals")


class OutcomesOut(ma.Schema):
    rejected = fields.Nested(RejectedOut, required=True)
    withdrawn = fields.Nested(WithdrawnOut, required=True)
