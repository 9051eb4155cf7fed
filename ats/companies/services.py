"""Companies and their staff."""
from sqlalchemy import select

from ats.auth.services import commit_unique, new_company, new_user
from ats.common.access import can_manage_members, company_visible_or_404, member_or_404, require
from ats.common.pagination import keyset_page
from ats.models import Company, User
from ats.users.services import change_account


def create_company(name: str) -> Company:
    company = new_company(name)
    commit_unique(company_name=name)
    return company


def get_company(user: User, company_id: int) -> Company:
    return company_visible_or_404(company_id, user)


def list_members(user: User, company_id: int, page: dict) -> dict:
    """Deactivated members too (is_active false): the recruiters must find them to reactivate."""
    company = company_visible_or_404(company_id, user)
    return keyset_page(select(User).where(User.company_id == company.id), User.id, **page)


def add_member(user: User, company_id: int, data: dict) -> User:
    company = company_visible_or_404(company_id, user)
    require(can_manage_members(user, company))
    member = new_user(company=company, **data)
    commit_unique(data["email"])
    return member


def update_member(user: User, company_id: int, member_id: int, data: dict) -> User:
    """A member's role or state (the company's recruiters, admins)."""
    company = company_visible_or_404(company_id, user)
    member = member_or_404(company, member_id)
    require(can_manage_members(user, company))
    return change_account(member, **data)
