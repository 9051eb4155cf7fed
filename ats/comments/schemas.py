import marshmallow as ma
from marshmallow import fields, validate

from ats.applications.schemas import Actor
from ats.common.schemas import Str, Timestamp, page_of


class CommentIn(ma.Schema):
    body = Str(required=True, validate=validate.Length(min=1, max=5_000),
               metadata={"description": "trimmed; several lines allowed"})


class CommentOut(ma.Schema):
    id = fields.Integer(required=True)
    application_id = fields.Integer(required=True)
    author = fields.Nested(Actor, required=True)
    body = fields.String(required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


CommentPage = page_of(CommentOut)
