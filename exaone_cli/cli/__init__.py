"""The `exaone` command line: Typer app, global options, and the error boundary.
May import everything below it: render/, api, the command packages and the shared layers; nothing imports cli/.
"""

from __future__ import annotations

from .app import app, main

__all__ = ["app", "main"]
