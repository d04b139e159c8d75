"""`git aircher help [COMMAND…]`: what `-h` prints, for people who type git's habit."""

from __future__ import annotations

import click


@click.command("help")
@click.argument("command", nargs=-1)
@click.pass_context
def help_command(ctx: click.Context, command: tuple[str, ...]) -> None:
    """Show the help of git-aircher, or of COMMAND (e.g. `git aircher help worktree list`)."""
    root = ctx.find_root()
    cmd: click.Command = root.command
    sub = root
    for name in command:
        if not isinstance(cmd, click.Group):
            raise click.UsageError(f"{sub.command_path} has no subcommands", sub)
        found = cmd.get_command(sub, name)
        if found is None:
            from gitext.cli.app import did_you_mean

            # As a mistyped command says it (QA round 24c: 05); help said only "no such
            # command" (known, session 22).
            raise click.UsageError(f"no such command '{name}' in {sub.command_path}."
                                   + did_you_mean(name, cmd.list_commands(sub)), sub)
        cmd = found
        sub = click.Context(cmd, info_name=name, parent=sub)
    click.echo(cmd.get_help(sub))
