"""Fixtures for lifecycle tests: an initialised store with the hooks switched off, so no
hook-started worker writes to the store while a test corrupts, restores or times it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitext.init import init_project
from gitext.lifecycle.logs import close_loggers
from gitext.project import Project


def open_project(repo: Path) -> Project:
    return Project.locate(repo, Path(os.environ["AIRCHER_HOME"]), os.environ)


@pytest.fixture
def project(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    monkeypatch.setenv("AIRCHER_SKIP", "1")
    p = open_project(repo)
    init_project(p)
    yield p
    p.close()
    close_loggers()
