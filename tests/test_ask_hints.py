"""`exaone ask` with the question typed first: the hint is the user's own command with their
question moved last, quoted, ready to copy."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from exaone_cli.cli import app


def test_a_question_typed_first_is_moved_last_in_the_hint(receipt_png: Path) -> None:
    result = CliRunner().invoke(app, ["ask", "합계는?", str(receipt_png)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: no question: the last argument, {receipt_png}, is an input",
        f"Hint: put the question last, in quotes: exaone ask '{receipt_png}' \"합계는?\"",  # a name with a space
    ]


def test_no_question_at_all_gets_an_example_question(receipt_png: Path) -> None:
    result = CliRunner().invoke(app, ["ask", str(receipt_png)])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[1] == (
        f"Hint: put the question last, in quotes: exaone ask '{receipt_png}' \"합계 금액은 얼마인가요?\""
    )
