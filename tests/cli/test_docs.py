"""docs/CLI.md documents every registered command and each of its options."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.core
import typer.main

from epochlog.cli import app

DOC = Path(__file__).resolve().parents[2] / "docs" / "CLI.md"


def commands() -> dict[str, Any]:
    found: dict[str, Any] = {}

    def walk(command: Any, path: list[str]) -> None:
        children = getattr(command, "commands", {})
        if path and not children:
            found[" ".join(path)] = command
        for name, child in children.items():
            walk(child, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def sections() -> dict[str, str]:
    """`### epochlog <command>` headings and the text under each."""
    text = DOC.read_text(encoding="utf-8")
    parts = re.split(r"^### `epochlog ([^`]+)`", text, flags=re.MULTILINE)
    return {command_name(title): body for title, body in zip(parts[1::2], parts[2::2])}


def command_name(title: str) -> str:
    """`subjects import participants.tsv` -> `subjects import`: the leading lower-case words."""
    words = []
    for word in title.split():
        if not re.fullmatch(r"[a-z][a-z-]*", word):
            break
        words.append(word)
    return " ".join(words)


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_command_is_documented(name: str) -> None:
    documented = sections()
    assert name in documented, f"docs/CLI.md has no '### `epochlog {name} ...`' section"
    for parameter in commands()[name].params:
        if isinstance(parameter, typer.core.TyperOption) and parameter.name != "help":
            longest = max(parameter.opts, key=len)
            assert longest in documented[name], f"docs/CLI.md, epochlog {name}: option {longest} is missing"


def test_no_stale_sections() -> None:
    assert set(sections()) <= set(commands()), "docs/CLI.md documents a command that does not exist"
