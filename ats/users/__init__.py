from ats.common.api import Blueprint

blp = Blueprint("users", __name__, url_prefix="/api/users",
                description="Every account, for admins; a user, for those who may see them")

from ats.users import routes  # noqa: E402,F401
