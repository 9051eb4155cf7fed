"""Attachments: files of an application, uploaded by its candidate or its company's staff.

A file is judged (type, size, digest) before anything is written; its row and its bytes then
commit together, and an application never holds more than MAX_ATTACHMENTS files, however
many uploads race (the count is raised by compare-and-set, like a stage).
"""
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete as sql_delete, select, update
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import FileStorage

from ats.attachments.files import Examined, examine, safe_filename
from ats.attachments.storage import object_storage, storage, storage_of
from ats.common import sync
from ats.common.access import (application_visible_or_404, attachment_visible_or_404,
                               can_delete_attachment, can_upload_attachment, require)
from ats.errors import ValidationFailed
from ats.extensions import db
from ats.models import Application, Attachment, User

WITH_UPLOADER = (joinedload(Attachment.uploaded_by),)
WITH_APPLICATION = (joinedload(Attachment.application),)


@dataclass(frozen=True)
class Upload:
    """A file received and judged, not yet stored."""

    file: FileStorage
    kind: str
    filename: str
    examined: Examined


def judge(file: FileStorage, kind: str) -> Upload:
    """413 if too big, 415 if not a type we take: before anything is written."""
    examined = examine(file.stream, current_app.config["MAX_UPLOAD_BYTES"])
    return Upload(file, kind, safe_filename(file.filename, examined.content_type), examined)


@contextmanager
def stored(upload: Upload, application: Application, user: User) -> Iterator[Attachment]:
    """Write upload's row and bytes in the session's transaction; the caller commits inside
    the block. Bytes stored outside the database are removed again if the block fails."""
    attachment = Attachment(
        application=application, uploaded_by=user, kind=upload.kind, filename=upload.filename,
        content_type=upload.examined.content_type, size=upload.examined.size,
        sha256=upload.examined.sha256)
    db.session.add(attachment)
    db.session.flush()  # its id names its pieces
    store = storage()
    store.save(attachment, upload.file.stream)
    try:
        yield attachment
    except BaseException:
        db.session.rollback()
        store.discard(attachment)
        raise


def add(user: User, application_id: int, file: FileStorage, kind: str) -> Attachment:
    application = application_visible_or_404(application_id, user)
    require(can_upload_attachment(user, application))
    if application.attachment_count >= current_app.config["MAX_ATTACHMENTS"]:
        raise _full()  # before reading the file (the compare-and-set below settles races)
    upload = judge(file, kind)
    with stored(upload, application, user) as attachment:
        # last, so the application's row is locked only for the commit
        counted = db.session.execute(
            update(Application)
            .where(Application.id == application.id,
                   Application.attachment_count < current_app.config["MAX_ATTACHMENTS"])
            .values(attachment_count=Application.attachment_count + 1)
        ).rowcount
        if counted != 1:
            raise _full()
        sync.changed(Application, [application.id])  # its files are part of it
        db.session.commit()
    return attachment


def _full() -> ValidationFailed:
    return ValidationFailed({"file": [
        f"An application holds at most {current_app.config['MAX_ATTACHMENTS']} files."]})


def list_for_application(user: User, application_id: int) -> dict:
    application = application_visible_or_404(application_id, user)
    return {"items": db.session.scalars(
        select(Attachment).where(Attachment.application_id == application.id)
        .order_by(Attachment.id).options(*WITH_UPLOADER)).all()}


def get(user: User, attachment_id: int) -> Attachment:
    return attachment_visible_or_404(attachment_id, user, WITH_APPLICATION)


def contents(attachment: Attachment) -> Iterator[bytes]:
    """attachment's bytes, opened now and read piece by piece as they are sent."""
    return storage_of(attachment).open(attachment)


def delete_all_of_candidate(candidate_id: int) -> None:
    """In the caller's transaction, before its commit (an erasure): every file of the
    candidate's applications, whoever uploaded it, with its bytes: the pieces in the
    database go by the cascade, the objects in S3 now. A store that refuses raises, so
    nothing commits while bytes remain. (The caller zeroes the applications' counts.)"""
    keys = db.session.scalars(
        sql_delete(Attachment)
        .where(Attachment.application_id.in_(
            select(Application.id).where(Application.candidate_id == candidate_id)))
        .returning(Attachment.storage_key).execution_options(synchronize_session=False)).all()
    if stored_outside := [key for key in keys if key is not None]:
        object_storage().purge(stored_outside)


def delete(user: User, attachment_id: int) -> None:
    attachment = attachment_visible_or_404(attachment_id, user, WITH_APPLICATION)
    require(can_delete_attachment(user, attachment))
    db.session.execute(update(Application).where(Application.id == attachment.application_id)
                       .values(attachment_count=Application.attachment_count - 1))
    sync.changed(Application, [attachment.application_id])
    db.session.delete(attachment)
    db.session.commit()
    storage_of(attachment).remove([attachment])
