"""The folders an MCP server may read: paths an agent sends, resolved and confined to them.

An agent's path is resolved as a person would mean it (`~`, relative to a root, symbolic links
followed to where they point) and refused when it lands outside every root, so a link or `..`
cannot lead out. URLs are refused: the server reads local files only. A folder stands for the
documents directly inside it, told apart by their bytes as `exaone ocr` does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, UsageError
from ..inputs import readable_kind

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_HEAD = 1024


@dataclass(frozen=True)
class Roots:
    """The allowed folders, resolved (symbolic links followed), in the order given."""

    folders: tuple[Path, ...]

    @classmethod
    def of(cls, folders: Sequence[str | Path]) -> Roots:
        """The folders given (--root, default the working folder); UsageError for one that is not
        a folder, so the server refuses to start rather than refusing every call."""
        resolved: list[Path] = []
        for folder in folders or [Path.cwd()]:
            path = Path(os.path.expanduser(str(folder))).resolve()
            if not path.is_dir():
                raise UsageError(f"--root {folder}: not a folder", hint="give a folder the agent may read")
            resolved.append(path)
        return cls(tuple(dict.fromkeys(resolved)))

    def describe(self) -> str:
        return ", ".join(str(folder) for folder in self.folders)

    def contains(self, path: Path) -> bool:
        return any(path == root or path.is_relative_to(root) for root in self.folders)

    def resolve(self, text: str) -> Path:
        """The real path `text` names, inside a root: `~` expanded, a relative path taken from the
        first root where it exists (else the first root), symbolic links followed. InputError for
        a URL, a path outside every root, or nothing there."""
        name = text.strip()
        if not name:
            raise InputError("no path given", hint=f"name a file or folder under {self.describe()}")
        if _URL.match(name):
            raise InputError(
                f"{name}: URLs are not fetched; this server reads local files only",
                hint=f"save the document under {self.describe()} and give its path",
            )
        given = Path(os.path.expanduser(name))
        if not given.is_absolute():
            candidates = [root / given for root in self.folders]
            given = next((path for path in candidates if path.exists()), candidates[0])
        path = given.resolve()
        if not self.contains(path):
            raise InputError(
                f"{name}: outside the folders this server may read ({self.describe()})",
                hint="give a path under one of them, or start `exaone mcp` with --root FOLDER",
            )
        if not path.exists():
            raise InputError(f"{name}: no such file or folder", hint=f"paths are relative to {self.folders[0]}")
        return path

    def documents(self, paths: str) -> list[str]:
        """The files that `paths` names (one path a line; a folder stands for the PDFs and images
        directly in it, by name), as absolute paths for the core to open. InputError for any path
        refused, or a folder without a document."""
        files: list[str] = []
        for line in [line for line in paths.splitlines() if line.strip()] or [""]:
            path = self.resolve(line)
            if path.is_dir():
                found = folder_documents(path, self)
                if not found:
                    raise InputError(
                        f"{line.strip()}: no PDF, image or HWP/HWPX document directly in this folder",
                        hint="name the files, or a folder that holds them (subfolders are not searched)",
                    )
                files.extend(str(file) for file in found)
            else:
                files.append(str(path))
        return files


def folder_documents(folder: Path, roots: Roots) -> list[Path]:
    """The PDFs, images and HWP/HWPX documents directly in `folder`, by name, hidden files left out; a link that
    points outside the roots is left out too."""
    found: list[Path] = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        real = entry.resolve()
        if not real.is_file() or not roots.contains(real):
            continue
        try:
            with real.open("rb") as handle:
                head = handle.read(_HEAD)
        except OSError:
            continue
        if readable_kind(real, head) is not None:
            found.append(real)
    return found
