"""Fixtures for lifecycle tests: an initialised store with the hooks switched off, so no
hook-started worker writes to the store while a test corrupts, restores or times it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gitext.init import init_project
from gitext.lifecycle.logs import close_loggers
from gitext.project import Project
from tests.conftest import open_project


@pytest.fixture
def project(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    monkeypatch.setenv("AIRCHER_SKIP", "1")
    p = open_project(repo)
    init_project(p)
    yield p
    p.close()
    close_loggers()
