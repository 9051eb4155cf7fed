"""Attachments: an application's files, judged by their bytes (never by their name or declared
type), kept in the database or in an S3 bucket, and handed back byte for byte, to be saved
rather than displayed, to whoever may see the application."""
import hashlib
import io
import re
import struct
import time
import unicodedata
import uuid
import zipfile
import zlib
from contextlib import contextmanager
from urllib.parse import quote, unquote

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from ats import create_app
from ats.attachments.storage import storage
from ats.extensions import db, limiter
from ats.models import (Application, ApplicationHistory, Attachment, AttachmentChunk,
                        IdempotencyKey, Notification)
from tests.helpers import answer, assert_error, assert_invalid, at_once, count
from tests.objectstore import ObjectStore, aws_environment

MiB = 1024 * 1024
MAX_FILE = 10 * MiB
PIECE = 256 * 1024  # what a download hands over at most at a time
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"
MAX_ATTACHMENTS = 20


# --- files, built here from the standard library ------------------------------------------------

def pdf(size: int | None = None) -> bytes:
    """A one-page PDF; padded with a comment to size bytes if given."""
    document = (b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
                b"2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n"
                b"3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]>> endobj\n"
                b"trailer <</Root 1 0 R>>\n")
    end = b"%%EOF\n"
    if size is None:
        return document + end
    padding = size - len(document) - len(end) - 2
    return document + b"%" + b"x" * padding + b"\n" + end


def zipped(*entries: tuple[str, bytes, int]) -> bytes:
    """A zip archive of (name, data, compression) entries, in that order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data, compression in entries:
            archive.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data,
                             compress_type=compression)
    return buffer.getvalue()


CONTENT_TYPES_XML = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
                     b'openxmlformats.org/package/2006/content-types"><Override PartName="/word/'
                     b'document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                     b'wordprocessingml.document.main+xml"/></Types>')


def docx() -> bytes:
    return zipped(("[Content_Types].xml", CONTENT_TYPES_XML, zipfile.ZIP_DEFLATED),
                  ("_rels/.rels", b'<?xml version="1.0"?><Relationships/>', zipfile.ZIP_DEFLATED),
                  ("word/document.xml", b'<?xml version="1.0"?><w:document><w:body><w:p><w:r>'
                                        b'<w:t>Jane Doe</w:t></w:r></w:p></w:body></w:document>',
                   zipfile.ZIP_DEFLATED))


def odt() -> bytes:
    """OpenDocument: its first entry is the uncompressed `mimetype` file."""
    return zipped(("mimetype", ODT.encode(), zipfile.ZIP_STORED),
                  ("content.xml", b'<?xml version="1.0"?><office:document-content/>',
                   zipfile.ZIP_DEFLATED))


def doc() -> bytes:
    """Word 97: an OLE2 compound file whose first sector (at 512) begins with Word's FIB."""
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    header[0x18:0x22] = struct.pack("<5H", 0x3E, 3, 0xFFFE, 9, 6)  # versions, byte order, sectors
    fib = b"\xec\xa5\xc1\x00" + bytes(508)  # wIdent 0xA5EC, nFib 0x00C1
    return bytes(header) + fib


def rtf() -> bytes:
    return rb"{\rtf1\ansi\deff0 {\fonttbl {\f0 Times;}} Jane Doe, Python developer.\par}"


def text() -> bytes:
    return "Jane Doe\r\nPython developer — 8 years.\n\tSQL, Flask\f\n".encode()


def png() -> bytes:
    """A 1×1 white PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">2I5B", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff")) + chunk(b"IEND", b""))


def jpeg() -> bytes:
    """A JFIF header and its end."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


ACCEPTED = [  # (builder, name it is sent under, the type judged)
    (pdf, "cv.pdf", "application/pdf"),
    (docx, "cv.docx", DOCX),
    (doc, "cv.doc", "application/msword"),
    (odt, "cv.odt", ODT),
    (rtf, "cv.rtf", "application/rtf"),
    (text, "cv.txt", "text/plain"),
    (png, "photo.png", "image/png"),
    (jpeg, "photo.jpg", "image/jpeg"),
]

HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
REFUSED = {
    "html": HTML,
    "html after a BOM and blank lines": b"\xef\xbb\xbf \r\n\n" + HTML,
    "xhtml": b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"/>',
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "exe": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(46) + b"\x40\x00\x00\x00"
           + b"PE\x00\x00\x4c\x01",
    "elf": b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00" + bytes(44),
    "zip": zipped(("readme.txt", b"hello", zipfile.ZIP_DEFLATED)),
    "gif": b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00"
           b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;",
    "empty": b"",
    "text that is not UTF-8": "Curriculum vitæ".encode("latin-1"),
    "text with control characters": b"Jane Doe\x1b[31m\x07\n",
}


def zip_bomb(expanded: int) -> bytes:
    """A DOCX by its first bytes ([Content_Types].xml first, word/document.xml next) whose
    document inflates to `expanded` bytes of zeros. Raw deflate of one MiB of zeros, fully
    flushed, gives the same bytes for every further MiB: a few MB stand for gigabytes."""
    zeros = bytes(MiB)
    squeezer = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = squeezer.compress(zeros) + squeezer.flush(zlib.Z_FULL_FLUSH)
    again = squeezer.compress(zeros) + squeezer.flush(zlib.Z_FULL_FLUSH)
    deflated = first + again * (expanded // MiB - 1) + squeezer.flush()
    crc = 0
    for _ in range(expanded // MiB):
        crc = zlib.crc32(zeros, crc)
    entries = [("[Content_Types].xml", CONTENT_TYPES_XML, 0, len(CONTENT_TYPES_XML),
                zlib.crc32(CONTENT_TYPES_XML)),
               ("word/document.xml", deflated, 8, expanded, crc)]
    date = (2024 - 1980) << 9 | 1 << 5 | 1
    body, directory = b"", b""
    for name, data, method, size, checksum in entries:
        header = (name.encode(), method, checksum, len(data), size)
        directory += struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, method, 0, date,
                                 checksum, len(data), size, len(header[0]), 0, 0, 0, 0, 0,
                                 len(body)) + header[0]
        body += struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, method, 0, date, checksum,
                            len(data), size, len(header[0]), 0) + header[0] + data
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(entries), len(entries),
                      len(directory), len(body), 0)
    return body + directory + end


BOMB_EXPANDS_TO = 4095 * MiB  # 4 GiB but a MiB: no zip64 needed


@pytest.fixture(scope="module")
def bomb() -> bytes:
    built = zip_bomb(BOMB_EXPANDS_TO)
    # a real archive: any zip reader would inflate it to 4 GiB
    with zipfile.ZipFile(io.BytesIO(built)) as archive:
        assert [entry.filename for entry in archive.infolist()] == ["[Content_Types].xml",
                                                                    "word/document.xml"]
        assert archive.getinfo("word/document.xml").file_size == BOMB_EXPANDS_TO
        with archive.open("word/document.xml") as inflated:
            assert inflated.read(MiB) == bytes(MiB)
    assert len(built) < 5 * MiB
    return built


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """A multipart/form-data body -> (body, its Content-Type). A filename goes as a browser
    sends it (a quoted string, UTF-8), or as filename* (RFC 5987) when a quoted string cannot
    carry it (quotes, backslashes, control and format characters)."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
             + value.encode() + b"\r\n" for name, value in fields.items()]
    for name, (filename, content, content_type) in files.items():
        if any(unicodedata.category(char)[0] == "C" or char in '"\\' for char in filename):
            given = f"filename*=UTF-8''{quote(filename, safe='')}"
        else:
            given = f'filename="{filename}"'
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; {given}\r\n'
                     f'Content-Type: {content_type}\r\n\r\n'.encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# --- the app, with its bytes in the database or in a bucket ---------------------------------

@pytest.fixture(scope="module")
def object_store():
    server = ObjectStore().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def s3_app(app, database_url, smtp_server, object_store):
    """The app as deployed with S3_BUCKET, on the suite's database."""
    made = create_app({"SQLALCHEMY_DATABASE_URI": database_url,
                       "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_server.port,
                       "S3_BUCKET": object_store.make_bucket(),
                       "S3_ENDPOINT_URL": object_store.url})
    with aws_environment(), made.app_context():
        storage()  # its client is made now, with the credentials of the block
    yield made
    with made.app_context():
        db.engine.dispose()
    limiter.init_app(app)  # the limiter is one object: give the suite's app its memory back


class Store:
    """The app with one kind of storage, its API, and what its storage holds."""

    def __init__(self, kind: str, app, object_store: ObjectStore | None = None):
        self.kind, self.app, self.object_store = kind, app, object_store
        self.bucket = app.config["S3_BUCKET"]

    @property
    def client(self):
        return self.app.test_client()  # one each call: threads never share one

    def upload(self, user, application_id, content: bytes, filename="cv.pdf", kind=None,
               content_type="application/octet-stream", headers=None):
        body, mimetype = multipart({} if kind is None else {"kind": kind},
                                   {"file": (filename, content, content_type)})
        return self.client.post(f"/api/applications/{application_id}/attachments", data=body,
                                content_type=mimetype, headers={**user.headers, **(headers or {})})

    def apply(self, user, job_id, resume: bytes, filename="cv.pdf", cover_letter="Hello"):
        body, mimetype = multipart({"cover_letter": cover_letter},
                                   {"resume": (filename, resume, "application/pdf")})
        return self.client.post(f"/api/jobs/{job_id}/applications", data=body,
                                content_type=mimetype, headers=user.headers)

    def download(self, user, attachment_id, **headers):
        return self.client.get(f"/api/attachments/{attachment_id}",
                               headers={**user.headers, **headers})

    def uploaded(self, user, application_id, content: bytes, **fields) -> dict:
        response = self.upload(user, application_id, content, **fields)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def held(self) -> dict:
        """Every file's bytes the storages hold, in the database and in the bucket, by
        attachment id (an object no row names: by its key)."""
        with self.app.app_context():
            pieces = db.session.execute(select(AttachmentChunk.attachment_id, AttachmentChunk.data)
                                        .order_by(AttachmentChunk.attachment_id, AttachmentChunk.seq))
            held = {}
            for attachment_id, data in pieces:
                held[attachment_id] = held.get(attachment_id, b"") + bytes(data)
            named = dict(db.session.execute(select(Attachment.storage_key, Attachment.id)
                                            .where(Attachment.storage_key.is_not(None))).all())
            db.session.remove()
        if self.bucket:
            for key in self.object_store.keys(self.bucket):
                held[named.get(key, key)] = self.object_store.read(self.bucket, key)
        return held

    def place(self, attachment_id) -> str:
        """Where a file's bytes are said to be: "database" or "s3"."""
        with self.app.app_context():
            key = db.session.get(Attachment, attachment_id).storage_key
            db.session.remove()
        if key is None:
            return "database"
        assert re.fullmatch(r"attachments/[0-9a-f]{32}", key), key
        return "s3"

    @contextmanager
    def statements(self):
        """with store.statements() as run: ... -> the SQL statements run inside the block."""
        run = []

        def record(conn, cursor, statement, *args):
            run.append(statement)

        with self.app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            yield run
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)


@pytest.fixture(params=["database", "s3"])
def store(request, app):
    """The suite's app (bytes in the database), or the app with a bucket (emptied first)."""
    if request.param == "database":
        return Store("database", app)
    s3_app, object_store = request.getfixturevalue("s3_app"), request.getfixturevalue("object_store")
    object_store.empty(s3_app.config["S3_BUCKET"])
    return Store("s3", s3_app, object_store)


@pytest.fixture
def db_store(app):
    """Where the storage does not matter: the suite's app."""
    return Store("database", app)


def attachment_count(app, application_id) -> int:
    with app.app_context():
        return db.session.get(Application, application_id).attachment_count


def disposition(response) -> tuple[str, str | None]:
    """A download's Content-Disposition as (filename, filename* decoded or None); it must be
    an attachment."""
    header = response.headers["Content-Disposition"]
    plain_ascii = r'[ !#$&-\[\]-~]*'  # printable, but no quote, backslash or percent
    match = re.fullmatch(rf'attachment; filename="({plain_ascii})"'
                         r"(?:; filename\*=UTF-8''([A-Za-z0-9%._~-]+))?", header)
    assert match, header
    plain, extended = match.groups()
    return plain, None if extended is None else unquote(extended, errors="strict")


# --- accepted types, stored and handed back ------------------------------------------------------

@pytest.mark.parametrize("build, filename, content_type", ACCEPTED,
                         ids=[name for _, name, _ in ACCEPTED])
def test_each_accepted_type_is_judged_stored_and_handed_back_byte_for_byte(
        store, candidate, application, build, filename, content_type):
    content = build()
    response = store.upload(candidate, application["id"], content, filename=filename)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == {"id", "application_id", "kind", "filename", "content_type", "size",
                         "sha256", "uploaded_by", "created_at"}
    assert (body["application_id"], body["kind"], body["filename"], body["content_type"],
            body["size"], body["sha256"]) == (application["id"], "resume", filename, content_type,
                                              len(content), sha256(content))
    assert body["uploaded_by"] == {"id": candidate.id, "name": candidate.name, "role": "candidate"}
    assert body["created_at"].endswith("+00:00")
    assert store.held() == {body["id"]: content}
    assert store.place(body["id"]) == store.kind
    assert attachment_count(store.app, application["id"]) == 1

    download = store.download(candidate, body["id"])
    assert download.status_code == 200
    assert download.is_streamed
    assert download.get_data() == content
    served_type = "text/plain; charset=utf-8" if content_type == "text/plain" else content_type
    assert download.headers["Content-Type"] == served_type
    assert download.headers["Content-Length"] == str(len(content))
    assert download.headers["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["ETag"] == f'"{sha256(content)}"'
    assert download.headers["Cache-Control"] == "private, no-cache"

    again = store.download(candidate, body["id"], If_None_Match=download.headers["ETag"])
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == download.headers["ETag"]
    changed = store.download(candidate, body["id"], If_None_Match=f'"{sha256(b"other")}"')
    assert changed.status_code == 200 and changed.get_data() == content


def test_the_kind_is_kept_and_the_list_is_oldest_first(db_store, candidate, recruiter, admin,
                                                        application, client):
    first = db_store.uploaded(candidate, application["id"], pdf(), kind="cover_letter")
    second = db_store.uploaded(recruiter, application["id"], png(), filename="portfolio.png",
                               kind="portfolio")
    third = db_store.uploaded(admin, application["id"], text(), filename="notes.txt", kind="other")
    for user in (candidate, recruiter, admin):
        listed = client.get(f"/api/applications/{application['id']}/attachments", headers=user.headers)
        assert listed.status_code == 200
        assert listed.get_json() == {"items": [first, second, third]}
    assert [item["uploaded_by"]["role"] for item in (first, second, third)] == [
        "candidate", "recruiter", "admin"]
    assert [item["kind"] for item in (first, second, third)] == ["cover_letter", "portfolio", "other"]


def test_a_download_is_streamed_in_pieces_at_a_constant_number_of_statements(
        store, candidate, application):
    statements = []
    for content in (pdf(3 * MiB), pdf(9 * MiB)):
        attachment = store.uploaded(candidate, application["id"], content)
        with store.statements() as run:
            response = store.download(candidate, attachment["id"])
            assert response.is_streamed
            pieces = list(response.response)
            response.close()
        assert b"".join(pieces) == content
        assert max(len(piece) for piece in pieces) <= PIECE  # never the whole file at once
        statements.append(len(run))
    assert statements[0] == statements[1]


# --- hostile uploads --------------------------------------------------------------------------

def test_an_html_page_named_and_declared_pdf_is_refused_and_nothing_stored(
        store, candidate, application):
    response = store.upload(candidate, application["id"], HTML, filename="cv.pdf",
                            content_type="application/pdf")
    assert_error(response, 415, "unsupported_media_type")
    assert count(store.app, Attachment) == 0
    assert store.held() == {}
    assert attachment_count(store.app, application["id"]) == 0


@pytest.mark.parametrize("name", REFUSED)
def test_files_of_other_types_are_refused_whatever_their_name(db_store, app, candidate,
                                                              application, name):
    response = db_store.upload(candidate, application["id"], REFUSED[name], filename="cv.pdf",
                               content_type="application/pdf")
    assert_error(response, 415, "unsupported_media_type")
    assert count(app, Attachment) == 0 and db_store.held() == {}


POLYGLOTS = {
    "jpeg with a zip appended": (jpeg() + docx(), "image/jpeg"),
    "jpeg with html appended": (jpeg() + HTML, "image/jpeg"),
    "pdf that is also html": (b"%PDF-1.4\n" + HTML + b"\n%%EOF\n", "application/pdf"),
    "png with html in a chunk": (png()[:-12] + struct.pack(">I", len(HTML)) + b"tEXt" + HTML
                                 + b"\x00\x00\x00\x00" + png()[-12:], "image/png"),
}


@pytest.mark.parametrize("name", POLYGLOTS)
def test_a_polyglot_is_taken_as_its_leading_type_only_and_served_to_be_saved(
        store, candidate, recruiter, application, name):
    content, content_type = POLYGLOTS[name]
    attachment = store.uploaded(candidate, application["id"], content, filename="cv.html",
                                content_type="text/html")
    assert attachment["content_type"] == content_type
    download = store.download(recruiter, attachment["id"])
    assert download.status_code == 200 and download.get_data() == content
    assert download.headers["Content-Type"] == content_type
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert disposition(download) == ("cv.html", None)


def test_a_zip_bomb_named_docx_is_never_unpacked(store, candidate, application, bomb):
    started = time.monotonic()
    response = store.upload(candidate, application["id"], bomb, filename="cv.docx")
    assert time.monotonic() - started < 30  # inflating 4 GiB would take far longer
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["content_type"], body["size"], body["sha256"]) == (DOCX, len(bomb), sha256(bomb))
    assert store.held() == {body["id"]: bomb}  # the archive as sent: nothing inflated


SAFE_NAMES = [  # (sent, stored and answered)
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("/var/www/cv.pdf", "cv.pdf"),
    ("C:\\Users\\x\\cv.pdf", "cv.pdf"),
    ("..\\..\\boot.ini\\cv.pdf", "cv.pdf"),
    ("cv\x00.exe.pdf", "cv .exe.pdf"),
    ("cv\r\nX-Injected: 1\r\n\r\n.pdf", "cv X-Injected: 1 .pdf"),  # no header of its own
    ("cv\u202efdp.exe", "cv fdp.exe"),  # shown as "cvexe.pdf" with the override in place
    ("\tcv\u200b  final\u2028.pdf ", "cv final .pdf"),
    ("a" * 496 + ".pdf", "a" * 196 + ".pdf"),
    ("..", "attachment.pdf"),
    (" . ", "attachment.pdf"),
    ("", "attachment.pdf"),
    ("...pdf", "pdf"),
]


@pytest.mark.parametrize("sent, safe", SAFE_NAMES, ids=range(len(SAFE_NAMES)))
def test_hostile_filenames_become_a_safe_base_name(db_store, app, client, candidate, application,
                                                   sent, safe):
    attachment = db_store.uploaded(candidate, application["id"], pdf(), filename=sent)
    assert attachment["filename"] == safe
    with app.app_context():
        assert db.session.get(Attachment, attachment["id"]).filename == safe
    listed = client.get(f"/api/applications/{application['id']}/attachments",
                        headers=candidate.headers).get_json()["items"]
    assert [item["filename"] for item in listed] == [safe]
    download = db_store.download(candidate, attachment["id"])
    assert download.headers["Content-Disposition"] == f'attachment; filename="{safe}"'
    assert disposition(download) == (safe, None)


@pytest.mark.parametrize("sent, plain", [
    ("Lebenslauf Müller – 2024.pdf", "Lebenslauf M_ller _ 2024.pdf"),
    ("резюме.pdf", "______.pdf"),
    ("履歴書 🚀.pdf", "___ _.pdf"),
    ('my "best" cv; 100%.pdf', "my _best_ cv; 100_.pdf"),
    ("e\u0301cole.pdf", "_cole.pdf"),  # normalised: é is one character
])
def test_a_non_ascii_or_quoted_name_goes_back_as_filename_star(db_store, candidate, application,
                                                               sent, plain):
    attachment = db_store.uploaded(candidate, application["id"], pdf(), filename=sent)
    expected = unicodedata.normalize("NFC", sent)
    assert attachment["filename"] == expected
    download = db_store.download(candidate, attachment["id"])
    assert disposition(download) == (plain, expected)


# --- size -------------------------------------------------------------------------------------

def test_a_file_of_exactly_10_mib_is_taken(store, candidate, application):
    content = pdf(MAX_FILE)
    attachment = store.uploaded(candidate, application["id"], content)
    assert (attachment["size"], attachment["sha256"]) == (MAX_FILE, sha256(content))
    assert store.held() == {attachment["id"]: content}
    assert store.download(candidate, attachment["id"]).get_data() == content


def test_a_file_one_byte_over_10_mib_is_413_and_nothing_stored(store, candidate, application):
    response = store.upload(candidate, application["id"], pdf(MAX_FILE + 1))
    assert_error(response, 413, "payload_too_large")
    assert count(store.app, Attachment) == 0 and store.held() == {}
    assert attachment_count(store.app, application["id"]) == 0


class Unreadable(io.RawIOBase):
    """A request body of size bytes that fails the test if anything reads it."""

    def __init__(self, size: int):
        super().__init__()
        self.size, self.position = size, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        self.position = offset + (self.size if whence == io.SEEK_END else 0)
        return self.position

    def tell(self):
        return self.position

    def readinto(self, buffer):
        raise AssertionError("the body was read")


def test_a_body_declared_far_over_the_limit_is_413_before_it_is_read(client, app, candidate,
                                                                      application):
    response = client.post(f"/api/applications/{application['id']}/attachments",
                           input_stream=Unreadable(200 * MiB),
                           content_type="multipart/form-data; boundary=x", headers=candidate.headers)
    assert_error(response, 413, "payload_too_large")
    assert count(app, Attachment) == 0


# --- at most 20 files --------------------------------------------------------------------------

def test_the_21st_file_is_refused_and_deleting_one_frees_a_slot(store, candidate, application):
    attachments = [store.uploaded(candidate, application["id"], pdf() + b"%" + str(n).encode())
                   for n in range(MAX_ATTACHMENTS)]
    details = assert_invalid(store.upload(candidate, application["id"], pdf()), "file")
    assert "20" in details["file"][0]
    assert count(store.app, Attachment) == MAX_ATTACHMENTS
    assert len(store.held()) == MAX_ATTACHMENTS  # the refused file's bytes were not kept
    assert attachment_count(store.app, application["id"]) == MAX_ATTACHMENTS

    deleted = store.client.delete(f"/api/attachments/{attachments[0]['id']}",
                                  headers=candidate.headers)
    assert deleted.status_code == 204
    assert attachment_count(store.app, application["id"]) == MAX_ATTACHMENTS - 1
    store.uploaded(candidate, application["id"], pdf())
    assert_invalid(store.upload(candidate, application["id"], pdf()), "file")
    assert count(store.app, Attachment) == MAX_ATTACHMENTS and len(store.held()) == MAX_ATTACHMENTS


def test_racing_uploads_never_exceed_20_files(store, candidate, recruiter, application):
    """On PostgreSQL the uploads truly race; on SQLite they take turns."""
    for n in range(MAX_ATTACHMENTS - 3):
        store.uploaded(candidate, application["id"], pdf() + b"%" + str(n).encode())
    racers = 8
    outcome = at_once(racers, lambda n: answer(store.upload(
        candidate if n % 2 else recruiter, application["id"], pdf() + b"%race" + str(n).encode())))
    assert outcome == {(201, None): 3, (422, "validation_error"): racers - 3}
    assert count(store.app, Attachment) == MAX_ATTACHMENTS
    assert attachment_count(store.app, application["id"]) == MAX_ATTACHMENTS
    assert len(store.held()) == MAX_ATTACHMENTS


# --- a résumé in the apply request --------------------------------------------------------------

def test_applying_with_a_resume_stores_it_with_the_application(store, client, candidate, recruiter,
                                                               job):
    content = pdf()
    response = store.apply(candidate, job["id"], content, filename="Jane Doe CV.pdf",
                           cover_letter="I love Python.")
    assert response.status_code == 201, response.get_json()
    application = response.get_json()
    assert (application["stage"], application["cover_letter"]) == ("applied", "I love Python.")
    listed = client.get(f"/api/applications/{application['id']}/attachments",
                        headers=recruiter.headers).get_json()["items"]
    assert [(item["kind"], item["filename"], item["content_type"], item["size"], item["sha256"],
             item["uploaded_by"]["id"]) for item in listed] == [
        ("resume", "Jane Doe CV.pdf", "application/pdf", len(content), sha256(content), candidate.id)]
    assert store.held() == {listed[0]["id"]: content}
    assert store.place(listed[0]["id"]) == store.kind
    assert attachment_count(store.app, application["id"]) == 1
    assert count(store.app, ApplicationHistory) == 1


@pytest.mark.parametrize("resume, status, code", [
    (HTML, 415, "unsupported_media_type"),
    (pdf(MAX_FILE + 1), 413, "payload_too_large"),
], ids=["html", "too big"])
def test_a_refused_resume_leaves_no_application_behind(store, mailbox, candidate, job, resume,
                                                       status, code):
    notifications = count(store.app, Notification)
    assert_error(store.apply(candidate, job["id"], resume), status, code)
    assert count(store.app, Application) == 0
    assert count(store.app, ApplicationHistory) == 0
    assert count(store.app, Notification) == notifications
    assert count(store.app, Attachment) == 0 and store.held() == {}
    assert mailbox.wait_for(1, timeout=1) == []


def test_racing_applies_with_a_resume_store_one_application_and_one_file(store, candidate, job):
    racers = 4
    content = pdf()
    outcome = at_once(racers, lambda n: answer(store.apply(candidate, job["id"], content)))
    assert outcome == {(201, None): 1, (409, "already_applied"): racers - 1}
    assert count(store.app, Application) == 1
    assert count(store.app, Attachment) == 1
    assert list(store.held().values()) == [content]  # one object in the bucket, for S3


def test_a_json_apply_still_works_and_a_json_resume_is_refused(app, client, candidate, job):
    url = f"/api/jobs/{job['id']}/applications"
    assert_invalid(client.post(url, json={"resume": "JVBERi0xLjQK"}, headers=candidate.headers),
                   "resume")
    assert count(app, Application) == 0
    response = client.post(url, json={"cover_letter": "Hi"}, headers=candidate.headers)
    assert response.status_code == 201, response.get_json()
    assert count(app, Attachment) == 0
    assert attachment_count(app, response.get_json()["id"]) == 0


# --- delete ----------------------------------------------------------------------------------

def test_the_uploader_deletes_a_file_and_its_bytes_are_gone(store, client, candidate, recruiter,
                                                            application):
    kept = store.uploaded(candidate, application["id"], png(), filename="photo.png")
    attachment = store.uploaded(candidate, application["id"], pdf(2 * MiB))
    response = store.client.delete(f"/api/attachments/{attachment['id']}", headers=candidate.headers)
    assert response.status_code == 204 and response.get_data() == b""
    assert store.held() == {kept["id"]: png()}
    assert count(store.app, AttachmentChunk, AttachmentChunk.attachment_id == attachment["id"]) == 0
    assert attachment_count(store.app, application["id"]) == 1
    for user in (candidate, recruiter):
        assert_error(store.download(user, attachment["id"]), 404, "not_found")
        assert_error(store.client.delete(f"/api/attachments/{attachment['id']}", headers=user.headers),
                     404, "not_found")
    listed = client.get(f"/api/applications/{application['id']}/attachments", headers=candidate.headers)
    assert listed.get_json() == {"items": [kept]}


def test_staff_who_are_not_recruiters_may_not_delete_others_files(db_store, app, client, make_user,
                                                                   candidate, recruiter,
                                                                   hiring_manager, admin,
                                                                   application):
    by_candidate = db_store.uploaded(candidate, application["id"], pdf())
    by_recruiter = db_store.uploaded(recruiter, application["id"], pdf() + b"%2")
    for attachment in (by_candidate, by_recruiter):
        assert_error(client.delete(f"/api/attachments/{attachment['id']}",
                                   headers=hiring_manager.headers), 403, "forbidden")
    # the candidate deletes only their own
    assert_error(client.delete(f"/api/attachments/{by_recruiter['id']}", headers=candidate.headers),
                 403, "forbidden")
    assert count(app, Attachment) == 2
    colleague = make_user("recruiter", company_id=recruiter.company_id)
    assert client.delete(f"/api/attachments/{by_candidate['id']}",
                         headers=colleague.headers).status_code == 204
    assert client.delete(f"/api/attachments/{by_recruiter['id']}",
                         headers=admin.headers).status_code == 204
    assert count(app, Attachment) == 0 and db_store.held() == {}
    # their own upload, a hiring manager deletes
    by_manager = db_store.uploaded(hiring_manager, application["id"], pdf())
    assert client.delete(f"/api/attachments/{by_manager['id']}",
                         headers=hiring_manager.headers).status_code == 204


# --- who may ---------------------------------------------------------------------------------

def test_a_candidate_cannot_upload_once_final_but_still_lists_and_downloads(
        db_store, app, client, candidate, recruiter, application):
    attachment = db_store.uploaded(candidate, application["id"], pdf())
    withdrawn = client.patch(f"/api/applications/{application['id']}/stage",
                             json={"stage": "withdrawn"}, headers=candidate.headers)
    assert withdrawn.status_code == 200, withdrawn.get_json()
    assert_error(db_store.upload(candidate, application["id"], png()), 403, "forbidden")
    assert count(app, Attachment) == 1
    listed = client.get(f"/api/applications/{application['id']}/attachments", headers=candidate.headers)
    assert listed.get_json() == {"items": [attachment]}
    assert db_store.download(candidate, attachment["id"]).get_data() == pdf()
    # the company's staff still add files to a closed application
    assert db_store.upload(recruiter, application["id"], png()).status_code == 201


@pytest.mark.parametrize("who", ["other_candidate", "outsider"])
def test_others_find_neither_the_application_nor_its_files(db_store, app, client, make_user, request,
                                                           candidate, application, who):
    attachment = db_store.uploaded(candidate, application["id"], pdf())
    user = make_user("candidate") if who == "other_candidate" else request.getfixturevalue(who)
    assert_error(db_store.upload(user, application["id"], pdf()), 404, "not_found")
    assert_error(client.get(f"/api/applications/{application['id']}/attachments",
                            headers=user.headers), 404, "not_found")
    assert_error(db_store.download(user, attachment["id"]), 404, "not_found")
    assert_error(client.delete(f"/api/attachments/{attachment['id']}", headers=user.headers),
                 404, "not_found")
    assert count(app, Attachment) == 1


def test_no_token_is_401(db_store, client, application):
    response = client.post(f"/api/applications/{application['id']}/attachments",
                           data={"file": (io.BytesIO(pdf()), "cv.pdf")})
    assert_error(response, 401, "unauthorized")


def test_a_kind_outside_the_list_or_no_file_is_422_and_a_json_body_400(db_store, app, client, candidate,
                                                                       application):
    url = f"/api/applications/{application['id']}/attachments"
    assert_invalid(db_store.upload(candidate, application["id"], pdf(), kind="photo"), "kind")
    body, mimetype = multipart({"kind": "resume"}, {})
    assert_invalid(client.post(url, data=body, content_type=mimetype, headers=candidate.headers),
                   "file")
    body, mimetype = multipart({"file": pdf().decode()}, {})  # a plain field, not a file
    assert_invalid(client.post(url, data=body, content_type=mimetype, headers=candidate.headers),
                   "file")
    assert_error(client.post(url, json={"file": "JVBERi0xLjQK"}, headers=candidate.headers),
                 400, "bad_request")
    assert_error(client.post(url, data=pdf(), content_type="application/pdf",
                             headers=candidate.headers), 400, "bad_request")
    assert count(app, Attachment) == 0


@pytest.mark.parametrize("body", [b"--b\r\n[]--b--\r\n", b"not a form at all",
                                  b'--b\r\nContent-Disposition: form-data; name="kind"\r\n\r\nresume'],
                         ids=["a part without headers", "no boundary", "cut off"])
def test_a_malformed_multipart_body_is_400_on_both_routes_and_nothing_stored(
        app, client, candidate, job, application, body):
    for url in (f"/api/jobs/{job['id']}/applications",
                f"/api/applications/{application['id']}/attachments"):
        response = client.post(url, data=body, headers={
            **candidate.headers, "Content-Type": "multipart/form-data; boundary=b"})
        assert_error(response, 400, "bad_request")
    assert count(app, Attachment) == 0 and count(app, Application) == 1


# --- Idempotency-Key --------------------------------------------------------------------------

def test_an_upload_repeated_with_its_idempotency_key_answers_the_first_and_stores_once(
        db_store, app, candidate, application):
    key = {"Idempotency-Key": "upload-1"}
    first = db_store.upload(candidate, application["id"], pdf(), headers=key)
    assert first.status_code == 201
    again = db_store.upload(candidate, application["id"], pdf(), headers=key)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert count(app, Attachment) == 1 and attachment_count(app, application["id"]) == 1

    other = db_store.upload(candidate, application["id"], png(), headers=key)
    assert_error(other, 422, "idempotency_key_reused")
    renamed = db_store.upload(candidate, application["id"], pdf(), filename="other.pdf", headers=key)
    assert_error(renamed, 422, "idempotency_key_reused")
    assert count(app, Attachment) == 1 and db_store.held() == {first.get_json()["id"]: pdf()}
    assert count(app, IdempotencyKey) == 1


def test_a_refused_upload_gives_its_idempotency_key_back(db_store, app, candidate, application):
    key = {"Idempotency-Key": "upload-2"}
    assert_error(db_store.upload(candidate, application["id"], HTML, headers=key), 415,
                 "unsupported_media_type")
    assert count(app, IdempotencyKey) == 0
    assert db_store.upload(candidate, application["id"], HTML, headers=key).status_code == 415


# --- cost ------------------------------------------------------------------------------------

def test_the_list_costs_constant_statements(app, client, make_user, recruiter, application,
                                            count_queries):
    """Every file by a different uploader: their names must not cost a query each."""
    def add_files(n):
        uploaders = [make_user("hiring_manager", company_id=recruiter.company_id).id
                     for _ in range(n)]
        with app.app_context():
            db.session.add_all([Attachment(
                application_id=application["id"], uploaded_by_id=uploader, kind="resume",
                filename="cv.pdf", content_type="application/pdf", size=1, sha256="0" * 64)
                for uploader in uploaders])
            db.session.commit()

    def listed():
        with count_queries() as run:
            response = client.get(f"/api/applications/{application['id']}/attachments",
                                  headers=recruiter.headers)
        assert response.status_code == 200
        return len(run), len(response.get_json()["items"])

    add_files(2)
    small = listed()
    add_files(13)
    big = listed()
    assert (small[1], big[1]) == (2, 15)
    assert small[0] == big[0]
    with app.app_context():  # the rows made here, by their uploaders
        assert db.session.scalar(select(func.count(func.distinct(Attachment.uploaded_by_id)))) == 15
