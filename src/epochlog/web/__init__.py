"""The dashboard: `epochlog ui` serves it; `create_app` builds the FastAPI app for tests or other servers."""

from .app import create_app, serve

__all__ = ["create_app", "serve"]
