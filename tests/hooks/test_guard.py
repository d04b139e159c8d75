"""The pre-commit guard: through our real shim and the real git-aircher in `git commit`, and
in process for the finer cases (binary, large, warnings, config)."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from gitext.hooks.guard import check_staged, guard_main, store_prefix
from gitext.hooks.install import install_hooks
from gitext.hooks.shims import render_shim
from gitext.index import secrets
from tests.conftest import commit, git, head, write
from tests.hooks import fake_tool, log_lines, run

AWS_KEY = "AKIA" + "ABCDEFGHIJKLMNOP"  # split so this file does not trip scanners itself


@pytest.fixture
def guarded(repo: Path) -> Path:
    install_hooks(repo)  # the real git-aircher of this checkout behind the shims
    return repo


def try_commit(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run(repo, "git", "commit", "-q", "-m", "attempt", *args)



def sqlite_file(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    return path.read_bytes()


@pytest.mark.parametrize(
    "rel, content, named",
    [
        (".agents/db/core/notes.txt", "private\n", ".agents/db/core/notes.txt: inside"),
        ("config/credentials.toml", "[openai]\napi_key = 'x'\n", "config/credentials.toml: a cred"),
        ("settings.py", f"DEBUG = True\nKEY = '{AWS_KEY}'\n", "settings.py:2: looks like an AWS"),
        ("backup/knowledge.db", "not even sqlite\n", "backup/knowledge.db: a git-aircher data"),
    ],
)
def test_commit_refused_and_file_named(guarded: Path, rel: str, content: str, named: str) -> None:
    before = head(guarded)
    write(guarded, rel, content)
    git(guarded, "add", "--", rel)
    proc = try_commit(guarded)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert f"error: {named}" in lines[0]
    assert any(line.startswith("hint: ") for line in lines)
    assert head(guarded) == before
    assert AWS_KEY not in proc.stderr  # the secret itself is never echoed


def test_sqlite_database_refused(guarded: Path) -> None:
    sqlite_file(guarded / "data" / "cache.db")
    git(guarded, "add", "data/cache.db")
    proc = try_commit(guarded)
    assert proc.returncode == 1
    assert "error: data/cache.db: an SQLite database" in proc.stderr
    assert "git rm --cached -r -q -- data/cache.db" in proc.stderr


def test_clean_commit_passes_silently(guarded: Path) -> None:
    write(guarded, "src/ok.py", "print('fine')\n")
    git(guarded, "add", "src/ok.py")
    proc = try_commit(guarded)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_commit_all_checks_the_temporary_index(guarded: Path) -> None:
    # The key is in the work tree only; the real index holds a clean, staged change.
    write(guarded, "README.md", f"# demo\n{AWS_KEY}\n")
    write(guarded, "clean.txt", "clean\n")
    git(guarded, "add", "clean.txt")
    proc = try_commit(guarded, "-a")  # git stages README.md into a temporary index
    assert proc.returncode == 1
    assert "error: README.md:2: looks like an AWS access key" in proc.stderr
    # Same work tree, committing only the staged file: what is committed is clean.
    proc = try_commit(guarded)
    assert proc.returncode == 0, proc.stderr


def test_partial_commit_checks_the_temporary_index(guarded: Path) -> None:
    write(guarded, "src/app.py", f"token = '{AWS_KEY}'\n")
    proc = try_commit(guarded, "--", "src/app.py")
    assert proc.returncode == 1
    assert "src/app.py:1" in proc.stderr


def test_skip_lets_it_through(guarded: Path) -> None:
    write(guarded, ".agents/db/x", "x\n")
    git(guarded, "add", ".agents/db/x")
    assert try_commit(guarded).returncode == 1
    proc = run(guarded, "git", "commit", "-q", "-m", "forced", env={"AIRCHER_SKIP": "1"})
    assert proc.returncode == 0, proc.stderr


# In process: guard_main reads the cwd and the environment, like the hook does.


def call_guard(repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
               *args: str) -> tuple[int, list[str]]:
    monkeypatch.chdir(repo)
    capsys.readouterr()
    code = guard_main(list(args))
    return code, capsys.readouterr().err.splitlines()


def test_binary_and_large_files_are_not_scanned(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo, "blob.bin", b"\0\1\2" + AWS_KEY.encode())
    write(repo, "big.txt", "x" * (1 << 20) + "\n" + AWS_KEY + "\n")
    write(repo, "small.txt", "y\n" + AWS_KEY + "\n")
    git(repo, "add", ".")
    code, lines = call_guard(repo, monkeypatch, capsys)
    assert code == 1
    errors = [line for line in lines if line.startswith("error:")]
    assert errors == ["error: small.txt:2: looks like an AWS access key"]


def test_secret_named_file_warns_without_refusing(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo, ".env.example", "DATABASE_URL=\n")
    git(repo, "add", ".env.example")
    code, lines = call_guard(repo, monkeypatch, capsys)
    assert code == 0
    assert lines == [
        "warning: .env.example: named like a credentials file: check that it holds no secret"
    ]


def test_many_store_files_make_one_line(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(12):
        write(repo, f".agents/sessions/{i}.json", "{}\n")
    git(repo, "add", "-f", ".agents")
    code, lines = call_guard(repo, monkeypatch, capsys)
    assert code == 1
    errors = [line for line in lines if line.startswith("error:")]
    assert errors == ["error: .agents: 12 staged files inside git-aircher's store (.agents/)"]


def test_files_given_narrow_the_check(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo, "a.py", f"k = '{AWS_KEY}'\n")
    write(repo, "b.py", "ok = 1\n")
    git(repo, "add", "a.py", "b.py")
    assert call_guard(repo, monkeypatch, capsys, "b.py")[0] == 0
    assert call_guard(repo, monkeypatch, capsys, "a.py", "b.py")[0] == 1


def test_store_folder_comes_from_config(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    home = tmp_path / "aircher-home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text('[storage]\ndata_dir = "./.memory"\n')
    write(repo, ".agents/logs/x", "not the store here\n")
    write(repo, ".memory/logs/y", "the store\n")
    git(repo, "add", ".")
    code, lines = call_guard(repo, monkeypatch, capsys)
    assert code == 1
    assert [line for line in lines if line.startswith("error:")] == [
        "error: .memory/logs/y: inside git-aircher's store (.memory/)"
    ]
    monkeypatch.setenv("AIRCHER_STORAGE_DATA_DIR", ".agents")  # the environment wins
    code, lines = call_guard(repo, monkeypatch, capsys)
    assert lines[0] == "error: .agents/logs/x: inside git-aircher's store (.agents/)"


def test_unreadable_config_warns_and_checks_the_default(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    home = tmp_path / "aircher-home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text("this is = = not toml\n")
    write(repo, ".agents/config.toml", "x = 1\n")
    git(repo, "add", ".")
    code, lines = call_guard(repo, monkeypatch, capsys)
    assert code == 1
    assert lines[0].startswith("warning: ") and "checked the default store folder" in lines[0]
    assert lines[1] == "error: .agents/config.toml: inside git-aircher's store (.agents/)"


def test_guard_failure_never_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    code, lines = call_guard(outside, monkeypatch, capsys)
    assert code == 0
    assert len(lines) == 1 and lines[0].startswith("warning: git-aircher could not check")


def test_first_commit_and_symlinks_and_deletions(repo: Path, empty_repo: Path) -> None:
    write(empty_repo, "k.py", f"{AWS_KEY}\n")
    (empty_repo / "link").symlink_to(AWS_KEY)  # a symlink's blob is its target: not scanned
    git(empty_repo, "add", ".")
    result = check_staged(empty_repo, data_dir=".agents")  # no HEAD yet
    assert [(f.path, f.line) for f in result.findings] == [("k.py", 1)]
    commit(repo, {"gone.py": f"{AWS_KEY}\n"}, "already there")
    git(repo, "rm", "-q", "gone.py")
    assert check_staged(repo, data_dir=".agents").findings == []  # deleting is fine


def test_store_prefix(tmp_path: Path) -> None:
    root = tmp_path / "r"
    assert store_prefix(".agents", root) == ".agents/"
    assert store_prefix("./data/store/", root) == "data/store/"
    assert store_prefix("../elsewhere", root) is None
    assert store_prefix(str(root / "x" / "store"), root) == "x/store/"
    assert store_prefix(str(tmp_path / "outside"), root) is None


def test_hook_path_imports_nothing_heavy(guarded: Path) -> None:
    code = (
        "import sys\n"
        "from gitext.cli import main\n"
        "main(['hook', 'pre-commit'])\n"
        "heavy = {'click', 'numpy', 'sqlite_utils', 'sklearn', 'scipy', 'dulwich'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    proc = run(guarded, sys.executable, "-c", code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_guard_in_a_linked_worktree(guarded: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    git(guarded, "worktree", "add", "-q", "-b", "feature", str(linked))
    write(linked, "lib/keys.py", f"KEY = '{AWS_KEY}'\n")
    git(linked, "add", "lib/keys.py")
    proc = try_commit(linked)  # git sets GIT_DIR and GIT_INDEX_FILE to the worktree's own
    assert proc.returncode == 1
    assert "error: lib/keys.py:1: looks like an AWS access key" in proc.stderr
    git(linked, "rm", "-q", "--cached", "lib/keys.py")
    write(linked, "lib/ok.py", "ok = 1\n")
    git(linked, "add", "lib/ok.py")
    proc = try_commit(linked)
    assert proc.returncode == 0, proc.stderr


# The pre-commit shim's quick look (git diff + grep + git grep) starts the guard only when a
# staged name or text could concern it. It must never let through what the guard refuses: each
# sample below is refused or warned about by the guard, and must start it.

NAME_SAMPLES = [
    ".agents/db/notes.txt", "data/cache.db", "backup/knowledge.db-wal", "conf/credentials.toml",
    ".env", "app/.env.production", "keys/ID_RSA", "certs/server.PEM", ".netrc", "x/cert.p12",
    "credentials",
    # Names round 22 taught the guard; the shim's quick look did not know them (QA round 23: 06)
    "config/secrets.yml", "Secret.JSON", "client_secret_123.apps.json", "gcp/service-account.json",
    "ops/Service_Account_prod.yaml", "serviceAccountKey.json",
    # Credential files of common tools (QA round 26d: 01)
    ".git-credentials", "home/.PyPIrc", "deploy/server.PPK", "web/.htpasswd", ".dockercfg",
    "dotfiles/.docker/config.json", "ops/KubeConfig", "home/.kube/config", "infra/prod.tfvars",
    "infra/prod.tfvars.json",
]
TEXT_SAMPLES = [
    f"aws = '{AWS_KEY}'\n",
    "token = 'ghp_" + "a1" * 18 + "'\n",
    "token = 'github_pat_" + "B2" * 20 + "'\n",
    "OPENAI = 'sk-" + "c3" * 12 + "'\n",
    "ANTHROPIC = 'sk-ant-" + "d4" * 12 + "'\n",
    "slack = 'xoxb-1234-" + "e5" * 6 + "'\n",
    "maps = 'AIza" + "f6" * 17 + "g'\n",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n",
    "//registry.npmjs.org/:_authToken=npm_" + "g7" * 18 + "\n",
    "password = pypi-AgE" + "h8" * 12 + "\n",
    "https://qa:glpat-" + "i9" * 10 + "@gitlab.example.com\n",
    "//npm.corp.example/:_auth=" + "dXNlcjpodW50ZXIy\n",
    "PuTTY-User-Key-File-" + "3: ssh-ed25519\nPrivate-Lines: 1\nAAAA\nPrivate-MAC: 0a\n",
]


@pytest.fixture
def watched(repo: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Shims whose git-aircher is a logging stand-in: the log shows whether it was started."""
    log = tmp_path / "tool.log"
    install_hooks(repo, executable=fake_tool(tmp_path / "bin", log))
    return repo, log


def run_shim(repo: Path, env: dict[str, str] | None = None) -> list[str]:
    proc = run(repo, str(repo / ".git" / "hooks" / "pre-commit"), env=env)
    assert proc.returncode == 0, proc.stderr
    return [line for line in log_lines(repo.parent / "tool.log") if "pre-commit" in line]


@pytest.mark.parametrize("rel", NAME_SAMPLES)
def test_quick_look_starts_the_guard_for_names(watched: tuple[Path, Path], rel: str) -> None:
    repo, _ = watched
    if rel.endswith(".db"):
        sqlite_file(repo / rel)
    else:
        write(repo, rel, "nothing secret\n")
    git(repo, "add", "-f", "--", rel)
    assert check_staged(repo, data_dir=".agents").findings  # the guard has something to say
    assert run_shim(repo) == ["ours pre-commit"]


@pytest.mark.parametrize("text", TEXT_SAMPLES)
def test_quick_look_starts_the_guard_for_keys(watched: tuple[Path, Path], text: str) -> None:
    repo, _ = watched
    assert secrets.find_secret_patterns(text)  # a real sample for the guard's patterns
    write(repo, "src/conf.py", text)
    git(repo, "add", "src/conf.py")
    assert check_staged(repo, data_dir=".agents").refused
    assert run_shim(repo) == ["ours pre-commit"]


def test_every_key_pattern_has_a_sample_above() -> None:
    # A new pattern in gitext.index.secrets needs a sample here, and then, for the sample test
    # to pass, its literal in the pre-commit shim's suspect_text.
    patterns = [p for entry in secrets._PATTERNS for p in entry if isinstance(p, re.Pattern)]
    assert patterns
    for pattern in patterns:
        assert any(pattern.search(text) for text in TEXT_SAMPLES), pattern.pattern


def test_quick_look_lets_clean_commits_through_without_python(
    watched: tuple[Path, Path],
) -> None:
    repo, _ = watched
    write(repo, "src/app.py", "print('still fine')\n")
    write(repo, "docs/skipping.md", "ask the key holder, not the file\n")
    git(repo, "add", ".")
    assert run_shim(repo) == []
    git(repo, "rm", "-q", "--cached", "README.md")  # a deletion is never a leak
    assert run_shim(repo) == []


def test_quick_look_reads_whole_staged_files_not_just_changes(
    watched: tuple[Path, Path],
) -> None:
    repo, _ = watched
    write(repo, "old.py", f"KEY = '{AWS_KEY}'\nx = 1\n")
    git(repo, "add", "old.py")
    run(repo, "git", "commit", "-q", "-m", "key slipped in", env={"AIRCHER_SKIP": "1"})
    write(repo, "old.py", f"KEY = '{AWS_KEY}'\nx = 2\n")  # the key line is unchanged
    git(repo, "add", "old.py")
    assert check_staged(repo, data_dir=".agents").refused
    assert run_shim(repo) == ["ours pre-commit"]


def test_quick_look_reads_the_temporary_index(watched: tuple[Path, Path]) -> None:
    repo, log = watched
    write(repo, "README.md", f"{AWS_KEY}\n")  # in the work tree only
    proc = run(repo, "git", "commit", "-q", "-a", "-m", "all")
    assert proc.returncode == 0, proc.stderr  # the stand-in lets it through
    assert log_lines(log)[0] == "ours pre-commit"


def test_quick_look_store_folder_and_overrides(repo: Path, tmp_path: Path) -> None:
    log = tmp_path / "tool.log"
    install_hooks(repo, executable=fake_tool(tmp_path / "bin", log), data_dir="./.memory")
    write(repo, ".agents/x", "x\n")
    git(repo, "add", ".agents/x")
    assert run_shim(repo) == []  # not the store of this setting
    assert run_shim(repo, env={"AIRCHER_STORAGE_DATA_DIR": ".agents"}) == ["ours pre-commit"]
    log.unlink()
    write(repo, ".memory/y", "y\n")
    git(repo, "add", ".memory/y")
    assert run_shim(repo) == ["ours pre-commit"]


def test_quick_look_hands_odd_paths_and_binary_attributes_to_the_guard(
    watched: tuple[Path, Path],
) -> None:
    repo, log = watched
    write(repo, "caf\u00e9\nmenu.txt", "plain\n")  # git quotes this name
    git(repo, "add", ".")
    assert run_shim(repo) == ["ours pre-commit"]
    git(repo, "reset", "-q")
    log.unlink()
    write(repo, ".gitattributes", "*.dat binary\n")  # text git is told to treat as binary
    write(repo, "keys.dat", f"{AWS_KEY}\n")
    git(repo, "add", ".gitattributes", "keys.dat")
    assert check_staged(repo, data_dir=".agents").refused
    assert run_shim(repo) == ["ours pre-commit"]


def test_quick_look_store_folder_with_quotes_and_spaces(repo: Path, tmp_path: Path) -> None:
    log = tmp_path / "tool.log"
    install_hooks(repo, executable=fake_tool(tmp_path / "bin", log), data_dir="it's a store")
    write(repo, "it's a store/x", "x\n")
    git(repo, "add", ".")
    assert run_shim(repo) == ["ours pre-commit"]


def test_a_name_that_is_not_utf8_is_shown_and_hinted_as_git_quotes_it(guarded: Path) -> None:
    name = b"k\xe9y\nfile.db".decode("utf-8", "surrogateescape")  # Latin-1 é and a newline
    sqlite_file(guarded / name)
    git(guarded, "add", "--", name)
    proc = try_commit(guarded)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert lines[0] == 'error: "k\\351y\\nfile.db": an SQLite database'  # one line, as git
    (hint,) = [line for line in lines if "git rm --cached" in line]
    command = hint[hint.index("git rm"):]
    assert command.endswith("$'k\\351y\\nfile.db'")
    # The hint is a command that works as printed.
    assert run(guarded, "bash", "-c", command).returncode == 0
    assert git(guarded, "diff", "--cached", "--name-only") == ""


def test_a_staged_shim_of_ours_is_refused(guarded: Path, tmp_path: Path) -> None:
    """A shim of ours staged (over a tracked hook in a hooks folder in the work tree, or added
    with `git add -A`) went through: committed, it holds this machine's paths and runs nothing
    of the team's (QA round 22c: 02). The guard knows its shims by their marker and ID; the
    templates in git-aircher's own hooks/ (no recorded path) are not shims."""
    shim = render_shim("post-commit", tmp_path / "bin" / "git-aircher")
    write(guarded, "team-hooks/post-commit", shim.decode())
    git(guarded, "add", "team-hooks/post-commit")
    before = head(guarded)
    proc = try_commit(guarded)
    assert proc.returncode == 1
    assert "error: team-hooks/post-commit: a git-aircher hook shim" in proc.stderr
    assert "hint: unstage it (the file stays on disk): git restore --staged --" \
        " team-hooks/post-commit" in proc.stderr
    assert "git rm --cached" not in proc.stderr  # over a tracked hook that would delete it
    assert head(guarded) == before

    git(guarded, "rm", "-q", "--cached", "team-hooks/post-commit")
    template = (Path(__file__).parents[2] / "hooks" / "post-commit").read_text()
    write(guarded, "hooks/post-commit", template)
    git(guarded, "add", "hooks/post-commit")
    assert not check_staged(guarded, data_dir=".agents").findings


def test_quick_look_starts_the_guard_for_a_staged_shim(
    watched: tuple[Path, Path], tmp_path: Path
) -> None:
    repo, _ = watched
    write(repo, "team-hooks/post-commit", render_shim("post-commit", tmp_path / "x").decode())
    git(repo, "add", "team-hooks/post-commit")


def test_a_store_that_is_a_symlink_is_refused(guarded: Path, tmp_path: Path) -> None:
    """A store that is a link to another disk is one entry to git, the link itself: `git add -f
    .agents` staged it and the guard said nothing, so the commit published the store's absolute
    path and every clone on the machine used the original's store, conversations and all
    (QA round 22a: 03)."""
    other_disk = tmp_path / "otherdisk"
    other_disk.mkdir()
    (guarded / ".agents").symlink_to(other_disk, target_is_directory=True)
    (guarded / "docs").mkdir()
    (guarded / "docs" / "link").symlink_to("../README.md")  # any other link is the project's
    git(guarded, "add", "-f", ".agents", "docs/link")
    before = head(guarded)
    proc = try_commit(guarded)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("error: .agents: git-aircher's store, a link"), lines
    assert "hint: unstage (the files stay on disk): git rm --cached -r -q -- .agents" in lines
    assert any("/.agents in .gitignore" in line for line in lines), lines
    assert not any("docs/link" in line for line in lines), lines
    assert head(guarded) == before
    git(guarded, "rm", "-q", "--cached", ".agents")
    assert try_commit(guarded).returncode == 0  # the other link passes


def test_quick_look_starts_the_guard_for_a_store_link(
    watched: tuple[Path, Path], tmp_path: Path
) -> None:
    """The shell's quick look matched only names under the store's folder, never the store's
    own entry (QA round 22a: 03)."""
    repo, _ = watched
    (tmp_path / "disk").mkdir()
    (repo / ".agents").symlink_to(tmp_path / "disk", target_is_directory=True)
    git(repo, "add", "-f", ".agents")
    assert check_staged(repo, data_dir=".agents").refused
    assert run_shim(repo) == ["ours pre-commit"]
