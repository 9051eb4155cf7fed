"""Companies and their staff."""
from sqlalchemy import select

from ats.auth import services as accounts
from ats.common.access import can_manage_members, company_visible_or_404, member_or_404, require
from ats.common.db import conflict_if_lost
from ats.common.pagination import keyset_page
from ats.errors import Conflict
from ats.extensions import db
from ats.models import Company, User
from ats.users.services import change_account


def company_conflict(name: str | None) -> Conflict | None:
    """A company of that name exists (ignoring letter case and runs of spaces)."""
    if name is None or db.session.scalar(
            select(Company.id).where(Company.name_key == Company.key_for(name))) is None:
        return None
    return Conflict("A company with this name already exists.", code="company_taken")


def new_company(name: str) -> Company:
    """Add a company to the session; the caller commits inside conflict_if_lost(company_conflict)."""
    if conflict := company_conflict(name):
        raise conflict
    company = Company(name=name, name_key=Company.key_for(name))
    db.session.add(company)
    return company


def create_company(name: str) -> Company:
    with conflict_if_lost(lambda: company_conflict(name)):
        company = new_company(name)
        db.session.commit()
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
    with conflict_if_lost(lambda: accounts.email_conflict(data["email"])):
        member = accounts.new_user(company=company, **data)
        db.session.commit()
    return member


def update_member(user: User, company_id: int, member_id: int, data: dict) -> User:
    """A member's role or state (the company's recruiters, admins)."""
    company = company_visible_or_404(company_id, user)
    member = member_or_404(company, member_id)
    require(can_manage_members(user, company))
    return change_account(member, **data)
