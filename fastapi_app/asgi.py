"""The ASGI entry point: ``uvicorn fastapi_app.asgi:app`` (settings from the environment)."""

from fastapi_app import create_app

app = create_app()
