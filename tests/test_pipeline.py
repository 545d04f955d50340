"""The pipeline around any engine: order, per-page errors, and what happens when memory runs out.
A fault-injecting engine stands in where a real one cannot fail on demand."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
import torch
from pdf_fixtures import SAMPLE_PAGES, make_text_pdf

from exaone_cli.config import PRESETS, LoadOptions, Sampling
from exaone_cli.engines.base import Generation, OnText, Prompt
from exaone_cli.engines.local import LocalEngine
from exaone_cli.errors import OutOfMemory
from exaone_cli.pages import PageRanges, RasterOptions
from exaone_cli.pipeline import OcrRequest, plan_documents, run_ocr


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
    assert all(r.error and "out of GPU memory" in r.error and "--batch-size" in r.error for r in records)
    assert {r.finish_reason for r in records} == {"error"}


def test_local_engine_turns_cuda_oom_into_a_clear_error(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = LocalEngine.load(LoadOptions(model=str(tiny_model)))

    def no_memory(**kwargs: object) -> None:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(engine.model, "generate", no_memory)
    with pytest.raises(OutOfMemory) as caught:
        engine.generate([Prompt("hi")], Sampling.from_preset(PRESETS["text"], max_new_tokens=4))
    assert "--batch-size" in (caught.value.hint or "") and "--quantize 4bit" in (caught.value.hint or "")
