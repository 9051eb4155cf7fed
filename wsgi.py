"""Entry point for gunicorn (web: gunicorn wsgi:app) and the flask CLI (FLASK_APP=wsgi)."""
from ats import create_app
from ats.config import ConfigError

try:
    app = create_app()
except ConfigError as error:  # one clear line for whoever deploys, not a traceback
    raise SystemExit(f"Configuration error: {error}") from None
