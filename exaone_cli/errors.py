"""Typed errors and exit codes. Core code raises these; only the CLI prints them."""

from __future__ import annotations

import os
from enum import IntEnum


class ExitCode(IntEnum):
    """What `exaone` returns to the shell (documented in --help and the README)."""

    OK = 0
    INPUT_FAILED = 1  # some inputs (files, pages) failed; the rest were processed
    USAGE = 2  # bad flags or arguments
    ENGINE = 3  # the model/engine could not be loaded or reached
    INTERRUPTED = 130  # SIGINT/SIGTERM


class ExaoneError(Exception):
    """An error a user can act on: one line of message, one line of hint."""

    exit_code: ExitCode = ExitCode.INPUT_FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class InputError(ExaoneError):
    """A file or page could not be read."""

    exit_code = ExitCode.INPUT_FAILED


class UsageError(ExaoneError):
    """A flag or argument makes no sense."""

    exit_code = ExitCode.USAGE


class EngineError(ExaoneError):
    """The model could not be loaded, or the server could not be reached."""

    exit_code = ExitCode.ENGINE


class GenerationError(ExaoneError):
    """One generation failed (a request that kept failing, out of memory); other pages may
    still succeed, so the run records it and goes on."""

    exit_code = ExitCode.INPUT_FAILED


class OutOfMemory(GenerationError):
    """The accelerator ran out of memory on a generation; smaller work may still fit."""


class PromptTooLong(GenerationError):
    """The server refused a prompt as longer than its context: what to shorten depends on the
    command (ask's pages, chat's conversation), so a command may say it in its own words."""


def debug_enabled() -> bool:
    """--debug / EXAONE_DEBUG=1: tracebacks and library logs are shown."""
    return os.environ.get("EXAONE_DEBUG", "").lower() in ("1", "true", "yes")


def error_text(exc: ExaoneError) -> str:
    """An error as one line for a record and for stderr: what went wrong, then what to do."""
    return f"{exc.message}; {exc.hint}" if exc.hint else exc.message


def joined(message: str | None, hint: str | None) -> str | None:
    """An error and its hint as one line (`message; hint`), for the places that have one line:
    records keep them apart (`error`, `hint`), and stderr prints `Error:` and `Hint:` lines."""
    if message is None:
        return None
    return f"{message}; {hint}" if hint else message
