"""`exaone ocr` against hostile inputs and interruptions, end to end: real subprocesses, real signals.

One run takes every input of hostile_fixtures.py between two good files and must keep its promises
(README "exaone ocr", "Exit codes"): each bad file or page is a record naming the file and one
"Error:" line, the rest is still done, exit 1, no traceback, bounded time and memory. Interrupted
runs (SIGINT, SIGTERM) keep every finished page, never a cut file, and `--resume` finishes the job.
Random and mutated bytes through the input layer raise InputError or nothing (hypothesis).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

import jsonschema
import pytest
from hostile_fixtures import DPI, Hostile, pdf_bytes, write_fuzz_findings, write_hostile_inputs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocr_schema import JSONL_LINE
from pdf_fixtures import SAMPLE_PAGES, make_text_pdf
from PIL import Image, ImageDraw

from exaone_cli.errors import InputError
from exaone_cli.inputs import open_source
from exaone_cli.pages import RasterOptions, open_document
from exaone_cli.vision import visual_tokens

# Small pages and few tokens keep the tiny model quick on 2 CPU cores (as in test_ocr.py).
# 8 tokens end every page at the token limit: no retries, or every page would be tried three times
# (the text layer is still read and judged, hostile files included).
FAST = ["--dpi", str(DPI), "--max-pixels", str(160 * 28 * 28), "--max-new-tokens", "8", "--temperature", "0",
        "--page-retries", "0"]  # fmt: skip
RUN_TIMEOUT_S = 240  # the whole hostile run, ~240 pages on the tiny model: ~15 s on 2 idle cores, ~65 s shared
MAX_RSS = 3 << 30  # a 1.6-gigapixel bomb decoded, or a 200-inch page at 50 DPI, would pass this
GOOD_FIRST, GOOD_LAST = "good first.pdf", "good last.png"


def expected_exit(records: list[dict]) -> int:
    """1 when a record is an error, an empty page or a page the token limit cut (issue #23), else 0."""
    return int(
        any(
            r["error"]
            or (r["page"] is not None and "text" in r and not r["text"].strip())  # --dry-run pages have no text
            or (r.get("finish_reason") == "length" and r.get("text_source") == "model")
            for r in records
        )
    )


JSONL_VALIDATOR = jsonschema.Draft202012Validator(JSONL_LINE)


@dataclass(frozen=True)
class Finished:
    """A finished `exaone` process: what it said, and the most memory it held (its own rusage)."""

    code: int
    stdout: str
    stderr: str
    max_rss: int  # bytes

    @functools.cached_property
    def jsonl(self) -> list[dict]:
        """stdout as JSON Lines records, each checked against the documented schema."""
        lines = [json.loads(line) for line in self.stdout.splitlines()]
        for line in lines:
            JSONL_VALIDATOR.validate(line)
        return lines


def exaone_measured(*args: str, cwd: Path, timeout: float) -> Finished:
    """`exaone ARGS` in `cwd`, killed after `timeout` s, with its peak RSS from wait4 (this child's
    alone: RUSAGE_CHILDREN would also count every earlier child of the test process)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "exaone_cli", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            cwd=cwd,
            env={**os.environ, "COLUMNS": "100"},
        )
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        assert proc.returncode != -signal.SIGKILL, f"exaone {' '.join(args)} took over {timeout} s"
        out.seek(0)
        err.seek(0)
        return Finished(proc.returncode, out.read().decode(), err.read().decode(), usage.ru_maxrss * 1024)


# ---- the hostile run -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HostileRun:
    rows: list[Hostile]
    args: list[str]  # the inputs as given, good files included, in order (`--` not included)
    ocr: Finished
    dry_run: Finished

    def by_source(self, finished: Finished) -> dict[str, list[dict]]:
        return {source: list(group) for source, group in groupby(finished.jsonl, key=lambda r: r["source"])}


@pytest.fixture(scope="module")
def hostile(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> HostileRun:
    """Every hostile input between two good files, through one real `exaone ocr --jsonl` and one
    `--dry-run --json`. Names starting with '-' come after `--`, the rest before it."""
    folder = tmp_path_factory.mktemp("hostile")
    rows = write_hostile_inputs(folder)
    make_text_pdf(folder / GOOD_FIRST, SAMPLE_PAGES[:2])
    _picture("the last good file").save(folder / GOOD_LAST)
    before = [GOOD_FIRST] + [row.arg for row in rows if not row.after_dashdash]
    after = [row.arg for row in rows if row.after_dashdash] + [GOOD_LAST]
    assert [row.after_dashdash for row in rows] == sorted(row.after_dashdash for row in rows)  # those come last
    command = [*before, "--", *after]
    ocr = exaone_measured(
        "ocr", "--model", str(tiny_model), *FAST, "--batch-size", "8", "--jsonl", *command,
        cwd=folder, timeout=RUN_TIMEOUT_S,
    )  # fmt: skip
    dry_run = exaone_measured(
        "ocr", "--model", str(folder / "no model here"), "--dpi", str(DPI), "--max-pixels", str(160 * 28 * 28),
        "--dry-run", "--json", *command, cwd=folder, timeout=60,
    )  # fmt: skip
    return HostileRun(rows, before + after, ocr, dry_run)


def _picture(text: str) -> Image.Image:
    image = Image.new("RGB", (200, 80), "white")
    ImageDraw.Draw(image).text((10, 30), text, fill="black")
    return image


def test_hostile_run_fails_cleanly_in_bounded_memory(hostile: HostileRun) -> None:
    run = hostile.ocr
    assert run.code == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert "unexpected" not in run.stderr  # what the CLI says about an exception it did not expect
    assert run.max_rss < MAX_RSS, f"peak RSS {run.max_rss / 2**30:.2f} GiB"


def test_hostile_run_lists_every_input_once_in_input_order(hostile: HostileRun) -> None:
    sources = [source for source, _ in groupby(hostile.ocr.jsonl, key=lambda r: r["source"])]
    assert sources == hostile.args


def test_each_hostile_input_has_its_documented_outcome(hostile: HostileRun) -> None:
    records = hostile.by_source(hostile.ocr)
    problems = [
        f"{row.arg} ({row.what}): {p}" for row in hostile.rows for p in _outcome_problems(row, records[row.arg])
    ]
    assert not problems, "\n".join(problems)


def _outcome_problems(row: Hostile, records: list[dict]) -> Iterator[str]:
    pages = [r["page"] for r in records]
    if row.outcome == "ok":
        if pages != list(range(1, row.pages + 1)):
            yield f"expected pages 1..{row.pages}, got {pages}"
        yield from (f"page {r['page']}: {r['error']}" for r in records if r["error"] is not None)
        yield from _size_problems(row, records)
        return
    expected_pages = list(range(1, row.pages + 1)) if row.page_errors else [None]
    if pages != expected_pages:
        yield f"expected error records for pages {expected_pages}, got {pages}"
    for record in records:
        error = record["error"] or ""
        if not error.startswith(f"{row.arg}: ") or row.phrase not in error:
            yield f"page {record['page']}: error {error!r} should name the file and say {row.phrase!r}"
        if record["finish_reason"] != "error" or record["text"]:
            yield f"page {record['page']}: an error record with finish_reason {record['finish_reason']!r}"


def _size_problems(row: Hostile, records: list[dict]) -> Iterator[str]:
    if row.sizes is not None:
        sizes = [(r["width"], r["height"]) for r in records]
        if sizes != list(row.sizes):
            yield f"expected sizes {list(row.sizes)}, got {sizes}"
    if row.note is not None:
        yield from (f"page {r['page']}: note {r['note']!r}" for r in records if row.note not in (r["note"] or ""))


def test_good_files_around_the_hostile_ones_are_done(hostile: HostileRun) -> None:
    records = hostile.ocr.jsonl
    first, last = hostile.by_source(hostile.ocr)[GOOD_FIRST], hostile.by_source(hostile.ocr)[GOOD_LAST]
    assert records[:2] == first and records[-1:] == last
    assert [(r["page"], r["error"]) for r in first + last] == [(1, None), (2, None), (1, None)]
    assert all(0 < r["tokens"]["completion"] <= 8 for r in first + last)


def test_one_error_line_per_failed_record_naming_the_file(hostile: HostileRun) -> None:
    failed = [r["error"] for r in hostile.ocr.jsonl if r["error"] is not None]
    error_lines = [line for line in hostile.ocr.stderr.splitlines() if line.startswith("Error: ")]
    # Inputs that cannot be opened are named with the plan line, before any page is made; the
    # others in their turn. Either way, one line each, with the record's own text.
    assert sorted(error_lines) == sorted(f"Error: {error}" for error in failed)
    assert len(error_lines) == len(set(error_lines)) == len(failed)
    assert "Error:" not in "".join(line for line in hostile.ocr.stderr.splitlines() if line not in error_lines)


def test_dry_run_knows_the_same_outcomes_without_a_model(hostile: HostileRun) -> None:
    run = hostile.dry_run
    assert run.code == 1 and "Traceback" not in run.stderr, run.stderr
    rows = json.loads(run.stdout)["pages"]
    by_source = {source: list(group) for source, group in groupby(rows, key=lambda r: r["source"])}
    assert list(by_source) == hostile.args
    problems = []
    for row in hostile.rows:
        records = by_source[row.arg]
        if row.dry_run_outcome == "ok":
            pages = [r["page"] for r in records]
            problems += [f"{row.arg}: expected pages 1..{row.pages}, got {pages}"] * (
                pages != [*range(1, row.pages + 1)]
            )
            problems += [f"{row.arg}: {r['error']}" for r in records if r["error"] is not None]
            problems += [f"{row.arg}: {p}" for p in _size_problems(row, records)]
        else:
            # A file that cannot be opened: one record, page null. A file that opens but whose
            # pages the model cannot take (the 100000x10 strip): one error per page, as in a run.
            expected = [(n, True) for n in range(1, row.pages + 1)] if row.page_errors else [(None, True)]
            if [(r["page"], row.phrase in (r["error"] or "")) for r in records] != expected:
                problems.append(f"{row.arg}: expected {expected} with {row.phrase!r}, got {records}")
            problems += [
                f"{row.arg}: the error does not name the file: {r['error']!r}"
                for r in records
                if not r["error"].startswith(f"{row.arg}: ")
            ]
    assert not problems, "\n".join(problems)


def test_dry_run_names_the_file_of_a_page_the_model_cannot_take(hostile: HostileRun) -> None:
    (strip,) = [row for row in hostile.rows if row.arg == "strip.png"]
    (record,) = [r for r in json.loads(hostile.dry_run.stdout)["pages"] if r["source"] == strip.arg]
    assert record["error"].startswith(f"{strip.arg}: ")


# ---- found by fuzzing ----------------------------------------------------------------------------

# Files the mutation fuzzer found that once ended a whole run ("unexpected IndexError / TypeError /
# PdfiumError"): Pillow raising from n_frames on a damaged later frame, and PDFium failing to size
# a page whose object is missing. Each is checked in a real run and in --dry-run.
FINDINGS = {
    "page-object-missing.pdf": ("ocr", "dry-run"),
    "cut-extension.gif": ("ocr", "dry-run"),
    "second-frame-no-width.tiff": ("ocr", "dry-run"),
}


@dataclass(frozen=True)
class FindingsRun:
    rows: dict[str, Hostile]
    runs: dict[str, Finished]


@pytest.fixture(scope="module")
def findings(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> FindingsRun:
    """The fuzzer's finds between two good files: one real run, one dry run."""
    folder = tmp_path_factory.mktemp("findings")
    rows = {row.arg: row for row in write_fuzz_findings(folder)}
    assert list(rows) == list(FINDINGS)
    make_text_pdf(folder / GOOD_FIRST, SAMPLE_PAGES[:1])
    _picture("the last good file").save(folder / GOOD_LAST)
    inputs = [GOOD_FIRST, *rows, GOOD_LAST]
    model = ["--model", str(tiny_model), *FAST]
    return FindingsRun(
        rows,
        {
            "ocr": exaone_measured("ocr", *model, "--jsonl", *inputs, cwd=folder, timeout=120),
            "dry-run": exaone_measured("ocr", *model, "--dry-run", "--json", *inputs, cwd=folder, timeout=60),
        },
    )


@pytest.mark.parametrize(
    ("arg", "mode"),
    [pytest.param(arg, mode, id=f"{arg}-{mode}") for arg, modes in FINDINGS.items() for mode in modes],
)
def test_a_file_damaged_past_its_first_page_is_an_error_not_the_end_of_the_run(
    findings: FindingsRun, arg: str, mode: str
) -> None:
    """The file may be read in part or refused, but the run goes on, and any error names it."""
    run, row = findings.runs[mode], findings.rows[arg]
    assert "unexpected" not in run.stderr and "Traceback" not in run.stderr, run.stderr
    records = run.jsonl if mode == "ocr" else json.loads(run.stdout)["pages"]
    by_source = {source: list(group) for source, group in groupby(records, key=lambda r: r["source"])}
    assert list(by_source) == [GOOD_FIRST, *findings.rows, GOOD_LAST]
    assert all(r["error"] is None for r in by_source[GOOD_FIRST] + by_source[GOOD_LAST])
    errors = [r["error"] for r in by_source[arg] if r["error"] is not None]
    assert all(e.startswith(f"{arg}: ") and row.phrase in e for e in errors), errors
    assert run.code == expected_exit(records)


# ---- interruption ----------------------------------------------------------------------------------

PAGES = 40
# Slow enough pages (a sampled, unguarded run of up to 40 tokens, one page a batch: ~0.5-3 s each
# on 2 cores) that a signal lands between finished pages, and a run never ends before it.
SLOW = ["--max-new-tokens", "40", "--no-repetition-guard", "--temperature", "1", "--seed", "1", "--batch-size", "1"]


@pytest.fixture(scope="module")
def long_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_text_pdf(tmp_path_factory.mktemp("long") / "long.pdf", (SAMPLE_PAGES * PAGES)[:PAGES])


def exaone_popen(*args: str, cwd: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """`exaone ARGS` started in `cwd`, stdout discarded, stderr to a file the test can poll."""
    stderr = cwd / "stderr.txt"
    with stderr.open("wb") as handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "exaone_cli", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=handle,
            cwd=cwd,
            env={**os.environ, "COLUMNS": "100"},
        )
    return proc, stderr


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[bytes], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"exaone ended (code {proc.returncode}) before {what}"
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no {what} after {timeout} s")
        time.sleep(0.05)


def interrupt(proc: subprocess.Popen[bytes], signum: int) -> int:
    proc.send_signal(signum)
    try:
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_interrupted_jsonl_keeps_whole_lines_and_resume_finishes(
    tiny_model: Path, long_pdf: Path, tmp_path: Path
) -> None:
    """SIGTERM, as a batch scheduler sends it: exaone treats it as Ctrl-C (cli/app.py)."""
    out = tmp_path / "out.jsonl"
    # No text layer: the pages end at the token limit, and pages whose layer stood in are redone by --resume.
    common = ["ocr", str(long_pdf), "--model", str(tiny_model), *FAST, "--text-layer", "off", "-o", str(out)]
    proc, stderr = exaone_popen(*common, *SLOW, cwd=tmp_path)
    wait_for(lambda: _lines(out) >= 2, proc, "two finished pages in out.jsonl")
    assert interrupt(proc, signal.SIGTERM) == 130, stderr.read_text()
    said = stderr.read_text()
    assert said.count("Interrupted") == 1 and "Interrupted after " in said and "Traceback" not in said  # once

    data = out.read_text(encoding="utf-8")
    assert data.endswith("\n"), "a half-written last line"
    done = [json.loads(line) for line in data.splitlines()]
    assert 2 <= len(done) < PAGES
    assert [(r["page"], r["error"]) for r in done] == [(n, None) for n in range(1, len(done) + 1)]

    # --resume skips by content, page, prompt, preset and model: a shorter --max-new-tokens is fine.
    resumed = exaone_measured(
        *common, "--resume", "--batch-size", "8", "--max-new-tokens", "1", cwd=tmp_path, timeout=180
    )
    lines = out.read_text(encoding="utf-8").splitlines()
    assert resumed.code == expected_exit([json.loads(line) for line in lines[len(done) :]]), resumed.stderr
    assert f"Resumed: {len(done)} page(s)" in resumed.stderr
    assert lines[: len(done)] == data.splitlines()  # the finished pages are kept as they were
    assert [(json.loads(line)["page"], json.loads(line)["error"]) for line in lines] == [
        (n, None) for n in range(1, PAGES + 1)
    ]


@pytest.mark.parametrize(
    ("name", "signum"), [("out.json", signal.SIGINT), ("out.md", signal.SIGTERM)], ids=["json-SIGINT", "md-SIGTERM"]
)
def test_interrupted_whole_file_outputs_are_never_cut(
    tiny_model: Path, long_pdf: Path, tmp_path: Path, name: str, signum: int
) -> None:
    """json and Markdown files are written whole when the run ends, however it ends. A good image
    then an empty file come first: the empty file's "Error:" line on stderr shows that the image's
    page is being made, so the signal lands after real work was done."""
    _picture("first").save(tmp_path / "first.png")
    whole = (tmp_path / "first.png").read_bytes()
    (tmp_path / "broken.png").write_bytes(whole[: len(whole) // 2])  # fails when decoded, in its turn
    out = tmp_path / name
    inputs = ["first.png", "broken.png", str(long_pdf)]
    proc, stderr = exaone_popen("ocr", *inputs, "--model", str(tiny_model), *FAST, *SLOW, "-o", name, cwd=tmp_path)
    wait_for(lambda: "Error: broken.png" in stderr.read_text(), proc, "the broken file's error line")
    time.sleep(1)  # into long.pdf's pages
    assert interrupt(proc, signum) == 130, stderr.read_text()
    said = stderr.read_text()
    assert said.count("Interrupted") == 1 and "Interrupted after " in said and "Traceback" not in said  # once
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(f".{name}.")], "a temporary file was left"
    if not out.exists():  # allowed: nothing written rather than something cut
        return
    if name.endswith(".json"):
        documents = json.loads(out.read_text(encoding="utf-8"))["documents"]
        pages = [(Path(d["source"]).name, p["page"], p["error"] is None) for d in documents for p in d["pages"]]
    else:
        pages = _markdown_pages(out.read_text(encoding="utf-8"))
    assert pages[0] == ("first.png", 1, True) and (pages[1][0], pages[1][2]) == ("broken.png", False)
    assert pages[2:] == [("long.pdf", n, True) for n in range(1, len(pages) - 1)]


def _markdown_pages(markdown: str) -> list[tuple[str, int | None, bool]]:
    """(file, page, ok) of each block of `--format markdown`: `<!-- FILE · page N -->`, a blank
    line, the text (or `> **error:** ...`), a newline; blocks separated by `\\n---\\n\\n`."""
    assert markdown.endswith("\n")
    pages = []
    for block in markdown.split("\n---\n\n"):
        label, sep, body = block.partition(" -->\n\n")
        assert label.startswith("<!-- ") and sep and body.endswith("\n"), f"a cut block: {block[:200]!r}"
        source, _, page = label.removeprefix("<!-- ").partition(" · page ")
        pages.append((Path(source).name, int(page) if page else None, not body.startswith("> **error:**")))
    return pages


# ---- fuzzing the input layer -------------------------------------------------------------------------

FUZZ_RASTER = RasterOptions(dpi=DPI, max_page_pixels=4_000_000)
PILLOW_WARNS_ON_DAMAGE = pytest.mark.filterwarnings("ignore:.*:UserWarning:PIL")  # "Corrupt EXIF data", ...
MAGIC = [
    b"",
    b"%PDF-1.4\n",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe0",
    b"GIF89a",
    b"II*\x00",
    b"MM\x00*",
    b"BM",
    b"RIFF",
]


def read_like_exaone(path: Path) -> None:
    """What `exaone ocr` and `--dry-run` do with one input, up to the model: nothing, or an
    InputError whose message names the file (the pipeline names it for visual_tokens' refusals)."""
    try:
        source = open_source(str(path))
        with open_document(source, FUZZ_RASTER) as document:
            document.page_size(1)
            page = document.render(1)
    except InputError as exc:
        assert exc.message.startswith(f"{path}: "), exc.message
        return
    with contextlib.suppress(InputError):
        visual_tokens(page.width, page.height)


@pytest.fixture(scope="module")
def fuzz_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@PILLOW_WARNS_ON_DAMAGE
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(head=st.sampled_from(MAGIC), data=st.binary(max_size=4096), suffix=st.sampled_from([".pdf", ".png", ".jpg"]))
def test_random_bytes_are_read_or_refused_with_an_input_error(
    fuzz_folder: Path, head: bytes, data: bytes, suffix: str
) -> None:
    path = fuzz_folder / f"random{suffix}"
    path.write_bytes(head + data)
    read_like_exaone(path)


def _seed_files() -> dict[str, bytes]:
    """Small valid files of each kind the magic table knows, for the mutation fuzzer."""
    seeds = {".pdf": pdf_bytes([(2, 3, 90)])}
    picture = _picture("seed").resize((40, 16))
    for suffix, options in {
        ".png": {}, ".jpg": {"quality": 80}, ".gif": {}, ".tiff": {}, ".bmp": {}, ".webp": {},
    }.items():  # fmt: skip
        buffer = io.BytesIO()
        picture.save(buffer, format={".jpg": "JPEG", ".tiff": "TIFF"}.get(suffix, suffix[1:].upper()), **options)
        seeds[suffix] = buffer.getvalue()
    return seeds


SEEDS = _seed_files()


@PILLOW_WARNS_ON_DAMAGE
@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    suffix=st.sampled_from(sorted(SEEDS)),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=8),
    keep=st.floats(0.05, 1),
)
def test_mutated_files_are_read_or_refused_with_an_input_error(
    fuzz_folder: Path, suffix: str, edits: list[tuple[float, int]], keep: float
) -> None:
    """Valid files with a few bytes changed and the end cut off reach deeper into the parsers
    than random bytes do. Derandomized (the same 200 mutations every run): about 1 in 100 random
    mutations hits one of the bugs pinned by the fuzzer-finds tests above, and the suite must not
    turn red by chance while they stand."""
    data = bytearray(SEEDS[suffix])
    for where, value in edits:
        data[int(where * len(data))] = value
    path = fuzz_folder / f"mutated{suffix}"
    path.write_bytes(bytes(data[: max(1, round(keep * len(data)))]))
    read_like_exaone(path)
