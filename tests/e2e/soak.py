"""A seeded random walk of everyday git work, with the hooks live, and what the store must say.

`Walk` does what developers do — commits that add, edit, delete and rename files (now and then
to or from a name that is not UTF-8, which the store leaves out), branches,
switches, merges, rebases, cherry-picks, amends, resets, reverts, stashes, `git clean -fdx` and
`git stash --all`, detached checkouts,
linked worktrees added and removed, branches renamed, `git aircher sync`, uncommitted work a
query takes in, then committed or undone, every process of ours killed with SIGKILL after a
commit — each through git (or the installed command), so the hooks and the background worker
see exactly what they would see. Operations git refuses
(a conflict, a branch checked out elsewhere) are undone the way a user would and left at that.

`problems` compares the store with git, which is the truth: every worktree's row, branch, HEAD
and file view; every commit on each worktree's first-parent chain and the paths it touched;
which paths are deleted; an empty journal; no failure logged; `git status` clean; `doctor`
content; the project setting set at the start still in force. It returns what disagrees, one
line each.

Long runs: `python -m tests.e2e.soak --seed 7 --ops 400 [--serve] [--link]` (its own temporary HOME,
store, git config and query-server folder, as the tests have).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gitext.git.names import storable
from tests.conftest import git
from tests.sync.helpers import failures, query, wait_idle

DETACHED = "(detached)"
POOL = 10  # tracked file names the walk draws from, so branches meet in the same files
KEPT_SETTING, KEPT_VALUE = "storage.backup.backup_retain_days", "29"
ODD = b"g{}\xe9.txt".decode("utf-8", "surrogateescape")  # a Latin-1 name, not UTF-8


class Walk:
    def __init__(self, main: Path, spare: Path, seed: int) -> None:
        self.main = main
        self.spare = spare  # where linked worktrees go
        self.rng = random.Random(seed)
        # With `serve`, queries go through the warm query server (the default for users) and
        # each answer is held against the same query run in-process.
        self.serve = False
        # With `link`, the store is a symlink to another folder, which every `git clean -fdx`
        # of the walk removes: the next hook or command must make it again, not a new store.
        self.link: Path | None = None
        self.n = 0
        self.date = 1_767_225_600  # 2026-01-01; one second later at every git call
        self.log: list[str] = []
        # Set by what git does without a hook that would bring the store level (a reset, a
        # branch renamed, a worktree removed, an operation aborted): the store may lag behind
        # git until the next event or `git aircher sync`, as documented.
        self.quiet = False

    # -- running git -------------------------------------------------------------------------
    def git(self, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        self.date += 1
        stamp = f"@{self.date} +0000"
        env = {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp,
               "GIT_EDITOR": "true", "GIT_SEQUENCE_EDITOR": "true"}
        # surrogateescape: messages name the odd files, whose bytes are not UTF-8.
        return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                              errors="surrogateescape", check=False)

    def ok(self, cwd: Path, *args: str) -> str:
        proc = self.git(cwd, *args)
        if proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed in {cwd}:\n{proc.stderr}")
        return proc.stdout

    def worktrees(self) -> list[tuple[Path, str | None]]:
        """(path, branch or None) of every worktree git lists and has on disk."""
        out = self.ok(self.main, "worktree", "list", "--porcelain")
        path, branch, trees = None, None, []
        for line in out.splitlines() + [""]:
            if line.startswith("worktree "):
                path, branch = Path(line[9:]), None
            elif line.startswith("branch refs/heads/"):
                branch = line[18:]
            elif not line and path is not None:
                if path.exists():
                    trees.append((path, branch))
                path = None
        return trees

    def branches(self) -> list[str]:
        return self.ok(self.main, "for-each-ref", "--format=%(refname:short)",
                       "refs/heads").split()

    def free_branches(self) -> list[str]:
        out = self.ok(self.main, "worktree", "list", "--porcelain")
        used = {line[18:] for line in out.splitlines() if line.startswith("branch refs/heads/")}
        return [b for b in self.branches() if b not in used]

    # -- operations --------------------------------------------------------------------------
    def step(self) -> str:
        self.n += 1
        ops: list[tuple[int, Callable[[Path], str]]] = [
            (30, self.commit), (8, self.new_branch), (8, self.switch), (7, self.merge),
            (4, self.rebase), (4, self.cherry_pick), (4, self.amend), (3, self.reset),
            (3, self.revert), (3, self.stash), (2, self.detach), (2, self.restore_file),
            (3, self.worktree_add), (2, self.worktree_remove), (2, self.rename_branch),
            (3, self.aircher_sync), (3, self.edit_and_ask), (2, self.kill), (2, self.sweep),
        ]
        op = self.rng.choices([f for _, f in ops], weights=[w for w, _ in ops])[0]
        where = self.rng.choice([p for p, _ in self.worktrees()])
        what = f"{self.n}: {op.__name__} in {where.name}: {op(where)}"
        self.log.append(what)
        return what

    def _edit(self, wt: Path) -> list[str]:
        tracked = [p for p in self.ok(wt, "ls-files").split() if p.startswith("f")]
        done: list[str] = []
        for _ in range(self.rng.randint(1, 3)):
            roll = self.rng.random()
            if roll < 0.15 and len(tracked) > 3:
                gone = tracked.pop(self.rng.randrange(len(tracked)))
                self.ok(wt, "rm", "-q", "-f", gone)
                done.append(f"-{gone}")
            elif roll < 0.20:
                done.append(self._odd(wt, tracked))
            elif roll < 0.30 and tracked:
                old = tracked.pop(self.rng.randrange(len(tracked)))
                new = f"f{self.rng.randrange(100, 999)}/{Path(old).name}"
                if (wt / new).exists():
                    continue
                (wt / new).parent.mkdir(exist_ok=True)
                self.ok(wt, "mv", old, new)
                done.append(f"{old}>{new}")
            else:
                name = f"f{self.rng.randrange(POOL)}.py"
                path = wt / name
                lines = path.read_text().splitlines() if path.exists() else []
                at = self.rng.randint(0, len(lines))
                lines.insert(at, f"x{self.n}_{self.rng.randrange(10**6)} = {self.n}")
                path.write_text("\n".join(lines) + "\n")
                self.ok(wt, "add", name)
                done.append(name)
        return done

    def _odd(self, wt: Path, tracked: list[str]) -> str:
        """A file whose name is not UTF-8 (ODD): written, or renamed to or from a tracked
        name. The store leaves such files out; the check leaves them out of git's side."""
        odd = [p for p in self._ls_files(wt) if not storable(p)]
        roll = self.rng.random()
        if roll < 0.25 and tracked:
            old = tracked.pop(self.rng.randrange(len(tracked)))
            new = ODD.format(self.rng.randrange(3))
            if (wt / new).exists():
                return "odd name taken"
            self.ok(wt, "mv", old, new)
            return f"{old}>odd"
        if roll < 0.5 and odd:
            old = self.rng.choice(odd)
            new = f"f{self.rng.randrange(POOL, POOL + 5)}.py"
            if (wt / new).exists():
                return "plain name taken"
            self.ok(wt, "mv", old, new)
            return f"odd>{new}"
        name = ODD.format(self.rng.randrange(3))
        with (wt / name).open("a") as fh:
            fh.write(f"odd {self.n}\n")
        self.ok(wt, "add", name)
        return "odd"

    @staticmethod
    def _ls_files(wt: Path) -> list[str]:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=wt, capture_output=True,
                             check=True).stdout
        return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]

    def commit(self, wt: Path) -> str:
        done = self._edit(wt)
        if not self.ok(wt, "status", "--porcelain"):
            return "nothing to commit"
        self.ok(wt, "commit", "-q", "-m", f"c{self.n} {' '.join(done)}")
        return " ".join(done)

    def new_branch(self, wt: Path) -> str:
        name = f"b{self.n}"
        self.ok(wt, "switch", "-q", "-c", name)
        return name

    def switch(self, wt: Path) -> str:
        free = self.free_branches()
        if not free:
            return "no free branch"
        name = self.rng.choice(free)
        self.ok(wt, "switch", "-q", name)
        return name

    def _other(self) -> str | None:
        names = self.branches()
        return self.rng.choice(names) if names else None

    def _or_abort(self, wt: Path, proc: subprocess.CompletedProcess[str], what: str,
                  *abort: str) -> str:
        if proc.returncode == 0:
            return what
        self.git(wt, *abort)
        self.quiet = True
        return f"{what}: aborted"

    def merge(self, wt: Path) -> str:
        other = self._other()
        if other is None:
            return "no branch"
        ff = self.rng.choice(["--ff", "--no-ff"])
        proc = self.git(wt, "merge", "-q", ff, "--no-edit", other)
        return self._or_abort(wt, proc, f"{ff} {other}", "merge", "--abort")

    def rebase(self, wt: Path) -> str:
        if self._branch(wt) is None:
            return "detached"
        other = self._other()
        if other is None:
            return "no branch"
        proc = self.git(wt, "rebase", "-q", other)
        return self._or_abort(wt, proc, f"onto {other}", "rebase", "--abort")

    def cherry_pick(self, wt: Path) -> str:
        other = self._other()
        if other is None:
            return "no branch"
        shas = self.ok(wt, "rev-list", "--no-merges", "--max-count=5", other).split()
        if not shas:
            return "nothing"
        sha = self.rng.choice(shas)
        proc = self.git(wt, "cherry-pick", "--allow-empty", "--keep-redundant-commits", sha)
        return self._or_abort(wt, proc, sha[:8], "cherry-pick", "--abort")

    def amend(self, wt: Path) -> str:
        done = self._edit(wt)
        self.ok(wt, "commit", "-q", "--amend", "--allow-empty", "-m", f"amended {self.n}")
        return " ".join(done)

    def reset(self, wt: Path) -> str:
        if self.git(wt, "rev-parse", "-q", "--verify", "HEAD~1").returncode != 0:
            return "root"
        self.ok(wt, "reset", "-q", "--hard", "HEAD~1")
        self.quiet = True
        return "HEAD~1"

    def revert(self, wt: Path) -> str:
        proc = self.git(wt, "revert", "--no-edit", "HEAD")
        return self._or_abort(wt, proc, "HEAD", "revert", "--abort")

    def stash(self, wt: Path) -> str:
        done = self._edit(wt)
        before = self.ok(wt, "stash", "list")
        self.ok(wt, "stash", "-q")
        if self.ok(wt, "stash", "list") != before:  # an edit that came to nothing stashes none
            self.ok(wt, "stash", "pop", "-q")
        self.ok(wt, "add", "-A", ".")
        if self.ok(wt, "status", "--porcelain"):
            self.ok(wt, "commit", "-q", "-m", f"stashed {self.n}")
        return " ".join(done)

    def sweep(self, wt: Path) -> str:
        """What people run to reset a checkout. Both take ignored files and pass the store by."""
        build = wt / "build"
        build.mkdir(exist_ok=True)
        (build / f"out{self.n}.o").write_text("object code\n")
        if self.rng.random() < 0.5:
            self.ok(wt, "clean", "-q", "-fdx")
            return "clean -fdx"
        self.ok(wt, "stash", "-q", "--all")
        self.ok(wt, "stash", "pop", "-q")
        shutil.rmtree(build)  # the walk's checks want `git status` clean
        return "stash --all"

    def detach(self, wt: Path) -> str:
        shas = self.ok(wt, "rev-list", "--max-count=8", "HEAD").split()
        sha = self.rng.choice(shas)
        self.ok(wt, "checkout", "-q", "--detach", sha)
        return sha[:8]

    def restore_file(self, wt: Path) -> str:
        names = [p for p in self.ok(wt, "ls-files").split() if p.startswith("f")]
        if not names:
            return "no file"
        name = self.rng.choice(names)
        (wt / name).write_text("scratch\n")
        self.ok(wt, "checkout", "--", name)
        return name

    def edit_and_ask(self, wt: Path) -> str:
        """Uncommitted work a query takes in (an edit, a new file, a local deletion), then
        committed, or undone and asked again, so the tree is clean when the store is checked."""
        tracked = [p for p in self.ok(wt, "ls-files").split() if p.startswith("f")]
        if len(tracked) < 2:
            return "too few files"
        edited, gone = self.rng.sample(tracked, 2)
        (wt / edited).write_text((wt / edited).read_text() + f"local_{self.n} = 1\n")
        (wt / gone).unlink()
        (wt / f"new{self.n}.py").write_text(f"fresh_{self.n} = 1\n")
        self._ask(wt)
        if self.rng.random() < 0.5:
            self.ok(wt, "add", "-A", ".")
            self.ok(wt, "commit", "-q", "-m", f"local work {self.n}")
            return f"{edited} -{gone} +new{self.n}.py, committed"
        self.ok(wt, "checkout", "--", ".")
        (wt / f"new{self.n}.py").unlink()
        self._ask(wt)
        return f"{edited} -{gone} +new{self.n}.py, undone"

    def _ask(self, wt: Path) -> None:
        self.query(wt, "relevant", "--json", "--top", "3")

    def search(self, wt: Path) -> None:
        # Full text alone: the same catch-up as hybrid, without a scikit-learn import per call.
        self.query(wt, "search", "--json", "--top", "3", "--mode", "text", "--", "x1")

    def query(self, wt: Path, *command: str) -> None:
        args = ["git-aircher", *command]
        here = {**os.environ, "AIRCHER_SERVE": "0"}
        proc = subprocess.run(args, cwd=wt, capture_output=True, text=True, check=False,
                              env=os.environ if self.serve else here)
        if proc.returncode != 0 or proc.stderr:
            raise AssertionError(f"git aircher {command[0]} failed in {wt}:\n{proc.stderr}")
        if self.serve:
            # The server's answer is the command's own: the same query run here must agree.
            again = subprocess.run(args, cwd=wt, capture_output=True, text=True, check=False,
                                   env=here)
            if (again.returncode, again.stdout, again.stderr) != (0, proc.stdout, ""):
                raise AssertionError(f"served and in-process answers differ in {wt}:\n"
                                     f"{proc.stdout}\n---\n{again.stdout}{again.stderr}")

    def kill(self, wt: Path) -> str:
        """A commit, then SIGKILL to every process of ours (a worker mid-record or mid-parse,
        the query server) a moment later, as a crash would; then the next commit, whose hook
        must bring everything level: what the killed worker had not finished is still owed."""
        done = self.commit(wt)
        time.sleep(self.rng.uniform(0.0, 0.4))
        killed = kill_ours()
        again = self._edit(wt)
        self.ok(wt, "commit", "-q", "--allow-empty", "-m", f"after kill {self.n}")
        return f"{done}; killed {killed}; then {' '.join(again)}"

    def worktree_add(self, wt: Path) -> str:
        if len(self.worktrees()) >= 3:
            return "enough"
        path = self.spare / f"wt{self.n}"
        self.ok(self.main, "worktree", "add", "-q", "-b", f"w{self.n}", str(path))
        return path.name

    def worktree_remove(self, wt: Path) -> str:
        linked = [p for p, _ in self.worktrees() if p != self.main]
        if not linked:
            return "none"
        path = self.rng.choice(linked)
        self.quiet = True
        if self.rng.random() < 0.5:
            self.ok(self.main, "worktree", "remove", "--force", str(path))
        else:
            shutil.rmtree(path)  # gone without git knowing: prunable
        return path.name

    def rename_branch(self, wt: Path) -> str:
        branch = self._branch(wt)
        if branch is None:
            return "detached"
        new = f"r{self.n}"
        self.ok(wt, "branch", "-m", new)
        self.quiet = True
        return f"{branch}>{new}"

    def aircher_sync(self, wt: Path) -> str:
        """`git aircher sync` (what a query's catch-up does too) while workers may be busy."""
        proc = subprocess.run(["git-aircher", "sync"], cwd=wt, capture_output=True, text=True,
                              check=False)
        if proc.returncode != 0 or proc.stderr:
            raise AssertionError(f"git aircher sync failed in {wt}:\n{proc.stderr}")
        return "done"

    def _branch(self, wt: Path) -> str | None:
        return dict((str(p), b) for p, b in self.worktrees()).get(str(wt))


# -- the store against git ---------------------------------------------------------------------
def _touched(cwd: Path, sha: str) -> set[str]:
    """Paths a commit touched against its first parent (both names of a rename)."""
    out = git(cwd, "diff-tree", "-r", "-M", "--no-commit-id", "--name-status", "--root",
               "--diff-merges=first-parent", sha)
    return {name for line in out.splitlines() for name in line.split("\t")[1:]
            if not name.startswith('"')}  # an odd name, quoted: not in the store


def problems(walk: Walk) -> list[str]:
    """What the store gets wrong now; then, after `git aircher sync` in every worktree (what a
    query's catch-up does), what it still gets wrong. Before the sync, only when nothing git
    did since the last look went without a hook (`Walk.quiet`): `doctor` rightly calls a file
    index behind git a problem, and a `git reset` leaves it so until the next event."""
    found = _relinked(walk)
    wait_idle(walk.main)
    found += [] if walk.quiet else _agreement(walk) + _unsearched(walk) + _health(walk.main)
    for path, _ in walk.worktrees():
        sync = subprocess.run(["git-aircher", "sync"], cwd=path, capture_output=True,
                              text=True, check=False)
        if sync.returncode != 0 or sync.stderr:
            found.append(f"{path.name}: sync said {sync.returncode} {sync.stderr.strip()}")
    wait_idle(walk.main)
    for path, _ in walk.worktrees():
        walk.search(path)  # a query catches its worktree's index up with HEAD
    wait_idle(walk.main)
    found += [f"after sync: {line}"
              for line in _agreement(walk) + _unsearched(walk) + _health(walk.main)]
    walk.quiet = False
    return found


def _relinked(walk: Walk) -> list[str]:
    """With a linked store: the link is there, or the user's next command makes it again."""
    if walk.link is None:
        return []
    store = walk.main / ".agents"
    if not os.path.lexists(store):  # the last step swept it, and nothing has run since
        subprocess.run(["git-aircher", "status"], cwd=walk.main, capture_output=True,
                       check=False)
    if not store.is_symlink() or store.resolve() != walk.link.resolve():
        kind = "a symlink elsewhere" if store.is_symlink() else (
            "a folder" if store.is_dir() else "missing")
        return [f"the store link is {kind}, not {walk.link}"]
    return []


def kill_ours() -> int:
    """SIGKILL every git-aircher process of this walk (its own AIRCHER_HOME), not ours."""
    mark = f"AIRCHER_HOME={os.environ['AIRCHER_HOME']}".encode()
    killed = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue  # gone, or not ours to read
        if mark in environ and (b"gitext" in cmdline or b"git-aircher" in cmdline):
            try:
                os.kill(int(proc.name), signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
    return killed


def _health(main: Path) -> list[str]:
    found = []
    if failures(main):
        found.append("failures logged: " + failures(main)[-600:])
    doctor = subprocess.run(["git-aircher", "doctor", "--quick"], cwd=main, capture_output=True,
                            text=True, check=False)
    if doctor.returncode != 0:
        found.append(f"doctor: {doctor.stdout.strip()[-400:]}")
    kept = subprocess.run(["git-aircher", "config", "get", KEPT_SETTING], cwd=main,
                          capture_output=True, text=True, check=False)
    if kept.stdout.strip() != KEPT_VALUE:
        found.append(f"project setting lost: {KEPT_SETTING} = {kept.stdout.strip()!r}"
                     f" {kept.stderr.strip()}")
    return found


def _agreement(walk: Walk) -> list[str]:
    main = walk.main
    found: list[str] = []
    rows = {str(r[0]): r[1:] for r in query(
        main, "knowledge",
        "SELECT worktree_path, branch_name, git_commit, status FROM worktrees")}
    views: dict[str, dict[str, str]] = {}
    for path, branch in walk.worktrees():
        key = str(path.resolve())
        head = git(path, "rev-parse", "HEAD").strip()
        row = rows.get(key)
        if row is None:
            found.append(f"{path.name}: no worktrees row")
            continue
        if row[0] != (branch or DETACHED) or row[1] != head or row[2] == "stale":
            found.append(f"{path.name}: row {row}, git says {branch or DETACHED} {head[:8]}")
        tree = {}
        for line in git(path, "ls-tree", "-r", "HEAD").splitlines():
            meta, name = line.split("\t", 1)
            mode, _, blob = meta.split()
            # git quotes names it cannot print as they are: the odd ones, which the store
            # leaves out.
            if mode != "160000" and not name.startswith('"'):
                tree[name] = blob
        view = {str(a): str(b) for a, b in query(
            main, "file_index", "SELECT f.path, w.content_hash FROM worktree_files w"
            " JOIN files f ON f.id = w.file_id WHERE w.worktree_path = ?", key)}
        views[key] = view
        if view != tree:
            extra = sorted(set(view.items()) - set(tree.items()))[:4]
            missing = sorted(set(tree.items()) - set(view.items()))[:4]
            found.append(f"{path.name}: view differs: extra {extra} missing {missing}")
        if git(path, "status", "--porcelain"):
            found.append(f"{path.name}: git status not clean")
        found += _chain_problems(main, path, head)
    listed = {str(p.resolve()) for p, _ in walk.worktrees()}
    for key, row in rows.items():
        if key not in listed and row[2] != "stale":
            found.append(f"{Path(key).name}: gone from git, row still {row[2]}")
    seen = set().union(*(v.keys() for v in views.values())) if views else set()
    for path, status in query(main, "file_index", "SELECT path, git_status FROM files"):
        if (path in seen) == (status == "deleted"):
            found.append(f"files: {path} is {status}, in a view: {path in seen}")
    journal = main / ".agents" / "journal"
    left = [p.name for p in journal.rglob("*")
            if p.is_file() and ".git" not in p.relative_to(journal).parts]  # not its shield
    if left:
        found.append(f"journal not empty: {left[:5]}")
    return found


def _unsearched(walk: Walk) -> list[str]:
    """Committed files search cannot find in their worktree. The worker indexes every
    worktree's commits, not only those of the worktree it was started in."""
    docs = set(query(walk.main, "file_index", "SELECT path, blob FROM search_docs"))
    vectors = {str(r[0]) for r in query(walk.main, "knowledge",
                                        "SELECT DISTINCT content_hash FROM embedding_metadata")}
    found = []
    for path, _ in walk.worktrees():
        view = set(query(walk.main, "file_index", "SELECT f.path, w.content_hash FROM"
                         " worktree_files w JOIN files f ON f.id = w.file_id"
                         " WHERE w.worktree_path = ?", str(path.resolve())))
        missing = sorted(str(p) for p, _ in view - docs)
        if missing:
            found.append(f"{path.name}: not searchable: {missing[:4]}")
        # Every version with text has vectors too (or the marker of none).
        unembedded = sorted(str(p) for p, b in view & docs if b not in vectors)
        if unembedded:
            found.append(f"{path.name}: no vectors: {unembedded[:4]}")
    return found


def _chain_problems(main: Path, wt: Path, head: str) -> list[str]:
    found = []
    chain = git(wt, "rev-list", "--first-parent", head).split()
    known = {str(r[0]) for r in query(main, "file_index", "SELECT sha FROM commits")}
    for sha in chain:
        if sha not in known:
            found.append(f"{wt.name}: commit {sha[:8]} not recorded")
            continue
        ours: set[str] = set()
        for old, new in query(main, "file_index", "SELECT old_path, new_path FROM file_changes"
                              " WHERE git_commit = ?", sha):
            ours |= {str(p) for p in (old, new) if p}
        theirs = _touched(wt, sha)
        if ours != theirs:
            found.append(f"{wt.name}: commit {sha[:8]} touched {sorted(theirs)}, recorded"
                         f" {sorted(ours)}")
    return found


def start(root: Path, link: bool = False) -> Walk:
    """A repository with a few files, `git aircher init` done, hooks live; with ``link``, its
    store a symlink to a folder outside."""
    main = root / "repo"
    main.mkdir()
    walk = Walk(main, root, 0)
    walk.ok(main, "init", "-q", "-b", "main")
    for i in range(POOL // 2):
        (main / f"f{i}.py").write_text(f"v{i} = {i}\n")
    walk.ok(main, "add", ".")
    walk.ok(main, "commit", "-q", "-m", "start")
    if link:
        walk.link = root / "store-elsewhere"
        walk.link.mkdir()
        (main / ".agents").symlink_to(walk.link)
    init = subprocess.run(["git-aircher", "init"], cwd=main, capture_output=True, text=True,
                          check=False)
    if init.returncode != 0:
        raise AssertionError(init.stderr)
    # A project setting, which the walk's sweeps (`git clean -fdx`, `git stash --all`) must
    # not lose.
    subprocess.run(["git-aircher", "config", "set", KEPT_SETTING, KEPT_VALUE], cwd=main,
                   check=True, capture_output=True)
    return walk


def run(root: Path, seed: int, ops: int, every: int, serve: bool = False,
        link: bool = False) -> list[str]:
    walk = start(root, link)
    walk.rng = random.Random(seed)
    walk.serve = serve
    try:
        for i in range(ops):
            walk.step()
            if (i + 1) % every == 0 or i + 1 == ops:
                found = problems(walk)
                if found:
                    return [f"seed {seed}, after: {line}" for line in walk.log[-6:]] + found
        return []
    finally:
        kill_ours()  # a query server would otherwise wait out its idle time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ops", type=int, default=200)
    parser.add_argument("--every", type=int, default=20, help="check the store every N steps")
    parser.add_argument("--serve", action="store_true",
                        help="queries through the warm query server, checked against in-process")
    parser.add_argument("--link", action="store_true",
                        help="the store a symlink to a folder outside the repository")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="aircher-soak-"))
    home = root / "home"
    home.mkdir()
    runtime = root / "runtime"  # the query servers' sockets, this walk's alone
    runtime.mkdir(mode=0o700)
    for name in list(os.environ):
        if name.startswith(("GIT_", "AIRCHER_")):
            del os.environ[name]
    (home / ".gitconfig").write_text("[user]\n\tname = Soak\n\temail = soak@example.com\n"
                                     "[advice]\n\tdetachedHead = false\n")
    os.environ.update(HOME=str(home), AIRCHER_HOME=str(root / "aircher-home"),
                      GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
                      AIRCHER_SERVE="1" if args.serve else "0", TZ="UTC", LC_ALL="C",
                      XDG_RUNTIME_DIR=str(runtime), AIRCHER_SERVE_IDLE="30",
                      PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    found = run(root, args.seed, args.ops, args.every, serve=args.serve, link=args.link)
    print("\n".join(found) or f"seed {args.seed}: {args.ops} steps, store agrees with git")
    if not found:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"left for inspection: {root}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
