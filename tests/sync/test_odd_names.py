"""git's names are bytes: file names, messages and branch names that are not UTF-8 (an old
Latin-1 repository) never stop the store. Before, one such file name made every later sync
fail in SQLite, and search, relevant and doctor with it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gitext.git.names import all_storable, quoted, readable, shell_word, storable
from tests.conftest import commit, git, run_git_aircher, write
from tests.sync.helpers import store, wait_idle


def latin1(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")  # as Python names such a file


def test_names_for_the_store_and_for_people() -> None:
    odd = latin1(b"caf\xe9.txt")
    assert storable("café.txt") and not storable(odd)
    assert all_storable("a.txt\0café.txt\0".encode()) and not all_storable(b"a.txt\0caf\xe9")
    assert readable(odd) == "caf\ufffd.txt" and readable("café") == "café"
    assert quoted("src/a b.py") == "src/a b.py"
    assert quoted(odd) == '"caf\\351.txt"'
    assert quoted('say "hi"\n') == '"say \\"hi\\"\\n"'
    assert shell_word("a b.py") == "'a b.py'"
    assert shell_word(latin1(b"it's\xe9")) == "$'it\\'s\\351'"


@pytest.fixture
def hooked(empty_repo: Path) -> Path:
    assert run_git_aircher(empty_repo, "init").code == 0
    return empty_repo


def test_files_messages_and_branches_that_are_not_utf8(hooked: Path) -> None:
    repo = hooked
    odd = latin1(b"caf\xe9.txt")
    write(repo, odd, "alpha zebrafish\n")
    write(repo, "plain.txt", "beta zebrafish\n")
    write(repo, "new\nline.txt", "gamma zebrafish\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", latin1(b"caf\xe9 and friends"))  # no encoding header
    git(repo, "checkout", "-q", "-b", latin1(b"br-caf\xe9"))
    git(repo, "mv", odd, "cafe.txt")
    git(repo, "commit", "-q", "-m", "rename to a plain name")
    commit(repo, {"plain.txt": "beta zebrafish, again\n"}, "edit")
    wait_idle(repo)

    log = store(repo) / "logs" / "storage.log"
    assert not log.exists() or "Traceback" not in log.read_text()
    r = run_git_aircher(repo, "search", "--json", "--", "zebrafish")
    assert r.code == 0, r.err
    assert {h["path"] for h in json.loads(r.out)} == {"cafe.txt", "plain.txt", "new\nline.txt"}
    r = run_git_aircher(repo, "relevant", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)[0]["path"] == "plain.txt"
    assert run_git_aircher(repo, "doctor").code == 0
    r = run_git_aircher(repo, "worktree", "list")
    assert r.code == 0, r.err
    assert "br-caf\ufffd  active" in r.out  # the branch's context, checked out here
    # `worktree switch` takes the branch as git has it, or as `list` shows it.
    for n, given in enumerate((latin1(b"br-caf\xe9"), "br-caf\ufffd")):
        git(repo, "switch", "-q", "-c", f"away-{n}")
        r = run_git_aircher(repo, "worktree", "switch", given)
        assert (r.code, r.err) == (0, ""), r.err
        head = subprocess.run(["git", "symbolic-ref", "HEAD"], cwd=repo, capture_output=True,
                              check=True).stdout
        assert head == b"refs/heads/br-caf\xe9\n"

    # A file that keeps its odd name is left out of the store, and nothing else is.
    write(repo, latin1(b"na\xefve.txt"), "delta zebrafish\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a new odd name")
    wait_idle(repo)
    r = run_git_aircher(repo, "search", "--json", "--", "zebrafish")
    assert r.code == 0, r.err
    assert {h["path"] for h in json.loads(r.out)} == {"cafe.txt", "plain.txt", "new\nline.txt"}
    assert run_git_aircher(repo, "sync").code == 0
    assert run_git_aircher(repo, "doctor").code == 0


@pytest.mark.parametrize("args, shown", [
    (("feedback", "caf\udce9.txt", "--useful", "1"), '"caf\\351.txt"'),
    (("relevant", "--context", "caf\udce9"), '"caf\\351"'),
    (("compare", "caf\udce9", "HEAD"), '"caf\\351"'),
])
def test_an_argument_that_is_not_utf8_is_named_in_one_line(
        hooked: Path, args: tuple[str, ...], shown: str) -> None:
    commit(hooked, {"a.txt": "a\n"}, "base")
    r = run_git_aircher(hooked, *args)
    assert r.code == 2, r.err
    assert r.err.splitlines() == [
        f"error: {shown} is not valid UTF-8",
        "hint: git-aircher's names and texts are UTF-8; rename the file or branch, or give the"
        " name in UTF-8"]


def test_a_repository_under_a_folder_that_is_not_utf8_is_refused_cleanly(tmp_path: Path) -> None:
    repo = tmp_path / latin1(b"caf\xe9") / "repo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q")
    r = run_git_aircher(repo, "init")
    assert r.code == 2
    shown = str(repo).replace(latin1(b"\xe9"), "\\351")
    assert r.err.splitlines()[0] == f'error: the repository\'s path "{shown}" is not valid UTF-8'
    assert r.err.splitlines()[1].startswith("hint: ")
    assert not (repo / ".agents").exists()
    assert not (repo / ".git" / "hooks" / "post-commit").exists()
