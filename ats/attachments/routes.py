from urllib.parse import quote

from flask import Response, request, stream_with_context
from flask_jwt_extended import get_current_user

from ats.attachments import blp, services
from ats.attachments.files import ACCEPTED, TEXT
from ats.attachments.schemas import AttachmentIn, AttachmentList, AttachmentOut
from ats.common.etags import NOT_MODIFIED

BINARY = {"schema": {"type": "string", "format": "binary"}}
DOWNLOAD_HEADERS = {
    "Content-Disposition": {"description": "attachment, with the filename (RFC 6266)",
                            "schema": {"type": "string"}},
    "ETag": {"description": "the file's SHA-256: send it back in If-None-Match to get 304",
             "schema": {"type": "string"}},
    "X-Content-Type-Options": {"schema": {"type": "string", "enum": ["nosniff"]}},
}


@blp.post("/applications/<id:application_id>/attachments", operation_id="uploadAttachment")
@blp.auth()
@blp.arguments(AttachmentIn, location="multipart")
@blp.response(201, AttachmentOut)
@blp.errors(403, 404, 413, 415)
def upload_attachment(data, application_id):
    """Add a file to an application (its candidate while it is open; its company's staff and
    admins). Its type is judged from its content, never from its name."""
    return services.add(get_current_user(), application_id, data["file"], data["kind"])


@blp.get("/applications/<id:application_id>/attachments", operation_id="listAttachments")
@blp.auth()
@blp.response(200, AttachmentList)
@blp.errors(404)
def list_attachments(application_id):
    """An application's files, oldest first (whoever may see the application)."""
    return services.list_for_application(get_current_user(), application_id)


@blp.get("/attachments/<id:attachment_id>", operation_id="downloadAttachment")
@blp.auth()
@blp.doc(responses={"200": {"description": "the file's bytes, in its own Content-Type",
                            "headers": DOWNLOAD_HEADERS,
                            "content": {content_type: BINARY for content_type in ACCEPTED}}})
@blp.alt_response(304, description=NOT_MODIFIED)
@blp.errors(404)
def download_attachment(attachment_id):
    """A file's bytes, streamed, to save rather than to display (whoever may see its
    application)."""
    attachment = services.get(get_current_user(), attachment_id)
    content_type = f"{TEXT}; charset=utf-8" if attachment.content_type == TEXT else attachment.content_type
    response = Response(content_type=content_type, headers={
        "Content-Disposition": _disposition(attachment.filename),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-cache",  # personal data: no shared cache keeps it
    })
    response.set_etag(attachment.sha256)
    response.make_conditional(request)
    response.content_length = attachment.size
    if response.status_code == 200 and request.method == "GET":  # a 304 or a HEAD: no bytes read
        response.response = stream_with_context(services.contents(attachment))
    return response


@blp.delete("/attachments/<id:attachment_id>", operation_id="deleteAttachment")
@blp.auth()
@blp.response(204)
@blp.errors(403, 404)
def delete_attachment(attachment_id):
    """Delete a file and its bytes (its uploader, the company's recruiters, admins)."""
    services.delete(get_current_user(), attachment_id)


def _disposition(filename: str) -> str:
    """RFC 6266: a plain ASCII filename for every client, and the real one (RFC 8187) too
    when it is not plain ASCII."""
    fallback = "".join(char if " " <= char <= "~" and char not in '"\\%' else "_" for char in filename)
    if fallback == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
