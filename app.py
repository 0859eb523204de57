"""WSGI entry point: `flask --app app …`, `gunicorn app:app`."""

from followup.factory import create_app
from followup.logs import configure_logging

configure_logging()
app = create_app()
