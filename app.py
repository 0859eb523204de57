"""WSGI entry point: `flask --app app …`, `gunicorn app:app`."""

from followup import create_app

app = create_app()
