"""What `flask ats stats` and `flask ats check` compute: read-only looks at a deployment."""
import json
import smtplib
from dataclasses import dataclass
from urllib.parse import urlsplit

import redis
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import current_app
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue, Worker

from ats import config, workflow
from ats.extensions import db
from ats.common.db import utcnow
from ats.models import NOTIFICATION_FAILED, NOTIFICATION_PENDING, Application, Company
from ats.notifications.channels import CHANNELS

TIMEOUT = 3  # seconds a check waits on one network step: a hung service fails, never hangs us
MIN_SECRET_CHARACTERS = 10  # distinct characters: "aaaa…" or "1234123412341234…" is no secret
NAME_WIDTH = 40  # longer company names are cut in the table (JSON keeps them whole)
ALL_COMPANIES = "all companies"
VERSION_TABLE = "alembic_version"  # where alembic records the revision a database is at


# --- stats ------------------------------------------------------------------------------

def applications_per_stage() -> list[dict]:
    """One row per company, {id, name, stages: {stage: count}, total}, by name; one query.

    Applications carry their company's id, so the counting never touches jobs; companies
    without applications still get a row of zeros.
    """
    counts = (sa.select(Application.company_id, Application.stage, sa.func.count().label("count"))
              .group_by(Application.company_id, Application.stage).subquery())
    query = (sa.select(Company.id, Company.name, counts.c.stage, counts.c.count)
             .outerjoin(counts, counts.c.company_id == Company.id)
             .order_by(Company.name_key, Company.id))
    rows: dict[int, dict] = {}
    for company_id, name, stage, count in db.session.execute(query):
        row = rows.setdefault(company_id, {"id": company_id, "name": name,
                                           "stages": dict.fromkeys(workflow.STAGES, 0), "total": 0})
        if stage is not None:
            row["stages"][stage] = count
            row["total"] += count
    return list(rows.values())


def _totals(rows: list[dict]) -> dict:
    stages = {stage: sum(row["stages"][stage] for row in rows) for stage in workflow.STAGES}
    return {"stages": stages, "total": sum(row["total"] for row in rows)}


def stats_json(rows: list[dict]) -> str:
    return json.dumps({"stages": list(workflow.STAGES), "companies": rows, "total": _totals(rows)},
                      indent=2)


def stats_table(rows: list[dict]) -> str:
    """A plain-text table: one line per company, a column per stage (pipeline order), total."""
    def cut(name: str) -> str:
        return name if len(name) <= NAME_WIDTH else name[:NAME_WIDTH - 1] + "…"

    totals = _totals(rows)
    headers = [*workflow.STAGES, "total"]
    widths = [max(len(header), len(str(totals["stages"].get(header, totals["total"]))))
              for header in headers]
    name_width = max([len(ALL_COMPANIES), *(len(cut(row["name"])) for row in rows)])

    def line(name: str, numbers: list) -> str:
        cells = "  ".join(str(n).rjust(width) for n, width in zip(numbers, widths))
        return f"{name:<{name_width}}  {cells}".rstrip()

    def numbers(row: dict) -> list[int]:
        return [*row["stages"].values(), row["total"]]

    lines = [line("company", headers)]
    lines += [line(cut(row["name"]), numbers(row)) for row in rows]
    lines += ["-" * len(lines[0]), line(ALL_COMPANIES, numbers(totals))]
    return "\n".join(lines)


# --- check ------------------------------------------------------------------------------

@dataclass
class Check:
    name: str
    status: str  # "ok", "FAIL", or how the app works without the service ("inline", "console")
    detail: str

    @property
    def ok(self) -> bool:
        return self.status != "FAIL"


class CheckFailed(Exception):
    """A check found a problem; the message says which (and never holds a secret)."""


def run_checks() -> list[Check]:
    """Configuration, database, Redis, SMTP and the outbox's backlog, each bounded by TIMEOUT,
    never raising."""
    checks = [_run(name, probe) for name, probe in (
        ("config", _config), ("database", _database), ("redis", _redis), ("smtp", _smtp))]
    database = checks[1]
    # the backlog is read from the tables the database check has found migrated
    checks.append(_run("outbox", _outbox) if database.ok
                  else Check("outbox", "skipped", "the database check failed"))
    return checks


def _run(name: str, probe) -> Check:
    try:
        return Check(name, *probe())
    except Exception as error:  # whatever went wrong becomes one line, not a traceback
        return Check(name, "FAIL", _describe(error))


def _describe(error: Exception) -> str:
    """The first line of what went wrong (the driver's words, not SQLAlchemy's SQL and links)."""
    cause = getattr(error, "orig", None) or error
    text = str(cause).strip().splitlines()
    return text[0] if text else type(cause).__name__


def _failed_at(where: str, error: Exception) -> CheckFailed:
    return CheckFailed(f"{where}: {_describe(error)}")


def _config() -> tuple[str, str]:
    try:
        config.from_environment()  # the same parse every process of the app does at start
    except config.ConfigError as error:
        raise CheckFailed(str(error)) from None
    settings = current_app.config
    secret = settings["SECRET_KEY"]
    size = len(secret.encode()) if isinstance(secret, str) else len(secret)
    if size < config.MIN_SECRET_BYTES:
        raise CheckFailed(f"SECRET_KEY is {size} bytes; it must be at least "
                          f"{config.MIN_SECRET_BYTES}")
    if len(set(secret)) < MIN_SECRET_CHARACTERS:
        raise CheckFailed(f"SECRET_KEY is too easy to guess ({len(set(secret))} distinct "
                          "characters): use python -c 'import secrets; "
                          "print(secrets.token_urlsafe(48))'")
    env = settings["ATS_ENV"]
    note = "" if env == "production" else " (not for production)"
    return "ok", f"ATS_ENV={env}{note}, SECRET_KEY {size} bytes"


def _connect_args(url: sa.URL) -> dict:
    if url.get_backend_name() == "postgresql":
        return {"connect_timeout": TIMEOUT, "options": f"-c statement_timeout={TIMEOUT * 1000}"}
    if url.get_backend_name() == "sqlite":
        return {"timeout": TIMEOUT}
    return {}


def _database() -> tuple[str, str]:
    url = db.engine.url
    where = url.render_as_string(hide_password=True)
    # an engine of its own: bounded connect and statement times, nothing left in the app's pool
    engine = sa.create_engine(url, connect_args=_connect_args(url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            current = set()
            if sa.inspect(connection).has_table(VERSION_TABLE):
                versions = connection.scalars(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))
                current = set(versions)
    except Exception as error:
        raise _failed_at(where, error) from None
    finally:
        engine.dispose()

    scripts = ScriptDirectory(current_app.extensions["migrate"].directory)
    heads = set(scripts.get_heads())
    known = {script.revision for script in scripts.walk_revisions()}
    if current == heads:
        return "ok", f"{where}, migrated to head {', '.join(sorted(heads))}"
    head = ", ".join(sorted(heads))
    if not current:
        raise CheckFailed(f"{where}: not migrated (head is {head}): run `flask db upgrade`")
    at = ", ".join(sorted(current))
    if current - known:
        raise CheckFailed(f"{where}: at revision {at}, which this code's migrations do not know "
                          f"(head is {head}): the code is older than the database")
    raise CheckFailed(f"{where}: at revision {at}, head is {head}: run `flask db upgrade`")


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


def _redis() -> tuple[str, str]:
    url = current_app.config["REDIS_URL"]
    if not url:
        return "inline", "REDIS_URL not set: each mail is sent right after its change commits"
    where = _without_password(url)
    connection = redis.Redis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT,
                                      retry=Retry(NoBackoff(), 0))
    try:
        connection.ping()
        queues = []
        for channel in CHANNELS.values():  # one queue per channel, each with its own workers
            queue = Queue(channel.queue, connection=connection)
            queues.append(f"queue {channel.queue}: {queue.count} job(s) waiting, "
                          f"{Worker.count(connection=connection, queue=queue)} worker(s)")
    except redis.RedisError as error:
        raise _failed_at(where, error) from None
    finally:
        connection.close()
    return "ok", f"{where}, {'; '.join(queues)}"


def _smtp() -> tuple[str, str]:
    settings = current_app.config
    host, port = settings["MAIL_SERVER"], settings["MAIL_PORT"]
    if not host:
        return "console", "MAIL_SERVER not set: mail is written to the log"
    where = f"{host}:{port}"
    steps = ["EHLO"]
    smtp = smtplib.SMTP_SSL if settings.get("MAIL_USE_SSL") else smtplib.SMTP
    try:
        with smtp(host, port, timeout=TIMEOUT) as server:  # connects and reads the greeting
            server.ehlo()
            if settings["MAIL_USE_TLS"]:
                server.starttls()
                server.ehlo()
                steps.append("STARTTLS")
            if settings["MAIL_USERNAME"] and settings["MAIL_PASSWORD"]:
                server.login(settings["MAIL_USERNAME"], settings["MAIL_PASSWORD"])
                steps.append("login")
            code, _ = server.noop()
            if code != 250:
                raise CheckFailed(f"NOOP answered {code}")
            steps.append("NOOP")
    except (OSError, smtplib.SMTPException, CheckFailed) as error:  # QUIT is sent on the way out
        raise _failed_at(where, error) from None
    return "ok", f"{where} answers ({', '.join(steps)})"


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def _outbox() -> tuple[str, str]:
    """Per channel (mail, webhooks): rows pending and the age of the oldest, rows failed.
    Two indexed reads per channel (status, id)."""
    now, parts = utcnow(), []
    try:
        for name, channel in CHANNELS.items():
            outbox = channel.outbox
            pending, oldest = db.session.execute(
                sa.select(sa.func.count(), sa.func.min(outbox.created_at))
                .where(outbox.status == NOTIFICATION_PENDING)).one()
            failed = db.session.scalar(sa.select(sa.func.count())
                                       .where(outbox.status == NOTIFICATION_FAILED))
            age = f" (oldest {_age((now - oldest).total_seconds())})" if oldest else ""
            parts.append(f"{name}: {pending} pending{age}, {failed} failed")
    except sa.exc.SQLAlchemyError as error:
        raise _failed_at("outbox", error) from None
    finally:
        db.session.rollback()
    return "ok", "; ".join(parts)
