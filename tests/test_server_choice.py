"""--model on the command line against EXAONE_SERVER from the environment: a flag typed wins over
the environment, and --model with --server both typed is a usage error (--served-model names the
served model)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from typer.testing import CliRunner

from exaone_cli.cli import app


def closed_server() -> str:
    """A server URL where nothing listens: were it used, the run would end with exit code 3."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_a_typed_model_runs_here_when_the_server_comes_from_the_environment(tiny_model: Path) -> None:
    server = closed_server()
    args = ["ask", "hi", "--model", str(tiny_model), "--no-think", "--max-new-tokens", "4", "--json"]
    result = CliRunner().invoke(app, args, env={"EXAONE_SERVER": server})
    assert result.exit_code in (0, 1), result.stderr  # 1: the random tiny model may answer nothing
    assert json.loads(result.stdout)["model"] == str(tiny_model)
    notice = f"Warning: --model {tiny_model} runs here, not on EXAONE_SERVER={server} (pass --server to use the server)"
    assert notice in result.stderr.splitlines()


def test_the_server_from_the_environment_still_serves_without_a_typed_model(tmp_path: Path) -> None:
    server = closed_server()
    result = CliRunner().invoke(app, ["ask", "hi", "--json"], env={"EXAONE_SERVER": server})
    assert result.exit_code == 3 and server in result.stderr  # it was tried


def test_model_and_server_both_typed_is_a_usage_error(tmp_path: Path) -> None:
    for command in (["ocr", "x.png"], ["ask", "hi"], ["extract", "x.png", "--template", "receipt"]):
        args = [*command, "--model", str(tmp_path), "--server", closed_server()]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, (command, result.stderr)
        assert result.stderr.splitlines() == [
            "Error: --model and --server both given: --model names a local checkpoint",
            "Hint: name the served model with --served-model NAME, or drop --server to run --model here",
        ]
