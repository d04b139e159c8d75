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
