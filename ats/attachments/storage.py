"""Where attachment bytes live, behind one small interface.

DatabaseStorage (the default) keeps them in attachment_chunks, in the caller's transaction:
an upload and the row describing it commit or vanish together, and deleting the row deletes
the pieces (ON DELETE CASCADE). ObjectStorage keeps them in an S3-compatible bucket under a
random key: written before the transaction commits (and removed again if it does not),
removed after a deletion commits. Either way bytes move in pieces, never a whole file at once.
"""
import logging
import uuid
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from flask import current_app
from sqlalchemy import insert, select

from ats.extensions import db
from ats.models import Attachment, AttachmentChunk

log = logging.getLogger(__name__)

CHUNK_SIZE = 256 * 1024


class DatabaseStorage:
    def save(self, attachment: Attachment, stream: BinaryIO) -> None:
        """attachment must be flushed (it has its id); stream is at its start."""
        seq = 0
        while piece := stream.read(CHUNK_SIZE):
            # one statement per piece: the session holds no piece after it is written
            db.session.execute(insert(AttachmentChunk).values(
                attachment_id=attachment.id, seq=seq, data=piece))
            seq += 1

    def discard(self, attachment: Attachment) -> None:
        """Undo save after a failed transaction: its rollback already did."""

    def open(self, attachment: Attachment) -> Iterator[bytes]:
        """Run when the answer's body is sent, not before: the view's session closes when the
        view returns (stream_with_context pushes its contexts again only for the body), and a
        server-side cursor opened in it would be gone by then on PostgreSQL."""
        # one statement; its rows read a piece at a time (a server-side cursor on PostgreSQL)
        result = db.session.execute(
            select(AttachmentChunk.data).where(AttachmentChunk.attachment_id == attachment.id)
            .order_by(AttachmentChunk.seq).execution_options(yield_per=1))
        for data in result.scalars():
            yield bytes(data)

    def remove(self, attachments: Iterable[Attachment]) -> None:
        """After their rows are deleted: the cascade took the pieces with them."""


class ObjectStorage:
    def __init__(self, bucket: str, endpoint_url: str | None):
        import boto3  # only when a bucket is configured

        self.bucket = bucket
        self.client = boto3.client("s3", endpoint_url=endpoint_url)

    def save(self, attachment: Attachment, stream: BinaryIO) -> None:
        attachment.storage_key = f"attachments/{uuid.uuid4().hex}"
        # a seekable file and its length: boto3 sends it in pieces, in one PUT
        self.client.put_object(Bucket=self.bucket, Key=attachment.storage_key, Body=stream,
                               ContentLength=attachment.size, ContentType=attachment.content_type)

    def discard(self, attachment: Attachment) -> None:
        self.remove([attachment])

    def open(self, attachment: Attachment) -> Iterator[bytes]:
        # asked now, so an unreachable store fails the request before its 200 goes out
        body = self.client.get_object(Bucket=self.bucket, Key=attachment.storage_key)["Body"]

        def pieces():
            try:
                yield from body.iter_chunks(CHUNK_SIZE)
            finally:
                body.close()
        return pieces()

    def purge(self, keys: list[str]) -> None:
        """Delete the objects now, or raise: for a caller that must not commit while any of
        their bytes remain (an erasure). Deleting a missing key succeeds, so a retry does."""
        for start in range(0, len(keys), 1000):  # S3 takes at most 1,000 keys a request
            answer = self.client.delete_objects(Bucket=self.bucket, Delete={
                "Objects": [{"Key": key} for key in keys[start:start + 1000]], "Quiet": True})
            if answer.get("Errors"):
                raise RuntimeError(f"object storage kept {len(answer['Errors'])} object(s): "
                                   f"{answer['Errors'][0].get('Message')}")

    def remove(self, attachments: Iterable[Attachment]) -> None:
        for attachment in attachments:
            if attachment.storage_key is None:
                continue  # kept in the database before a bucket was configured
            try:
                self.client.delete_object(Bucket=self.bucket, Key=attachment.storage_key)
            except Exception:  # the row is gone already; an orphaned object is only space
                log.exception("could not delete attachment object %s", attachment.storage_key)


def storage():
    """The storage new uploads go to (the app's, made once)."""
    extension = current_app.extensions.get("ats_storage")
    if extension is None:
        bucket = current_app.config["S3_BUCKET"]
        extension = (ObjectStorage(bucket, current_app.config["S3_ENDPOINT_URL"]) if bucket
                     else DatabaseStorage())
        current_app.extensions["ats_storage"] = extension
    return extension


def object_storage() -> ObjectStorage:
    """The bucket files with a storage_key live in: it must still be configured."""
    store = storage()
    if not isinstance(store, ObjectStorage):
        raise RuntimeError("attachments are kept in S3, but S3_BUCKET is not set")
    return store


def storage_of(attachment: Attachment):
    """Where attachment's bytes are: a file stored before a bucket was configured stays in
    the database; one stored in a bucket needs it still configured."""
    if attachment.storage_key is None:
        return DatabaseStorage()
    return object_storage()
