from flask_jwt_extended import get_current_user

from ats.auth.schemas import UserOut
from ats.models import ADMIN
from ats.privacy import services as privacy
from ats.users import blp, services
from ats.users.schemas import AccountState, UserPage, UserQuery


@blp.get("", operation_id="listUsers")
@blp.auth(ADMIN)
@blp.arguments(UserQuery, location="query")
@blp.response(200, UserPage)
def list_users(args):
    """Every account, newest first, filtered by role, company, state or text (admins)."""
    return services.list_users(args)


@blp.get("/<id:user_id>", operation_id="getUser")
@blp.auth()
@blp.response(200, UserOut)
@blp.errors(404)
def get_user(user_id):
    """A user: admins see anyone; staff their company's members and the candidates who
    applied to it; everyone themself."""
    return services.get_user(get_current_user(), user_id)


@blp.patch("/<id:user_id>", operation_id="updateUser")
@blp.auth(ADMIN)
@blp.arguments(AccountState)
@blp.response(200, UserOut)
@blp.errors(404, 409)
def update_user(data, user_id):
    """Deactivate or reactivate an account (admins; not their own deactivation)."""
    return services.set_active_by_id(get_current_user(), user_id, data["is_active"])


@blp.post("/<id:user_id>/erase", operation_id="eraseUser")
@blp.auth(ADMIN)
@blp.response(204)
@blp.errors(404, 422)
def erase_user(user_id):
    """Erase a candidate (admins): the person goes, the hiring record stays; final. Erasing
    an erased candidate changes nothing (204); any other account: 422."""
    privacy.erase_user(get_current_user(), user_id)
