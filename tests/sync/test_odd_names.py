"""git's names are bytes: file names, messages and branch names that are not UTF-8 (an old
Latin-1 repository) never stop the store. Before, one such file name made every later sync
fail in SQLite, and search, relevant and doctor with it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from gitext.git.names import all_storable, quoted, readable, shell_word, storable
from tests.conftest import commit, git, run_git_aircher, write
from tests.sync.helpers import failures, mark_active, query, store, wait_idle


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


NEWLINE_HINT = ("hint: rename the folder, or move the repository: git-aircher keeps paths as"
                " UTF-8 text on one line")


def test_a_repository_whose_path_holds_a_newline_is_refused_cleanly(tmp_path: Path) -> None:
    """git's answers are lines, and so are the shims' journal records: a newline in the path
    shifted every field, `init` said it had made the store and then nothing found it (QA round
    6: 07)."""
    repo = tmp_path / "re\npo"
    repo.mkdir()
    git(repo, "init", "-q")
    for command in ("init", "status"):
        r = run_git_aircher(repo, command)
        assert r.code == 2, r.err
        assert r.err.splitlines() == [
            f'error: the repository\'s path "{tmp_path}/re\\npo" holds a newline', NEWLINE_HINT]
    assert not (repo / ".agents").exists()
    assert not (repo / ".git" / "hooks" / "post-commit").exists()


def test_a_worktree_whose_path_holds_a_newline_is_refused_and_its_hooks_stay_silent(
        live: Path, tmp_path: Path, sleeper: int) -> None:
    """A linked worktree with a newline in its path, of a repository with a store: commands
    there are refused, its hooks record nothing and say nothing, and the store passes it by
    rather than wait for a sync that can never come (QA round 6: 07)."""
    hooked = live
    wt = tmp_path / "real\nnl"
    # A worker that seems busy: a record would wait in the journal for it, to be seen.
    wait_idle(hooked)
    mark_active(hooked, sleeper)
    proc = subprocess.run(["git", "worktree", "add", "-q", str(wt), "-b", "nl"], cwd=hooked,
                          capture_output=True, text=True, check=True)
    assert proc.stdout == proc.stderr == ""
    write(wt, "README.md", "# there\n")
    proc = subprocess.run(["git", "commit", "-qam", "there"], cwd=wt, capture_output=True,
                          text=True, check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    r = run_git_aircher(wt, "status")
    assert r.code == 2
    assert r.err.splitlines() == [
        f'error: the repository\'s path "{tmp_path}/real\\nnl" holds a newline', NEWLINE_HINT]
    # The shims' other path (the pre-commit framework's too): no record, no traceback logged.
    r = run_git_aircher(wt, "hook", "post-commit")
    assert (r.code, r.out, r.err) == (0, "", "")
    assert not list((Path(os.environ["AIRCHER_HOME"]) / "logs").glob("*.log"))
    assert failures(hooked) == ""
    # The record a shim wrote there, cut in two at the newline, named a worktree that is not.
    assert not list((store(hooked) / "journal").glob("*.ev"))
    (store(hooked) / "run" / "active").unlink()
    assert run_git_aircher(hooked, "doctor").code == 0
    assert "real" not in run_git_aircher(hooked, "worktree", "list").out


def test_a_repository_whose_path_holds_a_carriage_return_is_kept_by_its_hooks(
        tmp_path: Path) -> None:
    """A "\\r" is no line end to git: the hooks folder's path was cut there (init warned that
    hooks were not installed), and the worker read the journal in text mode, whose universal
    newlines made the record's path two lines, so a commit never reached the store (QA round
    8: 04)."""
    repo = tmp_path / "r\rx"
    repo.mkdir()
    git(repo, "init", "-q")
    commit(repo, {"a.txt": "a\n"}, "first")
    r = run_git_aircher(repo, "init")
    assert r.code == 0 and r.err == "", r.err
    assert "git-aircher hook shim" in (repo / ".git" / "hooks" / "post-commit").read_text()
    commit(repo, {"b.txt": "b\n"}, "second")
    wait_idle(repo)
    assert query(repo, "file_index", "SELECT count(*) FROM commits") == [(2,)]
    assert failures(repo) == ""


@pytest.fixture
def latin1_locale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real non-UTF-8 locale (en_US.ISO-8859-1, built with localedef into the test's own
    folder) for this test and every process it starts, git's hooks and their worker too."""
    loc = tmp_path / "locales"
    loc.mkdir()
    try:
        built = subprocess.run(["localedef", "-i", "en_US", "-f", "ISO-8859-1",
                                str(loc / "en_US.ISO-8859-1")], capture_output=True)
    except OSError:
        pytest.skip("no localedef here")
    if built.returncode not in (0, 1) or not (loc / "en_US.ISO-8859-1").is_dir():
        pytest.skip(f"cannot build a Latin-1 locale here: {built.stderr!r}")
    monkeypatch.setenv("LOCPATH", str(loc))
    monkeypatch.setenv("LC_ALL", "en_US.ISO-8859-1")
    probe = subprocess.run(["python3", "-c", "import sys; print(sys.getfilesystemencoding())"],
                           capture_output=True, text=True)
    if probe.stdout.strip() != "iso8859-1":
        pytest.skip(f"the Latin-1 locale is not taken here: {probe.stdout!r}")


def test_a_locale_that_is_not_utf8_changes_nothing(hooked: Path, latin1_locale: None) -> None:
    """Under en_US.ISO-8859-1 every command that met a name outside Latin-1 (`漢字.py`), or
    printed its own help's `…`, crashed with UnicodeEncodeError and exit 3; a commit made there
    failed in the hooks' worker, and its traceback went to storage.log (QA round 24c: 04).
    git-aircher runs in Python's UTF-8 mode whatever the locale: names are the bytes git gave,
    output is UTF-8 as git's is."""
    repo = hooked
    commit(repo, {"漢字.py": "def kanji(): pass\n", "a.py": "def foo(): pass\n"}, "init")
    wait_idle(repo)
    write(repo, "漢字.py", "def kanji(): pass\ndef kanji2(): pass\n")  # from the work tree

    r = run_git_aircher(repo, "compare", "-h")
    assert (r.code, r.err) == (0, ""), r.err
    assert "…" in r.out
    r = run_git_aircher(repo, "index")
    assert (r.code, r.err) == (0, ""), r.err
    r = run_git_aircher(repo, "search", "--json", "--", "kanji2")
    assert r.code == 0, r.err
    assert [h["path"] for h in json.loads(r.out)][:1] == ["漢字.py"]
    r = run_git_aircher(repo, "search", "--", "kanji2")  # the table
    assert r.code == 0, r.err
    assert "漢字.py" in r.out

    # The worker reads the committed files from the work tree.
    write(repo, "字.py", "def ji(): pass\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a commit in this locale")
    wait_idle(repo)
    assert failures(repo) == ""
    assert ("字.py",) in query(repo, "file_index", "SELECT new_path FROM file_changes")
    r = run_git_aircher(repo, "search", "--json", "--", "kanji2")
    assert json.loads(r.out)[0]["path"] == "漢字.py"
