"""Every search hit names where in its file it is: its lines and a preview, also in text mode,
with embeddings off, and for a file whose vectors are not computed yet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitext.search.locate import best_place
from tests.conftest import commit, open_project
from tests.search.test_search import search_json

# Three definitions; the query's words sit in the third one only.
MODULE = "".join(
    f"def helper_{n}(value):\n    \"\"\"Plain helper number {n}.\"\"\"\n"
    + "".join(f"    value = value + {k}\n" for k in range(70)) + "    return value\n\n\n"
    for n in range(2)
) + "def reconcile_ledger_entries(ledger):\n    return sorted(ledger)\n"
LEDGER_LINE = MODULE.splitlines().index("def reconcile_ledger_entries(ledger):") + 1


@pytest.fixture(autouse=True)
def no_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRCHER_SKIP", "1")


@pytest.fixture
def ledger(empty_repo: Path, aircher: Any) -> Path:
    commit(empty_repo, {"src/books.py": MODULE, "NOTES.md": "one line of notes\n",
                        "README.md": "# books\n"}, "books")
    assert aircher(empty_repo, "index").code == 0
    return empty_repo


def _hit(hits: list[dict[str, Any]], path: str) -> dict[str, Any]:
    return next(h for h in hits if h["path"] == path)


def test_text_mode_names_the_definition_the_words_are_in(ledger: Path, aircher: Any) -> None:
    text = _hit(search_json(aircher, ledger, "--mode", "text", "--", "reconcile ledger"),
                "src/books.py")
    assert text["line_start"] == LEDGER_LINE
    assert text["preview"].startswith("def reconcile_ledger_entries(ledger):")
    # The same chunk the vectors name: one chunking for both.
    vector = _hit(search_json(aircher, ledger, "--mode", "vector", "--", "reconcile ledger"),
                  "src/books.py")
    assert {k: text[k] for k in ("chunk_index", "line_start", "line_end")} == \
        {k: vector[k] for k in ("chunk_index", "line_start", "line_end")}


def test_a_one_line_file_is_one_line(ledger: Path, aircher: Any) -> None:
    hit = _hit(search_json(aircher, ledger, "--mode", "text", "--", "notes"), "NOTES.md")
    assert (hit["line_start"], hit["line_end"], hit["preview"]) == (1, 1, "one line of notes")


def test_hits_are_placed_with_embeddings_off(empty_repo: Path, aircher: Any) -> None:
    assert aircher(empty_repo, "init").code == 0
    assert aircher(empty_repo, "config", "set", "storage.embeddings.enabled", "false").code == 0
    commit(empty_repo, {"src/books.py": MODULE}, "books")
    assert aircher(empty_repo, "index").code == 0
    project = open_project(empty_repo)
    with project.db("knowledge").read() as conn:
        assert conn.execute("SELECT count(*) FROM embedding_metadata").fetchone()[0] == 0
    project.close()
    hit = _hit(search_json(aircher, empty_repo, "--", "reconcile ledger"), "src/books.py")
    assert hit["line_start"] == LEDGER_LINE and hit["preview"].startswith("def reconcile")


def test_of_equal_chunks_the_first_and_a_path_only_hit_points_at_the_top() -> None:
    lines = ["alpha", "beta", "gamma alpha", "delta"]
    assert best_place(lines, [(0, 1, 2), (1, 3, 4)], ["alpha", "gamma"]).line_start == 3
    assert best_place(lines, [(0, 1, 2), (1, 3, 4)], ["alpha"]).line_start == 1
    assert best_place(lines, [(0, 1, 2), (1, 3, 4)], ["zeta"]).chunk_index == 0
    assert best_place(lines, [], ["alpha"]) is None


def test_a_match_past_the_chunks_caps_is_placed_on_its_lines(empty_repo: Path,
                                                             aircher: Any) -> None:
    """Chunks keep only their first 8,000 characters for the embedder and a file only its
    first 400 chunks; the full-text index holds the whole file, so the file was found, but no
    chunk held the word and the hit fell back to chunk 0, lines 1-60 (QA round 25a: 07). The
    place is now found in the chunks' whole lines, and past the 400th chunk on the same cut."""
    wide = [f"row {i} " + "x" * 190 for i in range(200)]
    wide[87] = "wideneedle " + "y" * 190
    big = [f"l {i}" for i in range(20_000)]
    big[19_500] = "tailneedle is here"
    commit(empty_repo, {"wide.txt": "\n".join(wide) + "\n", "big.txt": "\n".join(big) + "\n"},
           "data")
    assert aircher(empty_repo, "index").code == 0
    for path, word, line in (("wide.txt", "wideneedle", 88), ("big.txt", "tailneedle", 19_501)):
        hit = _hit(search_json(aircher, empty_repo, "--mode", "text", "--", word), path)
        assert hit["line_start"] <= line <= hit["line_end"], (path, hit)
        assert hit["chunk_index"] > 0 and hit["line_end"] - hit["line_start"] < 60
    hit = _hit(search_json(aircher, empty_repo, "--mode", "text", "--", "tailneedle"), "big.txt")
    assert hit["preview"].startswith("l 19")  # its window, numbered on past the 400th
    assert hit["chunk_index"] >= 400


def test_a_hybrid_hit_is_not_placed_by_a_hash_collision(empty_repo: Path, aircher: Any) -> None:
    """The hybrid hit took the chunk of the highest hashed cosine, and a chunk that only shared
    a bucket of aircher-hash-384 with the query word ("strict", of `"use strict";`, and
    "zqneedle") beat the chunk holding it: lines 1-56 without the word, where `--mode text`
    named the right chunk (QA round 25a: 04). The vectors' chunk now stays only while it holds
    as many of the query's words as any chunk of the file."""
    lines = ['"use strict";']
    for i in range(40):
        lines += [f"function jsfunc_{i}(x) {{", f"  const yy = x + {i};",
                  f"  return {'zqneedle' if i == 33 else 'yy'};", "}", ""]
    needle = lines.index("  return zqneedle;") + 1
    commit(empty_repo, {"m.js": "\n".join(lines) + "\n"}, "m")
    assert aircher(empty_repo, "index").code == 0
    text = _hit(search_json(aircher, empty_repo, "--mode", "text", "--", "zqneedle"), "m.js")
    hybrid = _hit(search_json(aircher, empty_repo, "--", "zqneedle"), "m.js")
    assert hybrid["line_start"] <= needle <= hybrid["line_end"], hybrid
    assert {k: hybrid[k] for k in ("chunk_index", "line_start", "line_end", "preview")} == \
        {k: text[k] for k in ("chunk_index", "line_start", "line_end", "preview")}


def test_a_hybrid_hit_keeps_the_vectors_chunk_that_holds_the_words(ledger: Path,
                                                                   aircher: Any) -> None:
    """The vectors' chunk, when it holds the words, is the place (and no file is read)."""
    hit = _hit(search_json(aircher, ledger, "--", "reconcile ledger"), "src/books.py")
    assert hit["line_start"] == LEDGER_LINE
