"""`flask ats …` commands, run through app.test_cli_runner()."""
import pytest
from sqlalchemy import func, select

from ats.extensions import db
from ats.models import Application, Company, Job, User
from ats.seed import PASSWORD as SEED_PASSWORD

ADMIN_PASSWORD = "admin-password-123"


def create_admin(runner, email="root@example.com", password=ADMIN_PASSWORD):
    return runner.invoke(args=["ats", "create-admin", "--email", email, "--name", "Root",
                               "--password", password])


def row_counts(app) -> dict:
    with app.app_context():
        return {table.name: db.session.scalar(select(func.count()).select_from(table))
                for table in db.metadata.sorted_tables}


def login(client, email, password):
    return client.post("/api/auth/login", json={"email": email, "password": password})


# --- create-admin ------------------------------------------------------------------------

def test_create_admin_makes_an_admin_who_can_log_in(runner, client, app):
    result = create_admin(runner, email="Root@Example.com")
    assert result.exit_code == 0, result.output
    assert "root@example.com" in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "root@example.com"))
        assert (user.role, user.company_id, user.name) == ("admin", None, "Root")
    response = login(client, "root@example.com", ADMIN_PASSWORD)
    assert response.status_code == 200
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {response.get_json()['access_token']}"})
    assert me.get_json()["role"] == "admin"


def test_create_admin_prompts_for_the_password(runner, client):
    result = runner.invoke(args=["ats", "create-admin", "--email", "root@example.com", "--name", "Root"],
                           input=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert login(client, "root@example.com", ADMIN_PASSWORD).status_code == 200


def test_create_admin_refuses_a_taken_email(runner, app, candidate):
    result = create_admin(runner, email=candidate.email.upper())
    assert result.exit_code != 0
    assert "already exists" in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1


@pytest.mark.parametrize("email, password, message", [
    ("root@example.com", "short", "password"),
    ("not-an-email", ADMIN_PASSWORD, "email"),
])
def test_create_admin_refuses_invalid_input(runner, app, email, password, message):
    result = create_admin(runner, email=email, password=password)
    assert result.exit_code != 0
    assert message in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


# --- seed --------------------------------------------------------------------------------

@pytest.fixture
def seeded(runner):
    result = runner.invoke(args=["ats", "seed"])
    assert result.exit_code == 0, result.output
    return result


def test_seed_loads_the_demo_companies_and_jobs(app, seeded):
    with app.app_context():
        companies = set(db.session.scalars(select(Company.name)))
        assert {"TechCorp", "WebWorks", "DataPlus"} <= companies
        open_titles = set(db.session.scalars(select(Job.title).where(Job.status == "open")))
        assert {"Backend Developer", "Frontend Engineer", "Data Analyst"} <= open_titles
        for company in db.session.scalars(select(Company)):
            roles = set(db.session.scalars(select(User.role).where(User.company_id == company.id)))
            assert roles == {"recruiter", "hiring_manager"}, company.name


def test_seed_loads_candidates_with_applications_in_several_stages(app, seeded):
    with app.app_context():
        candidates = db.session.scalars(select(User.id).where(User.role == "candidate")).all()
        assert len(candidates) >= 2
        stages = set(db.session.scalars(select(Application.stage)))
        assert {"applied", "hired", "rejected"} <= stages and len(stages) >= 4
        applicants = set(db.session.scalars(select(Application.candidate_id)))
        assert applicants == set(candidates)


def test_seed_prints_the_logins(app, seeded):
    with app.app_context():
        emails = db.session.scalars(select(User.email)).all()
    assert all(email in seeded.output for email in emails)
    assert SEED_PASSWORD in seeded.output


def test_seed_twice_adds_nothing(runner, app, seeded):
    before = row_counts(app)
    assert before["users"] > 0 and before["applications"] > 0 and before["application_history"] > 0
    result = runner.invoke(args=["ats", "seed"])
    assert result.exit_code == 0, result.output
    assert row_counts(app) == before


def test_seeded_accounts_log_in_through_the_api(client, seeded):
    for email in ("rita@techcorp.example", "carla@example.com"):
        assert login(client, email, SEED_PASSWORD).status_code == 200, email
