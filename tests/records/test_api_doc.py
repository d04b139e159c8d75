"""docs/api.md's example is real: it runs, as written, against a fresh store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gitext.project import Project
from tests.records.helpers import count

API = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_the_documented_example_runs(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    text = API.read_text("utf-8")
    example = re.search(r"## An agent recording a conversation\n\n```python\n(.*?)```", text,
                        re.S)
    assert example
    monkeypatch.chdir(project.repo.root)
    exec(compile(example.group(1), str(API), "exec"), {})  # noqa: S102
    assert count(project, "conversations", "messages") == 2
    assert count(project, "conversations", "message_attachments") == 2
    assert count(project, "conversations", "compaction_history") == 1
    assert count(project, "knowledge", "conversation_effectiveness") == 1
    with project.db("sessions").read() as conn:
        assert conn.execute("SELECT status FROM sessions").fetchone()[0] == "inactive"
