"""Accounts, logins and passwords."""
import uuid
from datetime import timedelta

from sqlalchemy import select, update

from ats.auth import limits, sessions
from ats.auth.passwords import hash_password, needs_rehash, verify_password
from ats.common import reset_tokens as resets
from ats.common.access import is_candidate
from ats.common.db import conflict_if_lost, utcnow
from ats.companies import services as companies
from ats.errors import Conflict, InvalidToken, Unauthorized, ValidationFailed
from ats.extensions import db
from ats.models import RECRUITER, Company, PasswordReset, User
from ats.notifications import outbox


def email_conflict(email: str) -> Conflict | None:
    if db.session.scalar(select(User.id).where(User.email == email)) is None:
        return None
    return Conflict("An account with this email already exists.", code="email_taken")


def new_user(*, name: str, email: str, password: str, role: str, company: Company | None = None) -> User:
    """Add a user to the session; the caller commits inside conflict_if_lost(email_conflict)."""
    if conflict := email_conflict(email):
        raise conflict
    user = User(name=name, email=email, password_hash=hash_password(password), role=role, company=company)
    db.session.add(user)
    return user


def register(data: dict) -> User:
    """Self-registration: a candidate, or a recruiter founding a company."""
    email, company_name = data["email"], data.get("company_name")
    # the winner of a race is committed when a loser looks again, to say which name was taken
    with conflict_if_lost(lambda: email_conflict(email) or companies.company_conflict(company_name)):
        company = companies.new_company(company_name) if data["role"] == RECRUITER else None
        user = new_user(name=data["name"], email=email, password=data["password"],
                        role=data["role"], company=company)
        db.session.commit()
    return user


def create_user(*, name: str, email: str, password: str, role: str, company: Company | None = None) -> User:
    with conflict_if_lost(lambda: email_conflict(email)):
        user = new_user(name=name, email=email, password=password, role=role, company=company)
        db.session.commit()
    return user


def login(email: str, password: str) -> dict:
    """Check the password and start a session: its access and refresh tokens."""
    user = db.session.scalar(select(User).where(User.email == email))
    if not verify_password(user.password_hash if user else None, password):
        raise Unauthorized("Wrong email or password.")
    if not user.is_active:  # told only after the hash was checked: the timing is the same
        raise Unauthorized("Wrong email or password.")
    if needs_rehash(user.password_hash):  # parameters were raised since this hash was made
        user.password_hash = hash_password(password)
    return sessions.start(user)


def refresh(user: User, refresh_payload: dict) -> dict:
    return sessions.rotate(user, refresh_payload)


def logout(payload: dict) -> None:
    sessions.end(payload["sid"])


def logout_all(user: User) -> None:
    sessions.end_all(user.id)


def update_me(user: User, data: dict) -> User:
    """The caller's name, and for a candidate the profile."""
    if not is_candidate(user):
        if profile_fields := sorted(set(data) - {"name"}):
            raise ValidationFailed({field: ["Only candidates have a profile."]
                                    for field in profile_fields})
    for field, value in data.items():
        setattr(user, field, value)
    db.session.commit()
    return user


# --- passwords ---------------------------------------------------------------------------

def change_password(user: User, token_payload: dict, current: str, new: str) -> None:
    """A wrong current password counts as a failed login; the caller's other sessions end."""
    limits.refuse_if_locked(user.email)
    if not verify_password(user.password_hash, current):
        limits.count_failed_login(user.email)
        raise Unauthorized("The current password is wrong.")
    user.password_hash = hash_password(new)
    sessions.end_all(user.id, sessions.PASSWORD_CHANGED, keep=token_payload["sid"])  # commits


def request_password_reset(email: str) -> None:
    """Mail a reset token to an active account; for any other email do nothing, visibly the same."""
    user = db.session.scalar(select(User).where(User.email == email, User.is_active))
    if user is None:
        return
    now = utcnow()
    reset = PasswordReset(user_id=user.id, created_at=now,
                          expires_at=now + timedelta(minutes=resets.VALID_MINUTES),
                          token_hash=uuid.uuid4().hex)  # a placeholder until the id is known
    db.session.add(reset)
    db.session.flush()
    reset.token_hash = resets.token_hash(resets.token_for(reset))
    notifications = outbox.record_password_reset(user, reset)
    db.session.commit()
    outbox.dispatch(notifications)


def confirm_password_reset(token: str, new: str) -> None:
    """Spend the token (and every other of that user's), set the password, end every session
    and clear the email's failed logins."""
    now = utcnow()
    reset = db.session.scalar(select(PasswordReset).where(
        PasswordReset.token_hash == resets.token_hash(token),
        PasswordReset.used_at.is_(None), PasswordReset.expires_at > now))
    user = db.session.get(User, reset.user_id) if reset else None
    if user is None or not user.is_active:
        raise InvalidToken()
    # of two confirmations racing with one token only the first finds it unspent
    spent = db.session.execute(update(PasswordReset).where(
        PasswordReset.id == reset.id, PasswordReset.used_at.is_(None)).values(used_at=now)).rowcount
    if spent != 1:
        raise InvalidToken()
    db.session.execute(update(PasswordReset).where(
        PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None)).values(used_at=now))
    user.password_hash = hash_password(new)
    sessions.end_all(user.id, sessions.PASSWORD_RESET)  # commits
    limits.clear_failed_logins(user.email)
