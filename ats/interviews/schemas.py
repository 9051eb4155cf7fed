
import marshmallow as ma
from marshmallow import fields, validate

from ats.applications.schemas import Actor
from ats.common.schemas import (Choice, DistinctList, Id, Instant, PageQuery, Str, Timestamp,
                                page_of, single_line)
from ats.models import INTERVIEW_COMPLETED, INTERVIEW_STATUSES, RECOMMENDATIONS

MIN_MINUTES, MAX_MINUTES, MAX_INTERVIEWERS = 15, 480, 10


class InterviewerIds(DistinctList):
    """1 to 10 distinct ids."""

    def __init__(self, **kwargs):
        super().__init__(Id(), MAX_INTERVIEWERS, "Name each interviewer once.", **kwargs)


class InterviewChange(ma.Schema):
    """What a change may give: any of the fields of a new interview."""

    starts_at = Instant(metadata={"description": "in the future; ISO 8601 with an offset"})
    duration_minutes = fields.Integer(strict=True,
                                      validate=validate.Range(min=MIN_MINUTES, max=MAX_MINUTES))
    interviewer_ids = InterviewerIds(metadata={
        "description": "1 to 10 distinct active staff (recruiters, hiring managers) of the company"})
    location = Str(validate=single_line(validate.Length(max=200)), allow_none=True)
    meeting_url = fields.Url(schemes={"http", "https"}, validate=validate.Length(max=2000),
                             allow_none=True)

    @ma.validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("Give at least one field to change.", "_schema")


class InterviewIn(InterviewChange):
    starts_at = Instant(required=True, metadata={
        "description": "in the future; ISO 8601 with an offset"})
    duration_minutes = fields.Integer(required=True, strict=True,
                                      validate=validate.Range(min=MIN_MINUTES, max=MAX_MINUTES))
    interviewer_ids = InterviewerIds(required=True, metadata={
        "description": "1 to 10 distinct active staff (recruiters, hiring managers) of the company"})


class InterviewOut(ma.Schema):
    id = fields.Integer(required=True)
    application_id = fields.Integer(required=True)
    starts_at = Timestamp(required=True)
    ends_at = Timestamp(required=True)
    duration_minutes = fields.Integer(required=True)
    location = fields.String(required=True, allow_none=True)
    meeting_url = fields.String(required=True, allow_none=True)
    interviewers = fields.List(fields.Nested(Actor), required=True)
    status = fields.String(required=True, metadata={
        "enum": [*INTERVIEW_STATUSES, INTERVIEW_COMPLETED],
        "description": "completed: scheduled, and its end has passed (derived when asked)"})
    sequence = fields.Integer(required=True, metadata={
        "description": "the invite's SEQUENCE: 0 when scheduled, one more on every change"})
    created_by = fields.Nested(Actor, required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


class InterviewList(ma.Schema):
    items = fields.List(fields.Nested(InterviewOut), required=True,
                        metadata={"description": "by starts_at"})


InterviewPage = page_of(InterviewOut)


class AgendaQuery(PageQuery):
    from_ = Instant(data_key="from", metadata={"description": "interviews starting at or after"})
    to = Instant(metadata={"description": "interviews starting before"})


class ScorecardIn(ma.Schema):
    rating = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=4),
                            metadata={"description": "1 (poor) to 4 (excellent)"})
    recommendation = Choice(RECOMMENDATIONS, required=True)
    notes = Str(validate=validate.Length(max=10_000), allow_none=True)


class ScorecardOut(ma.Schema):
    interview_id = fields.Integer(required=True)
    interviewer = fields.Nested(Actor, required=True)
    rating = fields.Integer(required=True)
    recommendation = fields.String(required=True, metadata={"enum": list(RECOMMENDATIONS)})
    notes = fields.String(required=True, allow_none=True)
    submitted_at = Timestamp(required=True)


class ScorecardList(ma.Schema):
    items = fields.List(fields.Nested(ScorecardOut), required=True, metadata={
        "description": "by the interview's starts_at, then by interviewer"})
