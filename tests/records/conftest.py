from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gitext.project import Project
from tests.records.helpers import init


@pytest.fixture
def project(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    monkeypatch.setenv("AIRCHER_SKIP", "1")
    p = init(repo)
    yield p
    p.close()
