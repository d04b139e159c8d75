"""`git aircher config get|set|unset|list`."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import click

from gitext import config as cfgmod
from gitext.cli.app import App
from gitext.cli.output import emit_json, json_option, table
from gitext.config_keys import KEYS
from gitext.errors import AircherError, ConfigError, UsageError
from gitext.layout import GlobalLayout

global_option = click.option(
    "--global", "is_global", is_flag=True, help="The user-wide config.toml, not the project's."
)


@click.group()
def config() -> None:
    """Read and write settings (defaults < global < project < AIRCHER_* environment)."""


def _effective(app: App) -> cfgmod.Config:
    try:
        return app.project().config  # type: ignore[no-any-return]
    except ConfigError:
        # A config file that does not load is reported as every other command reports it:
        # showing the defaults instead would hide the very mistake being looked for.
        raise
    except UsageError:
        # Outside a repository only the global layers exist.
        layout = GlobalLayout(app.global_root)
        layout.check()
        return cfgmod.Config.load(layout.config)


@config.command("get")
@click.argument("key")
@json_option
@click.pass_obj
def get(app: App, key: str, as_json: bool) -> None:
    """Print the effective value of KEY."""
    cfg = _effective(app)
    value = cfg.effective(key)
    _warn_ignored(cfg, key)
    if as_json:
        emit_json(_row(cfg, key, value))
    else:
        click.echo(cfgmod.format_value(value).strip('"'))


@contextlib.contextmanager
def _target(app: App, is_global: bool) -> Iterator[tuple[Path, bool]]:
    """The file to change and whether it is the project's."""
    if is_global:
        layout = GlobalLayout(app.global_root)
        layout.check()
        layout.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        yield layout.config, False
        return
    try:
        project = app.project()
    except ConfigError:
        # The project's config.toml does not load: `set` and `unset` may be what mends it (a
        # bad value replaced, a misspelt key removed); its other keys are checked as it is
        # written. A mistake in the global file or the environment is still raised here.
        from gitext.project import Project

        project = Project.locate(app.cwd, app.global_root, os.environ, own_settings=False)
    project.require_init()
    from gitext.config_copy import tracked
    from gitext.lifecycle.exposure import mend

    if tracked(project.layout, project.repo.info.main_root):
        raise UsageError(f"{project.layout.config} is a file of the project's own on this branch",
                         "git aircher keeps its settings there too; switch to a branch that does"
                         " not track it, or use --global")
    # A config.toml that `git clean -x` removed comes back before it is changed, so the
    # change keeps the other settings; then the copy takes the change.
    mend(project)
    yield project.layout.config, True
    mend(project)


# Values such as -64000 are values, not options: git config takes them that way too.
@config.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("key")
@click.argument("value")
@global_option
@click.pass_obj
def set_(app: App, key: str, value: str, is_global: bool) -> None:
    """Store VALUE for KEY in the project's (or with --global the user's) config.toml."""
    with _target(app, is_global) as (path, project):
        cfgmod.set_value(path, key, value, project=project)
    _warn_unused(app, key, path if project else None)


def _warn_ignored(cfg: cfgmod.Config, key: str | None = None) -> None:
    """A value out of bounds in a file or the environment is not used: said where it is read."""
    for ig, (message, hint) in zip(cfg.ignored, cfgmod.ignored_lines(cfg), strict=True):
        if key is None or ig.key == key:
            click.echo(f"warning: {message}", err=True)
            click.echo(f"hint: {hint}", err=True)


def _warn_unused(app: App, key: str, project_file: Path | None) -> None:
    """A value the spec allows that cannot take effect here is kept, and said."""
    from gitext.search.unused import unused_settings

    cfg = cfgmod.Config.load(GlobalLayout(app.global_root).config, project_file, os.environ)
    for unused in unused_settings(cfg):
        if key in unused.keys:
            click.echo(f"warning: {unused.message}", err=True)


@config.command("unset")
@click.argument("key")
@global_option
@click.pass_obj
def unset(app: App, key: str, is_global: bool) -> None:
    """Remove KEY from the project's (or the user's) config.toml; an error if it holds none."""
    with _target(app, is_global) as (path, project):
        removed = cfgmod.unset_value(path, key, project=project)
    if not removed:
        # As `git config --unset`: exit 0 without a word left the user thinking the value
        # gone, when the other file still gave it (QA round 25c: 08).
        raise AircherError(f"{key} is not set in {path}", _where_set(app, key))


def _where_set(app: App, key: str) -> str | None:
    """Where the effective value of ``key`` comes from, and how to remove it there."""
    try:
        cfg = _effective(app)
    except AircherError:
        return None  # a broken layer: the other commands say which
    source = cfg.sources[key]
    if source == "default":
        return f"it has its default value, {cfgmod.format_value(cfg.values[key])}"
    if source == "environment":
        return f"it is set by {cfgmod.env_name(key)} in the environment: unset that variable"
    flag = " --global" if source == cfg.global_source else ""
    return f"it is set in {source}: `git aircher config unset {key}{flag}`"


@config.command("list")
@json_option
@click.pass_obj
def list_(app: App, as_json: bool) -> None:
    """Every key with its effective value and where it came from."""
    cfg = _effective(app)
    _warn_ignored(cfg)
    if as_json:
        emit_json([{**_row(cfg, k, cfg.effective(k)), "default": KEYS[k].default,
                    "help": KEYS[k].help} for k in KEYS])
        return
    table(
        ["key", "value", "source"],
        [(k, cfgmod.format_value(cfg.effective(k)), _source(cfg, k)) for k in KEYS],
    )


def _row(cfg: cfgmod.Config, key: str, value: object) -> dict[str, object]:
    """A key's JSON: with `via`, the key in force, for a backup setting the spec names twice
    (each showed its own value, `true` for backups the other key had turned off)."""
    row = {"key": key, "value": value, "source": cfg.sources[cfg.used(key)]}
    if cfgmod.is_paired(key):
        row["via"] = cfg.used(key)
    return row


def _source(cfg: cfgmod.Config, key: str) -> str:
    used = cfg.used(key)
    if used == key or cfg.sources[used] == "default":
        return cfg.sources[used]
    return f"{cfg.sources[used]} (as {used})"
