"""What `git aircher index` costs in a partial clone (`--filter=blob:none`, and with `--sparse`)
against a full clone of the same repository, in the same run, and how many fetches from the
remote it made git do (each adds a pack). The remote is REPO through `file://`, so a fetch
costs a local round trip here. Over a network each one is a round trip to the server, and
offline it is an error.

    .venv/bin/python benchmarks/partial_bench.py REPO [--runs 3]

Each run clones afresh and indexes with the hooks and the background worker off
(`AIRCHER_SKIP=1`, then `index`, which does the whole of it in the foreground). It reports the
median of the runs and the ratio to the full clone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

VENV_BIN = Path(__file__).resolve().parent.parent / ".venv" / "bin"
UPLOAD = "git -c uploadpack.allowFilter=true upload-pack"  # the source repository unchanged
KINDS = {"full clone": [], "partial (blob:none)": ["--filter=blob:none"],
         "partial + sparse": ["--filter=blob:none", "--sparse"]}


def packs(clone: Path) -> int:
    return len(list((clone / ".git" / "objects" / "pack").glob("*.pack")))


def one(repo: Path, extra: list[str], scratch: Path) -> tuple[float, int]:
    clone = scratch / "clone"
    shutil.rmtree(clone, ignore_errors=True)
    # No automatic repacking in the clone: it would merge the packs the fetches add.
    subprocess.run(["git", "clone", "-q", "-c", "gc.auto=0", "-c", "maintenance.auto=false",
                    "--upload-pack", UPLOAD, *extra, repo.resolve().as_uri(), str(clone)],
                   check=True)
    env = {**os.environ, "AIRCHER_HOME": str(scratch / "home"), "AIRCHER_SKIP": "1"}
    before = packs(clone)
    start = time.perf_counter()
    subprocess.run([str(VENV_BIN / "git-aircher"), "index"], cwd=clone, env=env, check=True,
                   capture_output=True)
    return time.perf_counter() - start, packs(clone) - before


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("repo", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="partial-bench-"))
    try:
        times: dict[str, list[float]] = {k: [] for k in KINDS}
        fetched: dict[str, list[int]] = {k: [] for k in KINDS}
        for _ in range(args.runs):
            for kind, extra in KINDS.items():  # interleaved: the machine is shared and noisy
                secs, new = one(args.repo, extra, scratch)
                times[kind].append(secs)
                fetched[kind].append(new)
        base = statistics.median(times["full clone"])
        print(f"| clone of {args.repo.name} | index (median of {args.runs}) | ratio"
              " | fetches during index |")
        print("|---|---|---|---|")
        for kind in KINDS:
            t = statistics.median(times[kind])
            print(f"| {kind} | {t:.2f} s | {t / base:.2f}x | {max(fetched[kind])} |")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
