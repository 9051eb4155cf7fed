from flask_jwt_extended import get_current_user

from ats.auth.schemas import UserOut
from ats.common.schemas import PageQuery
from ats.companies import blp, services
from ats.companies.schemas import CompanyIn, CompanyOut, MemberIn
from ats.models import ADMIN
from ats.users.schemas import MemberUpdate, UserPage


@blp.post("", operation_id="createCompany")
@blp.auth(ADMIN)
@blp.arguments(CompanyIn)
@blp.response(201, CompanyOut)
@blp.errors(409)
def create_company(data):
    """Create a company (admins)."""
    return services.create_company(data["name"])


@blp.get("/<id:company_id>", operation_id="getCompany")
@blp.auth()
@blp.response(200, CompanyOut)
@blp.errors(404)
def get_company(company_id):
    """A company, for its staff and admins."""
    return services.get_company(get_current_user(), company_id)


@blp.get("/<id:company_id>/members", operation_id="listCompanyMembers")
@blp.auth()
@blp.arguments(PageQuery, location="query")
@blp.response(200, UserPage)
@blp.errors(404)
def list_members(page, company_id):
    """The company's recruiters and hiring managers, newest first (deactivated ones too)."""
    return services.list_members(get_current_user(), company_id, page)


@blp.post("/<id:company_id>/members", operation_id="addCompanyMember")
@blp.auth()
@blp.arguments(MemberIn)
@blp.response(201, UserOut)
@blp.errors(403, 404, 409)
def add_member(data, company_id):
    """Add a recruiter or a hiring manager (the company's recruiters, admins)."""
    return services.add_member(get_current_user(), company_id, data)


@blp.patch("/<id:company_id>/members/<id:user_id>", operation_id="updateCompanyMember")
@blp.auth()
@blp.arguments(MemberUpdate)
@blp.response(200, UserOut)
@blp.errors(403, 404, 409)
def update_member(data, company_id, user_id):
    """Change a member's role, deactivate or reactivate them (the company's recruiters,
    admins); the last active recruiter stays one (409)."""
    return services.update_member(get_current_user(), company_id, user_id, data)
