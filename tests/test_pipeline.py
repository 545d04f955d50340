"""The pipeline around any engine: order, per-page errors, and what happens when memory runs out.
A fault-injecting engine stands in where a real one cannot fail on demand."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from pdf_fixtures import SAMPLE_PAGES, make_text_pdf
from PIL import Image

from exaone_cli.config import PRESETS, LoadOptions, Sampling
from exaone_cli.engines.base import Generation, OnText, Prompt
from exaone_cli.engines.local import LocalEngine
from exaone_cli.errors import OutOfMemory
from exaone_cli.ocr.pipeline import OcrRequest, plan_documents, run_ocr
from exaone_cli.pages import PageRanges, RasterOptions
from exaone_cli.vision import visual_tokens


class SmallMemoryEngine:
    """Fails any batch larger than `fits` with OutOfMemory, and page `poison` always."""

    name = "fake"

    def __init__(self, fits: int, poison: int | None = None) -> None:
        self.fits, self.poison, self.calls = fits, poison, []  # type: ignore[var-annotated]

    def generate(
        self, prompts: Sequence[Prompt], sampling: Sampling, on_text: OnText | None = None
    ) -> list[Generation]:
        sizes = [p.images[0].size for p in prompts]
        self.calls.append(len(prompts))
        if len(prompts) > self.fits or (self.poison is not None and any(h == self.poison for _, h in sizes)):
            raise OutOfMemory("out of GPU memory", hint="lower --batch-size")
        return [Generation(f"page {w}x{h}", "p", 10, 3, "stop", 0.1) for w, h in sizes]

    def close(self) -> None:
        pass


def request(batch: int) -> OcrRequest:
    sampling = Sampling.from_preset(PRESETS["ocr"], max_new_tokens=8)
    return OcrRequest("transcribe", False, PRESETS["ocr"], sampling, RasterOptions(dpi=30), batch_size=batch)


@pytest.fixture()
def four_pages(tmp_path: Path) -> list:
    pdf = make_text_pdf(tmp_path / "doc.pdf", [*SAMPLE_PAGES, "4"])
    return plan_documents([str(pdf)], PageRanges.all(), RasterOptions(dpi=30))


def test_out_of_memory_batch_is_retried_page_by_page(four_pages: list) -> None:
    engine = SmallMemoryEngine(fits=1)
    records = list(run_ocr(four_pages, engine, request(batch=4)))
    assert [r.page for r in records] == [1, 2, 3, 4]
    assert all(r.error is None for r in records)
    assert engine.calls == [4, 1, 1, 1, 1]


def test_a_page_that_never_fits_is_an_error_record_and_the_rest_go_on(four_pages: list) -> None:
    height = 351  # A4 at 30 DPI
    engine = SmallMemoryEngine(fits=4, poison=height)
    records = list(run_ocr(four_pages, engine, request(batch=2)))
    assert [r.page for r in records] == [1, 2, 3, 4]
    assert all(r.error and "out of GPU memory" in r.error and "--batch-size" in (r.hint or "") for r in records)
    assert {r.finish_reason for r in records} == {"error"}


def test_local_engine_turns_cuda_oom_into_a_clear_error(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = LocalEngine.load(LoadOptions(model=str(tiny_model)))

    def no_memory(**kwargs: object) -> None:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(engine.model, "generate", no_memory)
    with pytest.raises(OutOfMemory) as caught:
        engine.generate([Prompt("hi")], Sampling.from_preset(PRESETS["text"], max_new_tokens=4))
    assert "--batch-size" in (caught.value.hint or "") and "--quantize 4bit" in (caught.value.hint or "")


class RecordingEngine:
    """Answers each page with its size, and remembers which pages went together; `stop_on`
    interrupts that call (a Ctrl-C arriving in the middle of a batch)."""

    name = "fake"

    def __init__(self, stop_on: int | None = None) -> None:
        self.batches: list[list[tuple[int, int]]] = []
        self.stop_on = stop_on

    def generate(
        self, prompts: Sequence[Prompt], sampling: Sampling, on_text: OnText | None = None
    ) -> list[Generation]:
        sizes = [p.images[0].size for p in prompts]
        self.batches.append(sizes)
        if len(self.batches) == self.stop_on:
            raise KeyboardInterrupt
        return [Generation(f"{w}x{h}", "p", 10, 3, "stop", 0.1) for w, h in sizes]

    def close(self) -> None:
        pass


@pytest.fixture()
def mixed_sizes(tmp_path: Path) -> list:
    """Receipt-sized and page-sized images, alternating: 1 small, 2 large, 3 small, 4 large."""
    names = []
    for i, size in enumerate([(280, 560), (1120, 1568), (308, 588), (1148, 1540)], start=1):
        path = tmp_path / f"{i}.png"
        Image.new("RGB", size, "white").save(path)
        names.append(str(path))
    return plan_documents(names, PageRanges.all(), RasterOptions())


def padding(batches: list[list[tuple[int, int]]]) -> int:
    tokens = [[visual_tokens(w, h).tokens for w, h in batch] for batch in batches]
    return sum(max(batch) - t for batch in tokens for t in batch)


def test_batches_group_pages_of_similar_size_and_records_keep_input_order(mixed_sizes: list) -> None:
    engine = RecordingEngine()
    records = list(run_ocr(mixed_sizes, engine, request(batch=2)))
    assert [Path(r.source).name for r in records] == ["1.png", "2.png", "3.png", "4.png"]
    assert [r.text for r in records] == [f"{r.width}x{r.height}" for r in records]
    assert engine.batches == [[(280, 560), (308, 588)], [(1120, 1568), (1148, 1540)]]

    in_order = RecordingEngine()
    list(run_ocr(mixed_sizes, in_order, replace(request(batch=2), sort_window=1)))
    assert in_order.batches == [[(280, 560), (1120, 1568)], [(308, 588), (1148, 1540)]]
    assert padding(engine.batches) < padding(in_order.batches) / 10


def test_an_interrupted_window_still_hands_over_every_finished_page(mixed_sizes: list) -> None:
    # The small pages (1 and 3) are done first; Ctrl-C during the large ones must not lose page 3,
    # although page 2, before it in input order, never finished.
    engine = RecordingEngine(stop_on=2)
    records = []
    with pytest.raises(KeyboardInterrupt):
        for record in run_ocr(mixed_sizes, engine, request(batch=2)):
            records.append(record)
    assert [Path(r.source).name for r in records] == ["1.png", "3.png"]
