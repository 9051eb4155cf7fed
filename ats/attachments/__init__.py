from ats.common.api import Blueprint

blp = Blueprint("attachments", __name__, url_prefix="/api",
                description="Files of an application: résumés, cover letters, portfolios")

from ats.attachments import routes  # noqa: E402,F401
