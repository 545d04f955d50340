"""`exaone ocr` on the tiny checkpoint with PDFs the tests make, through both rasterizers."""

from __future__ import annotations

import json
import os
import re
import stat
import unicodedata
from pathlib import Path

import jsonschema
import pytest
from ocr_schema import DOCUMENTS, JSONL_LINE
from pdf_fixtures import SAMPLE_PAGES, make_scanned_pdf, make_text_pdf
from typer.testing import CliRunner

from exaone_cli.cli import app

RASTERIZERS = ["pdfium", "poppler"]
# Small pages and few tokens keep the tiny model quick on 2 CPU cores. 8 tokens end every page at
# the token limit: no retries and no text layer, or every page here would be tried three times and
# then replaced by its text layer (those are tested in test_text_layer_modes.py).
FAST = ["--dpi", "50", "--max-pixels", str(160 * 28 * 28), "--max-new-tokens", "8", "--temperature", "0",
        "--page-retries", "0", "--text-layer", "off"]  # fmt: skip


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from PIL import Image, ImageDraw

    folder = tmp_path_factory.mktemp("docs")
    photo = Image.new("RGB", (300, 180), "white")
    ImageDraw.Draw(photo).text((10, 80), "photo 1", fill="black")
    photo.save(folder / "photo.jpg")
    return {
        "text": make_text_pdf(folder / "계약서 text.pdf", SAMPLE_PAGES),
        "scan": make_scanned_pdf(folder / "scan.pdf", SAMPLE_PAGES[:2]),
        "photo": folder / "photo.jpg",
    }


def ocr(
    tiny_model: Path, *args: str, input: bytes | None = None, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app, ["ocr", "--model", str(tiny_model), *FAST, *args], input=input, env=env
    )  # args win
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def jsonl(stdout: str) -> list[dict]:
    lines = [json.loads(line) for line in stdout.splitlines()]
    for line in lines:
        jsonschema.validate(line, JSONL_LINE)
    return lines


def clean_exit(records: list[dict]) -> int:
    """The documented exit code for these records: 1 if a page failed, its answer is empty (the
    random tiny model sometimes generates nothing readable; issue #12 item 3) or its text was cut
    by the token limit (FAST's 8 tokens cut the pages here; issue #23 item 2), else 0."""
    return int(any(r["error"] or not r["text"].strip() or is_cut(r) for r in records))


def is_cut(record: dict) -> bool:
    return record["finish_reason"] == "length" and record["text_source"] == "model"


CUT = 1  # the exit code of a run whose pages FAST's 8 tokens cut (issue #23 item 2: a warning, like an empty page)


@pytest.mark.parametrize("rasterizer", RASTERIZERS)
def test_jsonl_one_line_per_page_in_input_order(tiny_model: Path, docs: dict[str, Path], rasterizer: str) -> None:
    code, stdout, stderr = ocr(
        tiny_model, str(docs["text"]), str(docs["photo"]), str(docs["scan"]), "--jsonl", "--rasterizer", rasterizer
    )
    lines = jsonl(stdout)
    assert code == clean_exit(lines) == CUT, stderr
    assert stderr.count("the text was cut short by the token limit") == sum(map(is_cut, lines))
    assert [(Path(r["source"]).name, r["page"]) for r in lines] == [
        ("계약서 text.pdf", 1), ("계약서 text.pdf", 2), ("계약서 text.pdf", 3),
        ("photo.jpg", 1), ("scan.pdf", 1), ("scan.pdf", 2),
    ]  # fmt: skip
    a4 = lines[0]
    assert (a4["dpi"], a4["width"], a4["height"]) == (50, 414, 585)  # A4 at 50 DPI (renderers round up)
    assert (lines[3]["dpi"], lines[3]["width"], lines[3]["height"]) == (None, 300, 180)
    # The budget (--max-pixels 160 tokens) shrinks the A4 page; the photo fits as it is.
    assert a4["visual_tokens"] <= 160 and a4["grid"][0] == 1
    assert a4["visual_tokens"] == a4["grid"][1] * a4["grid"][2] // 4
    assert (lines[3]["grid"], lines[3]["visual_tokens"]) == ([1, 12, 22], 66)  # 300x180 -> 308x168 px
    assert "up to 160 visual tokens per page" in stderr
    for record in lines:
        assert record["error"] is None and record["reasoning"] is None  # thinking is off for OCR
        assert record["text"] == unicodedata.normalize("NFC", record["text"])
        assert record["preset"] == "ocr" and record["model"] == str(tiny_model)
        assert 0 < record["tokens"]["completion"] <= 8
    assert len({r["sha256"] for r in lines}) == 3


@pytest.mark.parametrize("rasterizer", RASTERIZERS)
def test_page_ranges_select_pages(tiny_model: Path, docs: dict[str, Path], rasterizer: str) -> None:
    code, stdout, _ = ocr(tiny_model, str(docs["text"]), "--pages", "3,1", "--jsonl", "--rasterizer", rasterizer)
    assert code == clean_exit(jsonl(stdout))
    assert [r["page"] for r in jsonl(stdout)] == [1, 3]
    code, stdout, _ = ocr(tiny_model, str(docs["text"]), "--pages", "2-", "--jsonl", "--rasterizer", rasterizer)
    assert [r["page"] for r in jsonl(stdout)] == [2, 3]


def test_bad_page_range_is_a_usage_error(tiny_model: Path, docs: dict[str, Path]) -> None:
    code, stdout, stderr = ocr(tiny_model, str(docs["text"]), "--pages", "3-1")
    assert code == 2 and stdout == ""
    assert "Error:" in stderr


def test_standard_input_is_sniffed_from_bytes(tiny_model: Path, docs: dict[str, Path]) -> None:
    code, stdout, stderr = ocr(tiny_model, "-", "--jsonl", input=docs["scan"].read_bytes())
    assert code == clean_exit(jsonl(stdout)), stderr
    lines = jsonl(stdout)
    assert [(r["source"], r["page"]) for r in lines] == [("<stdin>", 1), ("<stdin>", 2)]
    assert lines[0]["dpi"] == 50


def test_json_document_matches_the_schema(tiny_model: Path, docs: dict[str, Path]) -> None:
    code, stdout, _ = ocr(tiny_model, str(docs["text"]), str(docs["photo"]), "--json", "--pages", "1-2")
    body = json.loads(stdout)
    assert code == clean_exit([page for document in body["documents"] for page in document["pages"]])
    jsonschema.validate(body, DOCUMENTS)
    assert [Path(d["source"]).name for d in body["documents"]] == ["계약서 text.pdf", "photo.jpg"]
    assert [p["page"] for p in body["documents"][0]["pages"]] == [1, 2]
    assert body["preset"]["name"] == "ocr" and body["preset"]["top_k"] == 20


def test_text_and_markdown_have_page_separators(tiny_model: Path, docs: dict[str, Path], tmp_path: Path) -> None:
    code, stdout, _ = ocr(tiny_model, str(docs["scan"]), "--format", "text")
    assert code == CUT and stdout.count("[the text was cut short by the token limit]") == 2
    assert stdout.count("===== ") == 2 and f"===== {docs['scan']} · page 2 =====" in stdout
    out = tmp_path / "scan.md"
    code, stdout, _ = ocr(tiny_model, str(docs["scan"]), "-o", str(out))  # format from the suffix
    assert code == CUT and stdout == ""
    markdown = out.read_text()
    assert markdown.count("<!-- ") == 2 and "\n---\n" in markdown
    assert not list(tmp_path.glob(".scan.md.*"))  # the temporary file was renamed, not left behind


def test_output_file_json_is_written_whole(tiny_model: Path, docs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    code, stdout, _ = ocr(tiny_model, str(docs["scan"]), "-o", str(out))
    assert code == CUT and stdout == ""
    jsonschema.validate(json.loads(out.read_text()), DOCUMENTS)


def test_resume_skips_finished_pages(tiny_model: Path, docs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "pages.jsonl"
    code, _, _ = ocr(tiny_model, str(docs["text"]), "-o", str(out))
    full = out.read_text().splitlines()
    assert code == clean_exit(jsonl(out.read_text()))
    assert len(full) == 3
    # An interrupted run: two complete lines and half of the third.
    out.write_text(full[0] + "\n" + full[1] + "\n" + full[2][:25])
    code, _, stderr = ocr(tiny_model, str(docs["text"]), "-o", str(out), "--resume")
    assert code == clean_exit(jsonl(out.read_text())[2:])  # only the page done again counts
    assert "2 page(s)" in stderr
    lines = out.read_text().splitlines()
    assert lines[:2] == full[:2]
    assert [json.loads(line)["page"] for line in lines] == [1, 2, 3]
    assert json.loads(lines[2])["text"] == json.loads(full[2])["text"]
    # A different prompt is different work: nothing is skipped.
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("이 페이지의 제목만 적으세요.")
    code, _, stderr = ocr(tiny_model, str(docs["text"]), "-o", str(out), "--resume", "--prompt-file", str(prompt))
    assert code == clean_exit(jsonl(out.read_text())[3:]) and "Resumed" not in stderr
    assert len(out.read_text().splitlines()) == 6


def test_resume_needs_a_jsonl_output(tiny_model: Path, docs: dict[str, Path]) -> None:
    code, _, stderr = ocr(tiny_model, str(docs["text"]), "--resume")
    assert code == 2 and "--resume needs -o FILE.jsonl" in stderr


def test_batched_greedy_output_equals_page_by_page(tiny_model: Path, docs: dict[str, Path]) -> None:
    # Pages of different sizes, so the batch is left-padded; with batches of 2, pages are grouped
    # by size (not input order) and the records must still come out in input order.
    args = (str(docs["photo"]), str(docs["scan"]), str(docs["text"]), str(docs["photo"]), "--pages", "1", "--jsonl")
    _, alone, _ = ocr(tiny_model, *args, "--batch-size", "1")
    alone_lines = jsonl(alone)
    assert len({r["tokens"]["prompt"] for r in alone_lines}) > 1  # really different lengths
    for batch in ("2", "4"):
        _, batched, _ = ocr(tiny_model, *args, "--batch-size", batch)
        batched_lines = jsonl(batched)
        assert [r["source"] for r in batched_lines] == [r["source"] for r in alone_lines]
        assert [r["text"] for r in batched_lines] == [r["text"] for r in alone_lines]
        assert [r["tokens"] for r in batched_lines] == [r["tokens"] for r in alone_lines]


def test_runaway_repetition_is_stopped_and_flagged(tiny_model: Path, docs: dict[str, Path]) -> None:
    code, stdout, _ = ocr(
        tiny_model, str(docs["scan"]), "--pages", "1", "--jsonl", "--presence-penalty", "0", "--max-new-tokens", "400"
    )
    assert code == 0
    (record,) = jsonl(stdout)
    assert record["finish_reason"] == "repetition"
    assert record["tokens"]["completion"] < 400
    code, stdout, _ = ocr(
        tiny_model, str(docs["scan"]), "--pages", "1", "--jsonl", "--presence-penalty", "0", "--max-new-tokens", "400",
        "--no-repetition-guard",
    )  # fmt: skip
    (unguarded,) = jsonl(stdout)
    assert (unguarded["finish_reason"], unguarded["tokens"]["completion"]) == ("length", 400)
    assert unguarded["text"].startswith(record["text"])


def test_a_bad_file_is_a_record_and_the_run_goes_on(tiny_model: Path, docs: dict[str, Path], tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\nthis is not really a pdf")
    code, stdout, stderr = ocr(tiny_model, str(broken), str(docs["photo"]), str(tmp_path / "missing.png"), "--jsonl")
    assert code == 1
    lines = jsonl(stdout)
    assert [(Path(r["source"]).name, r["page"], r["error"] is None) for r in lines] == [
        ("broken.pdf", None, False), ("photo.jpg", 1, True), ("missing.png", None, False),
    ]  # fmt: skip
    assert "broken.pdf" in stderr and "missing.png" in stderr and "Traceback" not in stderr


def test_encrypted_pdf_needs_the_password(tiny_model: Path, tmp_path: Path) -> None:
    locked = make_text_pdf(tmp_path / "locked.pdf", SAMPLE_PAGES[:1], password="암호123")
    code, stdout, stderr = ocr(tiny_model, str(locked), "--jsonl")
    assert code == 1 and "--password" in stderr
    assert jsonl(stdout)[0]["error"]
    code, stdout, _ = ocr(tiny_model, str(locked), "--jsonl", "--password", "암호123")
    assert code == clean_exit(jsonl(stdout)) and jsonl(stdout)[0]["error"] is None


def test_dry_run_lists_pages_without_loading_a_model(docs: dict[str, Path], tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["ocr", str(docs["text"]), str(docs["photo"]), "--dry-run", "--json", "--model", str(tmp_path / "none")]
    )
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    first = body["pages"][0]
    assert (first["width"], first["height"], first["dpi"]) == (1654, 2339, 200)  # A4 at 200 DPI
    assert (first["resized_width"], first["resized_height"]) == (1652, 2352)  # full resolution kept
    assert first["visual_tokens"] == 1652 * 2352 // (28 * 28)
    assert len(body["pages"]) == 4 and body["thinking"] is False and body["preset"]["name"] == "ocr"
    assert "reading order" in body["prompt"]
    table = CliRunner().invoke(app, ["ocr", str(docs["text"]), "--dry-run", "--model", str(tmp_path / "none")])
    assert table.exit_code == 0 and "1654x2339" in table.stdout and "visual tokens" in table.stdout


def test_dry_run_json_carries_the_schema_version_and_jsonl_is_one_page_a_line(
    docs: dict[str, Path], tmp_path: Path
) -> None:
    """docs/reference/output.md: every JSON object exaone prints carries `schema_version`, and
    `--jsonl` is one line per page. `--dry-run --json` had no version; `--dry-run --jsonl` printed
    the `--json` object, so `jq 'select(.text_layer == "good")'` found no page."""
    args = ["ocr", str(docs["text"]), str(docs["photo"]), "--dry-run", "--model", str(tmp_path / "none")]
    whole = CliRunner().invoke(app, [*args, "--json"])
    assert whole.exit_code == 0, whole.stderr
    assert json.loads(whole.stdout)["schema_version"] == 1
    lines = CliRunner().invoke(app, [*args, "--jsonl"])
    assert lines.exit_code == 0, lines.stderr
    pages = [json.loads(line) for line in lines.stdout.splitlines()]
    assert [(page["source"], page["page"]) for page in pages] == [
        *[(str(docs["text"]), n) for n in range(1, 4)],
        (str(docs["photo"]), 1),
    ]
    assert all(page["schema_version"] == 1 for page in pages)
    assert pages == [{"schema_version": 1, **page} for page in json.loads(whole.stdout)["pages"]]


def test_ask_takes_pdf_pages_as_images_in_order(tiny_model: Path, docs: dict[str, Path]) -> None:
    # Up to --max-images pages go in as images; more than that is document mode (tests/test_docqa.py),
    # no longer the first --max-images pages with the rest cut off.
    result = CliRunner().invoke(
        app,
        ["ask", str(docs["text"]), str(docs["photo"]), "표에서 매출은?", "--model", str(tiny_model), "--json",
         "--max-images", "4", "--dpi", "50", "--max-new-tokens", "4"],
    )  # fmt: skip
    body = json.loads(result.stdout)
    # 4 tokens usually end inside the reasoning: an empty answer, exit code 1 (issue #12 item 3).
    assert result.exit_code == (1 if body["note"] else 0), result.stderr
    assert [(Path(i["source"]).name, i["page"]) for i in body["images"]] == [
        ("계약서 text.pdf", 1),
        ("계약서 text.pdf", 2),
        ("계약서 text.pdf", 3),
        ("photo.jpg", 1),
    ]
    assert body["prompt"].count("<vision>") == 4
    assert body["mode"] == "images" and body["pages_total"] == 4
    assert body["preset"]["name"] == "ocr"


def test_rich_view_shows_each_page_under_its_name(tiny_model: Path, docs: dict[str, Path]) -> None:
    # Wide enough for the whole title: rich cuts a title at the panel's edge, which a long temporary
    # folder (pytest-xdist's popen-gwN in it) moves past the page number at 80 columns.
    code, stdout, _ = ocr(tiny_model, str(docs["scan"]), "--format", "rich", env={"COLUMNS": "200"})
    assert code == CUT and stdout.count("finish: length") == 2
    assert "· page 1 " in stdout and "· page 2 " in stdout  # panel titles, in order
    assert stdout.index("· page 1 ") < stdout.index("· page 2 ")


# ---- first contact: destinations, counts, repeats, pages that are not there ---------------------


def test_pages_past_the_end_are_said_per_input(tiny_model: Path, docs: dict[str, Path]) -> None:
    code, stdout, stderr = ocr(tiny_model, str(docs["text"]), "--pages", "2,5", "--jsonl")
    assert code == clean_exit(jsonl(stdout)), stderr
    (record,) = jsonl(stdout)
    assert record["page"] == 2
    assert record["note"] == "no page 5 in this 3-page file (--pages 2,5)"
    assert stderr.count(f"Warning: {docs['text']}: no page 5 in this 3-page file") == 1


@pytest.mark.parametrize("where", ["missing folder", "existing folder", "an input"])
def test_output_destination_is_checked_before_any_work(docs: dict[str, Path], tmp_path: Path, where: str) -> None:
    target = {
        "missing folder": tmp_path / "no-such-folder" / "out.json",
        "existing folder": tmp_path,
        "an input": docs["scan"],
    }[where]
    before = docs["scan"].read_bytes()
    # No model is needed to refuse: this one does not even exist.
    result = CliRunner().invoke(app, ["ocr", str(docs["scan"]), "-o", str(target), "--model", str(tmp_path / "none")])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"Error: -o {target}") and result.stderr.count("Error:") == 1
    assert docs["scan"].read_bytes() == before
    assert not list(tmp_path.glob("**/*.tmp"))


def test_output_files_get_the_permissions_the_umask_gives(
    tiny_model: Path, docs: dict[str, Path], tmp_path: Path
) -> None:
    old = os.umask(0o022)
    try:
        modes = {}
        for name in ("out.json", "out.md", "out.txt", "out.jsonl"):
            code, _, stderr = ocr(tiny_model, str(docs["photo"]), "-o", str(tmp_path / name))
            assert code == CUT, stderr
            modes[name] = stat.S_IMODE((tmp_path / name).stat().st_mode)
    finally:
        os.umask(old)
    assert modes == dict.fromkeys(modes, 0o644)


def test_counts_name_pages_files_and_unreadable_inputs(tiny_model: Path, docs: dict[str, Path], tmp_path: Path) -> None:
    missing, empty = tmp_path / "missing.png", tmp_path / "empty.png"
    empty.touch()
    code, _, stderr = ocr(tiny_model, str(missing), str(docs["photo"]), "--jsonl")
    assert code == 1
    assert "1 page from 1 file (1 of 2 inputs cannot be read)" in stderr
    assert "Done: 1 page (1 cut by the token limit), 1 error in " in stderr
    code, _, stderr = ocr(tiny_model, str(missing), str(docs["photo"]), str(empty), "--jsonl")
    assert "1 page from 1 file (2 of 3 inputs cannot be read)" in stderr
    assert "Done: 1 page (1 cut by the token limit), 2 errors in " in stderr


def test_a_file_named_twice_gives_one_result_per_name(tiny_model: Path, docs: dict[str, Path]) -> None:
    code, stdout, stderr = ocr(tiny_model, str(docs["photo"]), str(docs["scan"]), str(docs["photo"]), "--json")
    body = json.loads(stdout)
    assert code == clean_exit([page for document in body["documents"] for page in document["pages"]]), stderr
    jsonschema.validate(body, DOCUMENTS)
    assert [(Path(d["source"]).name, [p["page"] for p in d["pages"]]) for d in body["documents"]] == [
        ("photo.jpg", [1]), ("scan.pdf", [1, 2]), ("photo.jpg", [1]),
    ]  # fmt: skip
    assert "4 pages from 3 files" in stderr and "Done: 4 pages (4 cut by the token limit), no errors" in stderr
    code, stdout, _ = ocr(tiny_model, str(docs["scan"]), str(docs["scan"]), "--jsonl")
    assert [r["page"] for r in jsonl(stdout)] == [1, 2, 1, 2]


def test_resume_with_a_file_named_twice_finishes_the_second_copy(
    tiny_model: Path, docs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "pages.jsonl"
    args = (str(docs["scan"]), str(docs["scan"]), "-o", str(out))
    code, _, _ = ocr(tiny_model, *args)
    full = out.read_text().splitlines()
    assert code == clean_exit([json.loads(line) for line in full])
    assert [json.loads(line)["page"] for line in full] == [1, 2, 1, 2]
    out.write_text("\n".join(full[:3]) + "\n")  # interrupted before the second copy's page 2
    code, _, stderr = ocr(tiny_model, *args, "--resume")
    assert code == clean_exit([json.loads(line) for line in out.read_text().splitlines()[3:]]), stderr
    assert "Resumed: 3 page(s)" in stderr and "1 page from 2 files" in stderr
    lines = out.read_text().splitlines()
    assert lines[:3] == full[:3]
    pages = [(r["page"], r["text"]) for r in map(json.loads, lines)]
    assert pages == [(r["page"], r["text"]) for r in map(json.loads, full)]


def test_error_lines_carry_their_hint_without_nested_parentheses(docs: dict[str, Path], tmp_path: Path) -> None:
    missing = tmp_path / "missing.png"
    result = CliRunner().invoke(app, ["ocr", str(missing), "--dry-run", "--json"])
    (row,) = json.loads(result.stdout)["pages"]
    assert (row["error"], row["error_hint"]) == (f"{missing}: no such file", "check the path (quote names with spaces)")
    assert not re.search(r"\([^()]*\(", row["error"] + row["error_hint"])


def test_dry_run_with_a_server_names_the_server_not_the_hub_model(docs: dict[str, Path]) -> None:
    """`--dry-run --server URL` said "model LGAI-EXAONE/EXAONE-4.5-33B", a model the run would
    never load; it names the server (and the served model's name when --served-model gives it)."""
    url = "http://127.0.0.1:9/v1"  # nothing is asked: a dry run reaches no server
    table = CliRunner().invoke(app, ["ocr", str(docs["text"]), "--dry-run", "--format", "text", "--server", url])
    named = CliRunner().invoke(
        app, ["ocr", str(docs["text"]), "--dry-run", "--json", "--server", url, "--served-model", "exaone-on-vllm"]
    )
    assert table.exit_code == 0 and named.exit_code == 0, table.stderr + named.stderr
    assert f"server {url}" in table.stderr and "LGAI-EXAONE" not in table.stderr
    assert json.loads(named.stdout)["model"] == "exaone-on-vllm"
