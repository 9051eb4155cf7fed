"""Entry point for gunicorn (web: gunicorn wsgi:app) and the flask CLI (FLASK_APP=wsgi)."""
from ats import create_app

app = create_app()
