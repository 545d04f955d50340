"""The terminal view: tokens stream in as they are generated, then the answer is laid out with
the final boxed answer highlighted. Model text is data: rich markup is never applied to it."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.spinner import Spinner
from rich.text import Text

from ..engines.finish import stopped_in_reasoning
from ..results import AskResult, LookAgain, describe_pages
from .terminal import for_terminal

_THINK = "<think>"
_END_THINK = "</think>"


class StreamingAnswer:
    """Live view of a generation: reasoning (dim, or a spinner when hidden) then the answer.
    Generated text is untrusted: its control characters are shown, not obeyed. The answer is
    split as parse_answer splits it, whatever the thinking flag: what follows the last
    `</think>`, up to a `<think>` that opens again."""

    def __init__(
        self, console: Console, *, thinking: bool, show_reasoning: bool, on_start: Callable[[], None] | None = None
    ) -> None:
        self.console = console
        self.show_reasoning = show_reasoning
        self.buffer = ""
        self.in_reasoning = thinking
        self._split = 0
        self._on_start = on_start
        self._live = Live(
            console=console,
            transient=True,
            refresh_per_second=12,
            vertical_overflow="visible",
            redirect_stdout=False,  # the product and warnings keep their own streams
            redirect_stderr=False,
        )
        self._started = False

    def __enter__(self) -> StreamingAnswer:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if self._started:
            if exc_type is not None:  # interrupted or failed: what was shown stays on the terminal
                self._live.transient = False
            self._live.__exit__(None, None, None)

    def on_text(self, _index: int, delta: str) -> None:
        if not self._started:  # the first token: take over the terminal from the loading spinner
            self._started = True
            if self._on_start is not None:
                self._on_start()
            self._live.__enter__()
        self.buffer += delta
        found = self.buffer.rfind(_END_THINK, max(0, len(self.buffer) - len(delta) - len(_END_THINK)))
        if found >= 0:  # thinking on or not: a close ends the reasoning so far
            self.in_reasoning = False
            self._split = found + len(_END_THINK)
        self._live.update(self._view())

    def _view(self) -> RenderableType:
        if self.in_reasoning:
            if self.show_reasoning:
                reasoning = for_terminal(self.buffer.removeprefix("<think>").strip())
                return Group(Text(reasoning, style="dim"), Spinner("dots"))
            return Spinner("dots", text=Text(f" Thinking… ({len(self.buffer)} characters)", style="dim"))
        answer = self.buffer[self._split :]
        reopened = answer.find(_THINK)
        return Text(for_terminal((answer[:reopened] if reopened >= 0 else answer).strip()))


def print_ask(result: AskResult, console: Console, err: Console, *, show_reasoning: bool = False) -> None:
    """The finished answer: reasoning if asked, the answer, and the final box highlighted on
    `console`; the preset and token counts (people's things) on `err`."""
    parsed = result.parsed
    if show_reasoning and parsed.reasoning:
        console.print(Panel(Text(for_terminal(parsed.reasoning), style="dim"), title="reasoning", title_align="left"))
    if parsed.truncated:
        why = stopped_in_reasoning(result.generation.finish_reason)
        console.print(Text(f"{why[0].upper()}{why[1:]}.", style="yellow"))
    elif parsed.answer:
        console.print(Text(for_terminal(parsed.answer)))
    if parsed.final is not None:
        final = Text(for_terminal(parsed.final), style="bold")
        console.print(Panel(final, title="final answer", border_style="green", expand=False))
    if result.citations:
        console.print(Text.assemble(("Sources: ", "bold"), for_terminal(describe_pages(result.citations, labels=True))))
    if result.look is not None:
        print_look(result.look, console)
    if result.mode == "text":
        err.print(
            Text(for_terminal(f"read {len(result.pages_read)} of {result.pages_total} pages as text: "
                              f"{describe_pages(result.pages_read)}"), style="dim"),
            soft_wrap=True,
        )  # fmt: skip
    tokens = result.generation
    err.print(
        Text(
            f"{result.preset.name} preset ({result.preset_reason}) · thinking {'on' if result.thinking else 'off'}"
            f" · {tokens.prompt_tokens}+{tokens.completion_tokens} tokens · {tokens.seconds:.1f}s",
            style="dim",
        )
    )


def print_look(look: LookAgain, console: Console) -> None:
    """The second answer of --look (or exaone chat's /look), after looking at the cited pages."""
    title = for_terminal(f"after looking at {describe_pages(look.images)}")
    console.print(Panel(Text(for_terminal(look.parsed.answer)), title=title, title_align="left", border_style="cyan"))
    if look.parsed.final is not None:
        final = Text(for_terminal(look.parsed.final), style="bold")
        console.print(Panel(final, title="final answer", border_style="green", expand=False))
