from ats.common.api import Blueprint

blp = Blueprint("companies", __name__, url_prefix="/api/companies",
                description="Companies and their staff")

from ats.companies import routes  # noqa: E402,F401
