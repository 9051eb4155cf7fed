import marshmallow as ma
from marshmallow import validate

from ats.auth.schemas import UserOut
from ats.common.schemas import Choice, Flag, Id, PageQuery, QueryFlag, Str, page_of
from ats.models import ROLES, STAFF_ROLES

UserPage = page_of(UserOut)


class UserQuery(PageQuery):
    role = Choice(ROLES)
    company_id = Id()
    is_active = QueryFlag(metadata={"description": "true or false"})
    q = Str(validate=validate.Length(max=200),
            metadata={"description": "case-insensitive text in the name or the email"})


ACTIVE = {"description": "false deactivates: every session ends, logins fail, job assignments "
                         "and pending mail go; true lets the user log in again"}


class AccountState(ma.Schema):
    is_active = Flag(required=True, metadata=ACTIVE)


class MemberUpdate(ma.Schema):
    role = Choice(STAFF_ROLES, metadata={"description": "a hiring manager made recruiter "
                                                        "leaves the jobs they were assigned to"})
    is_active = Flag(metadata=ACTIVE)
