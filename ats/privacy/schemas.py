import marshmallow as ma
from marshmallow import fields

from ats.applications.schemas import HistoryEntryOut
from ats.attachments.schemas import AttachmentOut
from ats.auth.schemas import UserOut
from ats.common.schemas import Timestamp
from ats.interviews.schemas import InterviewOut
from ats.models import NOTIFICATION_STATUSES
from ats.notifications.kinds import KINDS
from ats.workflow import STAGES


class ExportedHistoryEntry(HistoryEntryOut):
    note = fields.String(required=True, allow_none=True, metadata={
        "description": "the candidate's own note on a move they made (a withdrawal); "
                       "null on the staff's moves: their notes are never exported"})


class ExportedAttachment(AttachmentOut):
    download_path = fields.String(required=True, metadata={
        "description": "GET it with the same token for the bytes", "example": "/api/attachments/7"})


class ExportedApplication(ma.Schema):
    id = fields.Integer(required=True)
    job_id = fields.Integer(required=True)
    job_title = fields.String(required=True)
    company_id = fields.Integer(required=True)
    company_name = fields.String(required=True)
    stage = fields.String(required=True, metadata={"enum": list(STAGES)})
    cover_letter = fields.String(required=True, allow_none=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)
    history = fields.List(fields.Nested(ExportedHistoryEntry), required=True, metadata={
        "description": "oldest first; no staff notes, no rejection reasons"})
    interviews = fields.List(fields.Nested(InterviewOut), required=True, metadata={
        "description": "by start, as the candidate sees them (scorecards are never exported)"})
    attachments = fields.List(fields.Nested(ExportedAttachment), required=True, metadata={
        "description": "every file of the application, oldest first: metadata and where to "
                       "download it"})


class ExportedNotification(ma.Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": list(KINDS)})
    application_id = fields.Integer(required=True, allow_none=True)
    recipient = fields.String(required=True, metadata={"description": "the caller's address"})
    status = fields.String(required=True, metadata={"enum": list(NOTIFICATION_STATUSES)})
    created_at = Timestamp(required=True)
    sent_at = Timestamp(required=True, allow_none=True)


class Export(ma.Schema):
    """Everything held about the caller: their account and profile, their applications
    (with history, interviews and files) and the mail addressed to them. Nothing internal:
    no comments, scorecards, staff notes, rejection reasons or other people's emails."""

    exported_at = Timestamp(required=True)
    user = fields.Nested(UserOut, required=True)
    applications = fields.List(fields.Nested(ExportedApplication), required=True, metadata={
        "description": "oldest first"})
    notifications = fields.List(fields.Nested(ExportedNotification), required=True, metadata={
        "description": "every mail addressed to the caller, oldest first"})
