"""The package's layout is what the manual says it is.

docs/architecture.md's "What lives where" tree is how a newcomer finds a file; these tests fail when
a module or package is added, moved or removed without the tree following, when a package's
`__init__.py` stops saying what it is and what it may import, or when an entry point the manual
documents stops importing.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "exaone_cli"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

# Not code a newcomer looks for: the entry shims and the shipped model data.
NOT_LISTED = {"__init__.py", "__main__.py", "model_configs", "__pycache__"}


def _tree() -> dict[str, str]:
    """Top-level names of the tree in "What lives where", with the text that describes each."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split("## What lives where", 1)[1].split("\n## ", 1)[0]
    block = section.split("    exaone_cli/\n", 1)[1]
    entries: dict[str, str] = {}
    current = ""
    for line in block.splitlines():
        if not line.startswith("      "):
            break
        match = re.match(r"^      (\S+)\s{2,}(.*)$", line)
        if match and not line.startswith("       "):
            current = match.group(1)
            entries[current] = match.group(2)
        elif current:
            entries[current] += " " + line.strip()
    return entries


def _units() -> set[str]:
    return {
        p.name + ("/" if p.is_dir() else "")
        for p in PACKAGE.iterdir()
        if p.name not in NOT_LISTED and (p.suffix == ".py" or (p / "__init__.py").exists())
    }


def test_the_architecture_tree_names_every_top_level_module_and_package_and_nothing_else():
    listed = set(_tree())
    units = _units()
    assert units - listed == set(), f"in exaone_cli/ but not in docs/architecture.md: {units - listed}"
    assert listed - units == set(), f"in docs/architecture.md but not in exaone_cli/: {listed - units}"


def test_the_tree_names_only_files_that_exist_inside_each_package():
    # A package's description names its modules ("pipeline.py (batches ...)"): each must exist.
    for name, description in _tree().items():
        if not name.endswith("/"):
            continue
        for module in re.findall(r"\b([a-z_]+\.py)\b", description):
            found = list((PACKAGE / name).rglob(module))
            assert found, f"docs/architecture.md says {name} has {module}; it does not"


def _packages() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("__init__.py") if "templates" not in p.parts)


@pytest.mark.parametrize("init", _packages(), ids=lambda p: str(p.parent.relative_to(ROOT)))
def test_each_package_says_what_it_is_and_what_it_may_import(init: Path):
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
    if init.parent == PACKAGE:
        assert doc, "exaone_cli/__init__.py needs a docstring"
        return
    assert doc, f"{init} has no docstring"
    first, second = [*doc.splitlines(), "", ""][:2]
    assert first.strip(), f"{init}: the first line says what the package is"
    assert re.search(r"\bmay\b.*\bimport", second, re.IGNORECASE), (
        f"{init}: the second line says what the package may import, got {second!r}"
    )


@pytest.mark.parametrize(
    "module, name",
    [
        ("exaone_cli.api", "ask"),
        ("exaone_cli.api", "ocr_run"),
        ("exaone_cli.api", "dry_run"),
        ("exaone_cli.parse", "parse_answer"),
        ("exaone_cli.pages.text_layer", "read_text_layers"),
        ("exaone_cli.extract.runner", "extract_run"),
    ],
)
def test_the_documented_python_entry_points_import(module: str, name: str):
    assert callable(getattr(importlib.import_module(module), name))


def test_every_python_import_in_the_docs_resolves():
    # No stale import in any doc or example after a move.
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    imports = set()
    for page in pages:
        text = page.read_text(encoding="utf-8")
        imports |= set(re.findall(r"from (exaone_cli[\w.]*) import (\w+)", text))
        imports |= {(m, "") for m in re.findall(r"^\s*import (exaone_cli[\w.]*)", text, re.M)}
    assert imports, "the docs show no Python import: the check would test nothing"
    for module, name in sorted(imports):
        loaded = importlib.import_module(module)
        if name:
            assert hasattr(loaded, name), f"the docs import {name} from {module}; it is not there"


def test_no_module_imports_itself_back_through_another():
    # The layers contract keeps packages apart; this keeps modules inside a package from importing
    # each other in a circle (pipeline <-> read_ahead was one), lazy imports included.
    import grimp  # comes with import-linter ([dev])

    graph = grimp.build_graph("exaone_cli")
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                cycles.append((module, *back))
    assert cycles == [], f"import cycles: {cycles}"
