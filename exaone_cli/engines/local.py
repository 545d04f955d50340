"""The local engine: EXAONE 4.5 through transformers, loaded once per run.

This is the only module that imports torch and transformers at the top; everything else reaches
it through `engines.open_engine`, so `exaone --help` stays fast.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch
from transformers import (
    AutoModelForImageTextToText,
    AutoProcessor,
    LogitsProcessorList,
    StoppingCriteria,
    StoppingCriteriaList,
    TextStreamer,
)
from transformers.utils import logging as hf_logging

from ..config import LoadOptions, Sampling
from ..errors import EngineError, debug_enabled
from .base import FinishReason, Generation, OnText, Prompt
from .checkpoint import DOWNLOAD_HINT, EXAONE_MODEL_TYPE, resolve_model
from .presence import PresencePenaltyLogitsProcessor
from .repetition import DEFAULT_RULE, RepetitionRule, repeating_unit


class _RepetitionStop(StoppingCriteria):
    """Stops each row whose generated tail repeats a short unit; remembers where it stopped."""

    def __init__(self, prompt_length: int, rule: RepetitionRule = DEFAULT_RULE) -> None:
        self.prompt_length = prompt_length
        self.rule = rule
        self.stopped_at: dict[int, int] = {}

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        generated = input_ids[:, self.prompt_length :]
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        if generated.shape[1] < self.rule.min_span:
            return done  # type: ignore[return-value]
        tails = generated[:, -self.rule.window :].tolist()
        for row, tail in enumerate(tails):
            if row in self.stopped_at:
                done[row] = True
            elif repeating_unit(tail, self.rule) is not None:
                self.stopped_at[row] = int(generated.shape[1])
                done[row] = True
        return done  # type: ignore[return-value]


class _CallbackStreamer(TextStreamer):
    """TextStreamer that hands decoded text to a callback instead of printing it."""

    def __init__(self, tokenizer: Any, on_text: OnText) -> None:
        super().__init__(tokenizer, skip_prompt=True, skip_special_tokens=True)
        self._on_text = on_text

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        if text:
            self._on_text(0, text)


class LocalEngine:
    """Processor + model held for the whole run; `generate` takes batches of prompts."""

    def __init__(self, model: Any, processor: Any, name: str, min_pixels: int, max_pixels: int) -> None:
        self.model = model
        self.processor = processor
        self.name = name
        self.image_size = {"shortest_edge": min_pixels, "longest_edge": max_pixels}
        self.processor.tokenizer.padding_side = "left"  # batched generation needs left padding

    @classmethod
    def load(cls, load: LoadOptions) -> LocalEngine:
        model_id = resolve_model(load.model)
        if not debug_enabled():
            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()
        try:
            processor = AutoProcessor.from_pretrained(model_id, revision=load.revision)
            model = AutoModelForImageTextToText.from_pretrained(
                model_id, dtype=load.dtype, device_map=load.device_map, revision=load.revision
            )
        except (OSError, ValueError, ImportError) as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise EngineError(f"could not load model {load.model!r}: {first_line}", hint=DOWNLOAD_HINT) from exc
        if getattr(model.config, "model_type", None) != EXAONE_MODEL_TYPE:
            raise EngineError(f"{load.model}: not an EXAONE 4.5 model ({model.config.model_type!r})")
        model.eval()
        return cls(model, processor, name=load.model, min_pixels=load.min_pixels, max_pixels=load.max_pixels)

    def close(self) -> None:
        self.model = None
        self.processor = None

    def render_prompt(self, prompt: Prompt) -> str:
        """The model's own chat template, with enable_thinking passed through."""
        content: list[dict[str, Any]] = [{"type": "image"} for _ in prompt.images]
        content.append({"type": "text", "text": prompt.text})
        messages = [{"role": "user", "content": content}]
        return str(
            self.processor.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True, enable_thinking=prompt.thinking
            )
        )

    def _generate_kwargs(self, sampling: Sampling, prompt_length: int) -> dict[str, Any]:
        tokenizer = self.processor.tokenizer
        kwargs: dict[str, Any] = {
            "max_new_tokens": sampling.max_new_tokens,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        }
        if sampling.greedy:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(
                do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p, top_k=sampling.top_k or 0
            )
        if sampling.presence_penalty:
            kwargs["logits_processor"] = LogitsProcessorList(
                [PresencePenaltyLogitsProcessor(sampling.presence_penalty, prompt_length)]
            )
        return kwargs

    @torch.inference_mode()
    def generate(
        self, prompts: Sequence[Prompt], sampling: Sampling, on_text: OnText | None = None
    ) -> list[Generation]:
        start = time.perf_counter()
        texts = [self.render_prompt(p) for p in prompts]
        images = [image for p in prompts for image in p.images]
        extra = {"size": self.image_size} if images else {}
        inputs = self.processor(text=texts, images=images or None, padding=True, return_tensors="pt", **extra)
        inputs = inputs.to(self.model.device)
        prompt_length = int(inputs["input_ids"].shape[1])
        kwargs = self._generate_kwargs(sampling, prompt_length)
        guard = _RepetitionStop(prompt_length)
        if sampling.repetition_guard:
            kwargs["stopping_criteria"] = StoppingCriteriaList([guard])
        if on_text is not None and len(prompts) == 1:
            kwargs["streamer"] = _CallbackStreamer(self.processor.tokenizer, on_text)
        if sampling.seed is not None:
            torch.manual_seed(sampling.seed)
        output = self.model.generate(**inputs, **kwargs)
        # Each page of a batch is charged an equal share of the batch's wall time.
        seconds = (time.perf_counter() - start) / len(prompts)
        return [
            self._finish(
                output[i, prompt_length:], inputs["attention_mask"][i], texts[i], seconds, guard.stopped_at.get(i)
            )
            for i in range(len(prompts))
        ]

    def _finish(
        self, new_ids: torch.Tensor, attention: torch.Tensor, text: str, seconds: float, repeated_at: int | None
    ) -> Generation:
        eos = self.processor.tokenizer.eos_token_id
        hits = (new_ids == eos).nonzero()
        finish: FinishReason
        if repeated_at is not None:
            finish, n_tokens = "repetition", repeated_at
        elif len(hits):
            finish, n_tokens = "stop", int(hits[0, 0]) + 1
        else:
            finish, n_tokens = "length", int(new_ids.shape[0])
        raw = self.processor.tokenizer.decode(new_ids[:n_tokens], skip_special_tokens=True)
        return Generation(
            text=raw,
            prompt_text=text,
            prompt_tokens=int(attention.sum()),
            completion_tokens=n_tokens,
            finish_reason=finish,
            seconds=seconds,
        )
