"""Speed of the hooks and the sync engine on generated repositories (issue 3, item 8).

    .venv/bin/python benchmarks/hooks_bench.py [--small 5000] [--large 50000] [--runs 21] [--floor]
        [--only a|bcd|d...]

Prints one table; each figure is a ratio against a baseline measured in the same run, because
this machine is shared and noisy:
  (a) overhead:  paired median ratio of `git commit` wall time with our hooks to without
                 (5,000-file repo, one-file commits)                           target <= 1.10
                 --floor adds the same measure with our post-commit shim alone and with two
                 hooks that do nothing: what git itself charges for running hooks
  (b) freshness: from `git commit` returning to its file_changes being queryable,
                 50,000-file repo, p50                                          target <= 1 s
  (c) switch:    a checkout changing 1,000 files of 50,000: time until the store has applied
                 it, over the time of the checkout itself                       target <= 3x
  (d) index:     `git aircher index` (file index) of a fresh 50,000-file clone, over a plain
                 loop that reads every file and inserts one row per file        target <= 2x
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
TOOL = str(BIN / "git-aircher")


def bench_env(base: Path) -> dict[str, str]:
    """An environment of its own under `base`: global dir, git config and identity."""
    # A background `git gc --auto` would land in the middle of the timings.
    (base / "gitconfig").write_text("[gc]\n\tauto = 0\n[init]\n\tdefaultBranch = main\n")
    return {**os.environ, "AIRCHER_HOME": str(base / "home"), "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": str(base / "gitconfig"), "GIT_AUTHOR_NAME": "b",
            "GIT_AUTHOR_EMAIL": "b@example.com", "GIT_COMMITTER_NAME": "b",
            "GIT_COMMITTER_EMAIL": "b@example.com", "PATH": f"{BIN}:{os.environ['PATH']}"}


def sh(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    subprocess.run(args, cwd=cwd, check=True, env=env, stdout=subprocess.DEVNULL)


def make_repo(path: Path, files: int, env: dict[str, str]) -> None:
    path.mkdir(parents=True)
    sh(["git", "init", "-q", "-b", "main"], path, env)
    for i in range(files):
        d = path / f"pkg{i % 100}" / f"mod{i % 7}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i}.py").write_text(
            f'"""Module {i}."""\n\nimport os\n\n\ndef func_{i}(x):\n    return x + {i}\n')
    sh(["git", "add", "-A"], path, env)
    sh(["git", "commit", "-qm", "initial"], path, env)


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    t = time.perf_counter()
    sh(args, cwd, env)
    return time.perf_counter() - t


def _free(lock: Path) -> bool:
    import fcntl

    with lock.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(fh, fcntl.LOCK_UN)
        return True


def wait_idle(repo: Path, timeout: float = 1800) -> None:
    """Journal and parsing queue empty, both worker slots free (search indexing included)."""
    agents = repo / ".agents"
    db = agents / "db" / "core" / "file_index.db"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not list((agents / "journal").glob("*.ev")):
            with sqlite3.connect(db) as conn:
                queued = conn.execute("SELECT 1 FROM analysis_pending LIMIT 1").fetchone()
            if not queued and _free(agents / "run" / "worker.lock") and _free(
                    agents / "run" / "heavy.lock"):
                return
        time.sleep(0.02)
    raise SystemExit("worker did not finish")


def pair_repos(base: Path, env: dict[str, str], files: int) -> tuple[Path, Path]:
    plain, hooked = base / "plain", base / "hooked"
    make_repo(plain, files, env)
    sh(["git", "clone", "-q", str(plain), str(hooked)], base, env)
    sh([TOOL, "init"], hooked, env)
    wait_idle(hooked)
    return plain, hooked


def overhead(plain: Path, hooked: Path, env: dict[str, str], runs: int) -> tuple[float, str]:
    ratios = []
    times_p, times_h = [], []
    for i in range(runs):
        pair = []
        for repo in ((plain, hooked) if i % 2 else (hooked, plain)):
            (repo / "pkg1" / "mod1" / "f1.py").write_text(f"# {i} {time.time()}\n")
            pair.append((repo, timed(["git", "commit", "-qam", f"c{i}"], repo, env)))
        d = dict(pair)
        times_p.append(d[plain])
        times_h.append(d[hooked])
        ratios.append(d[hooked] / d[plain])
    wait_idle(hooked)
    detail = (f"commit {statistics.median(times_p) * 1000:.1f} ms plain, "
              f"{statistics.median(times_h) * 1000:.1f} ms hooked")
    return statistics.median(ratios), detail


def floors(
    plain: Path, hooked: Path, env: dict[str, str], runs: int
) -> list[tuple[str, str, str, str]]:
    """What git itself charges for running hooks: the same measure with our post-commit shim
    alone (no pre-commit guard), and with two hooks that do nothing."""
    hooks = hooked / ".git" / "hooks"
    saved = {n: (hooks / n).read_bytes() for n in ("pre-commit", "post-commit")}
    rows = []
    try:
        (hooks / "pre-commit").unlink()
        r, d = overhead(plain, hooked, env, runs)
        rows.append(("(a) post-commit shim only", f"{r:.3f}x", "", d))
        for name in saved:
            (hooks / name).write_text("#!/bin/sh\nexit 0\n")
            (hooks / name).chmod(0o755)
        r, d = overhead(plain, hooked, env, runs)
        rows.append(("(a) two hooks doing nothing", f"{r:.3f}x", "", d))
    finally:
        for name, data in saved.items():
            (hooks / name).write_bytes(data)
            (hooks / name).chmod(0o755)
    return rows


def freshness(repo: Path, env: dict[str, str], runs: int) -> tuple[float, str]:
    db = repo / ".agents" / "db" / "core" / "file_index.db"
    lags = []
    for i in range(runs):
        (repo / "pkg2" / "mod2" / "f2.py").write_text(f"# fresh {i}\n")
        sh(["git", "commit", "-qam", f"fresh {i}"], repo, env)
        t = time.perf_counter()
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                             text=True, env=env).stdout.strip()
        conn = sqlite3.connect(db)
        while not conn.execute("SELECT 1 FROM file_changes WHERE git_commit = ?",
                               (sha,)).fetchone():
            if time.perf_counter() - t > 60:
                raise SystemExit("commit never became visible")
            time.sleep(0.005)
        conn.close()
        lags.append(time.perf_counter() - t)
        wait_idle(repo)
    return statistics.median(lags), f"p50 of {runs}, max {max(lags):.2f} s"


def switch(repo: Path, env: dict[str, str], runs: int) -> tuple[float, str]:
    sh(["git", "checkout", "-q", "-b", "wide"], repo, env)
    for i in range(0, 50000, 50):  # 1,000 files differ between main and wide
        p = repo / f"pkg{i % 100}" / f"mod{i % 7}" / f"f{i}.py"
        if p.exists():
            p.write_text(p.read_text() + "# wide\n")
    sh(["git", "commit", "-qam", "wide"], repo, env)
    wait_idle(repo)
    ratios, checkouts, applies = [], [], []
    kdb = repo / ".agents" / "db" / "core" / "knowledge.db"
    fdb = repo / ".agents" / "db" / "core" / "file_index.db"
    for i in range(runs):
        target = "main" if i % 2 == 0 else "wide"
        want = subprocess.run(["git", "rev-parse", target], cwd=repo, capture_output=True,
                              text=True, env=env).stdout.strip()
        with sqlite3.connect(kdb) as k:
            switches = k.execute("SELECT count(*) FROM context_switches").fetchone()[0]
        t0 = time.perf_counter()
        sh(["git", "checkout", "-q", target], repo, env)
        t1 = time.perf_counter()
        # Applied = the switch recorded and this worktree's file view at the new commit (the
        # worker's later parsing and search indexing are not part of applying the checkout).
        while True:
            with sqlite3.connect(kdb) as k, sqlite3.connect(fdb) as f:
                n = k.execute("SELECT count(*) FROM context_switches").fetchone()[0]
                head = f.execute("SELECT head FROM sync_state WHERE worktree_path = ?",
                                 (str(repo.resolve()),)).fetchone()
            if n > switches and head and head[0] == want:
                break
            if time.perf_counter() - t1 > 120:
                raise SystemExit("checkout never applied")
            time.sleep(0.005)
        t2 = time.perf_counter()
        wait_idle(repo)
        checkouts.append(t1 - t0)
        applies.append(t2 - t1)
        ratios.append((t2 - t1) / (t1 - t0))
    return statistics.median(ratios), (
        f"checkout {statistics.median(checkouts) * 1000:.0f} ms, "
        f"applied {statistics.median(applies) * 1000:.0f} ms after it")


def _loop(clone: Path, db: Path) -> float:
    """The baseline: read every file, one row per file, one executemany."""
    db.unlink(missing_ok=True)
    t = time.perf_counter()
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE files (path TEXT PRIMARY KEY, size INTEGER, lines INTEGER)")
    rows = []
    for dirpath, dirnames, filenames in os.walk(clone):
        if ".git" in dirnames:
            dirnames.remove(".git")
        for name in filenames:
            p = Path(dirpath) / name
            data = p.read_bytes()
            rows.append((str(p.relative_to(clone)), len(data), data.count(b"\n")))
    conn.executemany("INSERT INTO files VALUES (?, ?, ?)", rows)
    conn.commit()
    conn.close()
    return time.perf_counter() - t


def index(src: Path, base: Path, env: dict[str, str], pairs: int = 3) -> tuple[float, str]:
    """Median of `pairs` paired runs, each on a fresh clone (one run moved by 10% between
    repetitions on this machine)."""
    env2 = {**env, "AIRCHER_SKIP": "1"}  # the file index alone, as `index` builds it
    ratios, ours_t, loop_t = [], [], []
    for i in range(pairs):
        clone = base / f"clone{i}"
        sh(["git", "clone", "-q", str(src), str(clone)], base, env)
        baseline = _loop(clone, base / "loop.db")
        ours = timed([TOOL, "index", "--background"], clone, {**env2, "AIRCHER_HOME": str(
            base / f"index-home{i}")})
        ratios.append(ours / baseline)
        ours_t.append(ours)
        loop_t.append(baseline)
        shutil.rmtree(clone, ignore_errors=True)
    return statistics.median(ratios), (
        f"index {statistics.median(ours_t):.2f} s, loop {statistics.median(loop_t):.2f} s,"
        f" median of {pairs}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--small", type=int, default=5000)
    ap.add_argument("--large", type=int, default=50000)
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--floor", action="store_true",
                    help="also measure (a) with our post-commit shim alone and with two hooks"
                         " that do nothing (what git itself charges for running hooks)")
    ap.add_argument("--only", default="abcd",
                    help="the measures to run, e.g. `a` or `d` (default: abcd)")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="aircher-bench-"))
    env = bench_env(base)
    try:
        rows = []
        if "a" in args.only:
            plain, hooked = pair_repos(base / "a", env, args.small)
            r, d = overhead(plain, hooked, env, args.runs)
            rows.append(("(a) commit overhead", f"{r:.3f}x", "<= 1.10x", d))
            if args.floor:
                rows.extend(floors(plain, hooked, env, args.runs))
        big = base / "big"
        if set(args.only) & set("bcd"):
            make_repo(big, args.large, env)
        if "d" in args.only:
            r, d = index(big, base, env)
            rows.append(("(d) index vs plain loop", f"{r:.2f}x", "<= 2x", d))
        if set(args.only) & set("bc"):
            sh([TOOL, "init"], big, env)
            wait_idle(big)
        if "b" in args.only:
            r, d = freshness(big, env, max(5, args.runs // 2))
            rows.append(("(b) freshness p50", f"{r:.3f} s", "<= 1 s", d))
        if "c" in args.only:
            r, d = switch(big, env, max(4, args.runs // 4))
            rows.append(("(c) branch switch apply", f"{r:.2f}x", "<= 3x", d))
        w = [max(len(str(c)) for c in col) for col in zip(*rows, strict=True)]
        head = ("measure", "result", "target", "detail")
        w = [max(a, len(b)) for a, b in zip(w, head, strict=True)]
        print("  ".join(h.ljust(n) for h, n in zip(head, w, strict=True)))
        for row in rows:
            print("  ".join(str(c).ljust(n) for c, n in zip(row, w, strict=True)))
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
