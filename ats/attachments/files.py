"""What an uploaded file is, judged by its bytes: its type from its magic numbers (the
`filetype` library reads only the first bytes, so a zip bomb named .docx is never unpacked),
its size, its SHA-256 and a name safe to show and to send back.

Plain text has no magic number: it is text when it is UTF-8 without control characters, and
it is refused when it begins with markup (an HTML page named .pdf or .txt), which a browser
might otherwise be talked into rendering.
"""
import codecs
import hashlib
import os
import unicodedata
from dataclasses import dataclass
from typing import BinaryIO

import filetype
from filetype.types import archive, document, image

from ats.errors import PayloadTooLarge, UnsupportedMediaType

READ_SIZE = 64 * 1024
HEAD_SIZE = 8192  # more than any accepted type's signature needs
TEXT = "text/plain"
# what we take, judged by content; each matcher knows its MIME type
MATCHERS = (archive.Pdf(), document.Docx(), document.Doc(), document.Odt(), archive.Rtf(),
            image.Png(), image.Jpeg())
ACCEPTED = tuple(matcher.mime for matcher in MATCHERS) + (TEXT,)
FILE_RULES = ("PDF, DOCX, DOC, ODT, RTF, plain text, PNG or JPEG, judged by its content "
              "(else 415); at most 10 MiB (else 413)")
MAX_FILENAME = 200
_TEXT_CONTROLS = {"\t", "\n", "\r", "\f"}


@dataclass(frozen=True)
class Examined:
    content_type: str
    size: int
    sha256: str


def examine(stream: BinaryIO, max_size: int) -> Examined:
    """Read stream once, in small pieces, from its start: its type, size and digest.
    Too big → 413; not an accepted type → 415. The stream is left at its start."""
    stream.seek(0)
    digest, size, head = hashlib.sha256(), 0, b""
    text = codecs.getincrementaldecoder("utf-8")()
    is_text = True
    while piece := stream.read(READ_SIZE):
        size += len(piece)
        if size > max_size:
            raise PayloadTooLarge(f"A file may hold at most {max_size} bytes.")
        digest.update(piece)
        if len(head) < HEAD_SIZE:
            head += piece[:HEAD_SIZE - len(head)]
        if is_text:
            is_text = _is_plain(text, piece)
    stream.seek(0)
    content_type = _content_type(head, is_text and _is_plain(text, b"", final=True))
    return Examined(content_type, size, digest.hexdigest())


def _is_plain(decoder, piece: bytes, final: bool = False) -> bool:
    try:
        decoded = decoder.decode(piece, final)
    except UnicodeDecodeError:
        return False
    return all(char.isprintable() or char in _TEXT_CONTROLS for char in decoded)


def _content_type(head: bytes, is_text: bool) -> str:
    matcher = filetype.match(head, matchers=MATCHERS)
    if matcher is not None:
        return matcher.mime
    if is_text and head and not head.decode(errors="ignore").lstrip("\ufeff \t\r\n\f").startswith("<"):
        return TEXT
    raise UnsupportedMediaType()


def safe_filename(name: str | None, content_type: str) -> str:
    """The client's name reduced to a base name: no directories, no control or format
    characters, at most 200 characters (the extension kept). Nothing left → "attachment"."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(" " if unicodedata.category(char)[0] in "CZ" and char != " " else char
                   for char in unicodedata.normalize("NFC", name))
    name = " ".join(name.split()).strip(". ")
    if len(name) > MAX_FILENAME:
        stem, extension = os.path.splitext(name)
        extension = extension if len(extension) <= 16 else ""
        name = stem[:MAX_FILENAME - len(extension)].rstrip(". ") + extension
    return name or "attachment" + EXTENSIONS.get(content_type, "")


EXTENSIONS = {matcher.mime: "." + matcher.extension for matcher in MATCHERS} | {TEXT: ".txt"}
