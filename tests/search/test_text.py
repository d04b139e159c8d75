"""Tokenizer and chunker: the vocabulary every index and query shares."""

from __future__ import annotations

from gitext.search.chunking import OVERLAP, WINDOW, chunk_text
from gitext.search.tokenize import path_terms, terms


def test_identifiers_split_and_kept_whole() -> None:
    assert terms("getCurrentContext") == ["getcurrentcontext", "get", "current", "context"]
    assert terms("HTTPConnectionPool") == ["httpconnectionpool", "http", "connection", "pool"]
    assert terms("max_retry_count = 3") == ["maxretrycount", "max", "retry", "count"]
    # Stop words go; a plural meets its singular (stems need not be words).
    assert terms("the options and cookies") == terms("option cookie") == ["option", "cooky"]
    assert terms("queries retries") == terms("query retry")
    assert terms("status class process") == ["status", "process"]
    assert path_terms("src/http_client/Cookies.py") == ["src", "httpclient", "http", "client",
                                                        "cooky", "py"]


def test_letters_keep_the_digits_after_them() -> None:
    """`sha256` of `digest_sha256` is a term (QA round 7: 06): "sha" alone cannot tell it from
    sha1, and the digits alone are dropped."""
    assert terms("digest_sha256") == ["digestsha256", "digest", "sha", "sha256"]
    assert terms("getUTF8Name") == ["getutf8name", "get", "utf", "utf8", "name"]
    assert "x86" in terms("x86_64") and "int64" in terms("int64_t")
    assert terms("sha256") == ["sha256", "sha"]  # the whole word is not repeated
    # A letter and a digit are more often part of a hex digest than a name.
    assert terms("f3a9c2e7") == ["f3a9c2e7"]


def test_python_chunks_follow_definitions() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(50))
    text = f"import os\n\n\ndef first():\n{body}\n\n\ndef second():\n{body}\n"
    chunks = chunk_text("m.py", text)
    assert [c.symbols for c in chunks] == [("first",), ("second",)]
    assert chunks[1].line_start == text.split("\n").index("def second():") + 1
    assert chunks[0].line_start == 1 and chunks[-1].line_end == len(text.split("\n")) - 1


def test_prose_is_cut_into_overlapping_windows() -> None:
    text = "\n".join(f"line {i} of the notes" for i in range(1, 151))
    chunks = chunk_text("notes.txt", text)
    assert chunks[0].line_start == 1 and chunks[0].line_end == WINDOW
    assert chunks[1].line_start == WINDOW - OVERLAP + 1
    assert chunks[-1].line_end == 150
    assert chunk_text("empty.txt", "") == []
