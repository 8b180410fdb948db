"""HTTP server mode (``solidafy-cdk serve``): Flask on waitress over the Python API.

Nothing here imports Flask or waitress at import time; :func:`serve_main` and :func:`create_app` do,
when called, so the CLI's other commands start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from source_solidafy.server.settings import ServerSettings

if TYPE_CHECKING:
    from flask import Flask


def serve_main(argv: list[str]) -> int:
    """Parse the serve flags, refuse an exposed bind without a token (exit 2), run until stopped."""
    from source_solidafy.server.main import serve_main as _serve_main

    return _serve_main(argv)


def create_app(settings: ServerSettings | None = None, api: Any = None) -> Flask:
    """The Flask app (WSGI). ``api`` defaults to :mod:`source_solidafy.api`."""
    from source_solidafy.server.app import create_app as _create_app

    return _create_app(settings, api=api)


__all__ = ["ServerSettings", "create_app", "serve_main"]
