from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gitext.config import (
    Config,
    ignored_lines,
    parse_duration,
    parse_size,
    read_file,
    set_value,
)
from gitext.config_keys import KEYS
from gitext.errors import ConfigError

SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec" / "storage-architecture.md"


@pytest.mark.skipif(not SPEC.exists(), reason=f"the specification is not at {SPEC}")
def test_every_key_of_the_spec_has_a_default() -> None:
    import re

    text = SPEC.read_text()
    found = set()
    for block in re.findall(r"```toml\n(.*?)```", text, re.S):
        section = None
        for line in block.splitlines():
            m = re.match(r"\[(.+)\]", line.strip())
            if m:
                section = m.group(1)
            elif "=" in line and not line.strip().startswith("#") and section:
                found.add(f"{section}.{line.split('=')[0].strip()}")
    assert found and found <= set(KEYS), found - set(KEYS)


@pytest.mark.parametrize(("text", "seconds"), [("500ms", 0.5), ("1s", 1), ("5m", 300),
                                               ("24h", 86400), ("7d", 604800), ("2w", 1209600)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("text", "size"), [("10MB", 10_000_000), ("1GB", 10**9),
                                            ("512KiB", 524288), ("100", 100)])
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_layers_in_order(tmp_path: Path) -> None:
    g = tmp_path / "global.toml"
    p = tmp_path / "project.toml"
    g.write_text('[storage.sqlite]\ncache_size = -1000\nsynchronous = "FULL"\n'
                 '[storage.backup]\nbackup_interval = "12h"\n')
    p.write_text("[storage.sqlite]\ncache_size = -2000\n")
    cfg = Config.load(g, p, {"AIRCHER_STORAGE_BACKUP_BACKUP_INTERVAL": "6h"})
    assert cfg.integer("storage.sqlite.cache_size") == -2000
    assert cfg.sources["storage.sqlite.cache_size"] == str(p)
    assert cfg.text("storage.sqlite.synchronous") == "FULL"
    assert cfg.seconds("storage.backup.backup_interval") == 6 * 3600
    assert cfg.sources["storage.backup.backup_interval"] == "environment"
    assert cfg.size("storage.max_db_size") == 10**9  # default


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[storage\n", "not valid TOML"),
        ("[storage]\nmax_db_sise = '1GB'\n", "unknown key storage.max_db_sise"),
        ("[storage.sqlite]\ncache_size = 'big'\n",
         "storage.sqlite.cache_size: expected an integer"),
        ("[storage.backup]\nbackup_interval = '3 fortnights'\n", "expected a duration"),
        ("[storage]\nmax_db_size = 'huge'\n", "expected a size"),
        ("[storage.sqlite]\njournal_mode = 'FAST'\n", "expected one of WAL"),
        ("[storage.monitoring]\ndisk_usage_alert_threshold = 1.5\n", "from 0 to 1"),
        ("[storage.embeddings]\nenabled = 'maybe'\n", "true or false"),
        # QA round 13b: 02. Wider than 64 bits: every search died of an OverflowError.
        ("[storage.sync]\nhistory_limit = 99999999999999999999999\n",
         "history_limit: expected an integer from -9223372036854775808 to 9223372036854775807"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(content)
    with pytest.raises(ConfigError) as err:
        read_file(path)
    assert message in err.value.message
    assert str(path) in err.value.message
    assert err.value.exit_code == 2


@pytest.mark.parametrize(
    ("key", "text", "message"),
    [
        # QA round 3: values that parse but mean nothing were taken as they were.
        ("storage.backup.backup_retain_days", "-5", "an integer of at least 1, got -5"),
        ("storage.performance.concurrent_reads", "0", "an integer of at least 1, got 0"),
        ("storage.embeddings.dimension", "0", "an integer of at least 1, got 0"),
        ("storage.lifecycle.session_expire_after", "0s", "a duration longer than 0, got '0s'"),
        ("storage.max_db_size", "0MB", "a size larger than 0, got '0MB'"),
        ("storage.sqlite.mmap_size", "-1", "an integer of at least 0, got -1"),
        # QA round 13b: 02: not even a TOML integer; search and relevant then crashed.
        ("storage.sync.history_limit", "99999999999999999999999",
         "an integer from -9223372036854775808 to 9223372036854775807,"
         " got 99999999999999999999999"),
        ("storage.sqlite.cache_size", "-9223372036854775809",
         "an integer from -9223372036854775808 to 9223372036854775807,"
         " got -9223372036854775809"),
    ],
)
def test_set_refuses_values_that_mean_nothing(tmp_path: Path, key: str, text: str,
                                              message: str) -> None:
    path = tmp_path / "config.toml"
    with pytest.raises(ConfigError) as err:
        set_value(path, key, text, project=False)
    assert err.value.message == f"{key}: expected {message}"
    assert not path.exists()


def test_a_file_written_before_the_bounds_still_loads(tmp_path: Path) -> None:
    """QA round 4: values an earlier `config set` wrote must not stop every command now."""
    path = tmp_path / "config.toml"
    path.write_text("[storage.backup]\nbackup_retain_days = 0\n"
                    "[storage.lifecycle]\nsession_expire_after = '0s'\n")
    values = read_file(path)
    assert values["storage.backup.backup_retain_days"] == 0
    assert values["storage.lifecycle.session_expire_after"] == "0s"


def test_unknown_key_suggests_the_close_one(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[storage]\nmax_db_sise = '1GB'\n")
    with pytest.raises(ConfigError) as err:
        read_file(path)
    assert err.value.hint == "did you mean storage.max_db_size?"


def test_bad_environment_value() -> None:
    with pytest.raises(ConfigError, match="AIRCHER_STORAGE_SQLITE_CACHE_SIZE"):
        Config.load(None, None, {"AIRCHER_STORAGE_SQLITE_CACHE_SIZE": "lots"})


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e20", "-1e12", "253402300800",
                                   "253402300799", "253370764801"])
def test_aircher_now_out_of_range_is_one_error_line(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                                    value: str) -> None:
    """`float()` took nan, inf and epochs past the year 9999 or before the year 1, and the
    first timestamp a writing command made crashed ("unexpected OverflowError", exit 3, a
    crash log) instead of the documented check (QA round 20c: 10). The last second of 9999 was
    accepted, then `index` crashed adding a day to it (a relevance score's expiry, "year 10000
    is out of range"): the last accepted second is now the start of 9999, a year of headroom
    for what is added to now (QA round 21a: 04)."""
    from tests.conftest import run_git_aircher

    assert run_git_aircher(repo, "init").code == 0
    monkeypatch.setenv("AIRCHER_NOW", value)
    result = run_git_aircher(repo, "session", "start", "feature", "x")
    assert result.code == 2, result.err
    assert result.err.startswith("error: AIRCHER_NOW must be epoch seconds"), result.err
    assert "unexpected" not in result.err and not list((repo / ".agents/logs").glob("crash-*"))


@pytest.mark.parametrize("value", ["-62135596800", "253370764800"])
def test_aircher_now_at_the_ends_of_the_calendar_works(repo: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       value: str) -> None:
    """The first second a timestamp can name (year 1) and the start of the year 9999 are
    accepted, and work: the commands that add intervals to now (`index`: relevance scores
    expire a day later) too (QA round 21a: 04)."""
    from tests.conftest import run_git_aircher

    assert run_git_aircher(repo, "init").code == 0
    monkeypatch.setenv("AIRCHER_NOW", value)
    (repo / "more.txt").write_text("more\n")
    for args in (("session", "start", "feature", "x"), ("backup", "create"), ("health",),
                 ("index",), ("sync",)):
        result = run_git_aircher(repo, *args)
        assert result.code == 0, (args, result.err)


def test_data_dir_is_refused_per_project(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[storage]\ndata_dir = 'elsewhere'\n")
    with pytest.raises(ConfigError, match="cannot be set per project"):
        read_file(path, project=True)


def test_cli_set_get_list(repo: Path, aircher) -> None:  # type: ignore[no-untyped-def]
    assert aircher(repo, "init").code == 0
    r = aircher(repo, "config", "set", "storage.sqlite.cache_size", "-4000")
    assert r.code == 0, r.err
    assert aircher(repo, "config", "get", "storage.sqlite.cache_size").out.strip() == "-4000"
    assert "cache_size = -4000" in (repo / ".agents" / "config.toml").read_text()
    r = aircher(repo, "config", "set", "--global", "storage.backup.backup_interval", "12h")
    assert r.code == 0
    assert (Path(os.environ["AIRCHER_HOME"]) / "config.toml").exists()
    import json

    rows = json.loads(aircher(repo, "config", "list", "--json").out)
    by_key = {r["key"]: r for r in rows}
    assert by_key["storage.backup.backup_interval"]["value"] == "12h"
    assert set(by_key) == set(KEYS)
    bad = aircher(repo, "config", "set", "storage.sqlite.cache_size", "lots")
    assert bad.code == 2 and bad.err.startswith("error: storage.sqlite.cache_size: expected")
    bad = aircher(repo, "config", "set", "storage.backup.backup_retain_days", "-5")
    assert bad.code == 2 and bad.err.startswith(
        "error: storage.backup.backup_retain_days: expected an integer of at least 1"), bad.err
    assert aircher(repo, "config", "set", "storage.sqlite.mmap_size", "0").code == 0
    assert aircher(repo, "config", "unset", "storage.sqlite.cache_size").code == 0
    assert aircher(repo, "config", "get", "storage.sqlite.cache_size").out.strip() == "-64000"


def test_broken_config_file_is_one_error_line(repo: Path, aircher) -> None:  # type: ignore[no-untyped-def]
    home = Path(os.environ["AIRCHER_HOME"])
    home.mkdir(parents=True)
    (home / "config.toml").write_text("[storage.sqlite]\ncache_size = 'x'\n")
    r = aircher(repo, "status")
    assert r.code == 2
    lines = r.err.strip().splitlines()
    assert lines[0].startswith("error: ") and "config.toml" in lines[0] and "cache_size" in lines[0]
    assert "Traceback" not in r.err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[storage]\nmax_db_size = 1000000\n", "storage.max_db_size: expected a string"),
        ("[storage]\nmax_db_sise = '2GB'\n", "unknown key storage.max_db_sise"),
        ("[storage\n", "not valid TOML"),
    ],
)
def test_get_and_list_report_a_broken_project_file(repo: Path, aircher, content: str,  # type: ignore[no-untyped-def]
                                                   message: str) -> None:
    """QA round 13b: 09. They showed the defaults (exit 0) while every other command refused."""
    assert aircher(repo, "init").code == 0
    path = repo / ".agents" / "config.toml"
    path.write_text(content)
    for args in (("get", "storage.max_db_size"), ("list",), ("list", "--json")):
        r = aircher(repo, "config", *args)
        assert r.code == 2 and r.out == "", (args, r)
        first = r.err.splitlines()[0]
        assert first.startswith(f"error: {path}: ") and message in first, (args, r.err)
        assert "Traceback" not in r.err


def test_set_and_unset_mend_the_key_they_change(repo: Path, aircher) -> None:  # type: ignore[no-untyped-def]
    """QA round 13b: 09. A misspelt key goes with `config unset`, a bad value with `config
    set`; a mistake in another key stays an error and nothing is written."""
    assert aircher(repo, "init").code == 0
    path = repo / ".agents" / "config.toml"
    path.write_text("[storage]\nmax_db_sise = '2GB'\n[storage.sqlite]\ncache_size = -2000\n")
    r = aircher(repo, "config", "unset", "storage.max_db_sise")
    assert r.code == 0, r.err
    assert aircher(repo, "config", "get", "storage.sqlite.cache_size").out.strip() == "-2000"
    path.write_text("[storage]\nmax_db_size = 5\n")
    assert aircher(repo, "config", "set", "storage.max_db_size", "2GB").code == 0
    assert aircher(repo, "config", "get", "storage.max_db_size").out.strip() == "2GB"
    broken = "[storage]\nmax_db_size = 5\n[storage.sqlite]\ncache_size = 'x'\n"
    path.write_text(broken)
    r = aircher(repo, "config", "set", "storage.max_db_size", "2GB")
    assert r.code == 2 and "cache_size: expected an integer" in r.err
    assert path.read_text() == broken
    r = aircher(repo, "config", "unset", "storage.nothing_like_it")
    assert r.code == 2 and r.err.startswith("error: unknown key storage.nothing_like_it")


def test_durations_and_sizes_too_long_to_use(tmp_path: Path) -> None:
    """QA round 13b: 03. Digits enough to make float() infinite are no duration or size (the
    opening of every database died converting one); a busy_timeout of "999999d" ("as long as
    it takes") is as long as SQLite's C int holds, not wrapped round to no wait at all."""
    from gitext.store.connection import Pragmas

    path = tmp_path / "config.toml"
    for key, text in (("storage.sqlite.busy_timeout", "9" * 400 + "d"),
                      ("storage.max_db_size", "9" * 400 + "GB")):
        section, name = key.rsplit(".", 1)
        path.write_text(f"[{section}]\n{name} = '{text}'\n")
        with pytest.raises(ConfigError, match=f"{name}: expected a"):
            read_file(path)
    path.write_text("[storage.sqlite]\nbusy_timeout = '999999d'\n")
    assert Pragmas.from_config(Config.load(path)).busy_timeout_ms == 2**31 - 1


def test_values_out_of_bounds_in_files_and_env_are_not_used(tmp_path: Path) -> None:
    """QA round 20c: 03. `config set` refuses a retention of 0, but the same value in a file
    or the environment was applied: every backup but one deleted, every conversation archived,
    a backup after every event. It is now left unused, the layer below's value taken, and
    reported."""
    g = tmp_path / "global.toml"
    p = tmp_path / "project.toml"
    g.write_text("[storage.backup]\nbackup_retain_days = 60\n")
    p.write_text("[storage.backup]\nbackup_retain_days = 0\nbackup_interval = '0s'\n"
                 "[storage.lifecycle]\nconversation_archive_days = -5\n"
                 "conversation_max_per_project = 0\n[storage]\nmax_db_size = '0MB'\n")
    env = {"AIRCHER_STORAGE_LIFECYCLE_SESSION_EXPIRE_AFTER": "0s",
           "AIRCHER_STORAGE_SQLITE_MMAP_SIZE": "0"}  # mmap_size may be 0: used
    cfg = Config.load(g, p, env)
    assert cfg.integer("storage.backup.backup_retain_days") == 60
    assert cfg.sources["storage.backup.backup_retain_days"] == str(g)
    assert cfg.seconds("storage.backup.backup_interval") == 86400
    assert cfg.integer("storage.lifecycle.conversation_archive_days") == 365
    assert cfg.integer("storage.lifecycle.conversation_max_per_project") == 1000
    assert cfg.size("storage.max_db_size") == 10**9
    assert cfg.seconds("storage.lifecycle.session_expire_after") == 86400
    assert cfg.integer("storage.sqlite.mmap_size") == 0
    assert {(i.key, i.source) for i in cfg.ignored} == {
        ("storage.backup.backup_retain_days", str(p)),
        ("storage.backup.backup_interval", str(p)),
        ("storage.lifecycle.conversation_archive_days", str(p)),
        ("storage.lifecycle.conversation_max_per_project", str(p)),
        ("storage.max_db_size", str(p)),
        ("storage.lifecycle.session_expire_after", "environment"),
    }
    lines = dict(ignored_lines(cfg))
    assert (f"storage.backup.backup_retain_days = 0 in {p} is not used (expected an integer"
            " of at least 1); 60 is used instead") in lines
    assert ("storage.lifecycle.session_expire_after = \"0s\" in"
            " AIRCHER_STORAGE_LIFECYCLE_SESSION_EXPIRE_AFTER is not used (expected a duration"
            " longer than 0); \"24h\" is used instead") in lines


def test_a_retention_of_zero_in_the_file_deletes_no_backup(  # type: ignore[no-untyped-def]
        repo: Path, aircher, monkeypatch: pytest.MonkeyPatch) -> None:
    """QA round 20c: 03. `backup_retain_days = 0` in .agents/config.toml loaded without a word
    (config get said 0, doctor healthy) and `maintain --daily` deleted every backup but the
    newest; now the value is not used, and config, status and doctor say so."""
    import json

    monkeypatch.setenv("AIRCHER_SKIP", "1")  # no worker running on its own schedule
    now = 1_900_000_000
    monkeypatch.setenv("AIRCHER_NOW", str(now))
    assert aircher(repo, "init").code == 0
    for days in (3, 2, 1):
        monkeypatch.setenv("AIRCHER_NOW", str(now - days * 86400))
        assert aircher(repo, "backup", "create").code == 0
    monkeypatch.setenv("AIRCHER_NOW", str(now))
    path = repo / ".agents" / "config.toml"
    with path.open("a") as f:
        f.write("[storage.backup]\nbackup_retain_days = 0\n")
    r = aircher(repo, "maintain", "--daily")
    assert r.code == 0, r.err
    assert len(json.loads(aircher(repo, "backup", "list", "--json").out)) == 3
    said = (f"storage.backup.backup_retain_days = 0 in {path} is not used (expected an"
            " integer of at least 1); 30 is used instead")
    r = aircher(repo, "config", "get", "storage.backup.backup_retain_days")
    assert r.code == 0 and r.out == "30\n"
    assert r.err.splitlines()[0] == f"warning: {said}"
    assert "config set storage.backup.backup_retain_days VALUE" in r.err
    r = aircher(repo, "config", "get", "storage.sqlite.cache_size")
    assert r.code == 0 and r.err == ""  # only the key asked for
    assert f"warning: {said}" in aircher(repo, "config", "list").err
    assert said in aircher(repo, "status").out
    r = aircher(repo, "doctor", "--json")
    assert r.code == 1
    found = [f for f in json.loads(r.out)["findings"] if f["check"] == "setting_ignored"]
    assert [(f["severity"], f["message"]) for f in found] == [("warning", said)]
    # The environment's value is held to the same bounds.
    path.write_text("")
    monkeypatch.setenv("AIRCHER_STORAGE_BACKUP_BACKUP_RETAIN_DAYS", "-5")
    assert aircher(repo, "maintain", "--daily").code == 0
    assert len(json.loads(aircher(repo, "backup", "list", "--json").out)) == 3
    r = aircher(repo, "config", "get", "storage.backup.backup_retain_days")
    assert r.out == "30\n" and "AIRCHER_STORAGE_BACKUP_BACKUP_RETAIN_DAYS" in r.err


@pytest.mark.parametrize("value", [".git", ".git/", "./.git", ".", "./", "", ".git/logs",
                                   ".git/worktrees/x"])
def test_data_dir_in_git_s_folder_or_the_work_tree_root_is_refused(  # type: ignore[no-untyped-def]
        repo: Path, aircher, value: str) -> None:
    """`storage.data_dir` `.git` built the store in git's own folder (its logs/ among git's
    reflogs, its worktrees/ where `git worktree prune` deletes them, `git fsck` saying "bad
    ref"); `.`, `./` and "" spread it over the work tree root, with exclude lines that matched
    nothing, and every `git add -A` failed (QA round 25c: 03). `config set` refuses them;
    written by hand, such a value is not used, and said so."""
    r = aircher(repo, "config", "set", "storage.data_dir", value, "--global")
    assert r.code == 2 and r.out == "", r.err
    assert r.err.startswith("error: storage.data_dir: expected a folder of its own"), r.err
    glob = Path(os.environ["AIRCHER_HOME"]) / "config.toml"
    assert not glob.exists() or "data_dir" not in glob.read_text()
    glob.parent.mkdir(parents=True, exist_ok=True)
    glob.write_text(f"[storage]\ndata_dir = {json.dumps(value)}\n")
    assert aircher(repo, "init").code == 0
    assert (repo / ".agents" / "db" / "core" / "knowledge.db").is_file()
    assert not (repo / "db").exists() and not (repo / ".git" / "db").exists()
    r = aircher(repo, "config", "get", "storage.data_dir")
    assert r.out == ".agents\n" and r.err.startswith("warning: storage.data_dir = "), r.err


def test_unset_of_a_key_the_file_does_not_hold_says_so(repo: Path, aircher) -> None:  # type: ignore[no-untyped-def]
    """`config unset KEY` where the file does not hold KEY (set only in the other layer, or
    nowhere) exited 0 without a word, and the value stayed (QA round 25c: 08). As `git config
    --unset`, it fails now, and says where the value comes from."""
    assert aircher(repo, "init").code == 0
    glob = Path(os.environ["AIRCHER_HOME"]) / "config.toml"
    own = repo / ".agents" / "config.toml"
    assert aircher(repo, "config", "set", "storage.sync.history_limit", "5", "--global").code == 0
    r = aircher(repo, "config", "unset", "storage.sync.history_limit")
    assert r.code == 1 and r.out == "", r.err
    assert r.err.splitlines() == [
        f"error: storage.sync.history_limit is not set in {own}",
        f"hint: it is set in {glob}: `git aircher config unset storage.sync.history_limit"
        " --global`"]
    r = aircher(repo, "config", "unset", "storage.max_db_size", "--global")
    assert r.code == 1 and r.err.splitlines() == [
        f"error: storage.max_db_size is not set in {glob}",
        "hint: it has its default value, \"1GB\""], r.err
    assert aircher(repo, "config", "set", "storage.max_db_size", "2GB").code == 0
    r = aircher(repo, "config", "unset", "storage.max_db_size", "--global")
    assert r.code == 1 and r.err.splitlines()[1] == (
        f"hint: it is set in {own}: `git aircher config unset storage.max_db_size`"), r.err
    assert aircher(repo, "config", "unset", "storage.max_db_size").code == 0
    assert aircher(repo, "config", "unset", "storage.sync.history_limit", "--global").code == 0
