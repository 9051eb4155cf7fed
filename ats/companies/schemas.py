import marshmallow as ma
from marshmallow import fields

from ats.auth.schemas import COMPANY_NAME, NewAccount
from ats.common.schemas import Choice, Str, Timestamp
from ats.models import STAFF_ROLES


class CompanyIn(ma.Schema):
    name = Str(required=True, validate=COMPANY_NAME)


class CompanyOut(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    created_at = Timestamp(required=True)


class MemberIn(NewAccount):
    role = Choice(STAFF_ROLES, required=True)
