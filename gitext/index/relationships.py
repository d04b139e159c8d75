"""Links between files of a repository, read from one file's text.

Every link points at a path that exists in ``repo_files``: a name that cannot be resolved (a
third-party package, the standard library, a typo) is dropped rather than guessed at.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Set
from dataclasses import dataclass
from urllib.parse import unquote

from gitext.index._links import (
    JS_EXTENSIONS,
    Links,
    Repo,
    c_links,
    common_prefix,
    common_suffix,
    go_links,
    join,
    js_links,
    normalize,
    python_links,
    repo_for,
    rust_links,
)
from gitext.index.languages import language_for

KINDS = frozenset({"imports", "requires", "includes", "tests", "documents"})


@dataclass(frozen=True)
class Relationship:
    """``source`` refers to ``target`` (both repository-relative, ``/``-separated)."""

    source: str
    target: str
    kind: str


# --- Tests --------------------------------------------------------------------------------------

_TEST_NAME = re.compile(
    r"^(?:test_.+\.py|.+_test\.py|.+_test\.go|.+\.(?:test|spec)\.(?:[jt]sx?|mjs|cjs|mts|cts))$"
)
_TEST_FOLDERS = frozenset({"tests", "test", "__tests__"})
# fmt: off
_SOURCE_LANGUAGES = frozenset(
    {
        "python", "javascript", "typescript", "go", "rust", "c", "cpp", "java", "kotlin", "scala",
        "csharp", "swift", "objective-c", "ruby", "php", "perl", "lua", "r", "shell",
    }
)
# fmt: on
_NOT_TESTED = frozenset({"conftest.py", "__init__.py"})
_JS_TEST = re.compile(r"^(.+)\.(?:test|spec)(\.[a-z]+)$")
_NAMED_TEST = re.compile(r"^(?:test_(.+)|(.+)_test)(\.\w+)$")


def is_test_path(path: str) -> bool:
    """Whether ``path`` is a test by its name or by living in a test folder."""
    name = path.rsplit("/", 1)[-1]
    if name in _NOT_TESTED:
        return False
    if _TEST_NAME.match(name):
        return True
    in_tests = any(folder in _TEST_FOLDERS for folder in path.split("/")[:-1])
    return in_tests and language_for(path) in _SOURCE_LANGUAGES


def _closeness(test: str, candidate: str) -> tuple[bool, bool, int, int]:
    test_dirs = test.split("/")[:-1]
    candidate_dirs = candidate.split("/")[:-1]
    package = [d for d in test_dirs if d not in _TEST_FOLDERS]
    source = candidate_dirs[1:] if candidate_dirs[:1] in (["src"], ["lib"]) else candidate_dirs
    return (
        test_dirs == candidate_dirs,
        package == source,
        common_suffix(package, source),
        common_prefix(test_dirs, candidate_dirs),
    )


def _tested_by_name(path: str, repo: Repo) -> list[str]:
    folder, name = posixpath.split(path)
    if name.endswith("_test.go"):
        return [join(folder, name.removesuffix("_test.go") + ".go")]
    js = _JS_TEST.match(name)
    if js:
        stem, ext = js.groups()
        folders = [folder]
        if posixpath.basename(folder) == "__tests__":
            folders.append(posixpath.dirname(folder))
        extensions = [ext, *JS_EXTENSIONS]
        target = repo.first(join(f, stem + e) for f in folders for e in extensions)
        return [target] if target else []
    named = _NAMED_TEST.match(name)
    if not named:
        return []
    wanted = (named.group(1) or named.group(2)) + named.group(3)
    candidates = [c for c in repo.by_name.get(wanted, []) if not is_test_path(c)]
    if not candidates:
        return []
    scored = [(_closeness(path, c), c) for c in candidates]
    best = max(score for score, _ in scored)
    return [c for score, c in scored if score == best]


# --- Documentation ------------------------------------------------------------------------------

_MD_LINK = re.compile(r"\]\(\s*<?([^()\s<>]+)>?")
_MD_REFERENCE = re.compile(r"^[ ]{0,3}\[[^\]\n]+\]:[ \t]*<?([^\s<>]+)>?", re.M)
_HTML_ATTRIBUTE = re.compile(r"""\b(?:src|href)[ \t]*=[ \t]*["']([^"'\s]+)["']""")
_RST_LINK = re.compile(r"`[^`<\n]*<([^<>`\n]+)>`__?")
_RST_DIRECTIVE = re.compile(
    r"^[ \t]*\.\.[ \t]+(?:include|literalinclude|image|figure)::[ \t]*(\S+)", re.M
)
_RST_DOC = re.compile(r":doc:`(?:[^`<\n]*<([^<>`\n]+)>|([^`<>\n]+))`")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_FOLDER_PAGES = ("README.md", "README.rst", "index.md", "index.rst")


def _doc_target(path: str, link: str, repo: Repo, extensions: tuple[str, ...] = ()) -> str | None:
    link = link.split("#", 1)[0].split("?", 1)[0]
    if not link or link.startswith("//") or _SCHEME.match(link):
        return None
    link = unquote(link)
    if link.startswith("/"):
        base = normalize("", link.lstrip("/"))
    else:
        base = normalize(posixpath.dirname(path), link)
    if base is None:
        return None
    candidates = [base] if base else []
    candidates += [base + ext for ext in extensions if base]
    # A link to a folder shows its landing page on every forge.
    candidates += [join(base, page) for page in _FOLDER_PAGES]
    return repo.first(candidates)


def _markdown_links(path: str, text: str, repo: Repo) -> Links:
    for pattern in (_MD_LINK, _MD_REFERENCE, _HTML_ATTRIBUTE):
        for match in pattern.finditer(text):
            target = _doc_target(path, match.group(1), repo)
            if target:
                yield target, "documents"


def _rst_links(path: str, text: str, repo: Repo) -> Links:
    for pattern in (_RST_LINK, _RST_DIRECTIVE):
        for match in pattern.finditer(text):
            target = _doc_target(path, match.group(1), repo)
            if target:
                yield target, "documents"
    for match in _RST_DOC.finditer(text):
        link = (match.group(1) or match.group(2)).strip()
        target = _doc_target(path, link, repo, (".rst", ".md", ".txt"))
        if target:
            yield target, "documents"


# --- Entry point --------------------------------------------------------------------------------

_LINKERS: dict[str, Callable[[str, str, Repo], Links]] = {
    "python": python_links,
    "javascript": js_links,
    "typescript": js_links,
    "go": go_links,
    "rust": rust_links,
    "c": c_links,
    "cpp": c_links,
    "markdown": _markdown_links,
    "rst": _rst_links,
}
_CODE_KINDS = frozenset({"imports", "requires", "includes"})


def find_relationships(path: str, text: str, repo_files: Set[str]) -> list[Relationship]:
    """Every link from ``path`` to another file of ``repo_files``, in order of appearance."""
    repo = repo_for(repo_files)
    found: dict[Relationship, None] = {}
    code: list[str] = []

    def add(target: str, kind: str) -> None:
        if target != path and target in repo.files:
            found.setdefault(Relationship(path, target, kind))

    # This runs inside git hooks on whatever was committed: a bug or an input nobody foresaw
    # must cost some links, never the commit, so every stage keeps what it found before failing.
    try:
        linker = _LINKERS.get(language_for(path) or "")
        if linker is not None:
            for target, kind in linker(path, text, repo):
                add(target, kind)
                if kind in _CODE_KINDS:
                    code.append(target)
    except Exception:
        pass
    try:
        if is_test_path(path):
            for target in code:
                if not is_test_path(target) and posixpath.basename(target) not in _NOT_TESTED:
                    add(target, "tests")
            for target in _tested_by_name(path, repo):
                add(target, "tests")
    except Exception:
        pass
    return list(found)
