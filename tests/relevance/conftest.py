"""Shared by the relevance tests: hooks off (each test syncs explicitly) and a JSON reader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def no_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRCHER_SKIP", "1")


def relevant(aircher: Any, repo: Path, *args: str) -> list[dict[str, Any]]:
    r = aircher(repo, "relevant", "--json", "--top", "50", *args)
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert isinstance(data, list)
    return data
