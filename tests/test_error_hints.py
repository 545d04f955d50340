"""Error records carry their hint apart (issue #22 item 11b): `error` says what went wrong, `hint`
what to do (null when there is nothing to say), and stderr prints both as `Error:` and `Hint:`
lines, for an input that cannot be read as for every other error. schema_version stays 1."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from conftest import run_exaone
from fake_openai import FakeServer
from ocr_schema import DOCUMENTS, JSONL_LINE
from pdf_fixtures import SAMPLE_PAGES, make_text_pdf


def test_an_unreadable_input_prints_error_and_hint_lines(tmp_path: Path) -> None:
    good = make_text_pdf(tmp_path / "good.pdf", SAMPLE_PAGES[:1])
    locked = make_text_pdf(tmp_path / "locked.pdf", SAMPLE_PAGES[:1], password="열려라 참깨")
    missing = tmp_path / "missing.png"
    with FakeServer() as server:
        proc = run_exaone("ocr", str(missing), str(locked), str(good), "--server", server.url, "--jsonl", "--dpi", "40")
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    for message, hint in [
        (f"{missing}: no such file", "check the path (quote names with spaces)"),
        (f"{locked}: encrypted PDF (password required)", "pass the document's password with --password"),
    ]:
        at = lines.index(f"Error: {message}")
        assert lines[at + 1] == f"Hint: {hint}"
        assert proc.stderr.count(message) == 1  # said once
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    for record in records:
        jsonschema.validate(record, JSONL_LINE)
        assert record["schema_version"] == 1
    assert [(r["error"], r["hint"]) for r in records] == [
        (f"{missing}: no such file", "check the path (quote names with spaces)"),
        (f"{locked}: encrypted PDF (password required)", "pass the document's password with --password"),
        (None, None),
    ]


def test_the_json_document_and_the_text_format_keep_the_hint(tmp_path: Path) -> None:
    missing = tmp_path / "missing.png"
    good = make_text_pdf(tmp_path / "good.pdf", SAMPLE_PAGES[:1])
    with FakeServer() as server:
        body = run_exaone("ocr", str(missing), str(good), "--server", server.url, "--json", "--dpi", "40")
        text = run_exaone("ocr", str(missing), "--server", server.url, "--format", "text", "--dpi", "40")
    document = json.loads(body.stdout)
    jsonschema.validate(document, DOCUMENTS)
    first, second = (d["pages"][0] for d in document["documents"])
    assert (first["error"], first["hint"]) == (f"{missing}: no such file", "check the path (quote names with spaces)")
    assert (second["error"], second["hint"]) == (None, None)
    assert f"[error: {missing}: no such file; check the path (quote names with spaces)]" in text.stdout


def test_a_dry_run_keeps_the_hint_apart_and_says_it_on_stderr(tmp_path: Path) -> None:
    """`--dry-run` piped or as JSON: the unreadable input's advice was glued into `error` (its
    `hint` is the text layer's flag, older than error hints: the advice is `error_hint`), and
    stderr said nothing but exit code 1 when stdout went to a file."""
    missing = tmp_path / "missing.png"
    good = make_text_pdf(tmp_path / "good.pdf", SAMPLE_PAGES[:1])
    lines = run_exaone("ocr", str(missing), str(good), "--dry-run", "--jsonl")
    first, second = (json.loads(line) for line in lines.stdout.splitlines())
    assert (first["error"], first["error_hint"]) == (
        f"{missing}: no such file",
        "check the path (quote names with spaces)",
    )
    assert first["hint"] is False and (second["error"], second["error_hint"]) == (None, None)
    table = run_exaone("ocr", str(missing), str(good), "--dry-run")
    assert table.returncode == 1
    at = table.stderr.splitlines().index(f"Error: {missing}: no such file")
    assert table.stderr.splitlines()[at + 1] == "Hint: check the path (quote names with spaces)"
    assert f"{missing}: no such file; check the path" in table.stdout  # the row keeps both, for people


def test_extract_keeps_an_unreadable_inputs_hint_apart(tmp_path: Path) -> None:
    """extract's result for a file it could not open had the advice glued into `errors`
    ("...: no such file; check the path"), and stderr printed it as one `Error:` line."""
    missing = tmp_path / "missing.png"
    locked = make_text_pdf(tmp_path / "locked.pdf", SAMPLE_PAGES[:1], password="열려라 참깨")
    with FakeServer() as server:
        proc = run_exaone("extract", str(missing), str(locked), "--fields", "상호", "--server", server.url, "--jsonl")
    assert proc.returncode == 1
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["errors"], r["hint"], r["valid"]) for r in results] == [
        ([f"{missing}: no such file"], "check the path (quote names with spaces)", False),
        ([f"{locked}: encrypted PDF (password required)"], "pass the document's password with --password", False),
    ]
    lines = proc.stderr.splitlines()
    for result in results:
        at = lines.index(f"Error: {result['errors'][0]}")
        assert lines[at + 1] == f"Hint: {result['hint']}"
