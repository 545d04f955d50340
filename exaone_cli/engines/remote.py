"""The remote engine: any OpenAI-compatible server (vLLM, SGLang, TensorRT-LLM, llama.cpp,
`transformers serve`). This is how users scale past one machine: the server does the multi-GPU
and multi-node work, exaone sends pages and parses answers exactly as with the local engine.

No torch here: `--server` runs need only the `openai` client.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from ..config import LoadOptions, Sampling
from ..errors import EngineError, GenerationError, PromptTooLong, UsageError
from ..vision import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS, visual_tokens
from .base import Generation, OnText, Prompt
from .finish import opened_think, server_finish
from .images import data_url
from .server_answer import Delta, OddAnswer, ServerAnswer, read_answer, read_delta
from .text import valid_text

if TYPE_CHECKING:
    import openai

Warn = Callable[[str], None]

# Sampling extras some servers refuse (transformers serve: 422 "Unexpected fields in the
# request: {'top_k'}"). They are dropped one by one as servers refuse them, with one warning.
OPTIONAL_FIELDS = ("top_k", "presence_penalty", "seed", "chat_template_kwargs", "stream_options", "response_format")
# What dropping a field means for the user, where it is more than a sampling detail.
_WITHOUT = {"response_format": "the JSON is asked for by the prompt alone (and still validated)"}
# How servers say they cannot compile the schema in response_format, without naming the field:
# vLLM answers 400 or 500 with "Grammar error: ..." or xgrammar's "... not supported by xgrammar",
# llama.cpp "JSON schema conversion failed", others speak of guided decoding or structured output.
_SCHEMA_REFUSED = re.compile(
    r"grammar|json[ _-]?schema|guided[ _-]?(json|decoding)|structured[ _-]?output|xgrammar|outlines|guidance", re.I
)
_SCHEMA_STATUSES = (400, 422, 500)


@dataclass(frozen=True)
class RemoteOptions:
    """Where the server is and how hard to try."""

    server: str
    api_key: str | None = None
    served_model: str | None = None
    concurrency: int = 4
    retries: int = 3
    timeout: float = 600.0
    min_pixels: int | None = None
    max_pixels: int | None = None

    def __post_init__(self) -> None:
        if not re.match(r"^https?://", self.server):
            raise UsageError(f"--server {self.server!r} is not an http(s) URL", hint="e.g. http://gpu-box:8000/v1")
        if self.concurrency < 1 or self.retries < 0 or self.timeout <= 0:
            raise UsageError("--concurrency must be >= 1, --retries >= 0 and --timeout > 0")


_sleep = time.sleep  # the backoff wait (tests record it instead of sleeping)

# How servers say a prompt is longer than their context: vLLM ("This model's maximum context
# length is 8192 tokens. However, you requested 15928 tokens ..."; newer: "... at most 8192"),
# SGLang, llama.cpp ("exceeds the available context size").
_CONTEXT_REFUSAL = re.compile(r"maximum context length|context length|at most \d[\d,]* tokens|context size", re.I)
CONTEXT_HINT = (
    "the server takes fewer tokens than this request needs: lower --context-tokens (ask), --max-new-tokens or "
    "--max-pixels, or start the server with a longer context (vLLM: --max-model-len)"
)


def served_context(options: RemoteOptions) -> int | None:
    """The context length the server reports for its model (`max_model_len` in /v1/models, as
    vLLM and SGLang give it), or None when it does not say or cannot be asked now (the engine
    says why when it connects). One short request, no retries."""
    try:
        import openai

        client = openai.OpenAI(
            base_url=options.server.rstrip("/"), api_key=options.api_key or "EMPTY",
            timeout=min(options.timeout, 10.0), max_retries=0,
        )  # fmt: skip
        with client:
            models = client.models.list().data
    except Exception:  # any failure: the engine's own connection reports it
        return None
    chosen = [m for m in models if m.id == options.served_model] if options.served_model else models
    if len(chosen) != 1:
        return None
    value = (chosen[0].model_extra or {}).get("max_model_len")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def remote_options(
    server: str | None,
    api_key: str | None,
    served_model: str | None,
    concurrency: int,
    retries: int,
    timeout: float,
    load: LoadOptions,
) -> RemoteOptions | None:
    """The --server flags as options (None without --server), with the run's pixel budget."""
    if not server:
        return None
    return RemoteOptions(server, api_key, served_model, concurrency, retries, timeout, load.min_pixels, load.max_pixels)


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class RemoteEngine:
    """Chat completions with images as data URLs; reasoning from `reasoning_content` when the
    server runs a reasoning parser, otherwise split out of the content by parse_answer."""

    def __init__(self, client: openai.OpenAI, model: str, options: RemoteOptions, warn: Warn) -> None:
        self.client = client
        self.name = model
        self.options = options
        self.concurrency = options.concurrency
        self._warn = warn
        self._refused: set[str] = set()
        self._lock = threading.Lock()
        self.served_tokens: int | None = None  # the server's max_model_len, when it says
        self._fitted = False  # the lowered --max-new-tokens was said
        self.backoff_base = 0.5  # seconds; doubled per retry, with jitter

    @classmethod
    def connect(cls, options: RemoteOptions, warn: Warn) -> RemoteEngine:
        """Open a client and find the model to use (`--served-model`, or the only one served)."""
        try:
            import openai
        except ImportError as exc:  # pragma: no cover - openai is a core dependency
            raise EngineError("--server needs the openai package", hint="pip install openai") from exc
        client = openai.OpenAI(
            base_url=options.server.rstrip("/"),
            api_key=options.api_key or "EMPTY",
            timeout=options.timeout,
            max_retries=0,  # retries are ours: backoff with jitter, Retry-After, --retries
        )
        engine = cls(client, options.served_model or "", options, warn)
        if not options.served_model:
            engine.name = engine._discover_model()
        engine.served_tokens = served_context(replace(options, served_model=engine.name))
        return engine

    def _discover_model(self) -> str:
        try:
            names = [model.id for model in self._call(lambda: self.client.models.list().data)]
        except GenerationError as exc:
            raise EngineError(f"cannot reach the server at {self.options.server}: {exc.message}", exc.hint) from exc
        if len(names) == 1:
            return names[0]
        if not names:
            raise EngineError(
                f"the server at {self.options.server} lists no models", hint="name one with --served-model"
            )
        raise UsageError(
            f"the server serves {len(names)} models: {', '.join(names)}", hint="choose one with --served-model NAME"
        )

    @property
    def description(self) -> str:
        """The model the server serves, for the loading line."""
        return f"model {self.name}"

    def close(self) -> None:
        self.client.close()

    # ---- requests ------------------------------------------------------------------------------

    def _call(self, request: Callable[[], Any], final: Callable[[Exception], bool] | None = None) -> Any:
        """`request()` with retries: connection errors, timeouts, 429 (honouring Retry-After) and
        5xx are retried with exponential backoff and jitter, at most --retries times. An error
        `final` says is an answer (a schema the server refused) is raised at once."""
        import openai

        attempt = 0
        while True:
            try:
                return request()
            except (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError) as exc:
                if final is not None and final(exc):
                    raise
                failure: Exception = exc
            except openai.APIStatusError as exc:
                if exc.status_code < 500 or (final is not None and final(exc)):
                    raise
                failure = exc
            except (openai.APIResponseValidationError, ValueError) as exc:  # malformed JSON, odd answers
                failure = exc
            if attempt >= self.options.retries:
                raise GenerationError(
                    f"the server request failed after {attempt + 1} {'try' if attempt == 0 else 'tries'}: "
                    f"{_describe(failure)}",
                    hint="check the server, or raise --retries / --timeout",
                ) from failure
            delay = _retry_after(failure)
            if delay is None:
                delay = self.backoff_base * 2**attempt * random.uniform(0.5, 1.5)
            _sleep(min(delay, 60.0))
            attempt += 1

    def _body(self, prompt: Prompt, sampling: Sampling, stream: bool) -> dict[str, Any]:
        content: list[dict[str, Any]] = [
            {
                "type": "image_url",
                "image_url": {"url": data_url(image, self.options.min_pixels, self.options.max_pixels)},
            }
            for image in prompt.images
        ]
        content.append({"type": "text", "text": prompt.text})
        body: dict[str, Any] = {
            "model": self.name,
            "messages": [*prompt.earlier_messages(), {"role": "user", "content": content}],
            "max_tokens": self._answer_room(prompt, sampling.max_new_tokens),
            "temperature": max(sampling.temperature, 0.0),
            "stream": stream,
        }
        extra: dict[str, Any] = {"chat_template_kwargs": {"enable_thinking": prompt.thinking}}
        if not sampling.greedy:
            body["top_p"] = sampling.top_p
            if sampling.top_k:
                extra["top_k"] = sampling.top_k
        if sampling.presence_penalty:
            body["presence_penalty"] = sampling.presence_penalty
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        if stream:
            body["stream_options"] = {"include_usage": True}
        if prompt.schema is not None:  # structured output, as vLLM, SGLang and OpenAI take it
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "extraction", "schema": dict(prompt.schema), "strict": True},
            }
        body.update(extra)
        with self._lock:
            for field in self._refused:
                body.pop(field, None)
        return body

    def _answer_room(self, prompt: Prompt, max_new_tokens: int) -> int:
        """--max-new-tokens, lowered to what the prompt leaves of the server's context when it
        reports one (vLLM refuses a request whose prompt and max_tokens exceed max_model_len, so a
        page of 4,956 visual tokens with the default 4,096 fails every time on an 8,192 server).
        The prompt is over-estimated (its visual tokens as the processor counts them, a token per
        3 bytes of text); said once a run."""
        if self.served_tokens is None:
            return max_new_tokens
        room = self.served_tokens - _prompt_tokens_at_most(prompt, self.options)
        if room >= max_new_tokens or room < MIN_ANSWER_TOKENS:
            return max_new_tokens  # fits, or cannot be helped: the server's refusal says why
        with self._lock:
            first, self._fitted = not self._fitted, True
        if first:
            self._warn(
                f"the server takes at most {self.served_tokens:,} tokens (its max_model_len): answers are limited to "
                f"what each prompt leaves of them (here {room:,} new tokens, not --max-new-tokens {max_new_tokens:,})"
            )
        return room

    def _send(self, body: dict[str, Any]) -> Any:
        """POST the body; when the server refuses some of our optional fields, drop them, warn
        once, remember them for the run, and send again."""
        import openai

        while True:
            try:
                return self._call(partial(self._create, dict(body)), partial(_refused_schema, body=body))
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                raise EngineError(
                    f"the server at {self.options.server} refused the API key ({_describe(exc)})",
                    hint="pass --api-key (or set EXAONE_API_KEY / OPENAI_API_KEY)",
                ) from exc
            except openai.NotFoundError as exc:
                raise EngineError(
                    f"the server does not serve {self.name!r} ({_describe(exc)})",
                    hint="check --served-model and --server (it usually ends in /v1)",
                ) from exc
            except (openai.UnprocessableEntityError, openai.BadRequestError, openai.InternalServerError) as exc:
                said = f"{exc} {_response_text(exc)}"
                refused = [field for field in OPTIONAL_FIELDS if field in body and field in said]
                schema = not refused and _refused_schema(exc, body)
                if schema:
                    refused = ["response_format"]
                if not refused and _CONTEXT_REFUSAL.search(said):
                    raise PromptTooLong(
                        f"the server refused the request as too long ({_describe(exc)})", hint=CONTEXT_HINT
                    ) from exc
                if not refused:
                    raise GenerationError(f"the server refused the request ({_describe(exc)})") from exc
                with self._lock:
                    new = [field for field in refused if field not in self._refused]
                    self._refused.update(refused)
                if new:
                    consequences = "".join(f"; {_WITHOUT[field]}" for field in new if field in _WITHOUT)
                    names = ", ".join(new)
                    why = f"could not use the schema ({_describe(exc)})" if schema else f"does not accept {names}"
                    self._warn(f"the server {why}; sending without {names} for this run{consequences}")
                for field in refused:
                    body.pop(field, None)

    def _create(self, body: dict[str, Any]) -> Any:
        """One chat-completions call; fields the openai client does not know travel in extra_body.
        A whole answer is read here (inside the retries: an error body with HTTP 200 is retried
        like a 5xx); a stream is returned to be read as it arrives."""
        standard = {k: v for k, v in body.items() if k not in ("top_k", "chat_template_kwargs")}
        extra = {k: body[k] for k in ("top_k", "chat_template_kwargs") if k in body}
        response = self.client.chat.completions.create(**standard, extra_body=extra or None)
        return response if body.get("stream") else read_answer(_as_dict(response))

    def generate(
        self, prompts: Sequence[Prompt], sampling: Sampling, on_text: OnText | None = None
    ) -> list[Generation]:
        if len(prompts) == 1:
            return [self._generate_one(prompts[0], sampling, on_text)]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(prompts))) as pool:
            return list(pool.map(lambda p: self._generate_one(p, sampling, None), prompts))

    def _generate_one(self, prompt: Prompt, sampling: Sampling, on_text: OnText | None) -> Generation:
        start = time.perf_counter()
        response = self._send(self._body(prompt, sampling, on_text is not None))
        answer = response if on_text is None else _read_stream(response, lambda text: on_text(0, text))
        finish, error = server_finish(answer.finish_reason)
        opened, note = opened_think(answer.content, answer.reasoning, finish, prompt.thinking)
        return Generation(
            text=_raw_text(answer.content, answer.reasoning, finish),
            prompt_text=prompt.text,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
            finish_reason=finish,
            seconds=time.perf_counter() - start,
            error=error,
            opened_think=opened,
            note=note,
        )


MIN_ANSWER_TOKENS = 256  # less room than this: the request is sent as asked, and the server says no
TEMPLATE_TOKENS = 64  # the chat template's own tokens, with room to spare


def _prompt_tokens_at_most(prompt: Prompt, options: RemoteOptions) -> int:
    """An upper estimate of a prompt's tokens: each image's visual tokens (and its two markers)
    at the sizes sent, and a token per 3 bytes of text (a Hangul syllable is 3 bytes of UTF-8 and
    rarely more than one token; English runs about 4 characters a token)."""
    minimum, maximum = options.min_pixels or DEFAULT_MIN_PIXELS, options.max_pixels or DEFAULT_MAX_PIXELS
    visual = sum(visual_tokens(*image.size, minimum, maximum).tokens + 2 for image in prompt.images)
    texts = [prompt.text, *(message["content"] for message in prompt.earlier_messages())]
    return visual + sum(-(-len(text.encode("utf-8")) // 3) + 8 for text in texts) + TEMPLATE_TOKENS


def _refused_schema(exc: Exception, body: dict[str, Any]) -> bool:
    """Whether an error answers a request's schema: the request carried response_format, and the
    server said 400, 422 or 500 with words about a grammar or a schema (_SCHEMA_REFUSED)."""
    if "response_format" not in body or getattr(exc, "status_code", None) not in _SCHEMA_STATUSES:
        return False
    return bool(_SCHEMA_REFUSED.search(f"{exc} {_response_text(exc)}"))


def _as_dict(response: Any) -> object:
    """The body as the server sent it (the openai client's typed objects keep every field)."""
    to_dict = getattr(response, "to_dict", None)
    return to_dict(warnings=False) if callable(to_dict) else response


def _read_stream(response: Any, emit: Callable[[str], None]) -> ServerAnswer:
    """Collect a streamed answer, passing text on as it arrives. Reasoning deltas come first;
    a `</think>` is emitted between them and the answer so viewers can tell them apart. An error
    in the stream (an error event, a dropped connection) is a GenerationError in words."""
    content: list[str] = []
    reasoning: list[str] = []
    finish: object = None
    usage = (0, 0)
    try:
        for chunk in response:
            delta: Delta = read_delta(_as_dict(chunk))
            usage = delta.usage or usage
            if delta.reasoning:
                if not reasoning:
                    emit("<think>")
                reasoning.append(delta.reasoning)
                emit(valid_text(delta.reasoning))
            if delta.content:
                if reasoning and not content:
                    emit("</think>\n\n")
                content.append(delta.content)
                emit(valid_text(delta.content))
            finish = delta.finish_reason or finish
    except OddAnswer as exc:
        raise GenerationError(str(exc), hint="check the server's log") from exc
    except Exception as exc:  # the client's and its HTTP library's errors (their names change across versions)
        raise GenerationError(f"the answer stream broke off ({_describe(exc)})", hint="check the server") from exc
    text = valid_text("".join(content))
    thought = valid_text("".join(reasoning)) if reasoning else None
    return ServerAnswer(text, thought, finish, *usage)


def _raw_text(content: str, reasoning: str | None, finish: str) -> str:
    """The generation as the model wrote it, so parse_answer treats servers with and without a
    reasoning parser alike."""
    if reasoning is None:
        return content
    if finish != "stop" and not content:
        return f"<think>{reasoning}"  # stopped inside the reasoning
    return f"<think>{reasoning}</think>\n\n{content}"


def _response_text(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    try:
        return str(response.text) if response is not None else ""
    except Exception:  # a streamed or closed response
        return ""


def _describe(exc: Exception) -> str:
    if isinstance(exc, OddAnswer):
        return str(exc)
    status = getattr(exc, "status_code", None)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    detail = _response_text(exc).strip()[:200]
    if detail and detail not in text:
        text = f"{text} {detail}"
    return f"HTTP {status}: {text}" if status else f"{type(exc).__name__}: {text}"
