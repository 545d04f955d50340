"""How `--help` reads: option values named in words, not Typer's type labels.

Typer labels every option with its Python type (`<bool>` next to a flag, `<str>`, `<int range>`,
`<list[str]>` next to FILE...). These classes drop the label where a flag takes no value and put
a word where one does: the option's own `metavar` when it declares one (`--dpi DPI`), otherwise a
word for its type (`N`, `NUMBER`, `TEXT`, `PATH`). Every command and group of the CLI uses them,
subcommands included (`exaone cache drop`).
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

# What a value option shows when it declares no metavar, by the label Typer would show.
TYPE_WORDS = {
    "<int>": "N",
    "<int range>": "N",
    "<float>": "NUMBER",
    "<float range>": "NUMBER",
    "<str>": "TEXT",
    "<path>": "PATH",
    "<file>": "PATH",
    "<directory>": "DIR",
}


def _no_type(ctx: object) -> None:
    return None


def plain_help(params: list[Any], ctx: Any) -> list[Any]:
    """`params` (the parameters of one command, in `ctx`) with help labels people can read; the same list.

    A flag shows no value label; a value option without a metavar gets its type's word from
    TYPE_WORDS (a type not in it keeps Typer's label); an argument shows only its metavar."""
    for param in params:
        if isinstance(param, TyperOption) and param.metavar is None:
            if param.is_flag:
                param.metavar = ""
            else:
                param.metavar = TYPE_WORDS.get(param.display_type(ctx))
        elif isinstance(param, TyperArgument):
            param.display_type_rich = _no_type  # type: ignore[method-assign]
    return params


class ExaoneCommand(TyperCommand):
    """A command whose usage line reads `exaone ocr [OPTIONS] FILE...` (Typer writes `{FILE...}...`)
    and whose options are labelled by plain_help."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        return pieces + [p.metavar or p.name.upper() for p in self.get_params(ctx) if isinstance(p, TyperArgument)]

    def get_params(self, ctx: Any) -> list[Any]:
        return plain_help(super().get_params(ctx), ctx)


class PlainGroup(TyperGroup):
    """A group (`exaone`, `exaone cache`) whose own options are labelled by plain_help."""

    def get_params(self, ctx: Any) -> list[Any]:
        return plain_help(super().get_params(ctx), ctx)
