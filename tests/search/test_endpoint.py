"""An OpenAI-compatible embedding endpoint that goes down or changes its vectors' size: search
still answers, and says what it did without."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import commit, git, open_project, run_git_aircher


@pytest.fixture(autouse=True)
def no_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRCHER_SKIP", "1")


@dataclass
class Endpoint:
    """A real HTTP server answering /embeddings with bag-of-words vectors of `dimension`."""

    url: str
    dimension: int = 64
    down: bool = False
    # A misbehaving endpoint: (status, headers, body) for the texts of a request.
    answer: Callable[[list[str]], tuple[int, dict[str, str], bytes]] | None = None
    # (method, path, Authorization header) of every request received.
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)


def _handler(state: Endpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            state.requests.append((self.command, self.path, self.headers.get("Authorization")))
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else {"input": []}
            if state.down:
                self.send_response(503)
                self.end_headers()
                return
            if state.answer is not None:
                status, headers, payload = state.answer(body["input"])
                with contextlib.suppress(OSError):  # a client that stopped waiting
                    self.send_response(status)
                    for name, value in {"Content-Length": str(len(payload)), **headers}.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                return
            data = []
            for i, text in enumerate(body["input"]):
                vec = [0.0] * state.dimension
                for word in re.findall(r"[a-z]+", text.lower()):
                    vec[int(hashlib.md5(word.encode()).hexdigest(), 16) % state.dimension] += 1
                vec[0] += 0.01
                data.append({"index": i, "embedding": vec})
            payload = json.dumps({"data": data}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST  # noqa: N815 (a redirect turns a POST into a GET)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextlib.contextmanager
def _serving(host: str = "127.0.0.1") -> Iterator[Endpoint]:
    state = Endpoint("")
    server = ThreadingHTTPServer((host, 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://{host}:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[Endpoint]:
    with _serving() as state:
        monkeypatch.setenv("AIRCHER_STORAGE_EMBEDDINGS_EMBEDDING_MODEL", "openai:fake")
        monkeypatch.setenv("AIRCHER_STORAGE_EMBEDDINGS_ENDPOINT", state.url)
        yield state


def _paths(out: str) -> list[str]:
    return [h["path"] for h in json.loads(out)]


def _blob(repo: Path, path: str) -> str:
    return git(repo, "hash-object", path).strip()


def _vector_blobs(repo: Path) -> set[str]:
    with open_project(repo) as project, project.db("knowledge").read() as conn:
        return {r[0] for r in conn.execute(
            "SELECT content_hash FROM embedding_metadata WHERE embedding_model = 'openai:fake'"
            " AND vector_file IS NOT NULL")}


def test_endpoint_down_leaves_vectors_for_later(repo: Path, aircher: Any, endpoint: Endpoint,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRCHER_STORAGE_EMBEDDINGS_DIMENSION", "64")
    commit(repo, {"t.py": "def lookup():\n    return 'tapir'\n"}, "t")
    assert aircher(repo, "init").code == 0 and aircher(repo, "index").code == 0
    endpoint.down = True
    (repo / "t.py").write_text("def lookup():\n    return 'tapir okapi'\n")
    r = aircher(repo, "search", "--json", "--mode", "text", "okapi")
    assert (r.code, _paths(r.out), r.err) == (0, ["t.py"], "")  # text needs no vectors
    for args in (["search", "--json", "okapi"], ["relevant", "--json", "--task", "okapi"]):
        r = aircher(repo, *args)
        assert r.code == 0 and _paths(r.out)[0] == "t.py", r.err
        assert r.err.startswith("warning: embedding endpoint") and r.err.count("\n") == 1
        assert "answered without vectors" in r.err
    r = aircher(repo, "search", "--json", "--mode", "vector", "lookup tapir okapi")
    assert r.code == 1 and "answered 503" in r.err  # vectors alone: nothing to fall back on
    # The endpoint back: the next query embeds the edit, as it would have.
    endpoint.down = False
    r = aircher(repo, "search", "--json", "--mode", "vector", "lookup tapir okapi")
    assert (r.code, _paths(r.out)[0], r.err) == (0, "t.py", "")
    assert _blob(repo, "t.py") in _vector_blobs(repo)
    # A commit taken in by a query while the endpoint is down is not stamped as indexed.
    commit(repo, {"u.py": "def other():\n    return 'quokka'\n"}, "u")
    endpoint.down = True
    r = aircher(repo, "search", "--json", "quokka")
    assert r.code == 0 and _paths(r.out) == ["u.py"] and r.err.startswith("warning: ")
    endpoint.down = False
    r = aircher(repo, "search", "--json", "--mode", "vector", "other quokka")
    assert (r.code, _paths(r.out)[0]) == (0, "u.py"), r.err
    assert _blob(repo, "u.py") in _vector_blobs(repo)


def test_vectors_count_by_their_real_size(repo: Path, aircher: Any, endpoint: Endpoint) -> None:
    from gitext.search.embedders import embedder_for
    from gitext.search.maintenance import compact

    # storage.embeddings.dimension left at its default (384): the endpoint's 16 is what counts.
    endpoint.dimension = 16
    commit(repo, {"dc.py": "def dim_change():\n    return 'ocelot'\n"}, "dc")
    assert aircher(repo, "init").code == 0 and aircher(repo, "index").code == 0
    query = ("search", "--json", "--mode", "vector", "dim change ocelot")
    r = aircher(repo, *query)
    assert (r.code, _paths(r.out), r.err) == (0, ["dc.py"], "")
    # The model behind the name changes its size: a query's update embeds the new file at 8
    # and leaves dc.py's 16-d vectors out of the matrix, saying so.
    endpoint.dimension = 8
    commit(repo, {"dc2.py": "def dim_change_two():\n    return 'ocelot'\n"}, "dc2")
    r = aircher(repo, *query, "two")
    assert r.code == 0 and _paths(r.out) == ["dc2.py"]
    assert r.err.startswith("warning: the vectors of 3 files have 16 dimensions, not the 8")
    assert r.err.count("\n") == 1
    with open_project(repo) as project:
        compact(project, embedder_for(project))  # two sizes, one segment each
    # A full update asks the endpoint its size and embeds dc.py again.
    assert aircher(repo, "index").code == 0
    r = aircher(repo, *query, "two")
    assert (r.code, r.err) == (0, "") and {"dc.py", "dc2.py"} <= set(_paths(r.out))
    with open_project(repo) as project, project.db("knowledge").read() as conn:
        sizes = {r[0] for r in conn.execute("SELECT dimension FROM embedding_metadata"
                                            " WHERE vector_file IS NOT NULL")}
    assert sizes == {8}


def test_vector_search_fails_with_the_endpoint_when_no_vector_is_in(
        repo: Path, aircher: Any, endpoint: Endpoint) -> None:
    """The endpoint down before the model had any vector, a file edited: the query's take-in
    left the edit's vectors for later, the model had no rows to compare, and `--mode vector`
    answered [] with exit 0 and a warning that the files were searched by their text, which
    vector search does not do (QA round 8: 05). Vectors alone: the endpoint's error."""
    commit(repo, {"w.md": "the parser and the widget\n"}, "w")
    endpoint.down = True
    assert aircher(repo, "init").code == 0
    (repo / "w.md").write_text("the parser and the widget, more widget\n")
    r = aircher(repo, "search", "--json", "--mode", "vector", "widget")
    assert (r.code, r.out) == (1, "") and r.err.startswith("error: embedding endpoint"), r.err
    r = aircher(repo, "search", "--json", "widget")  # hybrid still answers, from text
    assert r.code == 0 and _paths(r.out) == ["w.md"] and r.err.startswith("warning: "), r.err


def test_no_endpoint_and_no_key_sends_nothing(repo: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """An `openai:<model>` embedding model with no endpoint and no API key POSTed the
    repository's text to https://api.openai.com/v1/embeddings, without a key, at the next
    index, commit or query (QA round 25c: 02). Now nothing leaves the machine: one `error:`
    line names the missing endpoint. A proxy that records every request stands in for the
    network."""
    from gitext.search.embedders import OpenAIEmbedder, make_embedder

    seen: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        def _record(self) -> None:
            seen.append(self.requestline)
            self.send_response(502)
            self.end_headers()

        do_CONNECT = do_POST = do_GET = _record  # noqa: N815 (http.server's naming)

        def log_message(self, *args: Any) -> None:
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{proxy.server_address[1]}"
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, url)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    try:
        assert run_git_aircher(repo, "init").code == 0
        r = run_git_aircher(repo, "config", "set", "storage.embeddings.embedding_model",
                            "openai:text-embedding-3-small")
        assert r.code == 0, r.err
        (repo / "src" / "app.py").write_text("def secret_business_logic():\n    pass\n")
        for args in (("index",), ("search", "--mode", "vector", "secret")):
            r = run_git_aircher(repo, *args)
            lines = r.err.splitlines()
            assert r.code == 2 and r.out == "", (args, r.err)
            assert lines[0].startswith("error: ") and "storage.embeddings.endpoint" in lines[0]
            assert len(lines) == 2 and lines[1].startswith("hint: "), r.err
        assert seen == []
    finally:
        proxy.shutdown()
        proxy.server_close()
    # With a key, an empty endpoint is OpenAI's own (docs/configuration.md).
    keyed = make_embedder("openai:text-embedding-3-small", {"api_key": "sk-test"})
    assert isinstance(keyed, OpenAIEmbedder)
    assert keyed.endpoint == "https://api.openai.com/v1"


def _json(payload: Any, status: int = 200, **headers: str) -> tuple[int, dict[str, str], bytes]:
    return status, headers, json.dumps(payload).encode()


def _crash_logs(repo: Path) -> list[str]:
    logs = repo / ".agents" / "logs"
    return sorted(p.name for p in logs.glob("crash-*")) if logs.is_dir() else []


@pytest.mark.parametrize("item", [
    lambda i: {"index": i, "embedding": 0.5},  # a number for a vector
    lambda i: [0.1, 0.2, 0.3],  # bare lists, no objects
    lambda i: {"index": i, "embedding": [[0.1, 0.2, 0.3]]},  # nested one level too deep
    lambda i: {"index": i, "embedding": ["a", "b"]},
    lambda i: {"index": str(i), "embedding": [0.1, 0.2]},
    lambda i: {"index": i, "embedding": [0.1, [0.2, 0.3]]},  # a list inside a vector
    lambda i: {"index": i, "embedding": []},
], ids=["number", "bare-lists", "nested", "strings", "index-string", "ragged", "empty"])
def test_a_wrongly_shaped_answer_is_refused_not_a_crash(
        repo: Path, aircher: Any, endpoint: Endpoint, item: Callable[[int], Any]) -> None:
    """Well-formed JSON of the wrong shape ("embedding": a number, "data" a list of bare lists)
    escaped the answer's checks as an IndexError or AttributeError: `search`, `index` and
    `sync` crashed with exit 3 and a crash log, and a nested answer was stored as a 3-D
    segment (QA round 25a: 03). Now it is refused like any bad answer: a `warning:` for a
    query, one `error:` line for `index`."""
    commit(repo, {"a.py": "def alpha():\n    return 'tapir'\n"}, "a")
    assert aircher(repo, "init").code == 0 and aircher(repo, "index").code == 0
    endpoint.answer = lambda texts: _json({"data": [item(i) for i in range(len(texts))]})
    (repo / "b.py").write_text("def beta():\n    return 'okapi'\n")
    r = aircher(repo, "search", "--json", "okapi")
    assert r.code == 0 and _paths(r.out) == ["b.py"], r.err
    assert r.err.startswith("warning: embedding endpoint") and "unexpected answer" in r.err
    r = aircher(repo, "index")
    assert r.code == 1 and r.err.startswith("error: embedding endpoint"), r.err
    assert "unexpected answer" in r.err and "unexpected IndexError" not in r.err
    assert _blob(repo, "b.py") not in _vector_blobs(repo)  # left to embed later
    assert _crash_logs(repo) == []


@pytest.mark.parametrize("bad", ["NaN", "null", "Infinity", "1e39"])
def test_a_vector_with_nan_is_refused_and_asked_for_again(
        repo: Path, aircher: Any, endpoint: Endpoint, bad: str) -> None:
    """A vector holding NaN (or null, Infinity, a number past float32) was stored as it came:
    its file was out of vector search for good, its rows marked the blob as embedded so no
    later `index` asked again, and doctor said healthy (QA round 25a: 01). Now the answer is
    refused: the blob stays to embed, and the next update with the endpoint well embeds it."""
    commit(repo, {"a.py": "def alpha_function(x):\n    return x + 1\n"}, "a")
    assert aircher(repo, "init").code == 0 and aircher(repo, "index").code == 0

    def with_bad(texts: list[str]) -> tuple[int, dict[str, str], bytes]:
        rows = ", ".join(f'{{"index": {i}, "embedding": [{bad}, 0.5, 0.25]}}'
                         for i in range(len(texts)))
        return 200, {}, f'{{"data": [{rows}]}}'.encode()

    endpoint.answer = with_bad
    commit(repo, {"c.py": "def gamma_function(z):\n    return z - 1\n"}, "c")
    for command in ("sync", "index"):
        r = aircher(repo, command)
        assert r.code == 1 and "NaN, null or infinite" in r.err, r.err
    assert _blob(repo, "c.py") not in _vector_blobs(repo)
    endpoint.answer = None
    assert aircher(repo, "index").code == 0
    r = aircher(repo, "search", "--json", "--mode", "vector",
                "def gamma_function(z):\n    return z - 1")
    assert (r.code, _paths(r.out)[0], r.err) == (0, "c.py", "")


@pytest.mark.parametrize("status", [302, 307])
def test_a_redirect_is_not_followed_with_the_key(repo: Path, aircher: Any, endpoint: Endpoint,
                                                  status: int) -> None:
    """The endpoint answered a redirect to another host, and urllib followed it with the
    `Authorization: Bearer <api_key>` of credentials.toml: the other host got the key (twice per
    `index`) and its answer was read as the endpoint's (QA round 25a: 02). A redirect is now
    not followed: one `error:` line naming it, and nothing reaches the other host."""
    credentials = Path(os.environ["AIRCHER_HOME"]) / "credentials.toml"
    credentials.parent.mkdir(parents=True, exist_ok=True)
    credentials.write_text('[openai]\napi_key = "sk-test-SECRET-0123456789"\n')
    credentials.chmod(0o600)
    commit(repo, {"a.py": "def alpha():\n    return 'tapir'\n"}, "a")
    with _serving("localhost") as other:
        target = other.url.replace("/v1", "/collect")
        endpoint.answer = lambda texts: (status, {"Location": target}, b"")
        assert aircher(repo, "init").code == 0
        r = aircher(repo, "index")
        assert r.code == 1, r.err
        assert f"answered {status}, a redirect to {target}: not followed" in r.err
        assert "hint: if the endpoint moved, set storage.embeddings.endpoint" in r.err
        assert other.requests == []
    assert endpoint.requests and all(auth == "Bearer sk-test-SECRET-0123456789"
                                     for _m, _p, auth in endpoint.requests)


def test_an_endpoint_that_does_not_answer_is_waited_for_as_configured(
        repo: Path, aircher: Any, endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    """An endpoint that takes the connection and never answers made every `search` wait a
    fixed 30 s (60 s with an uncommitted file), and no setting bounded it (QA round 25a: 06).
    `storage.embeddings.endpoint_timeout` bounds each wait; the warning names it."""
    commit(repo, {"a.py": "def alpha_function(x):\n    return x + 1\n"}, "a")
    assert aircher(repo, "init").code == 0 and aircher(repo, "index").code == 0
    release = threading.Event()

    def hang(texts: list[str]) -> tuple[int, dict[str, str], bytes]:
        release.wait(120)
        return _json({"data": []})

    endpoint.answer = hang
    monkeypatch.setenv("AIRCHER_STORAGE_EMBEDDINGS_ENDPOINT_TIMEOUT", "200ms")
    try:
        (repo / "b.py").write_text("def beta_function(y):\n    return alpha_function(y)\n")
        r = aircher(repo, "search", "--json", "alpha_function")
        assert r.code == 0 and set(_paths(r.out)) == {"a.py", "b.py"}, r.err
        assert r.err.startswith("warning: embedding endpoint") and r.err.count("\n") == 1
        assert "did not answer within 0.2s (storage.embeddings.endpoint_timeout)" in r.err
        r = aircher(repo, "index")
        assert r.code == 1 and "did not answer within 0.2s" in r.err, r.err
        assert "hint: allow it more: `git aircher config set storage.embeddings" in r.err
    finally:
        release.set()


def _rate_limited(endpoint: Endpoint, answered: int, refusals: int | None,
                  sent: list[str]) -> None:
    """The endpoint answers `answered` calls, then 429 with Retry-After: 1 for `refusals`
    calls (None: for good), then answers again."""
    calls = {"n": 0}

    def answer(texts: list[str]) -> tuple[int, dict[str, str], bytes]:
        calls["n"] += 1
        if calls["n"] > answered and (refusals is None or calls["n"] <= answered + refusals):
            return _json({"error": {"message": "Rate limit reached"}}, 429, **{"Retry-After": "1"})
        sent.extend(texts)
        return _json({"data": [{"index": i, "embedding": [1.0, float(len(t)), 0.5]}
                               for i, t in enumerate(texts)]})

    endpoint.answer = answer


def _six_files(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    commit(repo, {f"f{i}.py": f"def f{i}(x):\n    return x + {i}\n" for i in range(6)}, "six")
    monkeypatch.setenv("AIRCHER_STORAGE_EMBEDDINGS_UPDATE_BATCH_SIZE", "1")
    monkeypatch.setenv("AIRCHER_STORAGE_EMBEDDINGS_ENDPOINT_RETRY_WAIT", "1ms")


def test_a_rate_limit_is_waited_out(repo: Path, aircher: Any, endpoint: Endpoint,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """An endpoint's 429 (a quota hit for a moment) failed `index` at once, with no retry
    (QA round 25a: 05). It is asked again after its Retry-After, cut to
    storage.embeddings.endpoint_retry_wait (1 ms here, so the test does not wait)."""
    _six_files(repo, monkeypatch)
    sent: list[str] = []
    _rate_limited(endpoint, 3, 2, sent)
    assert aircher(repo, "init").code == 0
    r = aircher(repo, "index")
    assert (r.code, r.err) == (0, "")
    assert all(_blob(repo, f"f{i}.py") in _vector_blobs(repo) for i in range(6))
    assert sum(1 for m, _p, _a in endpoint.requests if m == "POST") == len(sent) + 2


def test_a_rate_limit_that_lasts_keeps_the_vectors_received(
        repo: Path, aircher: Any, endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 429 part way through an update threw away the vectors the endpoint had answered in
    that run (a batch group is written at its end), so the next `index` asked for every text
    again; and the hint blamed the URL and the key (QA round 25a: 05). The blobs answered are
    stored, and the next update asks only for the rest."""
    _six_files(repo, monkeypatch)
    assert aircher(repo, "init").code == 0
    sent: list[str] = []
    _rate_limited(endpoint, 4, None, sent)  # the size probe and three chunks, then no more
    r = aircher(repo, "index")
    assert r.code == 1 and "answered 429" in r.err, r.err
    assert "hint: the endpoint is rate-limited or failing for now" in r.err
    kept = _vector_blobs(repo)
    assert len(kept) == 3
    first = list(sent)
    sent.clear()
    endpoint.answer = None
    _rate_limited(endpoint, 1000, 0, sent)
    assert aircher(repo, "index").code == 0
    assert len(sent) == 1 + 8 - 3  # the size probe and the five chunks still missing
    assert not set(sent[1:]) & set(first[1:])
    assert len(_vector_blobs(repo)) == 8


def test_a_vector_size_changed_part_way_is_an_error_not_a_crash(
        repo: Path, aircher: Any, endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    """The endpoint's model changed its size between two batches of one update: numpy's
    vstack failed (a traceback, exit 3), and the rows kept would have named the new size."""
    _six_files(repo, monkeypatch)
    assert aircher(repo, "init").code == 0
    calls = {"n": 0}

    def answer(texts: list[str]) -> tuple[int, dict[str, str], bytes]:
        calls["n"] += 1
        size = 3 if calls["n"] <= 4 else 5  # the size probe and three chunks, then 5
        return _json({"data": [{"index": i, "embedding": [1.0, float(len(t))] + [0.5] * (size - 2)}
                               for i, t in enumerate(texts)]})

    endpoint.answer = answer
    r = aircher(repo, "index")
    assert r.code == 1, r
    said = "error: embedder openai:fake changed its vector size from 3 to 5"
    assert r.err.startswith(said), r.err
    assert "Traceback" not in r.err
    with open_project(repo) as project, project.db("knowledge").read() as conn:
        sizes = {r[0] for r in conn.execute("SELECT dimension FROM embedding_metadata"
                                            " WHERE vector_file IS NOT NULL")}
    assert sizes == {3} and len(_vector_blobs(repo)) == 3
    r = aircher(repo, "index")  # asks the size (5) and embeds everything at it
    assert (r.code, r.err) == (0, "")
    with open_project(repo) as project, project.db("knowledge").read() as conn:
        sizes = {r[0] for r in conn.execute("SELECT dimension FROM embedding_metadata"
                                            " WHERE vector_file IS NOT NULL")}
    assert sizes == {5} and len(_vector_blobs(repo)) == 8
