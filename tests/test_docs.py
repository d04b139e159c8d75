"""Docs that tests keep true: every command has help and is documented, every config key too."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from gitext.cli.app import COMMANDS, cli
from gitext.config import format_value
from gitext.config_keys import KEYS

ROOT = Path(__file__).resolve().parents[1]
DOCS = "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])


def _all_commands() -> list[tuple[str, click.Command]]:
    """Every command at every level (`knowledge patterns add` is three deep)."""
    ctx = click.Context(cli)
    found: list[tuple[str, click.Command]] = []

    def walk(name: str, cmd: click.Command) -> None:
        found.append((name, cmd))
        if isinstance(cmd, click.Group):
            for sub, child in cmd.commands.items():
                walk(f"{name} {sub}", child)

    for name in COMMANDS:
        cmd = cli.get_command(ctx, name)
        assert cmd is not None, f"{name}: module missing"
        walk(name, cmd)
    return found


@pytest.mark.parametrize(("name", "cmd"), _all_commands(), ids=lambda v: v if isinstance(v, str)
                         else "")
def test_command_has_help_and_is_documented(name: str, cmd: click.Command) -> None:
    assert (cmd.help or "").strip(), f"{name} has no help text"
    found = re.search(rf"git aircher {re.escape(name)}\b", DOCS)
    assert found, f"`git aircher {name}` undocumented"


def test_command_reference_has_every_command_at_every_level() -> None:
    from gitext.cli.reference import render

    headings = set(re.findall(r"^## git aircher (.+)$", render(), re.M))
    names = {name for name, _ in _all_commands()}
    assert "knowledge patterns add" in names
    assert names - headings == set()


def test_command_reference_is_current() -> None:
    from gitext.cli.reference import render

    assert (ROOT / "docs" / "commands.md").read_text() == render(), (
        "regenerate: .venv/bin/python -m gitext.cli.reference > docs/commands.md")


def test_every_command_answers_help(aircher, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for name, _ in _all_commands():
        r = aircher(tmp_path, *name.split(), "--help")
        assert r.code == 0 and "Usage:" in r.out, name


def test_every_config_key_is_documented_with_its_default() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    for key in KEYS.values():
        section, name = key.name.rsplit(".", 1)
        block = text.split(f"## [{section}]", 1)
        assert len(block) == 2, section
        row = f"| `{name}` | `{format_value(key.default)}` | {key.help} |"
        assert row in block[1].split("\n## ")[0], key.name
