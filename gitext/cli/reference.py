"""The command reference in docs/commands.md, generated from each command's --help.

    .venv/bin/python -m gitext.cli.reference > docs/commands.md

tests/test_docs.py fails when the file and the commands drift apart.
"""

from __future__ import annotations

import click

from gitext.cli.app import COMMANDS, cli


def command_help(path: list[str], cmd: click.Command) -> str:
    # A fixed width and the group's own settings: the text must not depend on the terminal.
    root = click.Context(cli, info_name="git aircher", terminal_width=100, max_content_width=100,
                         **cli.context_settings)
    ctx = click.Context(cmd, info_name=" ".join(path), parent=root)
    return cmd.get_help(ctx)


def command_entries() -> list[tuple[list[str], click.Command]]:
    """Every command and subcommand, in the order of ``COMMANDS``, with its name path."""
    ctx = click.Context(cli)
    found: list[tuple[list[str], click.Command]] = []

    def walk(path: list[str], cmd: click.Command) -> None:
        found.append((path, cmd))
        # Every level: `knowledge patterns add` is three deep and was once left out.
        if isinstance(cmd, click.Group):
            for sub in sorted(cmd.commands):
                walk([*path, sub], cmd.commands[sub])

    for name in COMMANDS:
        cmd = cli.get_command(ctx, name)
        if cmd is not None:
            walk([name], cmd)
    return found


def render() -> str:
    out = ["# Command reference", "",
           "Generated from `--help` by `python -m gitext.cli.reference`; do not edit by hand.", ""]
    for path, cmd in command_entries():
        text = command_help(path, cmd).rstrip()
        out += [f"## git aircher {' '.join(path)}", "", "```text", text, "```", ""]
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
