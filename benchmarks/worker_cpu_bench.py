"""CPU the background worker spends per one-file commit, for one or more installs side by side.

    .venv/bin/python benchmarks/worker_cpu_bench.py BIN [BIN ...] [--files 30] [--commits 5]

BIN is a folder holding a `git-aircher` (e.g. .venv/bin, or another checkout's). For each, a
fresh repository of --files small Python files (HOME, AIRCHER_HOME and git config isolated) is
set up with `init` and `sync`; then each commit runs under this process as a child subreaper,
so the detached worker the hook starts is reparented here and its CPU counted once it exits.
Installs take turns commit by commit (the machine is shared); the table gives each one's median
CPU per commit (hook and worker together) and its ratio to the first BIN's.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import statistics
import subprocess
import tempfile
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36


def _env(home: Path, bin_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "AIRCHER_"))}
    (home / "home").mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home / "home"), AIRCHER_HOME=str(home / "aircher"), AIRCHER_SERVE="0",
               GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@example.com",
               GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@example.com",
               PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return env


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _reap_all() -> None:
    while True:
        try:
            os.wait()
        except ChildProcessError:
            return


def setup(bin_dir: Path, top: Path, files: int) -> tuple[Path, dict[str, str]]:
    env = _env(top, bin_dir)
    repo = top / "repo"
    repo.mkdir()
    for i in range(files):
        (repo / f"m{i}.py").write_text(f"def f{i}(x):\n    return x + {i}\n")
    for args in (["git", "init", "-q"], ["git", "add", "."], ["git", "commit", "-qm", "i"],
                 ["git", "aircher", "init"], ["git", "aircher", "sync"]):
        subprocess.run(args, cwd=repo, env=env, check=True, stdout=subprocess.DEVNULL)
    _reap_all()  # init's worker
    return repo, env


def one_commit(repo: Path, env: dict[str, str], n: int) -> float:
    (repo / f"new{n}.py").write_text(f"def g{n}(rows):\n    return sorted(rows)[{n}:]\n")
    before = _children_cpu()
    subprocess.run(["git", "add", f"new{n}.py"], cwd=repo, env=env, check=True)
    subprocess.run(["git", "commit", "-qm", f"n{n}"], cwd=repo, env=env, check=True)
    _reap_all()
    return _children_cpu() - before


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("bins", nargs="+", type=Path)
    ap.add_argument("--files", type=int, default=30)
    ap.add_argument("--commits", type=int, default=5)
    args = ap.parse_args()
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    with tempfile.TemporaryDirectory() as tmp:
        setups = [setup(b.resolve(), Path(tmp) / str(i), args.files)
                  for i, b in enumerate(args.bins)]
        times: list[list[float]] = [[] for _ in setups]
        for n in range(args.commits):
            for i, (repo, env) in enumerate(setups):
                times[i].append(one_commit(repo, env, n))
    base = statistics.median(times[0])
    print(f"{'install':<40} {'CPU per commit (s)':>19} {'ratio':>6}")
    for b, t in zip(args.bins, times, strict=True):
        med = statistics.median(t)
        print(f"{str(b)[-40:]:<40} {med:>19.3f} {med / base:>5.2f}x")


if __name__ == "__main__":
    main()
