from ats.common.api import Blueprint

blp = Blueprint("comments", __name__, url_prefix="/api",
                description="Staff comments on applications (never shown to candidates)")

from ats.comments import routes  # noqa: E402,F401
