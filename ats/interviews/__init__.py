from ats.common.api import Blueprint

blp = Blueprint("interviews", __name__, url_prefix="/api",
                description="Interviews of applications, their invites and reminders, and the "
                            "interviewers' scorecards (never shown to candidates)")

from ats.interviews import routes  # noqa: E402,F401
