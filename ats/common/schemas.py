"""Schema building blocks shared by every resource."""
import re
from datetime import timezone
import unicodedata

import idna
import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import fields, validate
from werkzeug.datastructures import FileStorage

MAX_ID = 2**31 - 1  # the database's integer range: larger ids cannot exist

# Format characters that writing itself needs: ZWNJ and ZWJ (Persian, Indic scripts, emoji
# sequences) and the emoji tag characters (subdivision flags). Every other one (bidi
# overrides, soft hyphens, BOMs) only hides what a text really says.
_WRITING_FORMATS = frozenset("\u200c\u200d") | frozenset(map(chr, range(0xE0020, 0xE0080)))


def is_printable_char(char: str) -> bool:
    """Not a control, format, surrogate, private-use or unassigned character (category C),
    nor a line or paragraph separator (Zl, Zp)."""
    category = unicodedata.category(char)
    if category[0] == "C":
        return char in _WRITING_FORMATS
    return category not in ("Zl", "Zp")


class PrintableLine(validate.Validator):
    """Printable text on one line: what a name or a title is, and what a mail header can carry."""

    error = "Must be printable text on one line (no line breaks or control characters)."

    def __call__(self, value: str) -> str:
        if not all(map(is_printable_char, value)):
            raise ma.ValidationError(self.error)
        return value


def single_line(length: validate.Length) -> validate.Validator:
    """A length rule for a one-line field: a name, a title, a place."""
    return validate.And(length, PrintableLine())


class Str(fields.String):
    """A string that is trimmed and never carries a NUL byte (PostgreSQL refuses them)."""

    default_error_messages = {"nul": "Must not contain NUL characters.",
                              "unicode": "Must be valid Unicode text."}

    def __init__(self, *args, strip: bool = True, **kwargs):
        self.strip = strip
        super().__init__(*args, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in value:
            raise self.make_error("nul")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate ("\ud800" in JSON): no database takes it
            raise self.make_error("unicode") from None
        return value.strip() if self.strip else value


class WholeNumber(fields.Integer):
    """An integer: a JSON number, or a string of ASCII digits (a query string's). int() would
    also take blanks, a line break, underscores and other scripts' digits ("7\r", "1_0")."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not (value.isascii() and value.isdigit()):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Id(WholeNumber):
    """A positive database id."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validate", validate.Range(min=1, max=MAX_ID))
        super().__init__(**kwargs)


# RFC 5321's dot-atom in ASCII: a quoted or non-ASCII local part needs SMTPUTF8 or quoting
# that few servers and clients get right, so such addresses are refused at input.
LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def idna_domain(domain: str) -> str:
    """A domain in the ASCII form DNS and SMTP use (bücher.example -> xn--bcher-kva.example).

    Raises idna.IDNAError (a ValueError) when no such form exists."""
    if domain.isascii():
        return domain
    return idna.encode(domain, uts46=True).decode("ascii")


class Email(fields.Email):
    """An email address an SMTP server takes, trimmed and lower-cased (addresses are unique
    case-insensitively). The local part is ASCII; an internationalised domain is kept in its
    IDNA form, so each mailbox has one spelling: the one mail goes out to."""

    default_error_messages = {
        "local_part": "The part before the @ must be ASCII letters, digits and "
                      "!#$%&'*+/=?^_`{{|}}~.- (mail servers take no other).",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("validate", validate.Length(max=254))
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.strip()
            if "\x00" in value:
                raise self.make_error("invalid")
            local, at, domain = value.rpartition("@")
            if at and local and domain:
                if not LOCAL_PART.fullmatch(local):
                    raise self.make_error("local_part" if not local.isascii() else "invalid")
                try:
                    value = f"{local}@{idna_domain(domain)}"
                except (idna.IDNAError, UnicodeError):
                    raise self.make_error("invalid") from None
        return super()._deserialize(value, attr, data, **kwargs).lower()


class Choice(Str):
    """One of a fixed set of lower-case words, matched case-insensitively."""

    def __init__(self, choices, **kwargs):
        super().__init__(validate=validate.OneOf(choices), **kwargs)
        self.metadata.setdefault("enum", list(choices))

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).lower()


class Flag(fields.Boolean):
    """A JSON true or false in a body: no 1, "yes" or "on" standing in for one."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class QueryFlag(fields.Boolean):
    """true or false in a query string (any letter case)."""

    def __init__(self, **kwargs):
        super().__init__(truthy={"true"}, falsy={"false"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value.lower() if isinstance(value, str) else value,
                                    attr, data, **kwargs)


class DistinctList(fields.List):
    """A list of 1 to most items of item, each once; message says so when one repeats."""

    def __init__(self, item: fields.Field, most: int, message: str, **kwargs):
        super().__init__(item, validate=validate.Length(min=1, max=most), **kwargs)
        self.repeated = message

    def _deserialize(self, value, attr, data, **kwargs):
        items = super()._deserialize(value, attr, data, **kwargs)
        if len(set(items)) != len(items):
            raise ma.ValidationError(self.repeated)
        return items


class Timestamp(fields.AwareDateTime):
    """ISO 8601 in UTC with its offset."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", dump_only=True, **kwargs)


class Instant(fields.AwareDateTime):
    """ISO 8601 with an offset (a time without one is refused: whose 10:00 would it be?)."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).astimezone(timezone.utc)


class ErrorBody(ma.Schema):
    code = fields.String(required=True, metadata={"example": "not_found"})
    message = fields.String(required=True)
    details = fields.Dict(required=True)


class ErrorSchema(ma.Schema):
    """Every non-2xx answer."""

    error = fields.Nested(ErrorBody, required=True)


class PageQuery(ma.Schema):
    """Keyset pagination arguments; list filters extend it."""

    limit = WholeNumber(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = Str(metadata={"description": "next_cursor of the previous page"},
                 validate=validate.Length(max=200))


def updated_since() -> "Instant":
    """The incremental sync filter of a list (ats.common.sync)."""
    return Instant(metadata={"description": (
        "ISO 8601 with an offset: rows changed at or after it, ordered by (updated_at, id) "
        "ascending instead of newest first; pass the last updated_at seen")})


def page_of(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The {items, next_cursor} envelope for a list of item_schema."""
    return ma.Schema.from_dict(
        {"items": fields.List(fields.Nested(item_schema), required=True),
         "next_cursor": fields.String(required=True, allow_none=True)},
        name=f"{item_schema.__name__.removesuffix('Out')}Page",
    )


class File(Upload):
    """A file part of a multipart/form-data body (documented as binary)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, FileStorage):
            raise ma.ValidationError("Send a file, as a part of a multipart/form-data body.")
        return value
