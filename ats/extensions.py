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


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
jwt = JWTManager()
mail = Mail()
api = Api()
limiter = Limiter(get_remote_address, key_prefix="ats")
