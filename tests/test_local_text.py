"""The local engine's text is valid where it enters, and split by the same rule as a server's
(issue #12 items 1 and 2), on the tiny checkpoint with its real byte-level tokenizer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from exaone_cli.config import PRESETS, LoadOptions, Sampling
from exaone_cli.engines.local import LocalEngine
from exaone_cli.ocr.output import JsonlWriter
from exaone_cli.ocr.pipeline import OcrRequest, plan_documents, run_ocr
from exaone_cli.pages import PageRanges, RasterOptions


@pytest.fixture(scope="module")
def engine(tiny_model: Path) -> LocalEngine:
    return LocalEngine.load(LoadOptions(model=str(tiny_model)))


def test_a_character_cut_in_half_by_the_token_limit_is_one_counted_replacement(engine: LocalEngine) -> None:
    """Byte-level tokens: the first byte of 한 (ED 95 9C) alone is not text; the tokenizer's own
    decoder writes U+FFFD for it, and the generation counts it."""
    tokenizer = engine.processor.tokenizer
    byte_ed = tokenizer.convert_tokens_to_ids("\u00ed")  # GPT-2's byte-to-character table: 0xED -> 'í'
    hello = tokenizer.encode("ok ", add_special_tokens=False)
    new_ids = torch.tensor([*hello, byte_ed, tokenizer.eos_token_id])
    generation = engine._finish(new_ids, torch.ones(3), "prompt", 0.1, None)
    assert generation.text == "ok \ufffd"
    assert (generation.replaced_characters, generation.finish_reason) == (1, "stop")


def test_lone_surrogates_and_stray_think_tags_from_the_decoder_cost_no_page(
    engine: LocalEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection: a decoder that hands back a lone surrogate (a slow tokenizer can) and a
    dangling `</think>` with thinking off (the model reasoned anyway). Every page is written."""
    real_decode = engine.processor.tokenizer.decode

    def odd_decode(ids, **kwargs):  # type: ignore[no-untyped-def]
        real_decode(ids, **kwargs)
        return "I read the page \ud83d.</think>\n\nhello \udce9 123"

    monkeypatch.setattr(engine.processor.tokenizer, "decode", odd_decode)
    for number in (1, 2):
        Image.new("RGB", (56, 56), "white").save(tmp_path / f"p{number}.png")
    plans = plan_documents([str(tmp_path / "p1.png"), str(tmp_path / "p2.png")], PageRanges.all(), RasterOptions())
    sampling = Sampling.from_preset(PRESETS["ocr"], max_new_tokens=2)
    request = OcrRequest("transcribe", False, PRESETS["ocr"], sampling, RasterOptions(), batch_size=2)
    out = tmp_path / "pages.jsonl"
    writer = JsonlWriter(path=out)
    writer.write_all(run_ocr(plans, engine, request))
    writer.close()
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["page"] for r in records] == [1, 1] and all(r["error"] is None for r in records)
    for record in records:
        assert (record["text"], record["reasoning"]) == ("hello \ufffd 123", "I read the page \ufffd.")
        assert record["replaced_characters"] == 2
