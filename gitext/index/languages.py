"""What a file is: its language, whether it is binary, its encoding and its length in lines."""

from __future__ import annotations

# Whole-name rules win over extensions: "CMakeLists.txt" is not plain text.
_BY_NAME: dict[str, str] = {
    "makefile": "makefile",
    "gnumakefile": "makefile",
    "dockerfile": "dockerfile",
    "containerfile": "dockerfile",
    "cmakelists.txt": "cmake",
    "gemfile": "ruby",
    "rakefile": "ruby",
    "vagrantfile": "ruby",
    "justfile": "makefile",
    "readme": "text",
    "license": "text",
    "licence": "text",
    "copying": "text",
    "authors": "text",
    "notice": "text",
    "changelog": "text",
    ".bashrc": "shell",
    ".bash_profile": "shell",
    ".zshrc": "shell",
    ".profile": "shell",
    "pipfile": "toml",
    "cargo.lock": "toml",
    "poetry.lock": "toml",
    "uv.lock": "toml",
}

_BY_EXTENSION: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".pyw": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".tsx": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".go": "go",
    ".rs": "rust",
    ".c": "c",
    # A bare ".h" is far more often C than C++ in the wild; C++ headers usually say so.
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".c++": "cpp",
    ".hh": "cpp",
    ".hpp": "cpp",
    ".hxx": "cpp",
    ".h++": "cpp",
    ".ipp": "cpp",
    ".java": "java",
    ".kt": "kotlin",
    ".kts": "kotlin",
    ".scala": "scala",
    ".cs": "csharp",
    ".swift": "swift",
    ".m": "objective-c",
    ".rb": "ruby",
    ".rake": "ruby",
    ".php": "php",
    ".pl": "perl",
    ".pm": "perl",
    ".lua": "lua",
    ".r": "r",
    ".sh": "shell",
    ".bash": "shell",
    ".zsh": "shell",
    ".fish": "shell",
    ".ps1": "powershell",
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdx": "markdown",
    ".rst": "rst",
    ".txt": "text",
    ".toml": "toml",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".jsonc": "json",
    ".ini": "ini",
    ".cfg": "ini",
    ".xml": "xml",
    ".html": "html",
    ".htm": "html",
    ".css": "css",
    ".scss": "scss",
    ".less": "less",
    ".vue": "vue",
    ".svelte": "svelte",
    ".sql": "sql",
    ".proto": "protobuf",
    ".graphql": "graphql",
    ".tf": "terraform",
    ".mk": "makefile",
    ".dockerfile": "dockerfile",
}

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF32_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")

# git looks at the same window when it decides whether to show a text diff.
_BINARY_SNIFF_BYTES = 8000
_BOMS = (*_UTF32_BOMS, *_UTF16_BOMS, _UTF8_BOM)


def language_for(path: str) -> str | None:
    """The language of a repository path, from its file name, or None when unknown."""
    name = path.rsplit("/", 1)[-1].lower()
    if name in _BY_NAME:
        return _BY_NAME[name]
    # "Dockerfile.dev" and "Makefile.inc" are variants of their family, not unknown extensions.
    stem, dot, _ = name.partition(".")
    if dot and stem in ("dockerfile", "containerfile"):
        return "dockerfile"
    if dot and stem in ("makefile", "gnumakefile"):
        return "makefile"
    position = name.rfind(".")
    if position <= 0:
        # ".bashrc"-style dotfiles were handled by name; anything else has no extension.
        return None
    return _BY_EXTENSION.get(name[position:])


def is_binary(data: bytes) -> bool:
    """git's own test: a NUL byte in the first 8000 bytes means binary."""
    return b"\x00" in data[:_BINARY_SNIFF_BYTES]


def detect_encoding(data: bytes) -> str | None:
    """The codec name to decode ``data`` with, or None when it is binary.

    A byte-order mark is trusted first, because UTF-16 and UTF-32 text is full of NUL bytes and
    would otherwise look binary. Text that is not valid UTF-8 is decoded as latin-1, which never
    fails and keeps every byte.
    """
    if not data.startswith(_BOMS) and is_binary(data):
        return None
    return text_encoding(data)


def text_encoding(data: bytes) -> str:
    """`detect_encoding` of data `is_binary` found to be text."""
    if data.startswith(_UTF32_BOMS):
        return "utf-32"
    if data.startswith(_UTF16_BOMS):
        return "utf-16"
    if data.startswith(_UTF8_BOM):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8"


def count_lines(data: bytes | str) -> int:
    """Newline-terminated lines, plus one for a final line without its newline."""
    if not data:
        return 0
    if isinstance(data, str):
        return data.count("\n") + (0 if data.endswith("\n") else 1)
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
