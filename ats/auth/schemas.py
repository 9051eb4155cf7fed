import marshmallow as ma
from marshmallow import fields, validate

from ats.common.schemas import Choice, Email, Str, Timestamp, is_printable_char, single_line
from ats.models import CANDIDATE, RECRUITER, Company

NAME = single_line(validate.Length(min=1, max=120))  # people's and companies' names
PASSWORD = validate.Length(min=8, max=128)


def _company_key_fits(name: str) -> None:
    """Uniqueness uses the casefolded name, which can be longer ("ß" -> "ss"): it must fit too."""
    if len(Company.key_for(name)) > Company.name_key.type.length:
        raise ma.ValidationError("Too long once letter case is ignored.")


COMPANY_NAME = [NAME, _company_key_fits]


class Credentials(ma.Schema):
    email = Email(required=True)
    password = Str(required=True, strip=False, validate=validate.Length(max=128),
                   load_only=True)


class NewAccount(ma.Schema):
    """Fields every new account gives."""

    name = Str(required=True, validate=NAME)
    email = Email(required=True)
    password = Str(required=True, strip=False, validate=PASSWORD, load_only=True)


class Registration(NewAccount):
    role = Choice((CANDIDATE, RECRUITER), load_default=CANDIDATE)
    company_name = Str(validate=COMPANY_NAME, metadata={"description": "required for recruiters"})

    @ma.validates_schema
    def company_for_recruiters(self, data, **kwargs):
        if data.get("role") == RECRUITER and not data.get("company_name"):
            raise ma.ValidationError("A recruiter must give the company's name.", "company_name")
        if data.get("role") == CANDIDATE and "company_name" in data:
            raise ma.ValidationError("Only recruiters create a company.", "company_name")


class PasswordChange(ma.Schema):
    current_password = Str(required=True, strip=False, validate=validate.Length(max=128),
                           load_only=True)
    new_password = Str(required=True, strip=False, validate=PASSWORD, load_only=True)


class PasswordResetRequest(ma.Schema):
    email = Email(required=True)


class Accepted(ma.Schema):
    message = fields.String(required=True)


class PasswordResetConfirm(ma.Schema):
    token = Str(required=True, validate=validate.Length(max=200), load_only=True)
    new_password = Str(required=True, strip=False, validate=PASSWORD, load_only=True)


class Link(fields.Url):
    """An absolute http or https URL of at most 2,000 characters, trimmed."""

    MAX_LENGTH = 2_000
    default_error_messages = {"too_long": f"At most {MAX_LENGTH} characters."}

    def __init__(self, **kwargs):
        super().__init__(schemes={"http", "https"}, metadata={"maxLength": self.MAX_LENGTH},
                         **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.strip()
            if len(value) > self.MAX_LENGTH:  # before the URL pattern has to read it all
                raise self.make_error("too_long")
            if not all(map(is_printable_char, value)):  # the pattern lets control characters by
                raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


PROFILE_TEXT = ("phone", "headline", "location")


class AccountUpdate(ma.Schema):
    """PATCH /api/auth/me: a name for anyone; the profile fields for candidates only."""

    name = Str(validate=NAME)
    phone = Str(validate=single_line(validate.Length(max=40)), allow_none=True,
                metadata={"description": "candidates only; null or \"\" clears it"})
    headline = Str(validate=single_line(validate.Length(max=200)), allow_none=True,
                   metadata={"description": "candidates only; null or \"\" clears it"})
    location = Str(validate=single_line(validate.Length(max=200)), allow_none=True,
                   metadata={"description": "candidates only; null or \"\" clears it"})
    links = fields.List(Link(), validate=validate.Length(max=5), allow_none=True,
                        metadata={"description": "candidates only: at most 5 http(s) URLs; "
                                                 "[] or null clears them"})

    @ma.post_load
    def empty_clears(self, data, **kwargs):
        for field in PROFILE_TEXT:
            if data.get(field) == "":
                data[field] = None
        if "links" in data and data["links"] is None:
            data["links"] = []
        return data


class ProfileOut(ma.Schema):
    phone = fields.String(required=True, allow_none=True)
    headline = fields.String(required=True, allow_none=True)
    location = fields.String(required=True, allow_none=True)
    links = fields.List(fields.String(), required=True)


class UserOut(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    role = fields.String(required=True)
    company_id = fields.Integer(required=True, allow_none=True)
    is_active = fields.Boolean(required=True, metadata={
        "description": "false: deactivated (no login, no mail; the name stays in history)"})
    profile = fields.Nested(ProfileOut, metadata={
        "description": "candidates only (absent for other roles); shown to the candidate, "
                       "admins and the staff of a company the candidate applied to"})
    created_at = Timestamp(required=True)

    @ma.post_dump
    def profile_for_candidates_only(self, data, **kwargs):
        if data.get("profile") is None:
            data.pop("profile", None)
        return data


class TokensOut(ma.Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True, metadata={
        "description": "single use: POST /api/auth/refresh spends it for the next pair"})
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "seconds the access token lives"})
