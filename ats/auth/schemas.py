import marshmallow as ma
from marshmallow import fields, validate

from ats.auth.services import company_key
from ats.common.schemas import Choice, Email, Str, Timestamp, single_line
from ats.models import CANDIDATE, RECRUITER, Company

NAME = single_line(validate.Length(min=1, max=120))  # people's and companies' names
PASSWORD = validate.Length(min=8, max=128)


def _company_key_fits(name: str) -> None:
    """Uniqueness uses the casefolded name, which can be longer ("ß" -> "ss"): it must fit too."""
    if len(company_key(name)) > Company.name_key.type.length:
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


class UserOut(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    role = fields.String(required=True)
    company_id = fields.Integer(required=True, allow_none=True)
    created_at = Timestamp(required=True)


class TokensOut(ma.Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True, metadata={
        "description": "single use: POST /api/auth/refresh spends it for the next pair"})
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "seconds the access token lives"})
