from flask_jwt_extended import get_current_user, get_jwt

from ats.auth import blp, services
from ats.auth.limits import login_limits, password_reset_limits, register_limits
from ats.auth.schemas import (Accepted, AccountUpdate, Credentials, PasswordChange,
                              PasswordResetConfirm, PasswordResetRequest, Registration, TokensOut,
                              UserOut)
from ats.models import CANDIDATE
from ats.privacy import services as privacy
from ats.privacy.schemas import Export


@blp.post("/register", operation_id="register")
@register_limits
@blp.arguments(Registration)
@blp.response(201, UserOut)
@blp.errors(409, 429)
def register(data):
    """Create an account: a candidate, or a recruiter with a new company."""
    return services.register(data)


@blp.post("/login", operation_id="login")
@login_limits
@blp.arguments(Credentials)
@blp.response(200, TokensOut)
@blp.errors(401, 429)
def login(data):
    """Exchange email and password for an access and a refresh token."""
    return services.login(data["email"], data["password"])


@blp.post("/refresh", operation_id="refreshToken")
@blp.auth(refresh=True)
@blp.response(200, TokensOut)
@blp.errors(401)
def refresh():
    """Spend a refresh token for a new access and refresh token (a spent one ends its session)."""
    return services.refresh(get_current_user(), get_jwt())


@blp.post("/logout", operation_id="logout")
@blp.auth()
@blp.response(204)
def logout():
    """End the session of the access token used: all its tokens stop working."""
    services.logout(get_jwt())


@blp.post("/logout-all", operation_id="logoutAll")
@blp.auth()
@blp.response(204)
def logout_all():
    """End every session of the caller, on every device."""
    services.logout_all(get_current_user())


@blp.get("/me", operation_id="getMe")
@blp.auth()
@blp.response(200, UserOut)
def me():
    """The caller's own account."""
    return get_current_user()


@blp.patch("/me", operation_id="updateMe")
@blp.auth()
@blp.arguments(AccountUpdate)
@blp.response(200, UserOut)
def update_me(data):
    """Change the caller's name, and a candidate's profile (email and role cannot change)."""
    return services.update_me(get_current_user(), data)


@blp.get("/me/export", operation_id="exportMe")
@blp.auth(CANDIDATE)
@blp.response(200, Export)
def export_me():
    """Everything held about the calling candidate, as one JSON document (staff and admins:
    403)."""
    return privacy.export(get_current_user())


@blp.delete("/me", operation_id="eraseMe")
@blp.auth(CANDIDATE)
@blp.response(204)
def erase_me():
    """Erase the calling candidate: the person goes, the hiring record stays; final (staff
    and admins: 403)."""
    privacy.erase_me(get_current_user())


@blp.post("/password", operation_id="changePassword")
@blp.auth()
@blp.arguments(PasswordChange)
@blp.response(204)
@blp.errors(429)
def change_password(data):
    """Change the caller's password (a wrong current one counts as a failed login); the
    caller's other sessions end."""
    services.change_password(get_current_user(), get_jwt(), data["current_password"],
                             data["new_password"])


@blp.post("/password-reset", operation_id="requestPasswordReset")
@password_reset_limits
@blp.arguments(PasswordResetRequest)
@blp.response(202, Accepted)
@blp.errors(429)
def request_password_reset(data):
    """Mail a single-use reset token, valid 30 minutes, if the account exists (the answer is
    the same either way)."""
    services.request_password_reset(data["email"])
    return {"message": "If an active account has this email, a reset token is on its way."}


@blp.post("/password-reset/confirm", operation_id="confirmPasswordReset")
@blp.arguments(PasswordResetConfirm)
@blp.response(204)
@blp.errors(400)
def confirm_password_reset(data):
    """Set a new password with a reset token; every session of that account ends."""
    services.confirm_password_reset(data["token"], data["new_password"])
