import marshmallow as ma
from marshmallow import fields

from ats.applications.schemas import Actor
from ats.attachments.files import ACCEPTED, FILE_RULES
from ats.common.schemas import Choice, File, Timestamp
from ats.models import ATTACHMENT_KINDS


class AttachmentIn(ma.Schema):
    file = File(required=True, metadata={"description": FILE_RULES})
    kind = Choice(ATTACHMENT_KINDS, load_default="resume")


class AttachmentOut(ma.Schema):
    id = fields.Integer(required=True)
    application_id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": list(ATTACHMENT_KINDS)})
    filename = fields.String(required=True, metadata={
        "description": "the uploader's name reduced to a safe base name"})
    content_type = fields.String(required=True, metadata={
        "enum": list(ACCEPTED), "description": "judged from the bytes"})
    size = fields.Integer(required=True, metadata={"description": "bytes"})
    sha256 = fields.String(required=True)
    uploaded_by = fields.Nested(Actor, required=True)
    created_at = Timestamp(required=True)


class AttachmentList(ma.Schema):
    items = fields.List(fields.Nested(AttachmentOut), required=True,
                        metadata={"description": "oldest first"})
