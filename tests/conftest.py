"""Test fixtures. The suite runs on SQLite by default and on PostgreSQL when
TEST_DATABASE_URL names a server (e.g. postgresql://postgres@127.0.0.1:5432/postgres):
it then creates a database of its own for the run and drops it afterwards.
"""
import os
import tempfile
import uuid

os.environ["ATS_ENV"] = "testing"
os.environ.setdefault("SECRET_KEY", "test-secret-key-that-is-long-enough-0123456789")
for _name in ("DATABASE_URL", "REDIS_URL", "MAIL_SERVER"):  # never touch a real deployment's
    os.environ.pop(_name, None)

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from ats import create_app  # noqa: E402
from ats.config import database_url as database_url_from  # noqa: E402
from ats.auth import services as accounts, sessions  # noqa: E402
from ats.companies import services as companies  # noqa: E402
from ats.extensions import db, limiter  # noqa: E402
from ats.models import ADMIN, CANDIDATE, HIRING_MANAGER, RECRUITER, Company  # noqa: E402
from tests.databases import throwaway_postgres_database  # noqa: E402
from tests.mailbox import Mailbox  # noqa: E402
from tests.processes import RedisServer  # noqa: E402

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
def database_url():
    server = os.environ.get("TEST_DATABASE_URL")
    if server:
        yield from throwaway_postgres_database(database_url_from(server))
    else:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{os.path.join(folder, 'ats-test.sqlite3')}"


@pytest.fixture
def scratch_database(tmp_path):
    """An empty database of the test's own, so the suite's shared one is never touched."""
    server = os.environ.get("TEST_DATABASE_URL")
    if server:
        yield from throwaway_postgres_database(database_url_from(server))
    else:
        yield f"sqlite:///{tmp_path / 'scratch.sqlite3'}"


@pytest.fixture
def redis_server():
    """A redis-server of the test's own, on a free port."""
    server = RedisServer()
    server.start()
    yield server
    if server.process:
        server.resume()  # a paused server would not hear the stop
        server.stop()


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server for the whole run; every mail the app sends lands in it."""
    server = Mailbox()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(smtp_server):
    """The SMTP server, emptied for this test."""
    smtp_server.reset()
    yield smtp_server
    smtp_server.reset()


@pytest.fixture(scope="session")
def app(database_url, smtp_server):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url,
                      "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_server.port})
    with app.app_context():
        upgrade()  # the schema comes from the migrations, as in production
    yield app
    with app.app_context():
        db.engine.dispose()


# the sequences of the tables' id columns (serial or identity), which a cleanup restarts
_RESTART_ID_SEQUENCES = sa.text(
    "SELECT setval(s.oid, 1, false) FROM pg_class s JOIN pg_depend d"
    " ON d.objid = s.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')"
    " WHERE s.relkind = 'S'")


@pytest.fixture(autouse=True)
def clean_state(app):
    """Every test starts with empty tables, ids from 1 and fresh rate limits. DELETE, not
    TRUNCATE: on PostgreSQL a TRUNCATE of every table makes new files for each and their
    indexes, about 350 ms a test, against 2 ms for deleting a test's few rows."""
    yield
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
            if conn.dialect.name == "postgresql":
                conn.execute(_RESTART_ID_SEQUENCES)
    limiter.reset()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Actor:
    """A user made for a test, with a ready access token."""

    def __init__(self, user, token):
        self.id = user.id
        self.email = user.email
        self.name = user.name
        self.role = user.role
        self.company_id = user.company_id
        self.token = token
        self.headers = {"Authorization": f"Bearer {token}"}


@pytest.fixture
def make_user(app):
    """make_user(role, company_id=None, name=None) -> Actor, created through the services."""
    def make(role=CANDIDATE, company_id=None, name=None, email=None):
        with app.app_context():
            company = db.session.get(Company, company_id) if company_id else None
            if role in (RECRUITER, HIRING_MANAGER) and company is None:
                company = companies.new_company(f"Company {uuid.uuid4().hex[:8]}")
            user = accounts.create_user(
                name=name or f"{role.title()} {uuid.uuid4().hex[:6]}",
                email=email or f"{role}-{uuid.uuid4().hex[:10]}@example.com",
                password=PASSWORD, role=role, company=company)
            return Actor(user, sessions.start(user)["access_token"])
    return make


@pytest.fixture
def admin(make_user):
    return make_user(ADMIN)


@pytest.fixture
def recruiter(make_user):
    return make_user(RECRUITER)


@pytest.fixture
def candidate(make_user):
    return make_user(CANDIDATE)


@pytest.fixture
def hiring_manager(make_user, recruiter):
    """A hiring manager of the recruiter's company."""
    return make_user(HIRING_MANAGER, recruiter.company_id)


@pytest.fixture
def outsider(make_user):
    """A recruiter of another company."""
    return make_user(RECRUITER)


@pytest.fixture
def make_job(client):
    """make_job(recruiter, **fields) -> job body, posted through the API."""
    def make(owner, **fields):
        body = {"title": "Backend Developer", "description": "Python and PostgreSQL.", **fields}
        response = client.post("/api/jobs", json=body, headers=owner.headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()
    return make


@pytest.fixture
def make_application(client):
    """make_application(candidate, job_id, **fields) -> application body, through the API."""
    def make(applicant, job_id, **fields):
        response = client.post(f"/api/jobs/{job_id}/applications", json=fields,
                               headers=applicant.headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()
    return make


@pytest.fixture
def job(make_job, recruiter, hiring_manager):
    """An open job of the recruiter's company, the hiring manager assigned (files may override)."""
    return make_job(recruiter, hiring_manager_ids=[hiring_manager.id])


@pytest.fixture
def application(make_application, candidate, job):
    """The candidate's application to job."""
    return make_application(candidate, job["id"], cover_letter="Hello")


@pytest.fixture
def count_queries(app):
    """with count_queries() as statements: ... -> the SQL statements run inside the block."""
    from contextlib import contextmanager

    @contextmanager
    def counting():
        statements = []

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
    return counting
