"""`exaone ocr --text-layer off|fallback|hint|prefer`, retries and the text-layer fallback, end to
end: PDFs made here, fake servers that fail on demand (a page that loops once, a server that fails
every try), a fault-injecting engine for the batch order, and the tiny checkpoint, whose random
output loops readily."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fake_openai import FakeServer
from ocr_schema import DOCUMENTS, JSONL_LINE
from pdf_fixtures import FONT, SAMPLE_PAGES, make_text_pdf, new_pdf
from text_layer_fixtures import make_layer_pdf
from typer.testing import CliRunner

from exaone_cli.cli import app
from exaone_cli.config import PRESETS, Sampling
from exaone_cli.engines import remote as remote_module
from exaone_cli.engines.base import Generation, OnText, Prompt
from exaone_cli.ocr.pipeline import OcrRequest, plan_documents, run_ocr
from exaone_cli.ocr.retries import retry_reason, retry_sampling
from exaone_cli.pages import PageRanges, RasterOptions
from exaone_cli.results import PageRecord

KINDS = ["text", "unmapped", "ocr-scan", "blank", "text"]
VERDICTS = ["good", "garbled", "invisible", "none", "good"]
LOOP = "합계 " * 60


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Good, garbled, invisible, none, good: one PDF."""
    folder = tmp_path_factory.mktemp("modes")
    return make_layer_pdf(folder / "mixed.pdf", [(kind, SAMPLE_PAGES[i % 3]) for i, kind in enumerate(KINDS)])


@pytest.fixture(autouse=True)
def no_real_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote_module, "_sleep", lambda seconds: None)


def ocr(pdf: Path, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    result = CliRunner().invoke(app, ["ocr", str(pdf), "--jsonl", "--dpi", "40", "--concurrency", "1", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    for line in lines:
        jsonschema.validate(line, JSONL_LINE)  # the documented record, new fields included
    return result.exit_code, lines, result.stderr


def prompts(server: FakeServer) -> list[str]:
    return [next(p["text"] for p in body["messages"][0]["content"] if p["type"] == "text") for body in server.requests]


class LoopOnceServer(FakeServer):
    """Loops on the first request for each page (told apart by its image): the answer repeats one
    word until the token limit, finish_reason "length", as a server without a repetition guard
    does; every later request for that page gets a proper answer."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: Counter[str] = Counter()

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        image = next(p["image_url"]["url"] for p in body["messages"][0]["content"] if p["type"] == "image_url")
        self.seen[image] += 1
        reply = super().answer(body)
        if self.seen[image] == 1:
            reply["choices"][0].update(message={"role": "assistant", "content": LOOP}, finish_reason="length")
        return reply


# ---- where the text comes from -------------------------------------------------------------------


def test_fallback_is_the_default_and_every_page_goes_to_the_model(mixed: Path) -> None:
    with FakeServer() as server:
        code, lines, _ = ocr(mixed, "--server", server.url)
    assert code == 0
    assert len(server.requests) == 5
    assert [line["text_source"] for line in lines] == ["model"] * 5
    assert [line["text_layer"] for line in lines] == VERDICTS
    assert [line["attempts"] for line in lines] == [1] * 5
    with FakeServer() as server:
        _, (scan,), _ = ocr(mixed, "--server", server.url, "--pages", "3", "--dpi", "200")
    assert scan["dpi"] == 100  # the OCR'd scan is a 100-DPI image: rendered at that, not upsampled


def test_prefer_takes_good_pages_from_their_layer_and_sends_the_rest_to_the_model(mixed: Path) -> None:
    with FakeServer() as server:
        code, lines, stderr = ocr(mixed, "--server", server.url, "--text-layer", "prefer")
    assert code == 0
    assert len(server.requests) == 3  # the garbled, invisible and empty layers' pages
    assert [line["text_source"] for line in lines] == ["text-layer", "model", "model", "model", "text-layer"]
    assert [line["text_layer"] for line in lines] == VERDICTS
    assert (lines[0]["text"], lines[4]["text"]) == (SAMPLE_PAGES[0], SAMPLE_PAGES[1])
    assert (lines[0]["attempts"], lines[0]["width"], lines[0]["visual_tokens"]) == (0, None, 0)  # nothing rendered
    assert lines[1]["text"].startswith("saw 1 image(s)")  # the garbled layer is not passed off as text
    assert "2 from the text layer, 3 to the model" in stderr


def test_a_page_taken_from_its_text_layer_names_no_model(mixed: Path) -> None:
    """No model ran for a page read from its layer, so its record names none (`source` says why),
    and --json's own `model` names one only when a model made some page."""
    with FakeServer() as server:
        _, lines, _ = ocr(mixed, "--server", server.url, "--text-layer", "prefer")
        runner = CliRunner()
        base = ["ocr", str(mixed), "--json", "--dpi", "40", "--server", server.url, "--text-layer", "prefer"]
        only_layers = json.loads(runner.invoke(app, [*base, "--pages", "1,5"]).stdout)
        mixed_pages = json.loads(runner.invoke(app, [*base, "--pages", "1-2"]).stdout)
    assert [(line["text_source"], line["model"]) for line in lines] == [
        ("text-layer", None), ("model", "exaone-fake"), ("model", "exaone-fake"), ("model", "exaone-fake"),
        ("text-layer", None),
    ]  # fmt: skip
    for body in (only_layers, mixed_pages):
        jsonschema.validate(body, DOCUMENTS)
    assert only_layers["model"] is None
    assert mixed_pages["model"] == "exaone-fake"


def test_prefer_with_every_page_good_loads_no_model_and_imports_no_torch(tmp_path: Path) -> None:
    pdf = make_text_pdf(tmp_path / "born-digital.pdf", SAMPLE_PAGES)
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "exaone_cli", "ocr", str(pdf), "--text-layer", "prefer", "--jsonl",
         "--model", str(tmp_path / "no-such-checkpoint")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
    assert "pypdfium2" in imported and not imported & {"torch", "transformers", "accelerate", "openai"}
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(line["text"], line["text_source"]) for line in lines] == [(t, "text-layer") for t in SAMPLE_PAGES]
    assert "no model needed" in proc.stderr
    plan = next(line for line in proc.stderr.splitlines() if "no model needed" in line)
    assert not any(word in plan for word in ("visual tokens", "preset", "thinking", "batch"))  # issue #23
    rich = CliRunner().invoke(app, ["ocr", str(pdf), "--text-layer", "prefer", "--format", "rich"])
    assert rich.exit_code == 0 and rich.stdout.count("from the PDF's text layer") == 3


def test_hint_puts_a_good_layer_into_that_pages_prompt_only(mixed: Path) -> None:
    with FakeServer() as server:
        code, lines, _ = ocr(mixed, "--server", server.url, "--text-layer", "hint", "--pages", "1-2")
    assert code == 0
    good, garbled = prompts(server)
    assert "<text_layer>\n" + SAMPLE_PAGES[0] + "\n</text_layer>" in good and "exact characters" in good
    assert "<text_layer>" not in garbled and garbled in good  # the plain OCR prompt
    assert [line["text_source"] for line in lines] == ["model", "model"]
    with FakeServer() as server:
        _, plain, _ = ocr(mixed, "--server", server.url, "--pages", "1")
    assert plain[0]["prompt_sha256"] != lines[0]["prompt_sha256"]  # --resume tells the two apart


def test_off_never_reads_the_layer(mixed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import exaone_cli.ocr.pipeline

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the text layer was read")

    monkeypatch.setattr(exaone_cli.ocr.pipeline, "read_text_layers", refuse)
    with FakeServer() as server:
        code, lines, _ = ocr(mixed, "--server", server.url, "--text-layer", "off")
    assert code == 0
    assert [(line["text_layer"], line["text_source"]) for line in lines] == [(None, "model")] * 5


def test_an_unknown_mode_is_a_usage_error(mixed: Path) -> None:
    code, _, stderr = ocr(mixed, "--text-layer", "always")
    assert code == 2 and "off, fallback, hint, prefer" in stderr


def test_dry_run_shows_each_pages_verdict_and_what_the_mode_would_do(mixed: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["ocr", str(mixed), "--dry-run", "--model", str(tmp_path / "none")]
    body = json.loads(runner.invoke(app, [*base, "--json", "--text-layer", "prefer"]).stdout)
    pages = body["pages"]
    assert [page["text_layer"] for page in pages] == VERDICTS
    assert [page["text_source"] for page in pages] == ["text-layer", "model", "model", "model", "text-layer"]
    assert "ToUnicode" in pages[1]["text_layer_reason"]
    assert pages[0]["visual_tokens"] == 0 and body["visual_tokens"] == sum(p["visual_tokens"] for p in pages[1:4])
    table = runner.invoke(app, [*base, "--text-layer", "prefer"], env={"COLUMNS": "200"})
    assert "2 page(s) from the text layer, 3 to the model" in table.stderr and "garbled" in table.stdout
    hint = json.loads(runner.invoke(app, [*base, "--json", "--text-layer", "hint"]).stdout)["pages"]
    assert [page["hint"] for page in hint] == [True, False, False, False, True]


# ---- retries and the fallback ---------------------------------------------------------------------


def test_a_page_that_loops_once_is_tried_again_hotter_with_a_fresh_seed(mixed: Path) -> None:
    with LoopOnceServer() as server:
        code, lines, _ = ocr(mixed, "--server", server.url, "--pages", "3", "--seed", "7")
    assert code == 0
    (line,) = lines
    assert (line["attempts"], line["finish_reason"], line["text_source"]) == (2, "stop", "model")
    assert line["text"].startswith("saw 1 image(s)") and "합계 합계" not in line["text"]
    (first, second) = server.requests
    assert (first["temperature"], second["temperature"]) == (0.6, 0.8)
    assert first["seed"] == 7 and second["seed"] not in (None, 7)


def test_a_page_failing_every_try_falls_back_to_a_good_layer_never_to_a_garbled_one(mixed: Path) -> None:
    with FakeServer(faults=["500"] * 6) as server:  # every request fails: 3 tries for each page
        code, lines, stderr = ocr(mixed, "--server", server.url, "--pages", "1-2", "--retries", "0")
    assert code == 1  # page 2 has nothing to fall back on
    good, garbled = lines
    assert (good["text"], good["text_source"], good["error"], good["attempts"]) == (
        SAMPLE_PAGES[0], "text-layer-fallback", None, 3
    )  # fmt: skip
    assert "3 tries" in good["note"] and "text layer" in good["note"]
    assert (garbled["text"], garbled["text_source"], garbled["text_layer"]) == ("", "model", "garbled")
    assert "HTTP 500" in garbled["error"] and garbled["attempts"] == 3
    assert "Warning:" in stderr and "page 1" in stderr


def test_resume_gives_fallback_pages_another_try(mixed: Path, tmp_path: Path) -> None:
    out = tmp_path / "pages.jsonl"
    with FakeServer(faults=["500"] * 3) as server:  # page 1 fails three times, page 5 succeeds
        code, _, _ = ocr(mixed, "--server", server.url, "--pages", "1,5", "--retries", "0", "-o", str(out))
    first = [json.loads(line) for line in out.read_text().splitlines()]
    assert code == 0 and [line["text_source"] for line in first] == ["text-layer-fallback", "model"]
    with FakeServer() as server:
        code, _, stderr = ocr(mixed, "--server", server.url, "--pages", "1,5", "-o", str(out), "--resume")
    assert code == 0 and len(server.requests) == 1  # page 1 only
    again = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(line["page"], line["text_source"]) for line in again[2:]] == [(1, "model")]
    assert "1 page(s) already in" in stderr


def test_a_page_the_model_cannot_take_falls_back_to_its_good_layer(tmp_path: Path) -> None:
    pdf = new_pdf(unit="mm", format=(3000, 12))  # a 250:1 strip: past the model's 200:1 aspect ratio
    pdf.add_font("Nanum", "", str(FONT))
    pdf.add_page()
    pdf.set_font("Nanum", size=10)
    pdf.text(5, 8, "띠지: 2025년 정기 주주총회 안내 (Notice of the annual general meeting)")
    strip = tmp_path / "strip.pdf"
    strip.write_bytes(bytes(pdf.output()))
    with FakeServer() as server:
        code, (line,), stderr = ocr(strip, "--server", server.url)
    assert code == 0 and server.requests == [] and "Warning:" in stderr
    assert (line["text_source"], line["attempts"], line["error"]) == ("text-layer-fallback", 0, None)
    assert line["text"].startswith("띠지: 2025년 정기 주주총회") and "could not be made into an image" in line["note"]


def test_the_local_engine_retries_a_looping_page_then_falls_back_to_its_layer(tiny_model: Path, mixed: Path) -> None:
    # The tiny checkpoint's random output loops here (the repetition guard stops it) or runs to the
    # token limit, on every try.
    args = ["--model", str(tiny_model), "--pages", "1,2", "--max-pixels", str(64 * 28 * 28), "--presence-penalty", "0",
            "--max-new-tokens", "96", "--temperature", "0"]  # fmt: skip
    result = CliRunner().invoke(app, ["ocr", str(mixed), "--jsonl", "--dpi", "40", *args])
    good, garbled = (json.loads(line) for line in result.stdout.splitlines())
    # A page cut by the token limit on every try is a warning, exit 1 (issue #23 item 2); a loop is not.
    assert result.exit_code == int(garbled["finish_reason"] == "length"), result.stderr
    assert (good["text_source"], good["text"], good["attempts"]) == ("text-layer-fallback", SAMPLE_PAGES[0], 3)
    assert good["finish_reason"] in ("repetition", "length") and good["finish_reason"] in good["note"]
    # No good layer: the last try stands, as without retries (a garbled layer is never the text).
    assert (garbled["text_source"], garbled["attempts"]) == ("model", 3)
    assert garbled["finish_reason"] in ("repetition", "length") and garbled["error"] is None


class FlakyEngine:
    """Answers every page, except that pages whose image height is in `loops` loop on their first
    try (finish_reason "repetition"); records each call's batch."""

    name = "fake"

    def __init__(self, loops: set[int]) -> None:
        self.loops, self.calls = loops, []  # type: ignore[var-annotated]

    def generate(
        self, prompts: Sequence[Prompt], sampling: Sampling, on_text: OnText | None = None
    ) -> list[Generation]:
        heights = [p.images[0].size[1] for p in prompts]
        self.calls.append((heights, sampling.temperature))
        first = len(self.calls) == 1
        return [
            Generation("곧 곧 곧", "p", 10, 3, "repetition", 0.1) if first and h in self.loops else
            Generation(f"page {h}", "p", 10, 3, "stop", 0.1)
            for h in heights
        ]  # fmt: skip

    def close(self) -> None:
        pass


def test_failed_pages_are_retried_in_a_small_batch_right_after_their_own(tmp_path: Path) -> None:
    from PIL import Image

    names = []
    for height in (200, 300, 400, 500, 600):
        Image.new("RGB", (300, height), "white").save(tmp_path / f"{height}.png")
        names.append(str(tmp_path / f"{height}.png"))
    plans = plan_documents(names, PageRanges.all(), RasterOptions())
    sampling = Sampling.from_preset(PRESETS["ocr"], max_new_tokens=8)
    request = OcrRequest("transcribe", False, PRESETS["ocr"], sampling, RasterOptions(), batch_size=4)
    engine = FlakyEngine(loops={200, 400})
    records = list(run_ocr(plans, engine, request))
    assert engine.calls == [([200, 300, 400, 500], 0.6), ([200, 400], 0.8), ([600], 0.6)]
    assert [r.text for r in records] == [f"page {h}" for h in (200, 300, 400, 500, 600)]
    assert [r.attempts for r in records] == [2, 1, 2, 1, 1]


# ---- the retry rule and ladder ---------------------------------------------------------------------


def record(**values: Any) -> PageRecord:
    return replace(PageRecord("a.pdf", "0" * 64, 1, "ocr", "m", "p", text="본문", attempts=1), **values)


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({}, None),
        ({"error": "HTTP 500", "finish_reason": "error", "text": ""}, "error"),
        ({"finish_reason": "repetition"}, "repetition"),
        ({"finish_reason": "length"}, "length"),
        ({"text": " \n"}, "empty"),
    ],
)
def test_which_pages_deserve_another_try(values: dict[str, Any], reason: str | None) -> None:
    assert retry_reason(record(**values)) == reason


def test_the_temperature_ladder_rises_to_one_with_a_fresh_seed_each_try() -> None:
    ocr_preset = Sampling.from_preset(PRESETS["ocr"], max_new_tokens=8, seed=7)
    assert [retry_sampling(ocr_preset, k, "page").temperature for k in (1, 2, 3)] == [0.8, 1.0, 1.0]
    greedy = replace(ocr_preset, temperature=0.0)
    assert [retry_sampling(greedy, k, "page").temperature for k in (1, 2)] == [0.2, 0.4]
    general = Sampling.from_preset(PRESETS["general"], max_new_tokens=8)
    assert retry_sampling(general, 1, "page").temperature == 1.0
    seeds = {retry_sampling(ocr_preset, k, key).seed for k in (1, 2) for key in ("a.pdf:1", "a.pdf:2")}
    assert len(seeds) == 4 and 7 not in seeds
    assert retry_sampling(ocr_preset, 1, "a.pdf:1") == retry_sampling(ocr_preset, 1, "a.pdf:1")  # reruns agree


def test_prefer_sends_a_page_with_a_large_picture_to_the_model_and_says_why(tmp_path: Path) -> None:
    """A good layer holds the caption, not the table pictured above it: the page goes to the
    model, the record and --dry-run say so; a small logo does not count."""
    pdf = make_layer_pdf(tmp_path / "figure.pdf", [("figure", "그림 아래 설명"), ("logo", SAMPLE_PAGES[0])])
    with FakeServer() as server:
        code, lines, stderr = ocr(pdf, "--server", server.url, "--text-layer", "prefer")
    assert code == 0 and len(server.requests) == 1
    assert [line["text_source"] for line in lines] == ["model", "text-layer"]
    assert [line["text_layer"] for line in lines] == ["good", "good"]
    assert "images cover" in lines[0]["note"] and "% of the page" in lines[0]["note"]
    assert "1 from the text layer, 1 to the model" in stderr
    dry = CliRunner().invoke(app, ["ocr", str(pdf), "--dry-run", "--json", "--text-layer", "prefer"])
    figure, logo = json.loads(dry.stdout)["pages"]
    assert (figure["text_layer"], figure["text_source"], logo["text_source"]) == ("good", "model", "text-layer")
    assert "images cover" in figure["text_layer_reason"] and logo["text_layer_reason"] is None
    assert figure["visual_tokens"] > 0
    # ask's document mode takes only complete layers too: the figure page is left to the model
    from exaone_cli.ask.page_texts import good_text_layers

    plans = plan_documents([str(pdf)], PageRanges.all(), RasterOptions(dpi=40), read_layers=True)
    assert list(good_text_layers(plans, None)) == [(0, 2)]


def test_the_plan_line_and_the_rate_count_only_what_the_model_really_does(
    mixed: Path, tmp_path: Path, page_store: Path
) -> None:
    """Pages from the page store, from a layer or skipped by --resume are not "to the model",
    and bring no tokens to the rate: without generated tokens there is no tok/s at all."""
    with FakeServer() as server:
        _, _, first = ocr(mixed, "--server", server.url, "--text-layer", "prefer", "--no-cache")
        assert "2 from the text layer, 3 to the model" in first and "no model needed" not in first
        ocr(mixed, "--server", server.url, "--text-layer", "prefer")  # fills the store
        code, lines, again = ocr(mixed, "--server", server.url, "--text-layer", "prefer")
    assert code == 0 and len(server.requests) == 6 and all(line["attempts"] <= 1 for line in lines)
    assert "2 from the text layer, 0 to the model" in again and "no model needed" in again
    assert "3 from the page store" in again
    done = next(line for line in again.splitlines() if line.startswith("Done:"))
    assert "tok/s" not in done
    assert "tok/s" in next(line for line in first.splitlines() if line.startswith("Done:"))
    out = tmp_path / "pages.jsonl"
    with FakeServer() as server:
        ocr(mixed, "--server", server.url, "--no-cache", "-o", str(out))
        _, _, resumed = ocr(mixed, "--server", server.url, "--no-cache", "-o", str(out), "--resume")
    assert len(server.requests) == 5
    assert "no model needed" in resumed and "tok/s" not in resumed


def test_page_retries_is_bounded_and_the_help_says_so(mixed: Path) -> None:
    result = CliRunner().invoke(app, ["ocr", str(mixed), "--page-retries", "1000000", "--dry-run"])
    assert result.exit_code == 2 and "--page-retries" in result.stderr and "less than or equal to 10" in result.stderr
    help_text = " ".join(CliRunner().invoke(app, ["ocr", "--help"], env={"COLUMNS": "200"}).stdout.split())
    assert "More tries (0 to 10)" in help_text


def test_dry_run_piped_writes_only_the_rows_on_stdout_the_rest_on_stderr(mixed: Path) -> None:
    # Issue #23: the summary line and the whole prompt came after the rows on stdout, breaking cut and awk.
    result = CliRunner().invoke(app, ["ocr", str(mixed), "--dry-run", "--text-layer", "prefer"])
    assert result.exit_code == 0, result.stderr
    rows = result.stdout.splitlines()
    assert len(rows) == 1 + 5 and all(row.count("\t") == 7 for row in rows)
    assert rows[0].split("\t")[:2] == ["source", "page"] and [row.split("\t")[1] for row in rows[1:]] == list("12345")
    assert "Prompt:" in result.stderr and "reading order" in result.stderr and "5 page(s)" in result.stderr


def test_dry_run_under_hint_shows_the_hint_prompt(mixed: Path) -> None:
    result = CliRunner().invoke(app, ["ocr", str(mixed), "--dry-run", "--text-layer", "hint"])
    assert result.exit_code == 0, result.stderr
    hint = result.stderr.split("Prompt for pages with a good text layer (--text-layer hint):", 1)[1]
    assert "<the page's text layer>" in hint and "reading order" in hint


def test_after_resume_the_last_record_of_a_page_wins(mixed: Path, tmp_path: Path) -> None:
    """A fallback page tried again by --resume appears again in the file: the README's rule (the
    last record of a page wins) gives every page its final text, and a further --resume, which
    follows the same rule, has nothing left to do."""
    out = tmp_path / "pages.jsonl"
    for _ in range(2):  # page 1 falls back both times: twice in the file
        with FakeServer(faults=["500"] * 3) as server:
            ocr(mixed, "--server", server.url, "--pages", "1,5", "--retries", "0", "-o", str(out), "--resume")
    with FakeServer() as server:
        code, _, stderr = ocr(mixed, "--server", server.url, "--pages", "1,5", "-o", str(out), "--resume")
    assert code == 0 and len(server.requests) == 1
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["page"], r["text_source"]) for r in records] == [
        (1, "text-layer-fallback"), (5, "model"), (1, "text-layer-fallback"), (1, "model")
    ]  # fmt: skip
    last = {r["page"]: r for r in records}
    assert {page: r["text_source"] for page, r in last.items()} == {1: "model", 5: "model"}
    with FakeServer() as server:
        code, _, stderr = ocr(mixed, "--server", server.url, "--pages", "1,5", "-o", str(out), "--resume")
    assert code == 0 and not server.requests and "2 page(s) already in" in stderr and "no model needed" in stderr
    assert len(out.read_text().splitlines()) == 4
