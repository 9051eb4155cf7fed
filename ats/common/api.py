"""The Blueprint every resource uses: strict JSON bodies and query strings, documented errors
and auth; and the request class that reads bodies."""
import re
from functools import wraps
from http import HTTPStatus

import flask
import flask_smorest
from flask import g, request
from flask_jwt_extended import current_user, jwt_required
from webargs import core
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict
from werkzeug.exceptions import BadRequest, NotFound, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter, ValidationError

from ats.common.access import has_role, require
from ats.common.idempotency import idempotent
from ats.common.schemas import MAX_ID
from ats.errors import ValidationFailed

MULTIPART = "multipart/form-data"
OPERATION_ID = re.compile(r"[a-z][a-zA-Z0-9]*")  # camelCase: listJobs, applyToJob


class Request(flask.Request):
    """Bodies read safely, whatever was sent.

    A body without Content-Length (chunked) over MAX_CONTENT_LENGTH is a 413, like one with:
    werkzeug stops reading it at the limit and hands back what it has, so the JSON parser would
    see it cut off (a 400). One byte more from the server's stream tells. And JSON nested
    deeper than the decoder goes is invalid JSON, not a RecursionError for whoever asked.
    """

    @property
    def max_content_length(self) -> int | None:
        """1 MiB, but a file upload (multipart/form-data to a route of UPLOAD_PATHS) may
        carry a whole file and its envelope."""
        config = flask.current_app.config
        if (self.method == "POST" and self.mimetype == MULTIPART
                and config["UPLOAD_PATHS"].fullmatch(self.path)):
            return config["MAX_UPLOAD_BYTES"] + config["UPLOAD_ENVELOPE_BYTES"]
        return config["MAX_CONTENT_LENGTH"]

    def get_json(self, force=False, silent=False, cache=True):
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            if silent:
                return None
            raise BadRequest("The body is not valid JSON.") from None

    def make_form_data_parser(self):
        parser = super().make_form_data_parser()
        parser.silent = False  # a malformed form is the client's error, not an empty form
        return parser

    def _load_form_data(self):
        try:
            super()._load_form_data()
        except RequestEntityTooLarge:
            # werkzeug stopped a chunked form at the limit: one byte past it tells the server
            # (gunicorn.conf.py) that this connection closes after the 413
            if self.content_length is None:
                self.environ["wsgi.input"].read(1)
            raise
        except ValueError:
            raise BadRequest(f"The {self.mimetype} body is malformed.") from None

    def get_data(self, cache=True, as_text=False, parse_form_data=False):
        data = super().get_data(cache=cache, as_text=False, parse_form_data=parse_form_data)
        limit = self.max_content_length
        if (self.content_length is None and limit is not None and len(data) >= limit
                and self.environ["wsgi.input"].read(1)):
            raise RequestEntityTooLarge()
        return data.decode(errors="replace") if as_text else data


class JsonObjectParser(FlaskParser):
    """A body must be a JSON object: anything else is a 400, not a field error.

    Unknown query parameters are rejected like unknown body fields (webargs ignores them).
    """

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
                                   "query": "raise", "querystring": "raise"}
    # a multipart body's files and fields as one; or a JSON body, or that, on one route
    __location_map__ = {**FlaskParser.__location_map__, "multipart": "load_multipart",
                        "json_or_multipart": "load_json_or_multipart"}

    def load_multipart(self, req, schema):
        if req.mimetype != MULTIPART:
            raise BadRequest(f"This call takes a {MULTIPART} body.")
        parts = CombinedMultiDict([req.files, req.form])
        if None in parts:  # werkzeug's name for a part whose name it could not read
            raise BadRequest("Every part of the form needs a name.")
        return MultiDictProxy(parts, schema)

    def load_json_or_multipart(self, req, schema):
        if req.mimetype == MULTIPART:
            return self.load_multipart(req, schema)
        return self.load_json(req, schema)

    def load_json(self, req, schema):
        try:
            data = super().load_json(req, schema)
        except (RecursionError, ValueError):
            # nested deeper than the decoder goes, or a number of more than 4,300 digits
            # (Python's int limit): valid JSON no caller needs, refused like invalid JSON
            raise BadRequest("The body is not valid JSON.") from None
        if data is core.missing:
            raise BadRequest("This call takes a JSON object body (Content-Type: application/json).")
        if not isinstance(data, dict):
            raise BadRequest("The body must be a JSON object.")
        return data


def _takes_query(view) -> bool:
    """Whether the view declares query arguments (flask-smorest's doc of @blp.arguments)."""
    parameters = getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    return any(parameter["in"] == "query" for parameter in parameters)


def _no_query_parameters(view):
    """A view without query arguments refuses any: webargs only checks declared schemas."""
    if getattr(view, "_query_checked", False) or _takes_query(view):
        return view

    @wraps(view)
    def checked(*args, **kwargs):
        if request.args:
            raise ValidationFailed({name: ["Unknown field."] for name in request.args})
        return view(*args, **kwargs)

    checked._query_checked = True  # copied outwards by every later @wraps
    return checked


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = JsonObjectParser()
    # json_or_multipart documents its multipart form; the route adds its JSON body (@doc)
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **flask_smorest.Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "multipart": MULTIPART, "json_or_multipart": MULTIPART}

    def add_url_rule(self, rule, endpoint=None, view_func=None, provide_automatic_options=None,
                     *, operation_id: str | None = None, **options):
        # every route: views under auth() were checked there, after the token (401 first)
        if view_func is not None and not isinstance(view_func, type):
            # the name a generated client gives the call: written out, so that renaming a
            # Python function or a path never renames a client's method
            if not operation_id or not OPERATION_ID.fullmatch(operation_id):
                raise TypeError(f"{rule}: every route needs a camelCase operation_id= "
                                f"(its name in generated clients), not {operation_id!r}")
            view_func = self.doc(operationId=operation_id)(_no_query_parameters(view_func))
            methods = set(options.get("methods") or ())
            if getattr(view_func, "_idempotent", False) and methods & {"POST", "PATCH"}:
                view_func = self.doc(parameters=["IdempotencyKey"])(self.errors(409, 422)(view_func))
        return super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **options)

    def errors(self, *statuses: int):
        """Document the error answers a route can give (all share the error body)."""
        def decorator(func):
            for status in statuses:
                func = self.alt_response(status, response=HTTPStatus(status).name)(func)
            return func
        return decorator

    def auth(self, *roles: str, optional: bool = False, refresh: bool = False):
        """Require a valid access (or refresh) token, and one of roles if given (else 403)."""
        def decorator(func):
            func = _no_query_parameters(func)  # after the token and role checks, like webargs
            if not refresh:  # every POST and PATCH of a user: Idempotency-Key (a no-op for GETs)
                func = idempotent(func)

            @wraps(func)
            def guarded(*args, **kwargs):
                g.user_id = current_user.id if current_user else None  # for the request log
                if roles:
                    require(has_role(current_user, roles))
                return func(*args, **kwargs)

            guarded._idempotent = not refresh  # documented at add_url_rule, which knows the method
            security = [{"bearerAuth": []}] + ([{}] if optional else [])
            guarded = jwt_required(optional=optional, refresh=refresh)(guarded)
            guarded = self.doc(security=security)(guarded)
            return self.errors(*((401, 403) if roles else (401,)))(guarded)
        return decorator


class IdConverter(IntegerConverter):
    """A path id: a positive integer within the database's range, else the route does not match."""

    def __init__(self, url_map):
        super().__init__(url_map, min=1, max=MAX_ID)

    def to_python(self, value: str) -> int:
        try:
            return super().to_python(value)
        except ValidationError:
            # No such resource, whatever the method: werkzeug's own miss would answer 405 when
            # another method's rule for the same path was tried first (PATCH /api/jobs/0).
            raise NotFound() from None

    @staticmethod
    def openapi_schema(_converter) -> dict:
        return {"type": "integer", "minimum": 1, "maximum": MAX_ID}
