"""WSGI entry point: `flask --app app …`, `gunicorn app:app`."""

from followup.factory import create_app

app = create_app()
