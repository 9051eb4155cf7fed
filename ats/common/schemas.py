"""Schema building blocks shared by every resource."""
import marshmallow as ma
from marshmallow import fields, validate

MAX_ID = 2**31 - 1  # the database's integer range: larger ids cannot exist


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


class Id(fields.Integer):
    """A positive database id."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validate", validate.Range(min=1, max=MAX_ID))
        super().__init__(**kwargs)


class Email(fields.Email):
    """An email address, trimmed and lower-cased: addresses are unique case-insensitively."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validate", validate.Length(max=254))
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.strip()
            if "\x00" in value:
                raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs).lower()


class Choice(Str):
    """One of a fixed set of lower-case words, matched case-insensitively."""

    def __init__(self, choices, **kwargs):
        super().__init__(validate=validate.OneOf(choices), **kwargs)
        self.metadata.setdefault("enum", list(choices))

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).lower()


class Timestamp(fields.AwareDateTime):
    """ISO 8601 in UTC with its offset."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", dump_only=True, **kwargs)


class ErrorBody(ma.Schema):
    code = fields.String(required=True, metadata={"example": "not_found"})
    message = fields.String(required=True)
    details = fields.Dict(required=True)


class ErrorSchema(ma.Schema):
    """Every non-2xx answer."""

    error = fields.Nested(ErrorBody, required=True)


class PageQuery(ma.Schema):
    """Keyset pagination arguments; list filters extend it."""

    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = Str(metadata={"description": "next_cursor of the previous page"},
                 validate=validate.Length(max=200))


def page_of(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The {items, next_cursor} envelope for a list of item_schema."""
    return ma.Schema.from_dict(
        {"items": fields.List(fields.Nested(item_schema), required=True),
         "next_cursor": fields.String(required=True, allow_none=True)},
        name=f"{item_schema.__name__.removesuffix('Out')}Page",
    )
