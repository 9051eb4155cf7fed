"""The ATS application factory."""
import os

from flask import Blueprint, Flask

from ats import observability


def create_app(overrides: dict | None = None) -> Flask:
    from ats import config
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    app.config.from_object(config.Defaults)
    settings = config.from_environment()
    if settings["ATS_ENV"] == "testing":
        app.config.from_object(config.Testing)
    app.config.update(settings)
    app.config.update(overrides or {})
    # first once the environment is known: JSON for a platform, plain lines in development
    observability.configure_logging(app.config["ATS_ENV"])
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{os.path.join(app.instance_path, 'ats.sqlite3')}"
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # a database that does not answer must not hold a request (or /api/health) for minutes
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config["SQLALCHEMY_ENGINE_OPTIONS"],
                                                   "connect_args": {"connect_timeout": 3}}

    observability.init_app(app)  # first, so its request id is there for every later hook
    from ats.extensions import api, db, jwt, limiter, mail, migrate
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True)
    jwt.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)
    api.init_app(app)
    from ats.common.idempotency import PARAMETER
    api.spec.components.parameter("IdempotencyKey", "header", PARAMETER)  # every POST/PATCH of a user

    from ats.auth.tokens import register_token_callbacks
    from ats.common.api import IdConverter, Request
    register_token_callbacks(jwt)
    app.request_class = Request
    app.url_map.converters["id"] = IdConverter
    api.register_converter(IdConverter, IdConverter.openapi_schema)

    from ats import (applications, attachments, auth, comments, companies, health, interviews,
                     jobs, reports, users)
    from ats.common import sync  # noqa: F401 (stamps jobs and applications at each commit)
    from ats.notifications import routes as notifications
    from ats.webhooks import routes as webhooks
    for module in (auth, companies, users, jobs, applications, attachments, comments,
                   interviews, notifications, webhooks, reports, health):
        api.register_blueprint(module.blp)
    serve_swagger_ui_assets(app)
    serve_redoc_assets(app)

    from ats.errors import register_error_handlers
    register_error_handlers(app)

    from ats.cli import ats_cli
    app.cli.add_command(ats_cli)
    return app


def serve_swagger_ui_assets(app: Flask) -> None:
    """Swagger UI's scripts and styles at /api/docs/assets/, from the pinned flask-swagger-ui
    wheel: the docs work offline and the browser loads nothing from a third party."""
    import flask_swagger_ui
    dist = os.path.join(os.path.dirname(flask_swagger_ui.__file__), "dist")
    app.register_blueprint(Blueprint("swagger_ui_assets", __name__, url_prefix="/api/docs",
                                     static_folder=dist, static_url_path="/assets"))


def serve_redoc_assets(app: Flask) -> None:
    """ReDoc's script at /api/redoc/assets/, vendored from npm into ats/static/redoc/
    (`make redoc` fetches it again): no PyPI package ships it on its own."""
    app.register_blueprint(Blueprint("redoc_assets", __name__, url_prefix="/api/redoc",
                                     static_folder="static/redoc", static_url_path="/assets"))
