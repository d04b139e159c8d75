"""`git aircher search` on real repositories: planted content, branches, deletions, secrets."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from gitext.search.orphans import ORPHAN_GRACE
from tests.conftest import commit, git

PLANTED = '''\
"""Cache for widgets."""


def frobnicate_widget_cache(widget, ttl):
    """Keep a frobnicated copy of every widget for ttl seconds."""
    return {"widget": widget, "ttl": ttl}
'''

FILLER = {
    "README.md": "# demo\n\nA small demo project about parsing command lines.\n",
    "src/cli/parser.py": "def parse_arguments(argv):\n    return [a for a in argv if a]\n",
    "src/net/http_client.py": "class HttpClient:\n    def get(self, url):\n        return url\n",
    "docs/usage.md": "# Usage\n\nRun the parser with arguments and read the output.\n",
}


@pytest.fixture(autouse=True)
def no_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Hooks would start a background worker racing the in-process index these tests count.
    monkeypatch.setenv("AIRCHER_SKIP", "1")


@pytest.fixture
def indexed(empty_repo: Path, aircher: Any) -> Path:
    commit(empty_repo, FILLER, "filler")
    commit(empty_repo, {"src/widgets/cache.py": PLANTED}, "add widget cache")
    r = aircher(empty_repo, "index")
    assert r.code == 0, r.err
    return empty_repo


def search_json(aircher: Any, repo: Path, *args: str) -> list[dict[str, Any]]:
    r = aircher(repo, "search", "--json", *args)
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert isinstance(data, list)
    return data


def db(repo: Path, name: str) -> sqlite3.Connection:
    return sqlite3.connect(repo / ".agents" / "db" / "core" / f"{name}.db")


@pytest.mark.parametrize("mode", ["hybrid", "text", "vector"])
def test_planted_content_is_found(indexed: Path, aircher: Any, mode: str) -> None:
    hits = search_json(aircher, indexed, "--mode", mode, "--top", "3", "--",
                       "frobnicate the widget cache")
    assert hits and hits[0]["path"] == "src/widgets/cache.py"
    first = hits[0]
    assert set(first) == {"path", "score", "chunk_index", "line_start", "line_end", "preview"}
    assert first["line_start"] <= 4 <= first["line_end"]
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_identifier_parts_match_words(indexed: Path, aircher: Any) -> None:
    # "http client" finds HttpClient through the camelCase split, in text mode alone.
    hits = search_json(aircher, indexed, "--mode", "text", "--", "http clients")
    assert hits[0]["path"] == "src/net/http_client.py"


def test_human_output(indexed: Path, aircher: Any) -> None:
    r = aircher(indexed, "search", "widget", "cache")
    assert r.code == 0 and "src/widgets/cache.py" in r.out.splitlines()[1]


def test_deleted_files_leave_results(indexed: Path, aircher: Any,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    git(indexed, "rm", "-q", "src/widgets/cache.py")
    git(indexed, "commit", "-qm", "drop the cache")
    assert aircher(indexed, "index").code == 0
    for mode in ("hybrid", "text", "vector"):
        r = aircher(indexed, "search", "--json", "--mode", mode, "--", "frobnicate widget cache")
        assert r.code == 0, r.err
        assert all(h["path"] != "src/widgets/cache.py" for h in json.loads(r.out))

    def kept() -> tuple[int, int]:
        with db(indexed, "file_index") as conn:
            return tuple(int(conn.execute(f"SELECT count(*) FROM {table} WHERE path ="
                                          " 'src/widgets/cache.py'").fetchone()[0])
                         for table in ("search_docs", "search_orphans"))

    # Out of the index at once; its terms set aside an hour (a checkout back needs them).
    assert kept() == (0, 1)
    monkeypatch.setenv("AIRCHER_NOW", str(time.time() + ORPHAN_GRACE - 60))
    assert aircher(indexed, "index").code == 0
    assert kept() == (0, 1)
    monkeypatch.setenv("AIRCHER_NOW", str(time.time() + ORPHAN_GRACE + 60))
    assert aircher(indexed, "index").code == 0
    assert kept() == (0, 0)


def test_secret_files_are_never_indexed(empty_repo: Path, aircher: Any) -> None:
    commit(empty_repo, {**FILLER, ".env": "ZEBRACORN_TOKEN=abc\n",
                        "keys/server.pem": "zebracorn private\n"}, "with secrets")
    assert aircher(empty_repo, "index").code == 0
    for mode in ("text", "vector", "hybrid"):
        hits = search_json(aircher, empty_repo, "--mode", mode, "--", "zebracorn token")
        assert all(h["path"] not in (".env", "keys/server.pem") for h in hits)
    with db(empty_repo, "file_index") as conn:
        docs = {r[0] for r in conn.execute("SELECT path FROM search_docs")}
        assert docs == set(FILLER)
        assert conn.execute("SELECT count(*) FROM search_docs WHERE body_terms LIKE"
                            " '%zebracorn%'").fetchone()[0] == 0
    with db(empty_repo, "knowledge") as conn:
        paths = {r[0] for r in conn.execute("SELECT file_path FROM embedding_metadata")}
        assert ".env" not in paths and "keys/server.pem" not in paths


HOSTILE = [
    "\" OR 1=1; DROP TABLE search_docs; --",
    "NEAR(widget cache) AND * ^ : ( ) { } [ ] -cache +widget col:value",
    "'; SELECT * FROM files; /* */",
    "\x00\x01 widget \u2028 cache \ud800",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_answer_or_fail_cleanly(indexed: Path, aircher: Any, query: str) -> None:
    r = aircher(indexed, "search", "--json", "--", query)
    assert r.code == 0, r.err
    assert isinstance(json.loads(r.out), list)
    with db(indexed, "file_index") as conn:
        assert conn.execute("SELECT count(*) FROM search_docs").fetchone()[0] == 5


def test_empty_and_huge_queries(indexed: Path, aircher: Any) -> None:
    r = aircher(indexed, "search", "--json", "--", "   ")
    assert r.code == 2 and "empty query" in r.err and "Traceback" not in r.err
    huge = ("widget cache frobnicate " * 5000)[:100_000]
    hits = search_json(aircher, indexed, "--", huge)
    assert hits[0]["path"] == "src/widgets/cache.py"
    r = aircher(indexed, "search", "--top", "0", "--", "widget")
    assert r.code == 2 and "--top" in r.err


def test_invalid_utf8_argument(indexed: Path) -> None:
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "git-aircher"
    proc = subprocess.run([str(exe), "search", "--json", "--", b"widget \xff\xfe cache"],
                          cwd=indexed, capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert b"Traceback" not in proc.stderr
    assert json.loads(proc.stdout)[0]["path"] == "src/widgets/cache.py"


def test_search_before_index_is_a_clear_error(repo: Path, aircher: Any) -> None:
    r = aircher(repo, "search", "anything")
    assert r.code == 2 and "git aircher init" in r.err


def test_a_word_in_no_file_finds_nothing(empty_repo: Path, aircher: Any) -> None:
    """The hash embedder has no semantics: a query word no file holds met notes.txt only
    through a hash collision ("quetzal" and "line" share a signed bucket of aircher-hash-384),
    which passed the vector-only threshold (QA round 7: 10)."""
    from gitext.search.embedders import HashEmbedder

    notes = "".join(f"line {i}\n" for i in range(10))
    commit(empty_repo, {"notes.txt": notes,
                        "app.py": "def parse():\n    return open('config').read()\n"}, "base")
    assert aircher(empty_repo, "index").code == 0
    vectors = HashEmbedder(384).embed(["quetzal", notes])
    assert float(vectors[0] @ vectors[1]) > 0.21  # the collision is there to be misread
    for mode in ("hybrid", "vector"):
        assert search_json(aircher, empty_repo, "--mode", mode, "--", "quetzal") == []
        # A real word beside it still finds its file, and only that.
        hits = search_json(aircher, empty_repo, "--mode", mode, "--", "quetzal parse")
        assert [h["path"] for h in hits] == ["app.py"]

    # The word in one file: that file is the answer, not the ones holding "line".
    commit(empty_repo, {"birds.md": "The quetzal is a bird of Central America.\n"}, "birds")
    assert aircher(empty_repo, "index").code == 0
    for mode in ("hybrid", "vector"):
        hits = search_json(aircher, empty_repo, "--mode", mode, "--", "quetzal")
        assert "notes.txt" not in [h["path"] for h in hits]
    assert [h["path"] for h in search_json(aircher, empty_repo, "--", "quetzal")] == ["birds.md"]


def test_tables_escape_a_newline_in_a_path(empty_repo: Path, aircher: Any) -> None:
    """`search` and `relevant` tables printed a newline in a file name as a space, so
    `new<LF>line.py` and `new line.py` looked the same (a tab was already `\\t`); a path is
    shown as git quotes it (QA round 20b: 09): in double quotes with C escapes, so a name
    holding a backslash and an n is not taken for one holding a newline (QA round 21b: 07)."""
    commit(empty_repo, {"new\nline.py": "kiwi_word = 1\n", "new line.py": "kiwi_word = 2\n",
                        "ta\tb.py": "kiwi_word = 3\n", "new\\nline.py": "kiwi_word = 4\n"},
           "odd names")
    assert aircher(empty_repo, "index").code == 0
    for args in (("search", "kiwi_word"), ("relevant", "--top", "50")):
        r = aircher(empty_repo, *args)
        assert r.code == 0, r.err
        cells = {cell for line in r.out.splitlines()[1:] for cell in line.split("  ")}
        assert {'"new\\nline.py"', "new line.py", '"ta\\tb.py"', '"new\\\\nline.py"'} <= cells, (
            args, r.out)


def test_vector_hits_are_checked_for_the_query_s_terms_in_one_pass_when_many(
        empty_repo: Path, aircher: Any) -> None:
    """QA round 26f: 01. Hybrid search kept the vector hits holding a query term with one FTS5
    statement per hit: 27,833 of them, 7 s of a search on a 30,000-file repository. Many hits
    are checked in one pass over the terms' document lists, a few still one at a time; the
    answer is the same either way."""
    from gitext.search import fulltext
    from gitext.search.tokenize import terms

    commit(empty_repo, {f"pkg/m{i}.py": f"# refresh the token {i}\n" if i % 3 else
                        f"# nothing to see {i}\n" for i in range(90)}, "files")
    assert aircher(empty_repo, "index").code == 0
    conn = db(empty_repo, "file_index")
    versions = {p: b for p, b in conn.execute("SELECT path, blob FROM search_docs")
                if p.startswith("pkg/")}
    assert len(versions) == 90
    qterms = terms("refresh token")
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    assert fulltext.holding(conn, versions, qterms) == {
        p for p in versions if int(p[len("pkg/m"):-len(".py")]) % 3}
    assert sum("search_fts MATCH" in s for s in statements) == 1, statements
    # Two versions against terms in 60 files: each seeked by its rowid.
    statements.clear()
    two = {p: versions[p] for p in ("pkg/m1.py", "pkg/m3.py")}
    assert fulltext.holding(conn, two, qterms) == {"pkg/m1.py"}
    assert sum("search_fts MATCH" in s for s in statements) == 2, statements
    conn.close()
