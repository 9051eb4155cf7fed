"""Settings. The only module that reads os.environ."""
import os
import re
import secrets
from datetime import timedelta

from redis.backoff import NoBackoff
from redis.retry import Retry

ENVIRONMENTS = ("production", "development", "testing")
MIN_SECRET_BYTES = 32
# waits between the attempts of a temporary failure: nine attempts over about 27 hours
RETRY_DELAYS = [60, 300, 900, 3600, 7200, 14400, 28800, 43200]


class ConfigError(RuntimeError):
    """The environment does not describe a runnable app."""


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be a boolean (true/false), not {value!r}")


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None


def _hours(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        hours = float(value)
    except ValueError:
        hours = -1.0
    if not 0 <= hours < 24 * 366:  # also refuses nan and inf
        raise ConfigError(f"{name} must be a number of hours (0.5 is 30 minutes), not {value!r}")
    return hours


def _months(name: str) -> int | None:
    """A whole number of months, at least 1; unset: None."""
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit() and int(value) >= 1):
        raise ConfigError(f"{name} must be a whole number of months (at least 1), not {value!r}")
    return int(value)


def _int_list(name: str, default: list[int]) -> list[int]:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return [int(part) for part in value.split(",")]
    except ValueError:
        raise ConfigError(f"{name} must be comma-separated whole numbers, not {value!r}") from None


def _delays(name: str, default: list[int]) -> list[int]:
    delays = _int_list(name, default)
    if not delays or any(delay < 0 for delay in delays):
        raise ConfigError(f"{name} must be whole numbers of seconds, none negative")
    return delays


def database_url(value: str | None) -> str | None:
    """PaaS hosts hand out postgres:// URLs; both spellings mean psycopg2 here."""
    for scheme in ("postgres://", "postgresql://"):
        if value and value.startswith(scheme):
            return "postgresql+psycopg2://" + value[len(scheme):]
    return value or None


def from_environment() -> dict:
    """Build the app's settings from the environment, refusing unsafe production setups."""
    env = os.environ.get("ATS_ENV", "production")
    if env not in ENVIRONMENTS:
        raise ConfigError(f"ATS_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")

    secret = os.environ.get("SECRET_KEY", "")
    if not secret and env != "production":
        secret = secrets.token_urlsafe(48)  # fine for a laptop: tokens die with the process
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ConfigError(f"SECRET_KEY must be set to at least {MIN_SECRET_BYTES} bytes")

    redis_url = os.environ.get("REDIS_URL") or None
    return {
        "ATS_ENV": env,
        "DEBUG": env == "development",
        "TESTING": env == "testing",
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url(os.environ.get("DATABASE_URL")),
        "REDIS_URL": redis_url,
        "JWT_SECRET_KEY": secret,
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(minutes=_int("JWT_ACCESS_TOKEN_MINUTES", 15)),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(days=_int("JWT_REFRESH_TOKEN_DAYS", 30)),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        # proxies in front of the app whose X-Forwarded-For/-Proto to believe (a PaaS router: 1)
        "TRUSTED_PROXIES": max(0, _int("TRUSTED_PROXIES", 0)),
        # unset: the reset mail gives the token; set: a link {PASSWORD_RESET_URL}?token=...
        "PASSWORD_RESET_URL": os.environ.get("PASSWORD_RESET_URL") or None,
        "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS"),
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "ATS <no-reply@ats.local>"),
        # a temporary failure is tried again for about 27 hours, as mail servers themselves do
        "MAIL_MAX_ATTEMPTS": max(1, _int("MAIL_MAX_ATTEMPTS", 9)),
        "MAIL_RETRY_DELAYS": _delays("MAIL_RETRY_DELAYS", RETRY_DELAYS),
        "MAIL_SEND_TIMEOUT": max(1, _int("MAIL_SEND_TIMEOUT", 60)),
        # webhooks: a receiver that does not answer 2xx is tried again for the same 27 hours
        "WEBHOOK_MAX_ATTEMPTS": max(1, _int("WEBHOOK_MAX_ATTEMPTS", 9)),
        "WEBHOOK_RETRY_DELAYS": _delays("WEBHOOK_RETRY_DELAYS", RETRY_DELAYS),
        "WEBHOOK_SEND_TIMEOUT": max(1, _int("WEBHOOK_SEND_TIMEOUT", 10)),
        # http and loopback, private or link-local addresses: for receivers on a laptop or in tests
        "WEBHOOK_ALLOW_PRIVATE_URLS": _bool("WEBHOOK_ALLOW_PRIVATE_URLS", env != "production"),
        # how often an idle worker wakes to sweep the outbox (and RQ's registries)
        "WORKER_SWEEP_SECONDS": max(1, _int("WORKER_SWEEP_SECONDS", 20)),
        # how long before an interview its reminder goes out (decimal hours: 0.5 is 30 minutes)
        "INTERVIEW_REMINDER_HOURS": _hours("INTERVIEW_REMINDER_HOURS", 24),
        # attachment bytes: in the database unless a bucket is named (boto3 finds the
        # credentials its usual way: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION)
        "S3_BUCKET": os.environ.get("S3_BUCKET") or None,
        "S3_ENDPOINT_URL": os.environ.get("S3_ENDPOINT_URL") or None,
        # `flask ats retention` erases candidates whose applications all ended longer ago
        # (unset: keep everyone unless the command is given --months)
        "DATA_RETENTION_MONTHS": _months("DATA_RETENTION_MONTHS"),
    }


class Defaults:
    """Settings that do not depend on the environment."""

    JSON_SORT_KEYS = False
    MAX_CONTENT_LENGTH = 1024 * 1024  # no legitimate body comes near this
    MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # one file; an upload's body may be this much more:
    UPLOAD_ENVELOPE_BYTES = 128 * 1024  # the multipart framing and a cover letter beside it
    MAX_ATTACHMENTS = 20  # files per application
    # the routes that take files (as multipart/form-data): their bodies may be that large
    UPLOAD_PATHS = re.compile(r"/api/(applications/[0-9]+/attachments|jobs/[0-9]+/applications)")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    JWT_ALGORITHM = "HS256"
    JWT_DECODE_ALGORITHMS = ["HS256"]
    JWT_TOKEN_LOCATION = ["headers"]

    MAIL_SUPPRESS_SEND = False  # flask-mail would silently drop mail under TESTING
    MAIL_DEBUG = False

    RATELIMIT_STRATEGY = "moving-window"
    RATELIMIT_KEY_PREFIX = "ats"
    # Redis unreachable: count in this process's memory (ats/common/ratelimit.py) rather than fail,
    # and give up on Redis after 0.5 s, with no retry (redis-py waits 5 s a read by default and
    # retries up to 10 times with backoff)
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_STORAGE_OPTIONS = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5,
                                 "retry": Retry(NoBackoff(), 0)}
    LOGIN_LIMIT_PER_EMAIL = "5 per 15 minutes"
    LOGIN_LIMIT_PER_ADDRESS = "20 per minute"
    REGISTER_LIMIT_PER_ADDRESS = "10 per hour"
    PASSWORD_RESET_LIMIT_PER_EMAIL = "3 per hour"
    PASSWORD_RESET_LIMIT_PER_ADDRESS = "10 per hour"
    IDEMPOTENCY_KEY_TTL = timedelta(hours=24)  # how long a repeat gets the first answer

    # argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane): about 15 ms a verify here.
    PASSWORD_HASH = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}

    API_TITLE = "ATS API"
    API_VERSION = "1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    OPENAPI_SWAGGER_UI_URL = "/api/docs/assets/"  # served by the app (ats/__init__.py): no CDN
    OPENAPI_REDOC_PATH = "redoc"
    OPENAPI_REDOC_URL = "/api/redoc/assets/redoc.standalone.js"  # ReDoc 2.5.4, served by the app
    API_SPEC_OPTIONS = {
        "info": {"description": "Applicant Tracking System: companies post jobs, candidates "
                                "apply, staff move applications through the hiring pipeline."},
        "components": {"securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }


class Testing:
    """Overrides for ATS_ENV=testing: cheap hashes keep the suite fast (never for production)."""

    PASSWORD_HASH = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
