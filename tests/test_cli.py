"""`flask ats …` commands, run through app.test_cli_runner()."""
import json
import socket
import time
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select

from ats import workflow
from ats.cli import ats_cli
from ats.extensions import db, migrate
from ats.models import RECRUITER, Application, Company, Job, User
from ats.operations import TIMEOUT
from ats.seed import PASSWORD as SEED_PASSWORD
from tests.conftest import PASSWORD
from tests.mailbox import free_port

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
        assert {"applied", "hired", "rejected", "withdrawn"} <= stages and len(stages) >= 5
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


# --- stats -------------------------------------------------------------------------------

def move(client, actor, application_id, *stages):
    for stage in stages:
        reason = {"reason": "other"} if stage == "rejected" else {}  # a rejection needs one
        response = client.patch(f"/api/applications/{application_id}/stage",
                                json={"stage": stage, **reason}, headers=actor.headers)
        assert response.status_code == 200, response.get_json()


def pipeline(**counts) -> dict:
    return {stage: counts.get(stage, 0) for stage in workflow.STAGES}


@pytest.fixture
def world(app, client, make_user, make_job, make_application, recruiter, outsider):
    """Three companies whose pipelines are known: {company name: {stage: count}}."""
    idle = make_user(RECRUITER)  # a company nobody applied to
    job, other_job = make_job(recruiter), make_job(outsider)
    candidates = [make_user() for _ in range(4)]
    first = [make_application(candidate, job["id"]) for candidate in candidates[:3]]
    second = [make_application(candidate, other_job["id"]) for candidate in candidates[2:]]
    move(client, recruiter, first[1]["id"], "screening")
    move(client, recruiter, first[2]["id"], "rejected")
    move(client, outsider, second[0]["id"], "screening", "interview", "offer", "hired")
    move(client, outsider, second[1]["id"], "screening", "interview", "offer")
    with app.app_context():
        name = {actor.company_id: db.session.get(Company, actor.company_id).name
                for actor in (recruiter, outsider, idle)}
    return {name[recruiter.company_id]: pipeline(applied=1, screening=1, rejected=1),
            name[outsider.company_id]: pipeline(offer=1, hired=1),
            name[idle.company_id]: pipeline()}


def table_rows(output: str) -> dict:
    """{first column: [numbers]} of the stats table, header and rule left out."""
    lines = output.splitlines()
    assert lines[0].split() == ["company", *workflow.STAGES, "total"]
    columns = len(workflow.STAGES) + 1
    rows = {}
    for line in lines[1:]:
        if not line.startswith("---"):
            words = line.split()
            rows[" ".join(words[:-columns])] = [int(n) for n in words[-columns:]]
    return rows


def test_stats_prints_a_row_per_company_and_a_column_per_stage(runner, world):
    result = runner.invoke(args=["ats", "stats"])
    assert result.exit_code == 0, result.output
    expected = {name: [*stages.values(), sum(stages.values())] for name, stages in world.items()}
    everything = [sum(column) for column in zip(*expected.values())]
    assert table_rows(result.output) == {**expected, "all companies": everything}
    assert list(table_rows(result.output)) == [*sorted(world, key=str.casefold), "all companies"]


def test_stats_json_gives_the_same_numbers(runner, world):
    result = runner.invoke(args=["ats", "stats", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["stages"] == list(workflow.STAGES)
    assert {row["name"]: row["stages"] for row in document["companies"]} == world
    assert all(row["total"] == sum(row["stages"].values()) for row in document["companies"])
    assert document["total"] == {"stages": pipeline(applied=1, screening=1, offer=1, hired=1, rejected=1),
                                 "total": 5}


def test_stats_counts_with_one_query(runner, world, count_queries):
    with count_queries() as statements:
        result = runner.invoke(args=["ats", "stats"])
    assert result.exit_code == 0, result.output
    assert len(statements) == 1 and "GROUP BY" in statements[0], statements


def test_stats_on_an_empty_database(runner):
    result = runner.invoke(args=["ats", "stats", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"stages": list(workflow.STAGES), "companies": [],
                                         "total": {"stages": pipeline(), "total": 0}}
    table = runner.invoke(args=["ats", "stats"])
    zeros = [0] * (len(workflow.STAGES) + 1)  # each stage and the total
    assert table.exit_code == 0 and table_rows(table.output) == {"all companies": zeros}


# --- check -------------------------------------------------------------------------------

CHECKS = ["config", "database", "redis", "smtp", "outbox"]
MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def run_check(runner) -> tuple:
    """(exit code, {check: (status, detail)}, whole output) of `flask ats check`."""
    result = runner.invoke(args=["ats", "check"])
    lines = {}
    for line in result.output.splitlines():
        name, _, rest = line.partition(" ")
        if name in CHECKS:
            status, _, detail = rest.strip().partition(" ")
            lines[name] = (status, detail.strip())
    assert list(lines) == CHECKS, result.output
    return result.exit_code, lines, result.output


@pytest.fixture
def with_redis(app, redis_server, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", redis_server.url)
    return redis_server


def test_check_passes_with_real_redis_and_smtp(runner, app, with_redis, smtp_server):
    code, lines, output = run_check(runner)
    assert code == 0, output
    assert {name: status for name, (status, _) in lines.items()} == dict.fromkeys(CHECKS, "ok")
    assert "ATS_ENV=testing" in lines["config"][1]
    assert "head" in lines["database"][1]
    assert with_redis.url in lines["redis"][1] and "0 job(s) waiting" in lines["redis"][1]
    assert f"127.0.0.1:{smtp_server.port}" in lines["smtp"][1]
    assert app.config["SECRET_KEY"] not in output


def test_check_without_redis_or_smtp_names_the_fallbacks(runner, app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    monkeypatch.setitem(app.config, "MAIL_SERVER", None)
    code, lines, output = run_check(runner)
    assert code == 0, output
    assert lines["redis"][0] == "inline" and lines["smtp"][0] == "console"


def test_check_fails_when_redis_stops(runner, with_redis):
    assert run_check(runner)[0] == 0
    with_redis.stop()
    code, lines, output = run_check(runner)
    assert code == 1
    assert lines["redis"][0] == "FAIL" and with_redis.url in lines["redis"][1], output
    assert "Connection refused" in lines["redis"][1]
    assert [name for name, (status, _) in lines.items() if status == "FAIL"] == ["redis"]
    assert "1 check(s) failed: redis" in output and "Traceback" not in output


def test_check_fails_when_smtp_is_unreachable(runner, app, monkeypatch):
    closed = free_port()
    monkeypatch.setitem(app.config, "MAIL_PORT", closed)
    code, lines, output = run_check(runner)
    assert code == 1
    assert lines["smtp"] == ("FAIL", f"127.0.0.1:{closed}: [Errno 111] Connection refused"), output
    assert "1 check(s) failed: smtp" in output


def test_check_gives_up_on_a_silent_smtp_server_in_seconds(runner, app, monkeypatch):
    with socket.socket() as silent:  # accepts connections (the kernel does), never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        monkeypatch.setitem(app.config, "MAIL_PORT", silent.getsockname()[1])
        started = time.monotonic()
        code, lines, output = run_check(runner)
        elapsed = time.monotonic() - started
    assert code == 1 and lines["smtp"][0] == "FAIL" and "timed out" in lines["smtp"][1], output
    assert TIMEOUT <= elapsed < TIMEOUT + 3


def test_check_never_prints_secrets(runner, app, monkeypatch):
    closed = free_port()
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://:redis-pass-4829@127.0.0.1:{closed}/0")
    monkeypatch.setitem(app.config, "MAIL_USERNAME", "mailer")
    monkeypatch.setitem(app.config, "MAIL_PASSWORD", "mail-pass-7731")
    code, lines, output = run_check(runner)
    assert code == 1 and lines["redis"][0] == "FAIL"
    assert f"redis://:***@127.0.0.1:{closed}/0" in lines["redis"][1]
    for secret in ("redis-pass-4829", "mail-pass-7731", app.config["SECRET_KEY"]):
        assert secret not in output


def test_check_fails_on_settings_that_do_not_parse(runner, monkeypatch):
    monkeypatch.setenv("MAIL_PORT", "twenty-five")
    code, lines, output = run_check(runner)
    assert code == 1
    assert lines["config"] == ("FAIL", "MAIL_PORT must be a whole number, not 'twenty-five'"), output


def test_check_fails_on_a_guessable_secret_key(runner, app, monkeypatch):
    monkeypatch.setitem(app.config, "SECRET_KEY", "abc" * 20)
    code, lines, output = run_check(runner)
    assert code == 1 and lines["config"][0] == "FAIL" and "SECRET_KEY" in lines["config"][1]
    assert "abc" * 20 not in output


@pytest.fixture
def scratch_app(app, scratch_database):
    """The suite's settings on the scratch database, which the test migrates (or not)."""
    scratch = Flask(__name__)
    scratch.config.update(app.config, SQLALCHEMY_DATABASE_URI=scratch_database)
    db.init_app(scratch)
    migrate.init_app(scratch, db, render_as_batch=True)
    scratch.cli.add_command(ats_cli)
    yield scratch
    with scratch.app_context():
        db.engine.dispose()


def one_before_head() -> tuple[str, str]:
    scripts = ScriptDirectory(str(MIGRATIONS))
    head = scripts.get_current_head()
    return scripts.get_revision(head).down_revision, head


def test_check_fails_on_an_unmigrated_database(scratch_app):
    code, lines, output = run_check(scratch_app.test_cli_runner())
    assert code == 1
    assert lines["database"][0] == "FAIL" and "not migrated" in lines["database"][1], output
    assert "flask db upgrade" in lines["database"][1]
    assert "1 check(s) failed: database" in output


def test_check_fails_on_a_database_behind_the_migrations(scratch_app):
    previous, head = one_before_head()
    with scratch_app.app_context():
        upgrade(directory=str(MIGRATIONS), revision=previous)
    code, lines, output = run_check(scratch_app.test_cli_runner())
    assert code == 1
    assert lines["database"][0] == "FAIL", output
    assert f"at revision {previous}, head is {head}: run `flask db upgrade`" in lines["database"][1]

    with scratch_app.app_context():
        upgrade(directory=str(MIGRATIONS))
    assert run_check(scratch_app.test_cli_runner())[0] == 0


# --- users ---------------------------------------------------------------------------------

def users_cli(runner, *args):
    return runner.invoke(args=["ats", "users", *args])


def listed_emails(output: str) -> list[str]:
    return [line.split()[4] for line in output.splitlines()[:-1]]


def test_users_list_shows_every_account_newest_first(runner, make_user):
    people = [make_user(), make_user(RECRUITER), make_user("admin")]
    result = users_cli(runner, "list")
    assert result.exit_code == 0, result.output
    assert listed_emails(result.output) == [p.email for p in reversed(people)]
    assert result.output.splitlines()[-1] == "3 user(s)."
    first = result.output.splitlines()[0].split()
    assert first[:4] == [str(people[2].id), "admin", "active", "-"]


def test_users_list_filters_like_the_api(runner, app, make_user):
    rita = make_user(RECRUITER, name="Rita Recruiter")
    manager = make_user("hiring_manager", rita.company_id)
    carl = make_user(name="Carl 50%")
    make_user(RECRUITER)
    with app.app_context():
        db.session.get(User, manager.id).is_active = False
        db.session.commit()
    cases = {("--role", "candidate"): [carl], ("--company-id", str(rita.company_id)): [manager, rita],
             ("--inactive",): [manager], ("--q", "RITA"): [rita], ("--q", "%"): [carl],
             ("--active", "--company-id", str(rita.company_id)): [rita]}
    for args, expected in cases.items():
        result = users_cli(runner, "list", *args)
        assert result.exit_code == 0, result.output
        assert listed_emails(result.output) == [p.email for p in expected], args


def test_users_list_goes_through_every_page(runner, make_user):
    people = [make_user() for _ in range(105)]  # more than one page of the service (100)
    result = users_cli(runner, "list")
    assert listed_emails(result.output) == [p.email for p in reversed(people)]


def test_users_deactivate_and_activate(runner, client, app, make_user, make_job):
    recruiter = make_user(RECRUITER)
    manager = make_user("hiring_manager", recruiter.company_id)
    job = make_job(recruiter, hiring_manager_ids=[manager.id])
    result = users_cli(runner, "deactivate", f"  {manager.email.upper()} ")
    assert result.exit_code == 0, result.output
    assert f"{manager.email} (id {manager.id}) is deactivated." in result.output
    assert client.get("/api/auth/me", headers=manager.headers).status_code == 401
    assert login(client, manager.email, PASSWORD).status_code == 401
    assert client.get(f"/api/jobs/{job['id']}").get_json()["hiring_manager_ids"] == []

    result = users_cli(runner, "activate", manager.email)
    assert result.exit_code == 0 and "is active" in result.output, result.output
    assert login(client, manager.email, PASSWORD).status_code == 200


def test_users_deactivate_keeps_the_last_recruiter(runner, app, make_user):
    recruiter = make_user(RECRUITER)
    result = users_cli(runner, "deactivate", recruiter.email)
    assert result.exit_code != 0 and "last active recruiter" in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert db.session.get(User, recruiter.id).is_active


@pytest.mark.parametrize("email, message", [("nobody@example.com", "No user has the email"),
                                            ("not an email", "not an email")])
def test_users_deactivate_refuses_unknown_or_invalid_emails(runner, make_user, email, message):
    make_user()
    result = users_cli(runner, "deactivate", email)
    assert result.exit_code != 0 and message in result.output, result.output
    assert "Traceback" not in result.output


def test_users_list_refuses_an_unknown_role(runner):
    result = users_cli(runner, "list", "--role", "owner")
    assert result.exit_code != 0 and "owner" in result.output
