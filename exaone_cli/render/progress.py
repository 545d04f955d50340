"""What a person sees of a run on stderr: a spinner while the model loads, then one line saying
what was loaded, from where and how long it took; during `exaone ocr` the pages above one live
progress line (pages done/total, tokens/s, elapsed, ETA); and a summary line at the end.

The live parts are drawn only when stderr is a terminal (and not with --quiet). They never
capture standard output: rich's Live and Progress redirect sys.stdout into their own console by
default, which sent the product of `exaone ocr doc.pdf > doc.txt` to the terminal. Every live
display here is made with `redirect_stdout=False, redirect_stderr=False`, and whatever is written
to a standard output that shares the terminal goes above the progress line (`OcrView.stdout`).

A live line never reaches the terminal's last columns (`ShortOfTheEdge`): the terminal echoes a
typed Ctrl-C as "^C" where the cursor is, at the end of the line, and a line as wide as the
terminal made the echo wrap onto a line of its own, one below the one rich clears when it stops.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.spinner import Spinner
from rich.text import Text

from .terminal import for_terminal

if TYPE_CHECKING:
    from ..extract.settings import ExtractSettings
    from ..ocr.settings import OcrSettings
    from ..results import PageRecord


def say(console: Console, text: str | Text) -> None:
    """A line for people: wrapped at word boundaries on a terminal, one unbroken line in a log.
    Plain text is printed as it is (file names may hold rich markup like [1]), with control
    characters shown, not obeyed, on a terminal."""
    if isinstance(text, str):
        text = Text(for_terminal(text) if console.is_terminal else text)
    console.print(text, soft_wrap=not console.is_terminal)


def same_terminal(first: IO[str], second: IO[str]) -> bool:
    """Both streams write to one terminal (a person sees what each writes, in one place)."""
    try:
        if not (first.isatty() and second.isatty()):
            return False
        return os.path.samestat(os.fstat(first.fileno()), os.fstat(second.fileno()))
    except (AttributeError, OSError, ValueError):  # no file descriptor (a test's captured stream)
        return False


ECHO_ROOM = 4  # columns for the terminal's "^C" echo, twice (an impatient second press)


class ShortOfTheEdge:
    """A live renderable drawn `ECHO_ROOM` columns narrower than the terminal, so that the "^C"
    a terminal echoes after it stays on its line: rich clears a live display by moving up from
    where the cursor is, and an echo that wrapped moved the cursor one line down, which left the
    live line frozen above "Interrupted ..." (and the echo's line cleared instead)."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from console.render(self.renderable, options.update_width(max(1, options.max_width - ECHO_ROOM)))


class _ProgressLine(Progress):
    def get_renderable(self) -> RenderableType:
        return ShortOfTheEdge(super().get_renderable())


@contextmanager
def spinner(console: Console, text: str, enabled: bool = True) -> Iterator[Live | None]:
    """A transient spinner with `text` on `console` (none when disabled or not a terminal). Unlike
    `Console.status`, it leaves sys.stdout and sys.stderr alone."""
    if not (enabled and console.is_terminal):
        yield None
        return
    live = Live(
        ShortOfTheEdge(Spinner("dots", Text(f" {text}", style="dim"))),
        console=console,
        transient=True,
        refresh_per_second=12,
        redirect_stdout=False,
        redirect_stderr=False,
    )
    with live:
        yield live


def set_spinner_text(live: Live | None, text: str) -> None:
    """Change what a `spinner` says (nothing when there is none), drawn at once: a step shorter
    than the refresh interval (a fast server's "Loading the model served at ...") is still shown."""
    if live is not None:
        live.update(ShortOfTheEdge(Spinner("dots", Text(f" {text}", style="dim"))), refresh=True)


class LoadingStep:
    """The loading step: a spinner saying what is loaded from where (and, through `status`, what
    else is under way: an HWP document rhwp renders), then one line saying how long it took, with
    what the engine says about itself (`detail`). Nothing was loaded when `detail` stays None
    (every input failed before the model was needed)."""

    def __init__(self, console: Console, what: str, *, quiet: bool) -> None:
        self.console, self.what, self.quiet = console, what, quiet
        self.detail: str | None = None
        self.seconds = 0.0
        self._live: Live | None = None

    @contextmanager
    def running(self) -> Iterator[LoadingStep]:
        """The spinner while the block loads; the "Loaded ..." line once it is done."""
        start = time.perf_counter()
        with spinner(self.console, f"Loading {self.what}…", enabled=not self.quiet) as live:
            self._live = live
            try:
                yield self
            finally:
                self._live = None
        self.seconds = time.perf_counter() - start
        if self.detail is not None and not self.quiet:
            say(self.console, loaded_line(self.what, self.seconds, self.detail))

    def status(self, text: str) -> None:
        """What the spinner says now (the run's `on_status`)."""
        set_spinner_text(self._live, text)


def loaded_line(what: str, seconds: float, detail: str) -> Text:
    """ "Loaded WHAT in N s · DETAIL": what was loaded from where, how long it took, and what the
    engine says about itself (device and dtype, or the served model)."""
    line = for_terminal(f"{what} in {seconds:.1f} s{f' · {detail}' if detail else ''}")
    return Text.assemble(("Loaded ", "green"), line)


@contextmanager
def sigint_held() -> Iterator[None]:
    """SIGINT (Ctrl-C) and SIGTERM held back while the block runs, then delivered: for the few
    milliseconds in which rich draws or clears a live line, which an exception in the middle
    leaves half done. A no-op off the main thread (where Python runs its handlers).

    The handlers are swapped for ones that only take note, rather than the signals masked: a
    signal the main thread masks is delivered to another thread (rich's refresh thread, a request
    worker), whose C-level handler then has Python raise KeyboardInterrupt in the main thread
    inside the block all the same."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []

    def take_note(number: int, _frame: Any) -> None:
        arrived.append(number)

    previous = {number: signal.signal(number, take_note) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for late in dict.fromkeys(arrived):  # each once, in the order they came
            signal.raise_signal(late)


class _AboveProgress:
    """Standard output while a progress line may be live on the same terminal: each write takes
    the line away, writes, and draws the line again below what was written."""

    def __init__(self, stream: IO[str], view: OcrView) -> None:
        self._stream = stream
        self._view = view

    def write(self, text: str) -> int:
        progress = self._view.progress
        if progress is None or not progress.live.is_started:
            return self._stream.write(text)
        with sigint_held():
            progress.stop()
        try:
            written = self._stream.write(text)
            self._stream.flush()
        finally:
            if self._view.progress is progress:  # not when the run ended (Ctrl-C) meanwhile
                with sigint_held():
                    progress.start()
        return written

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding, ...
        return getattr(self._stream, name)


class OcrView:
    """The live progress line of a run (`exaone ocr`'s pages; `exaone extract`'s results, with
    `label` and `unit`) and the counts behind the summary line."""

    def __init__(self, console: Console, *, quiet: bool, label: str = "OCR", unit: str = "page") -> None:
        self.console = console
        self.quiet = quiet
        self.label, self.unit = label, unit
        self.progress: Progress | None = None
        self._task: Any = None
        self._start = time.perf_counter()
        self._earlier = 0.0  # seconds the run spent before its pages: reading the inputs
        self.tokens = 0  # generated by the model in this run (not served from the page store)
        self._generating = 0.0  # seconds from the first page to the last page the model generated
        self.pages = 0
        self.errors = 0
        self.empty = 0  # pages without error whose answer is empty (warned about)
        self.cut = 0  # pages or results cut short by the token limit (warned about)
        self.done = 0  # units the progress line counted (an unreadable input is no page)

    def stdout(self, stream: IO[str]) -> IO[str]:
        """`stream` as the sinks should write to it: above the progress line when both are on a
        terminal, untouched otherwise."""
        isatty = getattr(stream, "isatty", None)
        if self.quiet or not self.console.is_terminal or isatty is None or not isatty():
            return stream
        return _AboveProgress(stream, self)  # type: ignore[return-value]

    @contextmanager
    def running(self, total: int, earlier: float = 0.0) -> Iterator[OcrView]:
        """The progress line for `total` records while the block runs (on a terminal only).
        `earlier`: seconds the run spent reading its inputs before (an HWP document rhwp
        rendered, text layers judged), which the run's time counts; the model's loading has
        its own line and is not counted."""
        self._start = time.perf_counter()
        self._earlier = earlier
        if self.quiet or not self.console.is_terminal or total == 0:
            yield self
            return
        self.progress = _ProgressLine(
            SpinnerColumn(),
            TextColumn(f"[bold]{self.label}"),
            BarColumn(bar_width=None),
            MofNCompleteColumn(),
            TextColumn(f"{self.unit}s · {{task.fields[rate]}}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
            expand=False,
        )
        self._task = self.progress.add_task(self.label, total=total, rate="– tok/s")
        progress = self.progress
        try:
            # A Ctrl-C that lands while the line is drawn for the first time (what a person sees,
            # and reacts to) used to leave rich's console with half a write in its buffer (drawn
            # again, frozen, by the next print) and skip `with progress:`'s exit, so the refresh
            # thread drew the line again under "Interrupted ...". Starting and stopping hold SIGINT
            # back for those milliseconds; stop() runs however the block ends (twice is harmless).
            with sigint_held():
                progress.start()
            yield self
        finally:
            self.progress = None
            with sigint_held():
                progress.stop()

    @property
    def seconds(self) -> float:
        """The run's time: reading its inputs, then its pages."""
        return self._earlier + self._paging()

    def _paging(self) -> float:
        return time.perf_counter() - self._start

    @property
    def rate(self) -> float | None:
        """Tokens the model generated in this run per second of wall time from the first page to
        the last page it generated; None when it generated none (pages from the page store or a
        text layer, errors before any generation: a rate of those would mean nothing)."""
        if self.tokens <= 0:
            return None
        return self.tokens / max(self._generating, 1e-6)

    def rate_text(self) -> str:
        """ "31.0 tok/s", or "– tok/s" while nothing was generated."""
        rate = self.rate
        return "– tok/s" if rate is None else f"{rate:,.1f} tok/s"

    def advance(self, record: PageRecord, *, page: bool = True) -> None:
        """One finished page record; a page from the page store, or an error, brings no tokens to
        the rate. `page`: False for an input that could not be read (an error, not a page of the
        progress line's total)."""
        tokens = 0 if record.cached or record.error else record.completion_tokens
        empty = record.warning is not None and not record.cut
        self.count(tokens, ok=record.error is None, empty=empty, cut=record.cut, step=page)

    def count(self, tokens: int, *, ok: bool, empty: bool = False, cut: bool = False, step: bool = True) -> None:
        """One finished unit (a page, a result): `tokens` generated for it in this run, whether it
        succeeded; `step`: whether it moves the progress line."""
        self.tokens += tokens
        self.done += step
        if tokens > 0:
            self._generating = self._paging()
        self.pages += ok
        self.errors += not ok
        self.empty += empty
        self.cut += cut
        if self.progress is not None:
            self.progress.update(self._task, advance=int(step), rate=self.rate_text())


def plural(count: int, word: str) -> str:
    """ "1 page", "2 pages" (English plurals by -s, which is all the words here need)."""
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def finished_line(
    view: OcrView, settings: OcrSettings | ExtractSettings, total: int, *, interrupted: bool = False
) -> str:
    """The summary at the end of a run: pages (or results), errors, time, tokens/s (only when the
    model generated tokens in this run), where the output went."""
    errors = "no errors" if not view.errors else plural(view.errors, "error")
    head = f"Interrupted after {view.done} of {total} {view.unit}s" if interrupted else "Done"
    rate = "" if view.rate is None else f"{view.rate_text()} · "
    warned = [f"{view.empty} empty"] * bool(view.empty) + [f"{view.cut} cut by the token limit"] * bool(view.cut)
    counted = f" ({', '.join(warned)})" if warned else ""
    return (
        f"{head}: {plural(view.pages, view.unit)}{counted}, {errors} in "
        f"{view.seconds:.1f} s · {rate}{_destination(settings)}"
    )


def _destination(settings: OcrSettings | ExtractSettings) -> str:
    if settings.fmt == "rich":
        return "shown above"
    if settings.output is None:
        return f"{settings.fmt} on standard output"
    verb = "appended to" if getattr(settings, "resume", False) else "written to"
    return f"{settings.fmt} {verb} {settings.output}"
