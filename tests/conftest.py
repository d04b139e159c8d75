"""Shared fixtures: every test runs with its own HOME, AIRCHER_HOME and git identity.

Real git repositories in tmp dirs, real SQLite files; nothing reaches the real home directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitext import clock
from gitext.project import Project

VENV_BIN = Path(sys.executable).parent
FIXED_DATE = "2026-01-01T00:00:00+0000"


@pytest.fixture
def sleeper() -> Iterator[int]:
    """The pid of a live process that does nothing (a stand-in for a busy worker)."""
    proc = subprocess.Popen(["sleep", "120"])
    yield proc.pid
    proc.kill()
    proc.wait()


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    home.mkdir()
    for name in list(os.environ):
        if name.startswith(("GIT_", "AIRCHER_", "PRE_COMMIT")) or name in ("XDG_CONFIG_HOME",):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AIRCHER_HOME", str(tmp_path / "aircher-home"))
    # No warm query server outliving a test; tests/test_serve.py starts its own.
    monkeypatch.setenv("AIRCHER_SERVE", "0")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Committer")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "committer@example.com")
    monkeypatch.setenv("GIT_AUTHOR_DATE", FIXED_DATE)
    monkeypatch.setenv("GIT_COMMITTER_DATE", FIXED_DATE)
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("LC_ALL", "C")
    # The hook shims and `git aircher` must find this checkout's git-aircher first.
    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    (home / ".gitconfig").write_text(
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
        "[protocol \"file\"]\n\tallow = always\n"
    )
    clock.set_now(None)
    yield home
    clock.set_now(None)


def git(cwd: Path, *args: str, check: bool = True, input: str | None = None) -> str:
    # Never the test run's own stdin: `git gc` read a stranger's output from it once, through
    # a pipe the runner shared (seen in session 19's CI run, "bad revision 'synced …'").
    proc = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, input=input, check=False,
        stdin=subprocess.DEVNULL if input is None else None,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def write(repo: Path, rel: str, content: str | bytes) -> Path:
    path = repo / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def commit(repo: Path, files: dict[str, str | bytes], message: str = "change") -> str:
    for rel, content in files.items():
        write(repo, rel, content)
    git(repo, "add", "--", *files)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def empty_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    return repo


@pytest.fixture
def repo(empty_repo: Path) -> Path:
    commit(empty_repo, {"README.md": "# demo\n", "src/app.py": "print('hi')\n"}, "initial")
    return empty_repo


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def aircher(capsys: pytest.CaptureFixture[str]) -> object:
    """In-process `git aircher -C CWD ARGS…`, through the same error boundary as the real one."""
    from gitext.cli import main

    def run(cwd: Path, *args: str) -> Result:
        capsys.readouterr()
        code = main(["-C", str(cwd), *args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def run_git_aircher(cwd: Path, *args: str, input: str | None = None) -> Result:
    """The installed console script in a subprocess: what git and the hook shims run."""
    proc = subprocess.run(
        [str(VENV_BIN / "git-aircher"), *args], cwd=cwd, capture_output=True, text=True,
        input=input, check=False, stdin=subprocess.DEVNULL if input is None else None,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def open_project(root: Path) -> Project:
    """The store of the repository at `root`, as the tests' environment names it."""
    return Project.locate(root, Path(os.environ["AIRCHER_HOME"]), os.environ)


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def live(repo: Path) -> Path:
    """`repo` after `git aircher init`: its hooks installed, its store current."""
    r = run_git_aircher(repo, "init")
    assert r.code == 0, r.err
    return repo
