"""`exaone mcp` as an agent's client starts it: a subprocess spoken to by the SDK's own client
session, over stdio (its raw standard output copied to a file on the way, so tests can check
every byte of it) or streamable HTTP."""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.types import CallToolResult


@asynccontextmanager
async def stdio_session(
    args: list[str], cwd: Path, logs: Path, env: dict[str, str] | None = None
) -> AsyncIterator[ClientSession]:
    """A client session with `exaone mcp ARGS` started in `cwd`; its standard output also goes to
    logs/wire.jsonl (through tee) and its standard error to logs/stderr.txt."""
    logs.mkdir(parents=True, exist_ok=True)
    command = shlex.join([sys.executable, "-m", "exaone_cli", "mcp", *args])
    params = StdioServerParameters(
        command="sh",
        args=["-c", f"{command} | tee {shlex.quote(str(logs / 'wire.jsonl'))}"],
        cwd=cwd,
        # As a client starts it: no PYTHONUNBUFFERED, so a stray print sits in a buffer as it would.
        env={**{k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}, **(env or {})},
    )
    with (logs / "stderr.txt").open("w", encoding="utf-8") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            yield session


def payload(result: CallToolResult) -> dict[str, Any]:
    """A successful tool result's structured content (checked against its text twin)."""
    assert not result.is_error, result.content
    text = json.loads(result.content[0].text)  # type: ignore[union-attr]
    assert result.structured_content == text
    return text


def error_text(result: CallToolResult) -> str:
    assert result.is_error, result.structured_content
    return "\n".join(block.text for block in result.content)  # type: ignore[union-attr]
