"""The ATS application factory."""
import logging
import os
import sys

from flask import Flask


def configure_logging() -> None:
    """Log to stdout, as a PaaS collects it."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def create_app(overrides: dict | None = None) -> Flask:
    configure_logging()

    from ats import config
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    app.config.from_object(config.Defaults)
    settings = config.from_environment()
    if settings["ATS_ENV"] == "testing":
        app.config.from_object(config.Testing)
    app.config.update(settings)
    app.config.update(overrides or {})
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{os.path.join(app.instance_path, 'ats.sqlite3')}"

    from ats.extensions import api, db, jwt, limiter, mail, migrate
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True)
    jwt.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)
    api.init_app(app)

    from ats.auth.tokens import register_token_callbacks
    from ats.common.api import IdConverter
    register_token_callbacks(jwt)
    app.url_map.converters["id"] = IdConverter
    api.register_converter(IdConverter, IdConverter.openapi_schema)

    from ats import applications, auth, companies, health, jobs
    for module in (auth, companies, jobs, applications, health):
        api.register_blueprint(module.blp)

    from ats.errors import register_error_handlers
    register_error_handlers(app)

    from ats.cli import ats_cli
    app.cli.add_command(ats_cli)
    return app
