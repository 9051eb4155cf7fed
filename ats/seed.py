"""Demo data for `flask ats seed`, made through the same services as the API. Idempotent."""
from sqlalchemy import func, select

from ats import workflow
from ats.applications import services as applications
from ats.auth import services as accounts
from ats.extensions import db
from ats.jobs import services as jobs
from ats.models import CANDIDATE, HIRING_MANAGER, RECRUITER, Application, Job, Notification, User

PASSWORD = "demo-password-1"

COMPANIES = {
    "TechCorp": {
        "recruiter": ("Rita Recruiter", "rita@techcorp.example"),
        "hiring_manager": ("Hank Manager", "hank@techcorp.example"),
        "jobs": [("Backend Developer", "Berlin", "Build and run our Python APIs."),
                 ("Frontend Engineer", "Remote", "Make our hiring tools a joy to use.")],
    },
    "WebWorks": {
        "recruiter": ("Walter Works", "walter@webworks.example"),
        "hiring_manager": ("Wendy Lead", "wendy@webworks.example"),
        "jobs": [("Full-Stack Developer", "Lisbon", "Ship features end to end."),
                 ("DevOps Engineer", "Remote", "Keep deploys boring.")],
    },
    "DataPlus": {
        "recruiter": ("Dana Plus", "dana@dataplus.example"),
        "hiring_manager": ("Dirk Chief", "dirk@dataplus.example"),
        "jobs": [("Data Analyst", "Amsterdam", "Turn numbers into decisions."),
                 ("Machine Learning Engineer", "Remote", "Models in production, measured.")],
    },
}

CANDIDATES = [("Carla Candidate", "carla@example.com"), ("Chris Seeker", "chris@example.com"),
              ("Cleo Applicant", "cleo@example.com")]

# how far each candidate's application gets, job by job (round robin)
JOURNEYS = [[], [workflow.SCREENING], [workflow.SCREENING, workflow.INTERVIEW],
            [workflow.SCREENING, workflow.INTERVIEW, workflow.OFFER], [workflow.REJECTED],
            [workflow.SCREENING, workflow.INTERVIEW, workflow.OFFER, workflow.HIRED],
            [workflow.SCREENING, workflow.WITHDRAWN]]


def _user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def _account(name: str, email: str, role: str, company=None) -> User:
    return _user(email) or accounts.create_user(name=name, email=email, password=PASSWORD,
                                                role=role, company=company)


def notifications_recorded() -> int:
    return db.session.scalar(select(func.count(Notification.id)))


def seed() -> list[tuple[str, str]]:
    """Create what is missing; return the (role, email) logins."""
    logins = []
    posted = []
    for company_name, spec in COMPANIES.items():
        recruiter_name, recruiter_email = spec["recruiter"]
        recruiter = _user(recruiter_email) or accounts.register(
            {"name": recruiter_name, "email": recruiter_email, "password": PASSWORD,
             "role": RECRUITER, "company_name": company_name})
        manager_name, manager_email = spec["hiring_manager"]
        manager = _account(manager_name, manager_email, HIRING_MANAGER, recruiter.company)
        logins += [(RECRUITER, recruiter_email), (HIRING_MANAGER, manager_email)]
        for title, location, description in spec["jobs"]:
            job = db.session.scalar(select(Job).where(Job.company_id == recruiter.company_id,
                                                      Job.title == title))
            posted.append((recruiter, job or jobs.create_job(recruiter, {
                "title": title, "location": location, "description": description,
                "hiring_manager_ids": [manager.id]})))

    for n, (name, email) in enumerate(CANDIDATES):
        candidate = _account(name, email, CANDIDATE)
        logins.append((CANDIDATE, email))
        for k, (recruiter, job) in enumerate(posted[n:n + 4]):
            exists = db.session.scalar(select(Application.id).where(
                Application.candidate_id == candidate.id, Application.job_id == job.id))
            if exists:
                continue
            application = applications.apply(candidate, job.id, {"cover_letter": f"Hello from {name}."})
            before = application.stage
            for stage in JOURNEYS[(n * 4 + k) % len(JOURNEYS)]:
                # the table says who makes the move: the candidate withdraws, the staff do the rest
                mover = candidate if CANDIDATE in workflow.TRANSITIONS[before][stage] else recruiter
                reasons = workflow.REASONS.get(stage)  # a rejection needs one
                applications.change_stage(mover, application.id, stage,
                                          None if mover is candidate else f"Moved to {stage}.",
                                          reason=reasons.catalogue[0] if reasons else None)
                before = stage
    return logins
