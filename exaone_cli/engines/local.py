"""The local engine: EXAONE 4.5 through transformers, loaded once per run.

This is the only module that imports torch and transformers at the top; everything else reaches
it through `engines.open_engine`, so `exaone --help` stays fast.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
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

from ..config import UNQUANTIZED_MODULES, LoadOptions, Sampling
from ..errors import EngineError, ExaoneError, OutOfMemory, UsageError, debug_enabled
from .base import FinishReason, Generation, OnText, Prompt
from .checkpoint import DOWNLOAD_HINT, EXAONE_MODEL_TYPE, resolve_model
from .installed import QUANT_HINT, explain_import_failure
from .presence import PresencePenaltyLogitsProcessor
from .repetition import DEFAULT_RULE, RepetitionRule, repeating_unit
from .text import valid_text

# Text-only prompts longer than this are prefilled in chunks of it (transformers' chunked prefill):
# activations then stay at one chunk's (the MLP's 3 x 27,392 values per token dominate: ~0.3 GiB in
# bf16 for 2,048 tokens), not a whole 16K-token document's (~2.5 GiB), while the logits match an
# unchunked prefill (tested). Prompts with images are prefilled whole: transformers cannot split
# raw pixel inputs into chunks.
PREFILL_CHUNK_TOKENS = 2048


class _RepetitionStop(StoppingCriteria):
    """Stops each row whose generated tail repeats a short unit; remembers where it stopped."""

    def __init__(
        self, prompt_length: int, rule: RepetitionRule = DEFAULT_RULE, skip: frozenset[int] = frozenset()
    ) -> None:
        self.prompt_length = prompt_length
        self.rule = rule
        self.stopped_at: dict[int, int] = {}
        self.skip = skip  # rows under a grammar: a loop there is closed, not cut (engines/grammar.py)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        generated = input_ids[:, self.prompt_length :]
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        if generated.shape[1] < self.rule.min_span:
            return done  # type: ignore[return-value]
        tails = generated[:, -self.rule.window :].tolist()
        for row, tail in enumerate(tails):
            if row in self.skip:
                continue
            if row in self.stopped_at:
                done[row] = True
            elif repeating_unit(tail, self.rule) is not None:
                self.stopped_at[row] = int(generated.shape[1])
                done[row] = True
        return done  # type: ignore[return-value]


def _device_map(value: str) -> str | dict[str, int | str]:
    """'cpu', 'cuda:1' or '0' put the whole model on one device; the rest are accelerate's
    strategies (auto, balanced, sequential)."""
    if value == "cpu" or value.startswith("cuda"):
        return {"": value}
    if value.isdigit():
        return {"": int(value)}
    return value


def _compute_dtype(load: LoadOptions) -> torch.dtype:
    if load.dtype != "auto":
        dtype: torch.dtype = getattr(torch, load.dtype)
        return dtype
    if torch.cuda.is_available() and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


def quantization_config(load: LoadOptions) -> Any:
    """bitsandbytes through transformers: 8-bit LLM.int8, or 4-bit NF4 with double quantization
    and a 16-bit compute dtype. UNQUANTIZED_MODULES (lm_head, the vision tower) stay 16-bit."""
    try:
        import bitsandbytes  # noqa: F401
    except Exception as exc:
        raise EngineError(
            f"--quantize {load.quantize} needs bitsandbytes, which is missing or unusable ({exc})",
            hint=QUANT_HINT,
        ) from exc
    from transformers import BitsAndBytesConfig

    skip = list(UNQUANTIZED_MODULES)
    if load.quantize == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=skip, llm_int8_enable_fp32_cpu_offload=True)
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=_compute_dtype(load),
        llm_int8_skip_modules=skip,
        llm_int8_enable_fp32_cpu_offload=True,
    )


def model_kwargs(load: LoadOptions, model_id: str) -> dict[str, Any]:
    """from_pretrained's arguments for the loading options."""
    kwargs: dict[str, Any] = {
        "dtype": load.dtype,
        "device_map": _device_map(load.device_map),
        "revision": load.revision,
    }
    if load.max_memory is not None:
        kwargs["max_memory"] = load.max_memory_dict
    if load.offload_folder is not None:
        kwargs["offload_folder"] = load.offload_folder
    if load.attn_implementation is not None:
        kwargs["attn_implementation"] = load.attn_implementation
    if load.quantize != "none":
        already = checkpoint_quantization(model_id, load.revision)
        if already:
            raise UsageError(
                f"{load.model} is already quantized ({already}); --quantize {load.quantize} cannot apply",
                hint="drop --quantize: pre-quantized checkpoints (FP8, AWQ) load as they are",
            )
        kwargs["quantization_config"] = quantization_config(load)
        if load.dtype == "auto":
            kwargs["dtype"] = _compute_dtype(load)
    return kwargs


def checkpoint_quantization(model_id: str, revision: str | None) -> str | None:
    """The quantization method a checkpoint ships with (fp8, awq, ...), or None."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(model_id, revision=revision)
    except Exception:
        return None  # from_pretrained will report the real problem
    quantization = getattr(config, "quantization_config", None)
    if not quantization:
        return None
    if isinstance(quantization, dict):
        return str(quantization.get("quant_method") or quantization.get("quant_type") or "quantized")
    return str(getattr(quantization, "quant_method", "quantized"))


def loading_error(model: str, exc: Exception) -> ExaoneError:
    """The errors users meet when loading, each as one message with what to do."""
    if isinstance(exc, ExaoneError):
        return exc
    from huggingface_hub.errors import GatedRepoError, LocalEntryNotFoundError, RepositoryNotFoundError

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    chain = [exc, exc.__cause__, exc.__context__]
    if any(isinstance(e, GatedRepoError) for e in chain) or "gated" in str(exc).lower():
        return EngineError(
            f"{model}: the Hub refused access (gated model: its licence must be accepted)",
            hint="accept the EXAONE AI Model License on the model's Hub page, then `hf auth login` (or set HF_TOKEN)",
        )
    if any(isinstance(e, RepositoryNotFoundError) for e in chain):
        return EngineError(
            f"{model}: no such model on the Hugging Face Hub", hint="check the id, or pass a local folder"
        )
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0") or os.environ.get("TRANSFORMERS_OFFLINE")
    if any(isinstance(e, LocalEntryNotFoundError) for e in chain) or (offline and isinstance(exc, OSError)):
        return EngineError(
            f"{model}: not in the local Hugging Face cache" + (" and offline mode is on" if offline else ""),
            hint=f"download it first (hf download {model}) or point --model at a local copy",
        )
    mismatch = explain_import_failure(exc, model)
    if mismatch is not None and ("could not import module" in text.lower() or "torchvision" in text.lower()):
        return mismatch
    if "bitsandbytes" in text.lower():
        return EngineError(
            f"bitsandbytes cannot load {model}: {text}", hint="check `exaone doctor`, or drop --quantize"
        )
    return EngineError(f"could not load model {model!r}: {text}", hint=DOWNLOAD_HINT)


class _CallbackStreamer(TextStreamer):
    """TextStreamer that hands decoded text to a callback instead of printing it."""

    def __init__(self, tokenizer: Any, on_text: OnText) -> None:
        super().__init__(tokenizer, skip_prompt=True, skip_special_tokens=True)
        self._on_text = on_text

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        if text:
            self._on_text(0, valid_text(text))


class LocalEngine:
    """Processor + model held for the whole run; `generate` takes batches of prompts."""

    def __init__(self, model: Any, processor: Any, name: str, min_pixels: int, max_pixels: int) -> None:
        self.model = model
        self.processor = processor
        self.name = name
        self.image_size = {"shortest_edge": min_pixels, "longest_edge": max_pixels}
        self.processor.tokenizer.padding_side = "left"  # batched generation needs left padding
        self._grammars: Any = None  # engines.grammar.GrammarCompiler, made for the first schema

    @classmethod
    def load(cls, load: LoadOptions) -> LocalEngine:
        model_id = resolve_model(load.model)
        if not debug_enabled():
            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()
            logging.getLogger("bitsandbytes").setLevel(logging.ERROR)  # "inputs will be cast", on every call
        kwargs = model_kwargs(load, model_id)
        try:
            processor = AutoProcessor.from_pretrained(model_id, revision=load.revision)
            model = AutoModelForImageTextToText.from_pretrained(model_id, **kwargs)
        except Exception as exc:
            raise loading_error(load.model, exc) from exc
        if getattr(model.config, "model_type", None) != EXAONE_MODEL_TYPE:
            raise EngineError(f"{load.model}: not an EXAONE 4.5 model ({model.config.model_type!r})")
        model.eval()
        return cls(model, processor, name=load.model, min_pixels=load.min_pixels, max_pixels=load.max_pixels)

    @property
    def description(self) -> str:
        """Where the weights sit and in what precision, for the loading line: "cpu · bfloat16"."""
        model = self.model
        devices = sorted({str(d) for d in (getattr(model, "hf_device_map", None) or {}).values()}) or [
            str(model.device)
        ]
        quantized = getattr(model, "hf_quantizer", None) is not None
        dtype = str(model.dtype).removeprefix("torch.")
        return " · ".join([", ".join(devices), dtype] + (["quantized"] if quantized else []))

    def close(self) -> None:
        self.model = None
        self.processor = None

    def _input_device(self) -> torch.device:
        """Where inputs go: the model's first device; for a model whose first weights were
        offloaded to disk (meta), the device accelerate executes offloaded layers on."""
        device: torch.device = self.model.device
        if device.type == "meta":
            return torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")
        return device

    def render_prompt(self, prompt: Prompt) -> str:
        """The model's own chat template, with enable_thinking passed through."""
        content: list[dict[str, Any]] = [{"type": "image"} for _ in prompt.images]
        content.append({"type": "text", "text": prompt.text})
        messages = [*prompt.earlier_messages(), {"role": "user", "content": content}]
        return str(
            self.processor.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True, enable_thinking=prompt.thinking
            )
        )

    def shortest_answer(self, schema: Mapping[str, Any], thinking: bool) -> int | None:
        """New tokens the shortest JSON matching `schema` takes (engines/grammar.py), None if over 2048."""
        return int(n) if (n := self._grammar_compiler().shortest_answer(schema, thinking)) is not None else None

    def _grammar_compiler(self) -> Any:
        """llguidance's view of this tokenizer, built once (only when a prompt has a schema)."""
        if self._grammars is None:
            try:
                from .grammar import GrammarCompiler
            except ImportError as exc:
                from .installed import EXTRACT_HINT

                raise EngineError(
                    f"constrained decoding with the local engine needs llguidance ({exc})", hint=EXTRACT_HINT
                ) from exc
            self._grammars = GrammarCompiler(self.processor.tokenizer, self.model.config.get_text_config().vocab_size)
        return self._grammars

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
        inputs = inputs.to(self._input_device())
        prompt_length = int(inputs["input_ids"].shape[1])
        kwargs = self._generate_kwargs(sampling, prompt_length)
        if not images and prompt_length > PREFILL_CHUNK_TOKENS:
            kwargs["prefill_chunk_size"] = PREFILL_CHUNK_TOKENS  # a long text prompt (ask's document mode)
        grammar = None
        if any(p.schema is not None for p in prompts):
            grammar = self._grammar_compiler().processor(prompts, prompt_length, sampling.max_new_tokens)
            kwargs["logits_processor"] = LogitsProcessorList([*kwargs.get("logits_processor", []), grammar])
        guard = _RepetitionStop(prompt_length, skip=frozenset(i for i, p in enumerate(prompts) if p.schema is not None))
        if sampling.repetition_guard:
            kwargs["stopping_criteria"] = StoppingCriteriaList([guard])
        if on_text is not None and len(prompts) == 1:
            kwargs["streamer"] = _CallbackStreamer(self.processor.tokenizer, on_text)
        if sampling.seed is not None:
            torch.manual_seed(sampling.seed)
        try:
            output = self.model.generate(**inputs, **kwargs)
        except torch.OutOfMemoryError as exc:
            del inputs
            torch.cuda.empty_cache()
            raise OutOfMemory(
                f"out of GPU memory generating {len(prompts)} page(s) of {prompt_length} tokens",
                hint="lower --batch-size or --max-pixels, or load with --quantize 4bit",
            ) from exc
        # Each page of a batch is charged an equal share of the batch's wall time.
        seconds = (time.perf_counter() - start) / len(prompts)
        closed = grammar.closed if grammar is not None else [None] * len(prompts)
        return [
            self._finish(
                output[i, prompt_length:],
                inputs["attention_mask"][i],
                texts[i],
                seconds,
                guard.stopped_at.get(i),
                closed[i],
            )
            for i in range(len(prompts))
        ]

    def _finish(
        self,
        new_ids: torch.Tensor,
        attention: torch.Tensor,
        text: str,
        seconds: float,
        repeated_at: int | None,
        closed: str | None = None,
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
        if closed in ("length", "repetition") and finish == "stop":
            finish = "length" if closed == "length" else "repetition"  # the grammar closed it early
        # Byte-level tokens can end mid-character (the decoder writes U+FFFD there); a slow
        # tokenizer could even hand back lone surrogates. Only valid text leaves the engine.
        raw = valid_text(self.processor.tokenizer.decode(new_ids[:n_tokens], skip_special_tokens=True))
        return Generation(
            text=raw,
            prompt_text=text,
            prompt_tokens=int(attention.sum()),
            completion_tokens=n_tokens,
            finish_reason=finish,
            seconds=seconds,
        )
