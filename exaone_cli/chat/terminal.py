"""`exaone chat` on a terminal: a prompt with line editing, arrow-key history and wide (Korean)
characters (prompt_toolkit), answers streamed as `exaone ask` shows them, and the slash commands.

Ctrl-C stops the answer being written and comes back to the prompt (the stopped answer is not
part of the conversation); at the prompt it clears the line, and on an empty line it ends the
session, as Ctrl-D does. Answers go to stdout, everything else to stderr.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.text import Text

from ..errors import ExaoneError
from ..ocr.run import ProgressFactory
from ..render.progress import OcrView, set_spinner_text, spinner
from ..render.rich import StreamingAnswer, print_ask, print_look
from ..render.terminal import for_terminal
from ..render.text import ask_text
from ..results import describe_pages
from .session import ChatSession
from .transcript import save

HELP = """\
Ask a question, or:
  /help            this list
  /pages           the pages the last answer read, and the ones it cites
  /look            show the model the cited pages as images, for a second answer
  /think on|off    reasoning mode (now: {think})
  /add FILE        another image, PDF or HWP/HWPX for what follows
  /clear           forget the conversation: the next question starts afresh
  /save FILE       the transcript, with citations: FILE.md (Markdown) or FILE.json
  /exit            end (Ctrl-D, or Ctrl-C on an empty line, too)
Ctrl-C while an answer is written stops it."""

Warn = Callable[[str], None]


def path_argument(text: str) -> str:
    """The file a slash command names, typed plain (`/add 내 영수증.png`), quoted (`/add '내
    영수증.png'`, as a terminal pastes a dragged file) or with escaped spaces (`/add 내\\ 영수증.png`,
    macOS Terminal's form); `~` is the home folder. A plain name is taken as it is, spaces and
    backslashes included (a Windows path)."""
    text = text.strip()
    quoted = len(text) >= 2 and text[0] == text[-1] and text[0] in "'\""
    if quoted or (os.name != "nt" and "\\ " in text):
        try:
            words = shlex.split(text)
        except ValueError:  # an unbalanced quote: the name as typed
            words = []
        if len(words) == 1:
            text = words[0]
    return os.path.expanduser(text)


def history_file() -> Path:
    """Where the questions typed at the prompt are kept: the user data folder (platformdirs:
    ~/.local/share/exaone on Linux, ~/Library/Application Support/exaone on macOS)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("exaone", appauthor=False)) / "chat_history"


def _private_history(path: Path) -> Any:
    """prompt_toolkit's FileHistory on `path`, created readable by its owner only (0600, in a
    0700 folder): the questions are about people's documents."""
    from prompt_toolkit.history import FileHistory

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)  # an older file made by hand or by another tool
    return FileHistory(str(path))


def _key_bindings() -> Any:
    """Ctrl-C clears a line that has text and ends the session on an empty one."""
    from prompt_toolkit.key_binding import KeyBindings

    bindings = KeyBindings()

    @bindings.add("c-c")
    def _(event: Any) -> None:
        buffer = event.app.current_buffer
        if buffer.text:
            buffer.reset()
        else:
            event.app.exit(exception=KeyboardInterrupt, style="class:aborting")

    return bindings


class ChatTerminal:
    """The read-answer loop over a ChatSession, with the terminal's own views (the spinner, notes,
    the page progress bar: the session's callbacks, used from the moment it opens)."""

    session: ChatSession  # the conversation `run` holds

    def __init__(
        self, out: Console, err: Console, *, history: Path | None, show_reasoning: bool, warn: Warn, fresh: bool = False
    ) -> None:
        self.out, self.err = out, err
        self.history = history
        self.show_reasoning = show_reasoning
        self.warn = warn
        self.fresh = fresh  # every question on its own (--fresh), as when piped
        self.live: Live | None = None  # the spinner while a question is being answered

    # ---- callbacks a ChatSession reports through --------------------------------------------------

    def status(self, text: str) -> None:
        set_spinner_text(self.live, text)

    def note(self, text: str) -> None:
        self.err.print(Text(for_terminal(text), style="dim"), soft_wrap=True)

    @property
    def progress(self) -> ProgressFactory:
        return self._transcribing

    @contextmanager
    def _transcribing(self, total: int) -> Iterator[OcrView]:
        """The page progress bar while pages are transcribed (the spinner steps aside)."""
        live = self.live
        if live is not None:
            live.stop()
        try:
            with OcrView(self.err, quiet=False).running(total) as view:
                yield view
        finally:
            if live is not None:
                live.start()

    # ---- the loop -----------------------------------------------------------------------------------

    def run(self, session: ChatSession) -> None:
        """Questions and commands until /exit, Ctrl-D, or Ctrl-C on an empty line."""
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import InMemoryHistory
        from prompt_toolkit.output import create_output

        self.session = session
        prompt: PromptSession[str] = PromptSession(
            history=self._history() or InMemoryHistory(),
            key_bindings=_key_bindings(),
            output=create_output(always_prefer_tty=True),  # stdout sent to a file keeps only the answers
        )
        while True:
            try:
                line = prompt.prompt("> ").strip()
            except (EOFError, KeyboardInterrupt):
                return
            if not line:
                continue
            if line.startswith("/"):
                if not self.command(line):
                    return
                continue
            self.answer(line)

    def _history(self) -> Any:
        """The question history on disk; None when switched off or when it cannot be kept there
        (said: the session goes on, recalling only its own questions)."""
        if self.history is None:
            return None
        try:
            return _private_history(self.history)
        except OSError as exc:
            self.warn(
                f"the question history cannot be kept in {self.history} ({exc.strerror or exc}): the arrow keys "
                "recall only this session's questions (--no-history keeps none without this warning)"
            )
            return None

    def answer(self, question: str) -> None:
        """One question, streamed; Ctrl-C stops it and keeps what was shown."""
        try:
            with self._spinner("Generating") as live:
                self.live = live
                stream = None
                if self.out.is_terminal:
                    stream = StreamingAnswer(
                        self.out, thinking=self.session.thinking, show_reasoning=self.show_reasoning,
                        on_start=live.stop if live else None,
                    )  # fmt: skip
                with stream or nullcontext():
                    result = self.session.ask(question, stream.on_text if stream else None, fresh=self.fresh)
        except KeyboardInterrupt:
            self.err.print(Text("Stopped. That answer is not part of the conversation.", style="yellow"))
            return
        except ExaoneError as exc:
            self.warn(exc.message if not exc.hint else f"{exc.message} ({exc.hint})")
            return
        finally:
            self.live = None
        try:  # Ctrl-C a moment late, as the finished answer is written: back to the prompt all the same
            if self.out.is_terminal:
                print_ask(result, self.out, self.err, show_reasoning=self.show_reasoning)
            else:
                print(ask_text(result, show_reasoning=self.show_reasoning), flush=True)
        except KeyboardInterrupt:
            self.err.print(Text("Stopped.", style="yellow"))
            return
        if result.error or result.note:
            self.warn(result.error_line or result.note or "")

    @contextmanager
    def _spinner(self, text: str) -> Iterator[Live | None]:
        with spinner(self.err, text) as live:
            yield live

    # ---- commands -----------------------------------------------------------------------------------

    def command(self, line: str) -> bool:
        """Run a slash command; False ends the session."""
        name, _, argument = line.partition(" ")
        argument = argument.strip()
        handler = {
            "/help": self._help, "/pages": self._pages, "/look": self._look, "/think": self._think,
            "/add": self._add, "/clear": self._clear, "/save": self._save,
        }.get(name.lower())  # fmt: skip
        if name.lower() in ("/exit", "/quit", "/bye"):
            return False
        if handler is None:
            self.warn(f"{name}: no such command; /help lists them")
            return True
        try:
            handler(argument)
        except KeyboardInterrupt:
            self.err.print(Text("Stopped.", style="yellow"))
        except ExaoneError as exc:
            self.warn(exc.message if not exc.hint else f"{exc.message} ({exc.hint})")
        return True

    def _help(self, _: str) -> None:
        self.err.print(Text(HELP.format(think="on" if self.session.thinking else "off")))

    def _pages(self, _: str) -> None:
        last = self.session.last
        if last is None:
            self.note("No answer yet.")
            return
        read = describe_pages(last.pages_read) or "none"
        cited = describe_pages(last.citations) or "none"
        how = "as text" if last.mode == "text" else "as images"
        self.err.print(Text(for_terminal(f"Read {how}: {read}\nCited: {cited}")), soft_wrap=True)

    def _look(self, _: str) -> None:
        with self._spinner("Looking at the cited pages") as live:
            self.live = live
            try:
                looked = self.session.look()
            finally:
                self.live = None
        if looked is not None:
            print_look(looked, self.out)

    def _think(self, argument: str) -> None:
        if argument.lower() in ("on", "off"):
            self.session.thinking = argument.lower() == "on"
        elif argument:
            self.warn("/think on, or /think off")
            return
        self.note(f"Reasoning {'on' if self.session.thinking else 'off'}.")

    def _add(self, argument: str) -> None:
        if not argument:
            self.warn("/add FILE: which file?")
            return
        with self._spinner(f"Reading {argument}") as live:
            self.live = live
            try:
                lines = self.session.add(path_argument(argument))
            finally:
                self.live = None
        for line in lines:
            self.note(line)

    def _clear(self, _: str) -> None:
        self.session.clear()
        self.note("The conversation is forgotten; the next question starts afresh.")

    def _save(self, argument: str) -> None:
        if not argument:
            self.warn("/save FILE: name a .md or .json file")
            return
        try:
            path = save(self.session, path_argument(argument))
        except OSError as exc:
            self.warn(f"/save {argument}: cannot write it ({exc.strerror or exc})")
            return
        self.note(f"Saved {len(self.session.exchanges)} answer(s) to {path}")
