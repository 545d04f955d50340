"""The baseline: OCR one page at a time, written the way the model card's example does it.

Load the processor and model, render the PDF with pdf2image, then per page: chat template,
processor, generate, decode. Nothing else: no batching, no read-ahead. Used by
benchmarks/ocr_throughput.py as the thing exaone must beat.

    python benchmarks/card_loop.py doc.pdf --model /tmp/exaone-tiny --max-new-tokens 32
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any


def ocr_pages(
    processor: Any, model: Any, pdf: str, prompt: str, dpi: int, max_new_tokens: int, size: dict
) -> Iterator[dict]:
    """The card's loop over the pages of `pdf`: {"page", "text"} per page, one generate call each."""
    from pdf2image import convert_from_path

    for number, image in enumerate(convert_from_path(pdf, dpi=dpi), start=1):
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
        text = processor.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, enable_thinking=False
        )
        inputs = processor(text=[text], images=[image.convert("RGB")], padding=True, return_tensors="pt", size=size)
        inputs = inputs.to(model.device)
        generated_ids = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
        generated_text = processor.batch_decode(
            generated_ids[:, inputs["input_ids"].shape[-1] :], skip_special_tokens=True
        )[0]
        yield {"page": number, "text": generated_text}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("pdf")
    parser.add_argument("--model", required=True)
    parser.add_argument("--prompt", required=True, help="file with the OCR prompt")
    parser.add_argument("--dpi", type=int, default=200)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--max-pixels", type=int, required=True)
    parser.add_argument("--min-pixels", type=int, default=4 * 28 * 28)
    args = parser.parse_args()

    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(args.model)
    model = AutoModelForImageTextToText.from_pretrained(args.model, device_map="auto")
    with open(args.prompt, encoding="utf-8") as handle:
        prompt = handle.read().strip()
    size = {"shortest_edge": args.min_pixels, "longest_edge": args.max_pixels}
    for page in ocr_pages(processor, model, args.pdf, prompt, args.dpi, args.max_new_tokens, size):
        sys.stdout.write(json.dumps(page, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
