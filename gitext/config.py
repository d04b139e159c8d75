"""Layered TOML config: defaults < global config.toml < project config.toml < environment.

Only the CLI reads the environment; it hands the variables in as a mapping.
"""

from __future__ import annotations

import math
import os
import posixpath
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gitext.config_keys import HASH_DIMENSIONS, HASH_PREFIX, KEYS, SECTIONS, Key, Value
from gitext.errors import ConfigError

ENV_PREFIX = "AIRCHER_"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$", re.I)
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)?\s*$", re.I)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_SIZE_UNITS = {
    "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40,
}


def parse_duration(text: str) -> float:
    """Seconds in "500ms", "1s", "5m", "24h", "7d", "2w"."""
    m = _DURATION.match(text)
    # Too many digits make float() infinite, which no wait or date can use.
    if not m or not math.isfinite(float(m.group(1))):
        raise ValueError(f"a duration such as 30s, 5m, 24h or 7d, got {text!r}")
    return float(m.group(1)) * _DURATION_UNITS[m.group(2).lower()]


def parse_size(text: str) -> int:
    """Bytes in "10MB", "1GB", "512KiB" or a plain number of bytes."""
    m = _SIZE.match(text)
    if not m or not math.isfinite(float(m.group(1))):
        raise ValueError(f"a size such as 10MB or 1GB, got {text!r}")
    return int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "B").upper()])


def env_name(key: str) -> str:
    return ENV_PREFIX + key.upper().replace(".", "_")


_ENV_KEYS = {env_name(k): k for k in KEYS}


def coerce(key: Key, raw: object, *, bounded: bool = False) -> Value:
    """Check a value read from TOML (or typed on the command line) against its key.

    ``bounded`` (what `config set` asks) also refuses values `below_bound` names. Files and the
    environment are not refused for them: versions before wrote such values, and a setting that
    loaded yesterday must not stop every command and hook today (QA round 4: 06). `Config`
    leaves such a value unused instead, and says so (`Config.ignored`)."""
    kind = key.kind
    if isinstance(raw, str) and kind in ("int", "float", "fraction", "bool"):
        raw = _from_text(kind, raw)
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        raise ValueError(f"true or false, got {raw!r}")
    if kind == "int":
        if isinstance(raw, int) and not isinstance(raw, bool):
            # Wider than 64 bits is no TOML integer, and SQLite cannot take it as a parameter
            # (every search died of an OverflowError): refused in files too, as never valid.
            if not _INT64_MIN <= raw <= _INT64_MAX:
                raise ValueError(f"an integer from {_INT64_MIN} to {_INT64_MAX}, got {raw!r}")
            if bounded and (expected := below_bound(key, raw)):
                raise ValueError(f"{expected}, got {raw!r}")
            return raw
        raise ValueError(f"an integer, got {raw!r}")
    if kind in ("float", "fraction"):
        if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw):
            if kind == "fraction" and not 0.0 <= raw <= 1.0:
                raise ValueError(f"a number from 0 to 1, got {raw!r}")
            return float(raw)
        raise ValueError(f"a number, got {raw!r}")
    if not isinstance(raw, str):
        raise ValueError(f"a string, got {raw!r}")
    if kind == "enum":
        upper = raw.upper() if key.choices[0].isupper() else raw
        if upper not in key.choices:
            raise ValueError(f"one of {', '.join(key.choices)}, got {raw!r}")
        return upper
    if kind == "duration":
        parse_duration(raw)
    elif kind == "size":
        parse_size(raw)
    if bounded and (expected := below_bound(key, raw)):
        raise ValueError(f"{expected}, got {raw!r}")
    return raw


def below_bound(key: Key, value: Value) -> str | None:
    """What a value that parses but means nothing should have been, or None when it is in
    bounds. An int below the key's least (a pool of no connections, backups kept for 0 days)
    and a duration or size of 0 (giving up at once, running at every event, refusing
    everything) are never what was meant."""
    if key.kind == "int" and key.low is not None and isinstance(value, int) and value < key.low:
        return f"an integer of at least {key.low}"
    if key.kind == "duration" and isinstance(value, str) and parse_duration(value) <= 0:
        return "a duration longer than 0"
    if key.kind == "size" and isinstance(value, str) and parse_size(value) <= 0:
        return "a size larger than 0"
    if key.name == "storage.embeddings.embedding_model" and isinstance(value, str):
        rest = value.removeprefix(HASH_PREFIX)
        low, high = HASH_DIMENSIONS
        if rest != value and rest.isdigit() and not low <= int(rest) <= high:
            return f"{HASH_PREFIX}<N> with N from {low} to {high}"
    if key.name == "storage.data_dir" and isinstance(value, str) and _not_a_store_folder(value):
        return ("a folder of its own, not the work tree root nor git's own folder (such as"
                " .agents or .git/aircher)")
    return None


# Folders git itself walks or prunes: a store inside them hurts git.
_GIT_OWN = frozenset({"objects", "refs", "logs", "worktrees", "modules", "hooks", "info"})


def _not_a_store_folder(value: str) -> bool:
    """Whether a relative data_dir names the work tree root or git's own folder. At the root
    the store's folders lay among the project's files, with exclude lines (`/./db/`) that match
    nothing, and `git add -A` failed; as `.git`, its logs/ and worktrees/ went into git's, where
    `git fsck` found bad refs and `git worktree prune` deleted them (QA round 25c: 03)."""
    expanded = os.path.expanduser(value)
    if os.path.isabs(expanded):
        return False
    parts = posixpath.normpath(expanded.replace(os.sep, "/")).split("/")
    if parts == ["."]:
        return True
    return parts[0] == ".git" and (len(parts) == 1 or parts[1] in _GIT_OWN)


def _from_text(kind: str, text: str) -> object:
    t = text.strip()
    if kind == "bool":
        low = t.lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        return text
    try:
        return int(t) if kind == "int" else float(t)
    except ValueError:
        return text


def _flatten(data: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for name, value in data.items():
        full = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(_flatten(value, full + "."))
        else:
            flat[full] = value
    return flat


def read_file(path: Path, *, project: bool = False) -> dict[str, Value]:
    """The validated keys of one TOML file; {} when it does not exist."""
    return _checked(path, _entries(path), project=project)


def _entries(path: Path) -> dict[str, object]:
    """The file's keys as written, unchecked; {} when it does not exist."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}", hint="fix or remove the file") from exc
    return _flatten(data)


def _checked(path: Path, entries: Mapping[str, object], *, project: bool) -> dict[str, Value]:
    values: dict[str, Value] = {}
    for name, raw in entries.items():
        key = KEYS.get(name)
        if key is None:
            raise ConfigError(
                f"{path}: unknown key {name}", hint=_close_hint(name)
            )
        if project and key.global_only:
            raise ConfigError(
                f"{path}: {name} cannot be set per project",
                hint=f"set it in the global config.toml or {env_name(name)}",
            )
        try:
            values[name] = coerce(key, raw)
        except ValueError as exc:
            raise ConfigError(f"{path}: {name}: expected {exc}") from None
    return values


def _close_hint(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(KEYS), n=1)
    return f"did you mean {close[0]}?" if close else "`git aircher config list` shows every key"


def read_env(environ: Mapping[str, str]) -> dict[str, Value]:
    values: dict[str, Value] = {}
    for var, text in environ.items():
        name = _ENV_KEYS.get(var)
        if name is None:
            continue
        try:
            values[name] = coerce(KEYS[name], text)
        except ValueError as exc:
            raise ConfigError(f"environment {var}: expected {exc}") from None
    return values


@dataclass(frozen=True)
class Ignored:
    """A value a file or the environment gives that `below_bound` refuses: `config set` would
    not write it. Applied, `backup_retain_days = 0` deleted every backup but the newest and
    `conversation_archive_days = 0` archived every conversation, without a word (QA round 20c:
    03); refused, it would stop every command (QA round 4: 06). So it is left unused, the key
    keeping the value of the layer below (at last the default), and reported."""

    key: str
    value: Value
    source: str  # a file's path or "environment"
    expected: str
    is_global: bool = False  # the source is the global config.toml

    def where(self) -> str:
        return env_name(self.key) if self.source == "environment" else self.source


# The two names the spec gives one backup setting each (`Config.used`).
_PAIRED = {
    "storage.backup.enabled": "storage.backup_enabled",
    "storage.backup_enabled": "storage.backup.enabled",
    "storage.backup.backup_interval": "storage.backup_interval",
    "storage.backup_interval": "storage.backup.backup_interval",
}


def is_paired(name: str) -> bool:
    return name in _PAIRED

@dataclass
class Config:
    """The effective settings and where each came from."""

    values: dict[str, Value] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    ignored: list[Ignored] = field(default_factory=list)
    global_source: str | None = None  # the global config.toml's path, as `sources` names it

    @classmethod
    def load(
        cls,
        global_file: Path | None,
        project_file: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Config:
        cfg = cls({k: v.default for k, v in KEYS.items()}, dict.fromkeys(KEYS, "default"))
        if global_file is not None:
            cfg.global_source = str(global_file)
            cfg._layer(read_file(global_file), str(global_file), is_global=True)
        if project_file is not None:
            cfg._layer(read_file(project_file, project=True), str(project_file))
        cfg._layer(read_env(os.environ if environ is None else environ), "environment")
        return cfg

    def _layer(self, values: Mapping[str, Value], source: str, *, is_global: bool = False
               ) -> None:
        for name, value in values.items():
            if expected := below_bound(KEYS[name], value):
                self.ignored.append(Ignored(name, value, source, expected, is_global))
                continue
            self.values[name] = value
            self.sources[name] = source

    def layer(self, name: str) -> int:
        """Which layer the value of ``name`` came from: 0 the default, 1 the global file, 2 the
        project's, 3 the environment; of two keys for one setting, the later layer's wins."""
        source = self.sources.get(name, "default")
        if source == "default":
            return 0
        if source == "environment":
            return 3
        return 1 if source == self.global_source else 2

    def used(self, name: str) -> str:
        """The key whose value is in force for ``name``: itself, or its pair's other key.

        The spec names the backup settings twice, [storage] backup_enabled and backup_interval,
        [storage.backup] enabled and backup_interval. Of a pair, the key set in the later layer
        is used, as for any one key (before, [storage.backup]'s took any layer's value, so a
        user-wide interval beat the project's own: QA round 25c: 05). Within one layer,
        [storage.backup]'s interval, and backups are on only when both keys say so."""
        other = _PAIRED.get(name)
        if other is None:
            return name
        if self.layer(name) != self.layer(other):
            return max(name, other, key=self.layer)
        if name.endswith("enabled"):
            return name if self.values[name] is False or self.values[other] is True else other
        return name if name.startswith("storage.backup.") else other

    def effective(self, name: str) -> Value:
        """What ``name`` is in force at: its own value, or its pair's (`used`)."""
        self.get(name)
        return self.values[self.used(name)]

    def get(self, name: str) -> Value:
        if name not in KEYS:
            raise ConfigError(f"unknown key {name}", hint=_close_hint(name))
        return self.values[name]

    def text(self, name: str) -> str:
        return str(self.get(name))

    def integer(self, name: str) -> int:
        value = self.get(name)
        assert isinstance(value, int)
        return value

    def number(self, name: str) -> float:
        value = self.get(name)
        assert isinstance(value, int | float)
        return float(value)

    def flag(self, name: str) -> bool:
        return bool(self.get(name))

    def seconds(self, name: str) -> float:
        return parse_duration(self.text(name))

    def size(self, name: str) -> int:
        return parse_size(self.text(name))


def ignored_lines(cfg: Config) -> list[tuple[str, str]]:
    """(message, hint) for each value left unused as out of bounds: `config get` and `list`
    print them as warnings, `status` and `health` as warnings, doctor as findings."""
    out = []
    for ig in cfg.ignored:
        used = format_value(cfg.values[ig.key])
        message = (f"{ig.key} = {format_value(ig.value)} in {ig.where()} is not used (expected"
                   f" {ig.expected}); {used} is used instead")
        if ig.source == "environment":
            hint = f"unset {env_name(ig.key)} or give it a value in bounds"
        else:
            flag = " --global" if ig.is_global else ""
            hint = (f"`git aircher config set {ig.key} VALUE{flag}` or `git aircher config"
                    f" unset {ig.key}{flag}` mends {ig.source}")
        out.append((message, hint))
    return out


def format_value(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def to_toml(values: Mapping[str, Value]) -> str:
    """Our keys as TOML, one table per section, in the order of the key table."""
    out: list[str] = []
    for section in SECTIONS:
        rows = [(n, v) for n, v in values.items() if n.rsplit(".", 1)[0] == section]
        if not rows:
            continue
        out.append(f"[{section}]")
        out.extend(f"{n.rsplit('.', 1)[1]} = {format_value(v)}" for n, v in rows)
        out.append("")
    return "\n".join(out)


def set_value(path: Path, name: str, text: str, *, project: bool) -> Value:
    """Write one key into a config file, keeping its other keys; returns the stored value."""
    key = KEYS.get(name)
    if key is None:
        raise ConfigError(f"unknown key {name}", hint=_close_hint(name))
    if project and key.global_only:
        raise ConfigError(f"{name} cannot be set per project", hint="use --global")
    try:
        value = coerce(key, text, bounded=True)
    except ValueError as exc:
        raise ConfigError(f"{name}: expected {exc}") from None
    # The file's own mistake in this key (a bad value) is what this call mends: only the
    # other keys must load.
    entries = _entries(path)
    entries[name] = value
    values = _checked(path, entries, project=project)
    _write(path, values)
    return value


def unset_value(path: Path, name: str, *, project: bool) -> bool:
    """Remove one key from a config file; False when it was not there. A key the file holds
    goes even when it is unknown (a typo) or its value bad: that mends the file."""
    entries = _entries(path)
    if name not in KEYS and name not in entries:
        raise ConfigError(f"unknown key {name}", hint=_close_hint(name))
    present = entries.pop(name, None) is not None
    values = _checked(path, entries, project=project)
    if not present:
        return False
    _write(path, values)
    return True


def _write(path: Path, values: Mapping[str, Value]) -> None:
    # Through a symlink (a config kept with the user's dotfiles), as git writes ~/.gitconfig:
    # the rename below would otherwise put a plain file in the link's place.
    path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    # Owner-only: the project's sits in `.agents/`, which other users may list (an endpoint
    # URL can carry a user name and password).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a leftover of a killed write kept its own mode
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(to_toml(values))
    os.replace(tmp, path)
