from ats.common.api import Blueprint

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Accounts and tokens")

from ats.auth import routes  # noqa: E402,F401  (registers the routes on blp)
