from ats.common.api import Blueprint

blp = Blueprint("jobs", __name__, url_prefix="/api/jobs", description="Job postings")

from ats.jobs import routes  # noqa: E402,F401
