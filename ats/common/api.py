"""The Blueprint every resource uses: strict JSON bodies, documented errors and auth."""
from functools import wraps
from http import HTTPStatus

import flask_smorest
from flask_jwt_extended import current_user, jwt_required
from webargs import core
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from ats.common.access import require
from ats.common.schemas import MAX_ID


class JsonObjectParser(FlaskParser):
    """A body must be a JSON object: anything else is a 400, not a field error."""

    def load_json(self, req, schema):
        data = super().load_json(req, schema)
        if data is core.missing:
            raise BadRequest("This call takes a JSON object body (Content-Type: application/json).")
        if not isinstance(data, dict):
            raise BadRequest("The body must be a JSON object.")
        return data


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = JsonObjectParser()

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
            @wraps(func)
            def guarded(*args, **kwargs):
                if roles:
                    require(current_user.role in roles)
                return func(*args, **kwargs)

            security = [{"bearerAuth": []}] + ([{}] if optional else [])
            guarded = jwt_required(optional=optional, refresh=refresh)(guarded)
            guarded = self.doc(security=security)(guarded)
            return self.errors(*((401, 403) if roles else (401,)))(guarded)
        return decorator


class IdConverter(IntegerConverter):
    """A path id: a positive integer within the database's range, else the route does not match."""

    def __init__(self, url_map):
        super().__init__(url_map, min=1, max=MAX_ID)

    @staticmethod
    def openapi_schema(_converter) -> dict:
        return {"type": "integer", "minimum": 1, "maximum": MAX_ID}
