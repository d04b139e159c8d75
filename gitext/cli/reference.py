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
                         help_option_names=["-h", "--help"])
    ctx = click.Context(cmd, info_name=" ".join(path), parent=root)
    return cmd.get_help(ctx)


def render() -> str:
    ctx = click.Context(cli)
    out = ["# Command reference", "",
           "Generated from `--help` by `python -m gitext.cli.reference`; do not edit by hand.", ""]
    for name in COMMANDS:
        cmd = cli.get_command(ctx, name)
        if cmd is None:
            continue
        entries = [([name], cmd)]
        if isinstance(cmd, click.Group):
            entries += [([name, sub], cmd.commands[sub]) for sub in sorted(cmd.commands)]
        for path, c in entries:
            out += [f"## git aircher {' '.join(path)}", "", "```text", command_help(path, c).rstrip(),
                    "```", ""]
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
