"""Logs a platform can parse: JSON lines on stdout, one per request, each carrying the
request id that also follows the notifications the request records to the worker. In
development the same records are plain lines, as a terminal shows them.
"""
import json
import logging
import re
import sys
import time
import uuid

from flask import Flask, g, has_request_context, request
from werkzeug.middleware.proxy_fix import ProxyFix

REQUEST_ID_HEADER = "X-Request-ID"
# A router's id is kept when it looks like one; anything else could forge log lines.
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
STANDARD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
ANSI_STYLE = re.compile(r"\x1b\[[0-9;]*m")
# werkzeug's lines about one request start "127.0.0.1 - - [01/Dec/2026 10:00:00] "
WERKZEUG_REQUEST_LINE = re.compile(r"\S+ - - \[[^\]]*\] ")
QUERY_STRING = re.compile(r"\?[^\s'\"]*")

request_log = logging.getLogger("ats.request")


def current_request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


class JsonFormatter(logging.Formatter):
    """A JSON object per record: time, level, logger, message and every `extra` field."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record), "level": record.levelname,
                 "logger": record.name, "message": record.getMessage()}
        entry.update({key: value for key, value in vars(record).items()
                      if key not in STANDARD_ATTRIBUTES})
        if "request_id" not in entry and current_request_id():
            entry["request_id"] = current_request_id()
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)

    def formatTime(self, record, datefmt=None) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


class TextFormatter(logging.Formatter):
    """For a terminal: "10:00:01 INFO ats.request: GET /api/jobs 200"; a message of several
    lines (a mail written to the console) as its lines; the development server's banner as it
    prints it itself; colours only on a terminal."""

    def __init__(self, colour: bool):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        if record.name == "werkzeug":
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + self.formatException(record.exc_info)
        else:
            text = super().format(record)
        return text if self.colour else ANSI_STYLE.sub("", text)


class DevServerRequestFilter(logging.Filter):
    """The development server's own lines about each request carry the query string (cursors,
    searches): its access line goes (ours, path only, is the one request line), and a query
    string in its error lines is blanked. Its banner passes untouched."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not (isinstance(record.msg, str) and WERKZEUG_REQUEST_LINE.match(record.msg)):
            return True
        if '"%s" %s %s' in record.msg:  # the access line: "GET /path?query HTTP/1.1" 200 -
            return False
        record.msg, record.args = QUERY_STRING.sub("?…", record.getMessage()), None
        return True


class _StdoutHandler(logging.StreamHandler):
    """The one handler create_app installs, however many apps a process builds."""


def configure_logging(env: str = "production") -> None:
    """JSON on stdout, as a PaaS collects it; plain lines in development."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, _StdoutHandler)), None)
    if handler is None:
        handler = _StdoutHandler(sys.stdout)
        root.addHandler(handler)
    if env == "development":
        handler.setFormatter(TextFormatter(colour=sys.stdout.isatty()))
    else:
        handler.setFormatter(JsonFormatter())
    root.setLevel(logging.INFO)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, DevServerRequestFilter) for f in werkzeug.filters):
        werkzeug.addFilter(DevServerRequestFilter())


def _start() -> None:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = given if VALID_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish(response):
    if "request_id" not in g:  # an earlier before_request hook answered first
        _start()
    response.headers[REQUEST_ID_HEADER] = g.request_id
    # the path only: query strings may carry search terms or cursors nobody needs in logs
    request_log.info("%s %s %s", request.method, request.path, response.status_code, extra={
        "request_id": g.request_id, "method": request.method, "path": request.path, "status": response.status_code,
        "duration_ms": round((time.perf_counter() - g.request_started) * 1000, 1),
        "user_id": g.get("user_id")})
    return response


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:  # only then is X-Forwarded-For the client's address rather than its claim
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
