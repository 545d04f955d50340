"""The `exaone` command line: Typer app, global options, and the error boundary."""

from __future__ import annotations

from .app import app, main

__all__ = ["app", "main"]
