"""A bare repository with linked worktrees (`git clone --bare`, then `git worktree add` per
task, a common way to run agents side by side) keeps its store in the repository itself. It
was in the first linked worktree, and `git worktree remove` of that one deleted the store with
every conversation, silently."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitext.records import add_message, start_conversation
from tests.conftest import commit, git, open_project, run_git_aircher
from tests.sync.helpers import wait_idle


@pytest.fixture
def bare(repo: Path, tmp_path: Path) -> Path:
    commit(repo, {"src/app.py": "print('hello')\n"}, "second")
    git(tmp_path, "clone", "-q", "--bare", repo.as_uri(), "proj.git")
    home = tmp_path / "proj.git"
    git(home, "worktree", "add", "-q", "-b", "alpha", "../wt-alpha")
    git(home, "worktree", "add", "-q", "-b", "beta", "../wt-beta")
    return home


def remember(where: Path) -> str:
    project = open_project(where)
    conv = start_conversation(project, "anthropic", title="auth bug")
    add_message(project, conv.id, "user", "the token refresh races the logout")
    project.close()
    return conv.id


def conversations(where: Path) -> str:
    r = run_git_aircher(where, "conversation", "list", "--json", "--all")
    assert r.code == 0, r.err
    return r.out


def test_the_store_lives_in_the_repository_and_outlives_any_worktree(bare: Path) -> None:
    alpha, beta = bare.parent / "wt-alpha", bare.parent / "wt-beta"
    r = run_git_aircher(alpha, "init")
    assert r.code == 0, r.err
    assert (bare / ".agents" / "db" / "core" / "knowledge.db").is_file()
    assert not (alpha / ".agents").exists()
    conv = remember(alpha)
    wait_idle(alpha)
    git(beta, "worktree", "remove", str(alpha))
    assert conv in conversations(beta)
    r = run_git_aircher(beta, "status")
    assert r.code == 0 and f"store:  {bare / '.agents'}" in r.out, r.out + r.err


def test_a_store_an_earlier_version_put_in_a_worktree_stays_found_and_can_move(
    bare: Path,
) -> None:
    alpha = bare.parent / "wt-alpha"
    assert run_git_aircher(alpha, "init").code == 0
    conv = remember(alpha)
    wait_idle(alpha)
    (bare / ".agents").rename(alpha / ".agents")  # where the earlier version made it
    r = run_git_aircher(alpha, "doctor")
    assert f"mv {alpha / '.agents'} {bare / '.agents'} && git aircher init" in r.out, r.out
    assert conv in conversations(alpha)

    (alpha / ".agents").rename(bare / ".agents")  # what doctor says to do
    assert run_git_aircher(alpha, "init").code == 0
    assert conv in conversations(bare.parent / "wt-beta")
    assert "store_in_worktree" not in run_git_aircher(alpha, "doctor").out


def test_a_committed_agents_folder_is_not_taken_for_a_store_in_the_worktree(
    repo: Path, tmp_path: Path,
) -> None:
    """A project that commits `.agents/skills/` has an `.agents/` in every linked worktree of
    its bare clone; that folder was taken for a store an earlier version made there, so `init`
    built the store in the first worktree and `git worktree remove` of it deleted the store
    (QA round 25c: 01). Only a folder holding a store's databases is an earlier store."""
    commit(repo, {".agents/skills/review/SKILL.md": "# Review skill\n"}, "skills")
    git(tmp_path, "clone", "-q", "--bare", repo.as_uri(), "proj.git")
    home = tmp_path / "proj.git"
    git(home, "worktree", "add", "-q", "-b", "alpha", "../wt-alpha")
    git(home, "worktree", "add", "-q", "-b", "beta", "../wt-beta")
    alpha, beta = tmp_path / "wt-alpha", tmp_path / "wt-beta"
    r = run_git_aircher(alpha, "init")
    assert r.code == 0, r.err
    assert (home / ".agents" / "db" / "core" / "knowledge.db").is_file(), r.out
    assert not (alpha / ".agents" / "db").exists()
    conv = remember(beta)
    wait_idle(alpha)
    git(home, "worktree", "remove", str(alpha))
    assert conv in conversations(beta)
