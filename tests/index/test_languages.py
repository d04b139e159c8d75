"""Language, binary, encoding and line-count detection."""

from __future__ import annotations

import pytest

from gitext.index.languages import count_lines, detect_encoding, is_binary, language_for


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("gitext/cli/main.py", "python"),
        ("stubs/os.pyi", "python"),
        ("web/app.js", "javascript"),
        ("web/app.mjs", "javascript"),
        ("web/App.jsx", "javascript"),
        ("web/app.ts", "typescript"),
        ("web/App.tsx", "typescript"),
        ("cmd/server/main.go", "go"),
        ("src/lib.rs", "rust"),
        ("src/util.c", "c"),
        ("include/util.h", "c"),
        ("src/engine.cpp", "cpp"),
        ("src/engine.hpp", "cpp"),
        ("src/Main.java", "java"),
        ("lib/tasks.rb", "ruby"),
        ("scripts/install.sh", "shell"),
        ("README.md", "markdown"),
        ("docs/index.rst", "rst"),
        ("pyproject.toml", "toml"),
        (".github/workflows/ci.yml", "yaml"),
        ("config.yaml", "yaml"),
        ("package.json", "json"),
        ("site/index.html", "html"),
        ("site/style.css", "css"),
        ("schemas/001.sql", "sql"),
        ("notes.txt", "text"),
        ("Makefile", "makefile"),
        ("sub/GNUmakefile", "makefile"),
        ("Dockerfile", "dockerfile"),
        ("docker/Dockerfile.dev", "dockerfile"),
        ("CMakeLists.txt", "cmake"),
        ("LICENSE", "text"),
        ("SRC/MAIN.PY", "python"),
    ],
)
def test_language_for_known(path: str, language: str) -> None:
    assert language_for(path) == language


@pytest.mark.parametrize("path", ["bin/tool", "data/blob.xyz", ".gitignore", "archive.", ""])
def test_language_for_unknown(path: str) -> None:
    assert language_for(path) is None


def test_is_binary_uses_nul_in_first_8000_bytes() -> None:
    assert is_binary(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert not is_binary(b"plain text\n")
    assert not is_binary(b"")
    assert not is_binary(b"a" * 8000 + b"\x00")
    assert is_binary(b"a" * 7999 + b"\x00")


def test_detect_encoding() -> None:
    assert detect_encoding(b"print('hi')\n") == "utf-8"
    assert detect_encoding("café\n".encode()) == "utf-8"
    assert detect_encoding(b"") == "utf-8"
    assert detect_encoding(b"\xef\xbb\xbfname = 1\n") == "utf-8-sig"
    assert detect_encoding("hello\n".encode("utf-16")) == "utf-16"
    assert detect_encoding(b"\xfe\xff\x00h\x00i") == "utf-16"
    assert detect_encoding("café\n".encode("latin-1")) == "latin-1"
    assert detect_encoding(b"ELF\x00\x01\x02") is None


def test_detected_encoding_decodes() -> None:
    for data in ("x = 'é'\n".encode("utf-16"), b"\xef\xbb\xbfx\n", "\xe9t\xe9".encode("latin-1")):
        encoding = detect_encoding(data)
        assert encoding is not None
        assert "\ufeff" not in data.decode(encoding)


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b"", 0),
        (b"\n", 1),
        (b"one", 1),
        (b"one\n", 1),
        (b"one\ntwo", 2),
        (b"one\ntwo\n", 2),
        (b"one\r\ntwo\r\n", 2),
        (b"\n\n\n", 3),
    ],
)
def test_count_lines(data: bytes, lines: int) -> None:
    assert count_lines(data) == lines
