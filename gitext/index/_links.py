"""How code files name each other: the import resolvers behind ``find_relationships``.

Each ``*_links`` function yields ``(target, kind)`` pairs whose targets exist in the repository.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Iterable, Iterator, Set
from functools import cached_property, lru_cache

from gitext.index import _pyast


class Repo:
    """The file list with the look-up tables that suffix and name matching need, built lazily."""

    def __init__(self, files: Set[str]) -> None:
        self.files = files

    def first(self, candidates: Iterable[str]) -> str | None:
        return next((c for c in candidates if c in self.files), None)

    @cached_property
    def by_name(self) -> dict[str, list[str]]:
        table: dict[str, list[str]] = {}
        for file in sorted(self.files):
            table.setdefault(file.rsplit("/", 1)[-1], []).append(file)
        return table

    @cached_property
    def go_dirs(self) -> dict[str, list[str]]:
        table: dict[str, list[str]] = {}
        for file in sorted(self.files):
            if file.endswith(".go") and not file.endswith("_test.go"):
                table.setdefault(posixpath.dirname(file), []).append(file)
        return table

    def ending_with(self, suffix: str) -> list[str]:
        name = suffix.rsplit("/", 1)[-1]
        return [f for f in self.by_name.get(name, []) if f == suffix or f.endswith("/" + suffix)]


@lru_cache(maxsize=4)
def _cached_repo(files: frozenset[str]) -> Repo:
    # A hook indexes many files against one frozen file list: build its tables once.
    return Repo(files)


def repo_for(files: Set[str]) -> Repo:
    return _cached_repo(files) if isinstance(files, frozenset) else Repo(files)


def join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


def normalize(directory: str, relative: str) -> str | None:
    """``relative`` seen from ``directory``; None when it climbs out of the repository."""
    joined = posixpath.normpath(posixpath.join(directory, relative)) if relative else directory
    if joined == ".":
        return ""
    if joined == ".." or joined.startswith(("../", "/")):
        return None
    return joined


def common_suffix(a: list[str], b: list[str]) -> int:
    n = 0
    while n < len(a) and n < len(b) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


def common_prefix(a: list[str], b: list[str]) -> int:
    n = 0
    while n < len(a) and n < len(b) and a[n] == b[n]:
        n += 1
    return n


Links = Iterator[tuple[str, str]]

# --- Python -------------------------------------------------------------------------------------

_PY_IMPORT = re.compile(r"^[ \t]*import[ \t]+([\w. \t,]+)", re.M)
_PY_FROM = re.compile(r"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+\(?([\w \t,*]*)", re.M)
_PY_SOURCE_ROOTS = ("", "src", "lib")
# Past this size (generated code, vendored bundles) a full parse costs a hook seconds and memory;
# the line-based reading is good enough there.
AST_LIMIT = 2_000_000


def _python_imports(text: str) -> list[tuple[int, str, list[str]]]:
    """(level, module, imported names) for every import; names is empty for ``import x``."""
    if len(text) > AST_LIMIT:
        return _python_imports_by_regex(text)
    try:
        tree = _pyast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return _python_imports_by_regex(text)
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((0, alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module or "", [a.name for a in node.names]))
    return found


def _python_imports_by_regex(text: str) -> list[tuple[int, str, list[str]]]:
    found: list[tuple[int, str, list[str]]] = []
    for match in _PY_IMPORT.finditer(text):
        for item in match.group(1).split(","):
            words = item.split()
            if words:
                found.append((0, words[0], []))
    for match in _PY_FROM.finditer(text):
        names = [item.split()[0] for item in match.group(3).split(",") if item.split()]
        found.append((len(match.group(1)), match.group(2), names))
    return found


def _python_module(repo: Repo, bases: Iterable[str], parts: list[str]) -> str | None:
    for base in bases:
        stem = join(base, *parts)
        found = repo.first((stem + ".py", stem + "/__init__.py"))
        if found:
            return found
    return None


def python_links(path: str, text: str, repo: Repo) -> Links:
    package = path.split("/")[:-1]
    roots = list(_PY_SOURCE_ROOTS)
    # A file's top-level folder is often what its runner puts on sys.path ("tests/", "backend/").
    if package and package[0] not in roots:
        roots.append(package[0])
    for level, module, names in _python_imports(text):
        parts = [p for p in module.split(".") if p]
        if level:
            if level - 1 > len(package):
                continue
            bases = ["/".join(package[: len(package) - level + 1])]
        else:
            bases = roots
        for name in names or [""]:
            # "from a import b" may name the submodule a/b.py; otherwise it is an attribute of a.
            target = None
            if name and name != "*":
                target = _python_module(repo, bases, [*parts, name])
            if target is None and parts:
                target = _python_module(repo, bases, parts)
            if target is None and level and not parts:
                target = repo.first(join(base, "__init__.py") for base in bases)
            if target:
                yield target, "imports"


# --- JavaScript and TypeScript ------------------------------------------------------------------

_JS_FROM = re.compile(r"""\bfrom\s*(['"])([^'"\n]{1,300})\1""")
_JS_IMPORT = re.compile(r"""\bimport\s*\(?\s*(['"`])([^'"`\n]{1,300})\1""")
_JS_REQUIRE = re.compile(r"""\brequire\s*\(\s*(['"`])([^'"`\n]{1,300})\1\s*\)""")
JS_EXTENSIONS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")
_TS_FOR_JS = {".js": (".ts", ".tsx"), ".jsx": (".tsx",), ".mjs": (".mts",), ".cjs": (".cts",)}


def _js_resolve(path: str, specifier: str, repo: Repo) -> str | None:
    specifier = specifier.split("?", 1)[0].split("#", 1)[0]
    if "${" in specifier or not (specifier.startswith(("./", "../")) or specifier in (".", "..")):
        return None
    base = normalize(posixpath.dirname(path), specifier)
    if base is None:
        return None
    candidates = [base] if base else []
    candidates += [base + ext for ext in JS_EXTENSIONS if base]
    candidates += [join(base, "index" + ext) for ext in JS_EXTENSIONS]
    # TypeScript's ESM style imports "./x.js" while the file on disk is "./x.ts".
    stem, ext = posixpath.splitext(base)
    candidates += [stem + ts for ts in _TS_FOR_JS.get(ext, ())]
    return repo.first(candidates)


def js_links(path: str, text: str, repo: Repo) -> Links:
    patterns = ((_JS_FROM, "imports"), (_JS_IMPORT, "imports"), (_JS_REQUIRE, "requires"))
    for pattern, kind in patterns:
        for match in pattern.finditer(text):
            target = _js_resolve(path, match.group(2), repo)
            if target:
                yield target, kind


# --- Go -----------------------------------------------------------------------------------------

_GO_SINGLE = re.compile(r'^[ \t]*import[ \t]+(?:[\w.]+[ \t]+)?["`]([^"`\n]+)["`]', re.M)
_GO_BLOCK = re.compile(r"^[ \t]*import[ \t]*\(([^)]*)\)", re.M)
_GO_SPEC = re.compile(r'["`]([^"`\n]+)["`]')
_GO_PER_IMPORT = 20
# Top-level names of the standard library: a dot-less import path starting with one of these is
# never a package of the repository, however its tail happens to match a folder.
# fmt: off
_GO_STANDARD = frozenset(
    {
        "C", "archive", "bufio", "builtin", "bytes", "cmp", "compress", "container", "context",
        "crypto", "database", "debug", "embed", "encoding", "errors", "expvar", "flag", "fmt",
        "go", "hash", "html", "image", "index", "internal", "io", "iter", "log", "maps", "math",
        "mime", "net", "os", "path", "plugin", "reflect", "regexp", "runtime", "slices", "sort",
        "strconv", "strings", "structs", "sync", "syscall", "testing", "text", "time", "unicode",
        "unique", "unsafe", "weak",
    }
)
# fmt: on


def _go_import_paths(text: str) -> Iterator[str]:
    for match in _GO_SINGLE.finditer(text):
        yield match.group(1)
    for match in _GO_BLOCK.finditer(text):
        for line in match.group(1).splitlines():
            spec = _GO_SPEC.search(line.split("//", 1)[0])
            if spec:
                yield spec.group(1)


def go_links(path: str, text: str, repo: Repo) -> Links:
    for import_path in _go_import_paths(text):
        parts = import_path.strip("/").split("/")
        if "." not in parts[0] and parts[0] in _GO_STANDARD:
            continue
        # Without go.mod's text the module prefix is unknown: the folder sharing the longest tail
        # with the import path is the package.
        best, folders = 0, []
        for folder in repo.go_dirs:
            shared = common_suffix(parts, folder.split("/") if folder else [])
            if shared > best:
                best, folders = shared, [folder]
            elif shared == best and shared:
                folders.append(folder)
        files = [file for folder in sorted(folders) for file in repo.go_dirs[folder]]
        for file in files[:_GO_PER_IMPORT]:
            yield file, "imports"


# --- Rust ---------------------------------------------------------------------------------------

_RUST_MOD = re.compile(r"^[ \t]*(?:pub(?:\([^)\n]*\))?[ \t]+)?mod[ \t]+([A-Za-z_]\w*)[ \t]*;", re.M)
_RUST_USE = re.compile(r"\buse[ \t]+(crate|self|super)((?:::\w+)*)(?:::\{([^;]*)\})?")
_RUST_ROOTS = ("mod.rs", "lib.rs", "main.rs")


def _rust_crate(path: str) -> tuple[str, list[str]]:
    """The crate's source folder and the module path of ``path`` inside it."""
    parts = path.split("/")
    folders = parts[:-1]
    cut = len(folders) - folders[::-1].index("src") if "src" in folders else len(folders)
    module = parts[cut:]
    module[-1] = module[-1].removesuffix(".rs")
    if module[-1] == "mod" or (len(module) == 1 and module[0] in ("lib", "main")):
        module.pop()
    return "/".join(parts[:cut]), module


def rust_links(path: str, text: str, repo: Repo) -> Links:
    folder, name = posixpath.split(path)
    children = folder if name in _RUST_ROOTS else join(folder, name.removesuffix(".rs"))
    for match in _RUST_MOD.finditer(text):
        child = match.group(1)
        target = repo.first(
            (
                join(children, child + ".rs"),
                join(children, child, "mod.rs"),
                join(folder, child + ".rs"),
                join(folder, child, "mod.rs"),
            )
        )
        if target:
            yield target, "imports"
    source, here = _rust_crate(path)
    for match in _RUST_USE.finditer(text):
        start = [] if match.group(1) == "crate" else list(here)
        if match.group(1) == "super" and start:
            start.pop()
        prefix = [p for p in match.group(2).split("::") if p]
        items = [""] if match.group(3) is None else match.group(3).split(",")
        for item in items:
            words = item.replace("{", " ").replace("}", " ").split()
            tail = [p for p in words[0].split("::") if p and p != "self"] if words else []
            module = list(start)
            for part in [*prefix, *tail]:
                if part == "super" and module:
                    module.pop()
                elif part != "super":
                    module.append(part)
            # The longest prefix that is a file wins: the rest names items inside it.
            for size in range(len(module), 0, -1):
                stem = join(source, *module[:size])
                target = repo.first((stem + ".rs", stem + "/mod.rs"))
                if target:
                    yield target, "imports"
                    break


# --- C and C++ ----------------------------------------------------------------------------------

_C_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"\n]+)[>"]', re.M)
_C_PER_INCLUDE = 5


def c_links(path: str, text: str, repo: Repo) -> Links:
    folder = posixpath.dirname(path)
    here = folder.split("/")
    for match in _C_INCLUDE.finditer(text):
        quoted, header = match.group(1) == '"', match.group(2).strip()
        if quoted:
            beside = normalize(folder, header)
            if beside is not None and beside in repo.files:
                yield beside, "includes"
                continue
        suffix = "/".join(p for p in header.split("/") if p not in ("", ".", ".."))
        matches = repo.ending_with(suffix) if suffix else []
        # Several "config.h" files are common: the ones nearest to the includer are meant.
        scored = [(common_prefix(here, m.split("/")[:-1]), m) for m in matches]
        best = max((score for score, _ in scored), default=0)
        nearest = [m for score, m in scored if score == best]
        for target in nearest[:_C_PER_INCLUDE]:
            yield target, "includes"
