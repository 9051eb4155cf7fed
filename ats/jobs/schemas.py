import marshmallow as ma
from marshmallow import fields, validate

from ats.common.schemas import (Choice, Id, PageQuery, Str, Timestamp, single_line,
                                updated_since)
from ats.models import JOB_STATUSES

TITLE = single_line(validate.Length(min=1, max=200))
DESCRIPTION = validate.Length(max=20_000)  # many lines
LOCATION = single_line(validate.Length(max=200))
HIRING_MANAGERS = validate.Length(max=100)


class JobUpdate(ma.Schema):
    title = Str(validate=TITLE)
    description = Str(validate=DESCRIPTION)
    location = Str(validate=LOCATION, allow_none=True)
    status = Choice(JOB_STATUSES)
    hiring_manager_ids = fields.List(Id(), validate=HIRING_MANAGERS,
                                     metadata={"description": "hiring managers of the same company"})


class JobCreate(JobUpdate):
    title = Str(required=True, validate=TITLE)
    description = Str(required=True, validate=DESCRIPTION)
    company_id = Id(metadata={"description": "admins only (required for them); recruiters post "
                                             "to their own company"})


class JobOut(ma.Schema):
    id = fields.Integer(required=True)
    company_id = fields.Integer(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    location = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, metadata={"enum": list(JOB_STATUSES)})
    hiring_manager_ids = fields.List(fields.Integer(), required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


class JobQuery(PageQuery):
    company_id = Id()
    status = Choice(JOB_STATUSES)
    q = Str(validate=validate.Length(max=200),
            metadata={"description": "case-insensitive text in the title"})
    updated_since = updated_since()
