"""storage.lifecycle.pattern_learning_min_samples: a pattern with fewer recorded uses is listed
as not trusted and its rating does not rank it (QA round 13b: 07)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitext.project import Project

KEY = "AIRCHER_STORAGE_LIFECYCLE_PATTERN_LEARNING_MIN_SAMPLES"


def test_a_pattern_of_few_uses_is_not_trusted_and_not_ranked_by_its_rating(
    project: Project, aircher: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = aircher  # type: ignore[assignment]
    root: Path = project.repo.root

    def add(name: str, confidence: str, *outcomes: str) -> None:
        pid = run(root, "knowledge", "patterns", "add", "testing", name,
                  "--confidence", confidence).out.strip()
        for outcome in outcomes:
            assert run(root, "knowledge", "patterns", "outcome", pid, outcome).code == 0

    add("lucky", "0.5", "--success")  # one use: a rate of 1.0 that says little
    add("proven", "0.5", "--success", "--success", "--failure")
    add("hunch", "0.9")

    def listed(*args: str) -> list[tuple[str, bool]]:
        r = run(root, *args, "--json")
        assert r.code == 0, r.err
        return [(p["description"], p["trusted"]) for p in json.loads(r.out)]

    monkeypatch.setenv(KEY, "3")
    # Trusted ratings first; the rest by confidence, as unrated patterns are.
    ranked = [("proven", True), ("hunch", False), ("lucky", False)]
    assert listed("knowledge", "patterns", "list") == ranked
    assert listed("context", "patterns") == ranked
    assert listed("context", "patterns", "--across-worktrees") == ranked
    table = run(root, "knowledge", "patterns", "list").out.splitlines()
    assert table[0].split()[4:6] == ["uses", "trusted"]
    assert [line.split()[4:6] for line in table[1:]] == [["3", "yes"], ["0", "no"], ["1", "no"]]
    # A transfer does not pass on a rating of too few uses: insights rank by it.
    assert run(root, "context", "transfer", "main", root.name).code == 0
    rated = {i["description"].rsplit(": ", 1)[1]: i["effectiveness_rating"] for i in json.loads(
        run(root, "context", "insights", "--context", root.name, "--min-confidence", "0",
            "--json").out)}
    assert rated == {"proven": 0.6667, "hunch": None, "lucky": None}

    monkeypatch.setenv(KEY, "1")
    assert listed("knowledge", "patterns", "list") == [
        ("lucky", True), ("proven", True), ("hunch", False)]
