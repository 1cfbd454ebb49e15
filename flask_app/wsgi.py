"""The WSGI entry point: ``gunicorn flask_app.wsgi:app`` (settings from the environment)."""

from flask_app import create_app

app = create_app()
