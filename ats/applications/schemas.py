import marshmallow as ma
from marshmallow import fields, validate

from ats import workflow
from ats.attachments.files import FILE_RULES
from ats.auth.schemas import ProfileOut
from ats.common.schemas import Choice, File, Id, PageQuery, Str, Timestamp

STAGE = {"enum": list(workflow.STAGES)}


class ApplicationIn(ma.Schema):
    cover_letter = Str(validate=validate.Length(max=10_000), allow_none=True)


class ApplicationForm(ApplicationIn):
    """The same as a multipart/form-data body, with a résumé beside it."""

    # a form part is text or absent, never null: a client generated from a nullable one sends "None"
    cover_letter = Str(validate=validate.Length(max=10_000))
    resume = File(metadata={"description": "optional; " + FILE_RULES})


class StageChange(ma.Schema):
    stage = Choice(workflow.STAGES, required=True,
                   metadata={"description": "matched case-insensitively"})
    note = Str(validate=validate.Length(max=2_000), allow_none=True,
               metadata={"description": "for staff: candidates never see it"})
    reason = Choice(workflow.ALL_REASONS, allow_none=True, metadata={
        "description": "required for rejected (" + ", ".join(
            workflow.REASONS[workflow.REJECTED].catalogue) + "); optional for withdrawn (" +
        ", ".join(workflow.REASONS[workflow.WITHDRAWN].catalogue) + "); no other move takes one"})
    expected_stage = Choice(workflow.STAGES, allow_none=True, metadata={
        "description": "the stage the caller saw: if the application has left it, 409 "
                       "stage_conflict and nothing changes"})


class CandidateOut(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    profile = fields.Nested(ProfileOut, required=True)


class ApplicationOut(ma.Schema):
    id = fields.Integer(required=True)
    job_id = fields.Integer(required=True)
    candidate_id = fields.Integer(required=True)
    candidate = fields.Nested(CandidateOut, attribute="candidate_card", metadata={
        "description": "for the company's staff and admins (absent for the candidate)"})
    stage = fields.String(required=True, metadata=STAGE)
    cover_letter = fields.String(required=True, allow_none=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


class StageQuery(PageQuery):
    stage = Choice(workflow.STAGES)


class ApplicationQuery(StageQuery):
    job_id = Id()


class Actor(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)


class HistoryEntryOut(ma.Schema):
    id = fields.Integer(required=True)
    from_stage = fields.String(required=True, allow_none=True, metadata=STAGE)
    to_stage = fields.String(required=True, metadata=STAGE)
    changed_by = fields.Nested(Actor, required=True)
    changed_at = Timestamp(required=True)
    note = fields.String(required=True, allow_none=True,
                         metadata={"description": "null for candidates"})
    reason = fields.String(required=True, allow_none=True, metadata={
        "enum": list(workflow.ALL_REASONS),
        "description": "why a final stage was reached; candidates see their withdrawal's, "
                       "never a rejection's (null for them)"})


class HistoryOut(ma.Schema):
    items = fields.List(fields.Nested(HistoryEntryOut), required=True,
                        metadata={"description": "oldest first"})
