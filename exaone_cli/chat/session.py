"""One conversation: the engine opened once, each document's page texts made once, and every
question answered the way `exaone ask` answers it (api.ask), with the earlier turns in the prompt.

The terminal (terminal.py) and pipes (piped.py) both drive a ChatSession; it never prints: what
people should see goes through the callbacks of `ChatCallbacks`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..api import OnLoaded, ask
from ..ask.docqa import AskPlan, DocumentQuestion, document_texts, fits_as_images, look_again, neutralize, plan_inputs
from ..ask.page_texts import PageText, PageTextMemo
from ..config import DEFAULT_CONTEXT_TOKENS, LoadOptions, Sampling, SamplingFlags
from ..engines import Engine, Generation, Prompt, RemoteOptions, Turn, describe_engine, describe_source, open_engine
from ..engines.base import OnText
from ..errors import PromptTooLong, UsageError
from ..ocr.retries import DEFAULT_PAGE_RETRIES
from ..ocr.run import ProgressFactory
from ..pages import PageRanges, RasterOptions
from ..results import AskResult, LookAgain
from ..store import open_store

Say = Callable[[str], None]

# What to do when the server refuses a question as too long, in chat's terms: the conversation
# grows with every turn, so starting afresh is the first way out (ask's hint names ask).
TOO_LONG_HINT = (
    "the server takes fewer tokens than this question needs: start afresh (/clear on a terminal, --fresh when "
    "piped), lower --context-tokens, --max-new-tokens or --max-pixels, or start the server with a longer context "
    "(vLLM: --max-model-len)"
)


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class ChatOptions:
    """What `exaone ask` takes besides the question and the inputs, for every question of a session."""

    load: LoadOptions = field(default_factory=LoadOptions)
    remote: RemoteOptions | None = None
    flags: SamplingFlags = field(default_factory=SamplingFlags)
    boxed_hint: bool = True
    ranges: PageRanges = field(default_factory=PageRanges.all)
    raster: RasterOptions = field(default_factory=RasterOptions)
    max_images: int = 8
    context_tokens: int = DEFAULT_CONTEXT_TOKENS
    cache: bool = True
    page_tokens: int = 4096
    page_retries: int = DEFAULT_PAGE_RETRIES


@dataclass(frozen=True)
class ChatCallbacks:
    """Where a session's news goes: the spinner's text, warnings, dim notes, the loading line
    (what, seconds, detail) and the page progress bar; all quiet by default."""

    on_status: Say = _quiet
    on_warning: Say = _quiet
    on_note: Say = _quiet
    on_loaded: OnLoaded | None = None
    progress: ProgressFactory | None = None


@dataclass(frozen=True)
class Exchange:
    """One answered question of the transcript, numbered from 1."""

    turn: int
    result: AskResult
    look: LookAgain | None = None


class ChatSession:
    """A conversation about `inputs` (none: a conversation without documents)."""

    def __init__(self, inputs: list[str], options: ChatOptions, *, thinking: bool = True,
                 callbacks: ChatCallbacks | None = None) -> None:  # fmt: skip
        self.inputs = list(inputs)
        self.options = options
        self.thinking = thinking
        self.say = callbacks or ChatCallbacks()
        self.engine: Engine | None = None
        self.memo = PageTextMemo()
        self.history: list[Turn] = []
        self.exchanges: list[Exchange] = []
        self.turns = 0  # questions asked, answered or not: the `turn` of the next one is turns + 1
        self.plan: AskPlan | None = None
        self._told_trim = False
        self._said: set[str] = set()
        self._warned: set[str] = set()

    def _warn_once(self, text: str) -> None:
        """A warning a question repeats word for word (the server drops enable_thinking, a file
        with no pages in --pages) is the session's, not the question's: said at the first."""
        if text not in self._warned:
            self._warned.add(text)
            self.say.on_warning(text)

    def _note_once(self, text: str) -> None:
        """A note said the same at every question ("N pages do not fit ... as images") is said once."""
        if text not in self._said:
            self._said.add(text)
            self.say.on_note(text)

    # ---- the session's life ---------------------------------------------------------------------

    def open(self) -> list[str]:
        """Read the inputs, load the model (or reach the server) once, and make the page texts of
        documents too long to go in as images. Returns one line per input saying what it is."""
        self.plan = self._plan(self.inputs)  # a typo costs nothing: inputs are read before the model loads
        what = describe_source(self.options.load, self.options.remote)
        self.say.on_status(f"Loading {what}…")
        start = time.perf_counter()
        self.engine = open_engine(self.options.load, self.options.remote, self.say.on_warning)
        if self.say.on_loaded is not None:
            self.say.on_loaded(what, time.perf_counter() - start, describe_engine(self.engine))
        return self._describe(self._read(self.plan))

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()
            self.engine = None

    def add(self, name: str) -> list[str]:
        """Another input for the questions that follow (its pages read now, when they are text)."""
        plan = self._plan([*self.inputs, name])  # raises InputError, naming the file, before anything changes
        self.inputs.append(name)
        self.plan = plan
        return self._describe(self._read(plan))[-1:]

    def clear(self) -> None:
        """Forget the conversation: the next question is asked without the earlier turns (the
        transcript, for /save, keeps them)."""
        self.history.clear()
        self._told_trim = False

    # ---- questions ----------------------------------------------------------------------------------

    def ask(self, question: str, on_text: OnText | None = None, *, fresh: bool = False) -> AskResult:
        """Answer `question` after the conversation so far (`fresh`: on its own). The answer joins
        the history (without its reasoning) only when it is one: not an error, not empty or cut."""
        assert self.engine is not None, "open() the session first"
        self.turns += 1
        o = self.options
        history = () if fresh else tuple(self.history)
        result = ask(
            question, self.inputs, load=o.load, flags=o.flags, thinking=self.thinking, boxed_hint=o.boxed_hint,
            engine=_InChatWords(self.engine), on_text=on_text, on_status=self.say.on_status,
            on_warning=self._warn_once,
            ranges=o.ranges, raster=o.raster, max_images=o.max_images, remote=o.remote,
            context_tokens=o.context_tokens, cache=o.cache, progress=self.say.progress, on_note=self._note_once,
            page_tokens=o.page_tokens, page_retries=o.page_retries, history=history, memo=self.memo,
        )  # fmt: skip
        if result.history_used < len(history) and not self._told_trim:
            self._told_trim = True
            left = len(history) - result.history_used
            self.say.on_note(
                f"The conversation no longer fits beside the pages in --context-tokens {o.context_tokens:,}: "
                f"the oldest {left} turn(s) are left out of the prompt from now on (/clear starts afresh)"
            )
        self.exchanges.append(Exchange(self.turns, result))
        if not (result.error or result.note or result.parsed.truncated):
            self.history.append(Turn(neutralize(question.strip()), neutralize(result.parsed.answer.strip())))
        return result

    def look(self) -> LookAgain | None:
        """The last answer's cited pages as images, for a second answer (`ask --look`); None when
        there is nothing to look at (said through on_warning / on_note)."""
        assert self.engine is not None and self.plan is not None
        last = self.exchanges[-1] if self.exchanges else None
        if last is None:
            self.say.on_warning("/look: no answer yet")
            return None
        if last.result.mode != "text":
            self.say.on_note("/look: the pages already went into the prompt as images")
            return None
        o = self.options
        question = DocumentQuestion(
            last.result.question, self.plan, o.load, o.raster, o.remote, o.flags, last.result.thinking, o.boxed_hint,
            o.context_tokens, o.max_images, look=True,
        )  # fmt: skip
        looked = look_again(question, _InChatWords(self.engine), last.result, self.say.on_warning, self.say.on_note)
        if looked is not None:
            self.exchanges[-1] = replace(last, look=looked)
        return looked

    @property
    def last(self) -> AskResult | None:
        return self.exchanges[-1].result if self.exchanges else None

    # ---- pages --------------------------------------------------------------------------------------

    def _plan(self, inputs: list[str]) -> AskPlan:
        if "-" in inputs:  # the questions come from there: a document piped in would be read as questions
            raise UsageError(
                "'-' (standard input): exaone chat reads its questions there, not a document",
                hint="save the document to a file and pass its name: exaone chat 문서.pdf",
            )
        o = self.options
        return plan_inputs(inputs, o.ranges, o.raster, o.load, self.say.on_status)

    def _as_text(self, plan: AskPlan) -> bool:
        """Whether questions about `plan` will be answered from page text (document mode)."""
        limit = plan.page_count if self.options.max_images is None else self.options.max_images
        return plan.page_count > 0 and not fits_as_images(plan, "", limit, self.options.context_tokens)

    def _read(self, plan: AskPlan) -> list[PageText] | None:
        """The page texts of every document, made now (once) when questions will need them."""
        if not self._as_text(plan):
            return None
        assert self.engine is not None
        names = [document.display for document in plan.documents if self.memo.known(document) is None]
        names = names or [document.display for document in plan.documents]  # all read: said anyway, briefly
        self.say.on_status(f"Reading {names[0]}" + (f" and {len(names) - 1} more" if len(names) > 1 else ""))
        o = self.options
        document = DocumentQuestion(
            "", plan, o.load, o.raster, o.remote, o.flags, context_tokens=o.context_tokens,
            page_tokens=o.page_tokens, page_retries=o.page_retries,
        )  # fmt: skip
        store = open_store(o.cache, self.say.on_warning)
        try:
            return document_texts(
                document, self.engine, store, memo=self.memo, progress=self.say.progress,
                on_warning=self.say.on_warning,
            )  # fmt: skip
        finally:
            if store is not None:
                store.close()

    def _describe(self, texts: list[PageText] | None) -> list[str]:
        assert self.plan is not None
        lines = []
        for index, document in enumerate(self.plan.documents):
            count = len(document.pages)
            if texts is None:
                lines.append(f"{document.display}: {count} page(s), shown to the model as images")
                continue
            mine = [p for p in texts if p.document == index]
            layer = sum(p.text_source == "text-layer" for p in mine)
            stored = sum(p.cached and p.text_source != "text-layer" for p in mine)
            made = len(mine) - layer - stored
            parts = [f"{layer} from the text layer"] if layer else []
            parts += [f"{stored} from the page store"] if stored else []
            parts += [f"{made} transcribed"] if made else []
            parts += [f"{count - len(mine)} unreadable"] if count > len(mine) else []
            lines.append(f"{document.display}: {count} page(s) ({', '.join(parts)}), read as text")
        return lines


class _InChatWords:
    """The session's engine, whose refusal of a prompt as too long (PromptTooLong) carries chat's
    hint instead of the engine's, which is written for `exaone ask`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.name = engine.name

    def generate(
        self, prompts: Sequence[Prompt], sampling: Sampling, on_text: OnText | None = None
    ) -> list[Generation]:
        try:
            return self._engine.generate(prompts, sampling, on_text)
        except PromptTooLong as exc:
            raise PromptTooLong(exc.message, hint=TOO_LONG_HINT) from exc

    def close(self) -> None:
        self._engine.close()

    def __getattr__(self, name: str) -> Any:  # concurrency, description, ...
        return getattr(self._engine, name)
