"""The store's logs rotate by size (gzipped) and stay readable across rotations."""

from __future__ import annotations

import gzip

import pytest

from gitext.lifecycle import logs
from gitext.project import Project


def test_logs_rotate_gzipped_and_stay_readable(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs.close_loggers()
    monkeypatch.setattr(logs, "MAX_BYTES", 2000)
    log = logs.get_logger(project.layout, "worktree")
    for i in range(100):
        log.warning("line %d %s", i, "w" * 50)
    base = logs.log_path(project.layout, "worktree")
    rotated = base.with_name("worktree.log.1.gz")
    assert rotated.exists() and base.stat().st_size <= 2000
    with gzip.open(rotated, "rt") as fh:
        assert "WARNING line" in fh.read()
    assert not base.with_name("worktree.log.4.gz").exists()  # three rotations kept
    entries = [e for p in logs.recent_files(project.layout, "worktree")
               for e in logs.read_entries(p)]
    assert entries and entries[-1].message.startswith("line 99 ")
    assert all(e.level == "WARNING" for e in entries)


def test_unknown_log_names_are_refused(project: Project) -> None:
    with pytest.raises(ValueError):
        logs.get_logger(project.layout, "mystery")


def test_every_line_of_storage_log_has_a_time_and_a_level(project: Project) -> None:
    """The sync engine's lines (worker, hooks, the journal-mode note) had the pid where the
    level goes, so a filter on the level never saw them, against docs/lifecycle.md (QA round
    15a: 02). Older such lines are still read, failures counted as errors."""
    import os
    import re

    from gitext.sync.logbook import log

    base = logs.log_path(project.layout, "storage")
    log(project.layout.logs, "storage", "installed hook shims in /somewhere")
    log(project.layout.logs, "storage", "hook post-commit failed", RuntimeError("boom"))
    with base.open("a") as fh:
        fh.write("2026-01-01 00:00:00 [42] failed to apply post-commit in /old\n")
    lines = [ln for ln in base.read_text().splitlines() if not ln.startswith(("Traceback", " "))
             and not ln.startswith("RuntimeError")]
    pid = os.getpid()
    assert re.fullmatch(rf"\S+ \S+ INFO \[{pid}\] installed hook shims in /somewhere", lines[0])
    assert re.fullmatch(rf"\S+ \S+ ERROR \[{pid}\] hook post-commit failed", lines[1])
    levels = [(e.level, e.message.split("] ", 1)[-1]) for e in logs.read_entries(base)]
    assert levels == [("INFO", "installed hook shims in /somewhere"),
                      ("ERROR", "hook post-commit failed"),
                      ("ERROR", "failed to apply post-commit in /old")]
