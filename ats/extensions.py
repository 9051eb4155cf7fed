"""Extensions, made without an app; create_app binds them."""
import flask_smorest
from flask_jwt_extended import JWTManager
from flask_limiter.util import get_remote_address
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

from ats.common.ratelimit import Limiter
from ats.common.schemas import ErrorSchema

# Stable constraint names, so migrations can name what they alter or drop.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Api(flask_smorest.Api):
    """flask-smorest, documenting and answering errors in the contract's shape."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        """ats.errors registers every handler; flask-smorest's own body is not the contract's."""

    def _init_spec(self, *args, **kwargs):
        super()._init_spec(*args, **kwargs)
        self.ma_plugin.converter.add_attribute_function(null_in_nullable_enum)


def null_in_nullable_enum(_converter, _field, ret: dict, **_kwargs) -> dict:
    """A nullable field with an enum lists null among its values: OpenAPI 3.0 checks the enum
    before nullable, so without it a null (a first history entry's from_stage) is invalid, and
    a generated client fails to parse it. Runs after apispec's own functions have set both."""
    if ret.get("nullable") and "enum" in ret and None not in ret["enum"]:
        return {"enum": [*ret["enum"], None]}
    return {}


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
jwt = JWTManager()
mail = Mail()
api = Api()
limiter = Limiter(get_remote_address, key_prefix="ats")
