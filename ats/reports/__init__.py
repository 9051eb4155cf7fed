from ats.common.api import Blueprint

blp = Blueprint("reports", __name__, url_prefix="/api/reports",
                description="Hiring reports computed from the applications' history: the funnel, "
                            "time in each stage, time to hire and outcomes (JSON, or CSV by Accept)")

from ats.reports import routes  # noqa: E402,F401
