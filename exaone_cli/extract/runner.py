"""An `exaone extract` run: inputs -> pages -> one prompt per file (or page) -> engine -> checked data.

Every answer is validated (extract/validate.py). An answer that fails gets one repair attempt,
the model shown its answer and the validation errors; one that fails again becomes a result with
the errors and the raw text. A file or page that cannot be read is a result with an error; the
run goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..config import Sampling
from ..engines import Engine, Prompt, check_constrained_decoding, describe_source, open_engine
from ..engines.base import Generation
from ..errors import ExaoneError, GenerationError, InputError, UsageError
from ..ocr.pipeline import DocumentPlan, error_text, plan_documents
from ..pages import Page, open_document
from ..vision import visual_tokens
from .prompt import extract_prompt, repair_prompt
from .result import ExtractResult
from .schema import ExtractionSchema
from .settings import ExtractSettings
from .validate import Checked, check_generation, format_warnings

Warn = Callable[[str], None]


class ResultSink(Protocol):
    """Takes finished results one at a time; `close` writes whatever must be written whole."""

    def write(self, result: ExtractResult) -> None: ...

    def close(self) -> None: ...


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class _Job:
    """One result to make: these pages of this file in one prompt."""

    plan: DocumentPlan
    numbers: tuple[int, ...]


class ExtractRun:
    """An extraction run as an iterator of results, in input order, each as soon as its batch is
    done, each handed to `sink` too. The engine is opened here (not when iterating); the engine
    and the sink are closed however the iteration ends, so an interrupted run keeps its results.
    `engine_opener` gives the caller's engine instead (a server keeps one open for its life):
    called only when a file can be read, and the engine is left open. `on_status` and
    `planning_seconds` as for `exaone ocr` (ocr/run.py: OcrRun)."""

    def __init__(
        self,
        settings: ExtractSettings,
        sink: ResultSink | None = None,
        engine: Engine | None = None,
        warn: Warn = _quiet,
        engine_opener: Callable[[], Engine] | None = None,
        on_status: Warn = _quiet,
    ) -> None:
        self.settings = settings
        self.sink = sink
        self.sampling: Sampling = settings.sampling
        self.warn = warn
        start = time.perf_counter()
        self.plans = plan_documents(
            settings.files, settings.ranges, settings.raster, text_stand_in=True, on_status=on_status
        )
        self.planning_seconds = time.perf_counter() - start
        needs_engine = engine is None and any(plan.source for plan in self.plans)
        self._own_engine = needs_engine and engine_opener is None
        for warning in format_warnings(settings.target.schema, settings.target.origin):
            warn(warning)  # once per format, before any work
        if settings.remote is None and any(plan.source for plan in self.plans):
            check_local_grammar(settings.target, warn)  # before a model is loaded for nothing
        if needs_engine and engine_opener is not None:
            engine = engine_opener()
        elif needs_engine:
            on_status(f"Loading {describe_source(settings.load, settings.remote)}…")
            engine = open_engine(settings.load, settings.remote, warn)
        self.engine = engine
        try:
            self._check_budget()
        except BaseException:
            if self._own_engine and engine is not None:
                engine.close()
            raise
        self.failed = 0
        self.warned = 0  # valid results cut short by the token limit

    def _check_budget(self) -> None:
        """Before any generation: UsageError when --max-new-tokens is below what the schema's
        shortest JSON takes (the local engine knows it from its grammar), as no attempt, repair
        included, could end. A server does not say, so its runs are not checked."""
        shortest = getattr(self.engine, "shortest_answer", None)
        if shortest is None:
            return
        need, budget = shortest(self.settings.target.schema, self.settings.thinking), self.sampling.max_new_tokens
        if need is None or need > budget:
            least = f"at least {need}" if need is not None else "more than 2048"
            raise UsageError(
                f"the shortest JSON that matches the schema ({self.settings.target.origin}: every nullable"
                f" field null) takes {least} new tokens; --max-new-tokens is {budget}",
                hint=f"give --max-new-tokens well above {need or 2048}: real values take more (the default is 4096)",
            )

    @property
    def model(self) -> str | None:
        """The engine's model; before one is opened, the local model named, or the server's model
        if --served-model named it (None: the server was never asked which it serves)."""
        if self.engine is not None:
            return self.engine.name
        remote = self.settings.remote
        return remote.served_model if remote is not None else self.settings.load.model

    @property
    def opened_engine(self) -> bool:
        """This run loaded the model (or connected to the server) itself."""
        return self._own_engine and self.engine is not None

    @property
    def total(self) -> int:
        """Results the run will hand over: one per input (or per selected page with --per-page),
        one per input that cannot be read."""
        per_page = self.settings.per_page
        return sum(len(plan.pages) if per_page and plan.pages else 1 for plan in self.plans)

    def summary(self) -> str:
        """One line for stderr before the work starts: what will be done, with which schema."""
        s = self.settings
        readable = sum(1 for plan in self.plans if not plan.error)
        unit = "page" if s.per_page else "file"
        where = (
            f"{s.remote.concurrency} request(s) in flight to {s.remote.server}" if s.remote else f"batch {s.batch_size}"
        )
        return (
            f"{self.total} result(s), one per {unit}, from {readable} readable file(s) · schema from "
            f"{s.target.origin} · {where} · preset {s.preset.name} · thinking {'on' if s.thinking else 'off'}"
        )

    def __iter__(self) -> Iterator[ExtractResult]:
        size = getattr(self.engine, "concurrency", None) or self.settings.batch_size
        batch: list[_Job | ExtractResult] = []
        try:
            for job in self._jobs():
                batch.append(job)
                if sum(isinstance(item, _Job) for item in batch) >= size:
                    yield from self._counted(self._run(batch))
                    batch = []
            yield from self._counted(self._run(batch))
        finally:
            if self.sink is not None:
                self.sink.close()
            if self._own_engine and self.engine is not None:
                self.engine.close()

    def _counted(self, results: list[ExtractResult]) -> Iterator[ExtractResult]:
        for result in results:
            self.failed += not result.valid
            self.warned += result.warning is not None
            if self.sink is not None:
                self.sink.write(result)
            yield result

    def _jobs(self) -> Iterator[_Job | ExtractResult]:
        """A job per file (its first --max-images selected pages) or per page; an error result
        for a file that could not be opened."""
        for plan in self.plans:
            if plan.note:
                self.warn(f"{plan.display}: {plan.note}")
            if plan.error:
                yield self._result(plan, (), errors=[plan.error], hint=plan.hint, finish_reason="error")
            elif plan.text is not None:  # no pages: its text, unnumbered (the result's `pages` is empty)
                yield _Job(plan, ())
            elif self.settings.per_page:
                yield from (_Job(plan, (number,)) for number in plan.pages)
            else:
                if len(plan.pages) > self.settings.max_images:
                    self.warn(
                        f"{plan.display}: using the first {self.settings.max_images} of {len(plan.pages)} pages"
                        " (--max-images, or --per-page for one result per page)"
                    )
                yield _Job(plan, plan.pages[: self.settings.max_images])

    def _result(
        self, plan: DocumentPlan, pages: Sequence[int], found: str | None = None, **values: Any
    ) -> ExtractResult:
        """A result; `found` (where the JSON was found, what was ignored) joins the plan's note,
        and is said on stderr."""
        if found:
            self.warn(f"{plan.display}: {found}")
        note = "; ".join(part for part in (plan.note, found) if part) or None
        return ExtractResult(
            plan.display, plan.sha256, list(pages), self.model, self.settings.preset.name, note=note, **values
        )

    # ---- one batch ------------------------------------------------------------------------------

    def _run(self, batch: list[_Job | ExtractResult]) -> list[ExtractResult]:
        """The batch's results in its order: pages rendered, answers generated and checked, the
        failed ones repaired once."""
        rendered = {i: self._render(item) for i, item in enumerate(batch) if isinstance(item, _Job)}
        jobs = {i: pages for i, pages in rendered.items() if isinstance(pages, list)}
        schema = self.settings.target.schema
        texts = {i: batch[i].plan.text for i in jobs}  # type: ignore[union-attr]
        first = self._generate({i: extract_prompt(schema, texts[i]) for i in jobs}, jobs)
        checked = {i: self._check(gen) for i, gen in first.items() if isinstance(gen, Generation)}
        retry = {
            i: repair_prompt(schema, checked[i].answer or _answer_text(first[i]), checked[i].errors, texts[i])
            for i in checked
            if not checked[i].valid
        }
        second = self._generate(retry, jobs)
        results: list[ExtractResult] = []
        for i, item in enumerate(batch):
            if isinstance(item, ExtractResult):
                results.append(item)
            elif isinstance(failed := rendered[i], tuple):
                message, hint = failed
                failure = self._result(item.plan, item.numbers, errors=[message], hint=hint, finish_reason="error")
                results.append(failure)
            else:
                attempts = [first[i]] + ([second[i]] if i in second else [])
                results.append(self._finish(item, attempts, checked.get(i)))
        return results

    def _render(self, job: _Job) -> list[Page] | tuple[str, str | None]:
        """The job's pages as images (none for a document read as text), or the error that
        stopped them and what to do about it."""
        assert job.plan.source is not None
        if not job.numbers:
            return []
        number = job.numbers[0]
        load = self.settings.load
        try:
            with open_document(job.plan.source, self.settings.raster) as document:
                pages = []
                for number in job.numbers:
                    page = document.render(number)
                    visual_tokens(page.width, page.height, load.min_pixels, load.max_pixels)  # shapes it refuses
                    pages.append(page)
                return pages
        except InputError as exc:
            text = (
                exc.message
                if exc.message.startswith(job.plan.display)
                else f"{job.plan.display}: page {number}: {exc.message}"
            )
            return text, exc.hint
        except Exception as exc:  # a broken page must not end the run
            return f"{job.plan.display}: page {number}: {type(exc).__name__}: {exc}", None

    def _generate(self, texts: dict[int, str], pages: dict[int, list[Page]]) -> dict[int, Generation | str]:
        """Generations for the prompts (by batch position); a prompt whose generation failed
        gets the error text instead. The batch is tried whole, then one by one."""
        if not texts:
            return {}
        assert self.engine is not None
        thinking, schema = self.settings.thinking, self.settings.target.schema
        order = list(texts)
        prompts = [Prompt(texts[i], [p.image for p in pages[i]], thinking=thinking, schema=schema) for i in order]
        try:
            return dict(zip(order, self.engine.generate(prompts, self.sampling), strict=True))
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            if isinstance(exc, ExaoneError) and not isinstance(exc, GenerationError):
                raise  # the engine itself is unusable (bad API key, missing library): nothing can succeed
            if len(order) > 1:
                return {i: gen for i in order for gen in self._generate({i: texts[i]}, pages).values()}
            reason = error_text(exc) if isinstance(exc, ExaoneError) else f"{type(exc).__name__}: {exc}"
            return {order[0]: f"generation failed ({reason})"}

    def _check(self, generation: Generation) -> Checked:
        return check_generation(
            generation.text,
            self.settings.target.schema,
            thinking=generation.began_thinking(self.settings.thinking),
            finish_reason=generation.finish_reason,
            max_new_tokens=self.sampling.max_new_tokens,
        )

    def _finish(self, job: _Job, attempts: list[Generation | str], first: Checked | None) -> ExtractResult:
        """The result from the last attempt; tokens and time are the attempts' sum."""
        last = attempts[-1]
        generations = [gen for gen in attempts if isinstance(gen, Generation)]
        totals: dict[str, Any] = {
            "attempts": len(attempts),
            "prompt_tokens": sum(gen.prompt_tokens for gen in generations),
            "completion_tokens": sum(gen.completion_tokens for gen in generations),
            "seconds": sum(gen.seconds for gen in generations),
        }
        if isinstance(last, str):
            errors = [f"{job.plan.display}: {last}"]
            raw = generations[-1].text if generations else None
            reasoning = first.reasoning if first else None
            return self._result(job.plan, job.numbers, errors=errors, raw=raw, reasoning=reasoning,
                                finish_reason="error", **totals)  # fmt: skip
        checked = self._check(last) if len(attempts) > 1 or first is None else first
        return self._result(
            job.plan, job.numbers, found=checked.note, data=checked.data, errors=checked.errors,
            reasoning=checked.reasoning, raw=last.text, finish_reason=last.finish_reason, **totals,
        )  # fmt: skip


def _answer_text(generation: Generation | str) -> str:
    return generation.text if isinstance(generation, Generation) else ""


def check_local_grammar(target: ExtractionSchema, warn: Warn) -> None:
    """The local engine's grammar for the schema, checked without a model (llguidance needs no
    tokenizer for it): UsageError for a schema it cannot compile; a warning per pattern it
    cannot enforce (left to validation). EngineError when llguidance is not installed."""
    check_constrained_decoding(None)
    from ..engines.grammar_schema import grammar_problems

    for warning in grammar_problems(target.schema, target.origin):
        warn(warning)


def extract_run(
    settings: ExtractSettings,
    sink: ResultSink | None = None,
    engine: Engine | None = None,
    warn: Warn = _quiet,
    engine_opener: Callable[[], Engine] | None = None,
    on_status: Warn = _quiet,
) -> ExtractRun:
    """Plan the run now (files opened and counted, the engine opened); results come when iterated.
    `engine_opener`: the caller's engine, left open; `on_status`: what is under way meanwhile
    (see ExtractRun)."""
    return ExtractRun(settings, sink, engine, warn, engine_opener, on_status)
