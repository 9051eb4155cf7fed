from ats.common.api import Blueprint

blp = Blueprint("applications", __name__, url_prefix="/api",
                description="Applications and the hiring pipeline")

from ats.applications import routes  # noqa: E402,F401
