"""Identifier parts with digits in search, in a new store and in one indexed by the tokenizer
before (QA round 7: 06)."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

import gitext.search.retokenize  # noqa: F401 (its row's name is bound now, before a test patches VERSION)
from tests.conftest import commit, run_git_aircher

SHA1 = "def digest_sha1(data):\n    return hashlib.new(ALG, data)\n"
SHA256 = "def digest_sha256(data):\n    return hashlib.new(ALG, data)\n"


def scores(repo: Path, *args: str) -> dict[str, float]:
    r = run_git_aircher(repo, "search", "--json", *args, "--", "sha256")
    assert r.code == 0, r.err
    return {h["path"]: h["score"] for h in json.loads(r.out)}


def db(repo: Path, name: str) -> sqlite3.Connection:
    return sqlite3.connect(repo / ".agents" / "db" / "core" / f"{name}.db")


def test_search_tells_sha256_from_sha1(empty_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRCHER_SKIP", "1")
    commit(empty_repo, {"crypto_a.py": SHA1, "crypto_b.py": SHA256}, "digests")
    assert run_git_aircher(empty_repo, "init").code == 0
    for mode in ("text", "hybrid"):
        found = scores(empty_repo, "--mode", mode)
        assert found["crypto_b.py"] > found.get("crypto_a.py", 0.0), (mode, found)


def _old_split(word: str) -> tuple[str, ...]:
    """The tokenizer before: letters and the digits after them never joined."""
    from gitext.search import tokenize

    parts = [p for piece in word.split("_") if piece for p in tokenize._PART.findall(piece)]
    out = ["".join(parts).lower()] if len(parts) > 1 else []
    return tuple(out + [tokenize.stem(p.lower()) for p in parts
                        if len(p) > 1 and not p.isdigit() and p.lower() not in
                        tokenize.STOP_WORDS])


def test_a_store_of_the_older_tokenizer_is_made_again_once(
        empty_repo: Path, monkeypatch: pytest.MonkeyPatch, aircher: Any) -> None:
    """After the upgrade (migration 009 leaves the work pending, the stamps name the older
    terms) the next query or update rewrites every version's terms and the built-in embedder's
    vectors, and then it is not done again."""
    from gitext.search import indexer, tokenize

    monkeypatch.setenv("AIRCHER_SKIP", "1")
    commit(empty_repo, {"crypto_a.py": SHA1, "crypto_b.py": SHA256}, "digests")
    with monkeypatch.context() as old_code:  # in this process, where the old code is in force
        old_code.setattr(tokenize, "_split", _old_split)
        old_code.setattr(tokenize, "VERSION", "terms-1")
        old_code.setattr(indexer, "retokenize", lambda project, most=None: 0, raising=False)
        tokenize._cache.clear()
        assert aircher(empty_repo, "init").code == 0
        assert aircher(empty_repo, "index").code == 0
    tokenize._cache.clear()
    with db(empty_repo, "file_index") as conn:  # what migration 009 leaves in such a store
        conn.execute("INSERT OR IGNORE INTO pending_scrubs (name) VALUES ('terms-2')")
        body = conn.execute("SELECT body_terms FROM search_docs WHERE path = 'crypto_b.py'"
                            ).fetchone()[0]
    conn.close()
    assert "sha256" not in body.split()
    with db(empty_repo, "knowledge") as kconn:
        old_ids = {r[0] for r in kconn.execute("SELECT vector_file FROM embedding_metadata")}
    kconn.close()
    assert old_ids

    found = scores(empty_repo)  # a query finds the stamp outdated
    assert found["crypto_b.py"] > found.get("crypto_a.py", 0.0), found
    with db(empty_repo, "file_index") as conn:
        assert conn.execute("SELECT count(*) FROM pending_scrubs").fetchone()[0] == 0
    conn.close()
    with db(empty_repo, "knowledge") as kconn:
        new_ids = {r[0] for r in kconn.execute("SELECT vector_file FROM embedding_metadata")}
    kconn.close()
    assert new_ids and not new_ids & old_ids  # segments of the new terms, none of the old
    stamps = list((empty_repo / ".agents" / "run").glob("indexed-*"))
    assert stamps and all("terms-2" in p.read_text() for p in stamps)


def test_the_remade_terms_are_each_version_s_own_and_messages_get_theirs(
        empty_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aircher: Any) -> None:
    """A linked worktree's uncommitted edit has no object in git: remade from the file at its
    path in the worktree that ran the update (another version), it lost its own words (QA round
    11a: 01). Messages recorded before the upgrade get the new terms too (11a: 02)."""
    from gitext import records
    from gitext.search import tokenize
    from tests.conftest import git, open_project

    monkeypatch.setenv("AIRCHER_SKIP", "1")
    commit(empty_repo, {"a.py": "def plain():\n    return 1\n"}, "a")
    linked = tmp_path / "linked"
    with monkeypatch.context() as old_code:
        old_code.setattr(tokenize, "_split", _old_split)
        old_code.setattr(tokenize, "VERSION", "terms-1")
        tokenize._cache.clear()
        assert aircher(empty_repo, "init").code == 0
        git(empty_repo, "worktree", "add", "-q", "-b", "side", str(linked))
        (linked / "a.py").write_text("def striped():\n    return 'zebra'\n")
        r = aircher(linked, "search", "--json", "--", "zebra")
        assert [h["path"] for h in json.loads(r.out)] == ["a.py"]
        with open_project(empty_repo) as project:
            conv = records.start_conversation(project, "p")
            records.add_message(project, conv.id, "user", "call parseSha256Digest first")
    tokenize._cache.clear()
    with db(empty_repo, "file_index") as conn:
        conn.execute("INSERT OR IGNORE INTO pending_scrubs (name) VALUES ('terms-2')")
    conn.close()
    r = run_git_aircher(empty_repo, "conversation", "search", "sha256")
    assert r.code == 1 or conv.id[:8] not in r.out  # before the update: old terms

    assert run_git_aircher(empty_repo, "index").code == 0
    r = run_git_aircher(linked, "search", "--json", "--", "zebra")
    assert r.code == 0, r.err
    assert [h["path"] for h in json.loads(r.out)] == ["a.py"]
    r = run_git_aircher(empty_repo, "conversation", "search", "sha256")
    assert r.code == 0 and conv.id[:8] in r.out, r.out + r.err


def test_a_large_store_of_the_older_tokenizer_is_remade_by_the_worker_a_query_starts(
        empty_repo: Path, monkeypatch: pytest.MonkeyPatch, aircher: Any) -> None:
    """More versions than a query remakes: the worker it starts does it, not the next commit."""
    import gitext.sync.local
    from gitext.search import hybrid, tokenize
    from tests.conftest import open_project
    from tests.sync.helpers import wait_idle

    commit(empty_repo, {"crypto_a.py": SHA1, "crypto_b.py": SHA256, "c.py": "x = 1\n"}, "d")
    with monkeypatch.context() as old_code:
        old_code.setenv("AIRCHER_SKIP", "1")
        old_code.setattr(tokenize, "_split", _old_split)
        old_code.setattr(tokenize, "VERSION", "terms-1")
        tokenize._cache.clear()
        assert aircher(empty_repo, "init").code == 0
        assert aircher(empty_repo, "index").code == 0
    tokenize._cache.clear()
    with db(empty_repo, "file_index") as conn:
        conn.execute("INSERT OR IGNORE INTO pending_scrubs (name) VALUES ('terms-2')")
    conn.close()
    monkeypatch.setattr(gitext.sync.local, "MAX_LOCAL_FILES", 1)  # a query's share
    with open_project(empty_repo) as project:
        hybrid.search(project, "sha256", mode="text")
    for _ in range(300):  # a deadline, not a timing test: the worker takes a moment to start
        wait_idle(empty_repo)
        with db(empty_repo, "file_index") as conn:
            left = conn.execute("SELECT count(*) FROM pending_scrubs").fetchone()[0]
        conn.close()
        if not left:
            break
        time.sleep(0.1)
    assert not left
