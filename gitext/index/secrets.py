"""Files and strings that look like credentials, so they are never stored or shown.

A file named like a secret is kept as metadata only. Any other file's content is redacted before
it is analysed, indexed or embedded: each key-shaped string, and each private-key block whole,
becomes ``[redacted]`` with its line breaks kept, so line numbers still hold. A key committed by
someone else, or before the guard was installed, is still in git, but never in the store.

The checks are deliberately shallow: they run on every changed file inside git hooks, and a
missed exotic secret is better caught by a real scanner than by slowing every commit down.
"""

from __future__ import annotations

import re
from bisect import bisect_left

_SECRET_NAMES = frozenset({".env", ".envrc", ".netrc", "_netrc", ".pgpass", "credentials",
                           "serviceaccountkey.json",
                           # Files that hold nothing but logins: git's credential store, PyPI
                           # upload settings, Apache's password hashes, Docker's old auth file,
                           # a cluster's client key or token. `.npmrc` is not among them: it is
                           # commonly committed as plain settings (`registry=`, `${NPM_TOKEN}`),
                           # and a literal token in it has a shape of its own (`_PATTERNS`).
                           ".git-credentials", ".pypirc", ".htpasswd", ".dockercfg",
                           "kubeconfig"})
_SECRET_SUFFIXES = (".pem", ".key", ".p12", ".pfx", ".ppk", ".tfvars", ".tfvars.json")
# `.env.local`, `.env-prod` and `.env_staging` are all spellings of one habit.
_SECRET_PREFIXES = (".env.", ".env-", ".env_", "credentials.", "id_rsa", "id_dsa", "id_ecdsa",
                    "id_ed25519")
# `secrets.yml` (Rails) and its kin hold values, as do `client_secret…` (a downloaded Google
# OAuth client), `service-account…` (a key file) and `kubeconfig…`; `secrets.py`, google-auth's
# `service_account.py` or a `kubeconfig.go` are code, so only data formats count.
_SECRET_STEMS = ("secret.", "secrets.", "client_secret", "service-account", "service_account",
                 "kubeconfig")
_DATA_SUFFIXES = (".yml", ".yaml", ".json", ".toml", ".ini", ".env", ".cfg", ".conf", ".txt")
# Names that hold logins only in their own folder: Docker's and kubectl's files under a home
# directory (a committed dotfiles repository), not every project's `config.json`.
_SECRET_PLACES = ("/.docker/config.json", "/.kube/config")


def is_secret_path(path: str) -> bool:
    """Whether a file's name alone says it holds credentials (any directory, any case)."""
    path = "/" + path.replace("\\", "/").lower()
    name = path.rsplit("/", 1)[-1]
    return (
        name in _SECRET_NAMES
        or name.endswith(_SECRET_SUFFIXES)
        or name.startswith(_SECRET_PREFIXES)
        or (name.startswith(_SECRET_STEMS) and name.endswith(_DATA_SUFFIXES))
        or path.endswith(_SECRET_PLACES)
    )


_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_TOKEN = _WORD | {"_", "-"}

# (kind, pattern, characters that must not precede a match). Every pattern starts with a literal,
# which lets the regex engine skip ahead quickly; the left boundary is checked in code because a
# leading look-behind would make it test every position of a multi-megabyte file. Repetitions are
# single character classes, so no input can make them backtrack badly.
_PATTERNS: tuple[tuple[str, re.Pattern[str], frozenset[str]], ...] = (
    ("aws-access-key", re.compile(r"AKIA[0-9A-Z]{16}(?![A-Za-z0-9])"), _WORD),
    ("github-token", re.compile(r"gh[pousr]_[A-Za-z0-9]{36,}(?![A-Za-z0-9_])"), _WORD | {"_"}),
    ("github-token", re.compile(r"github_pat_[A-Za-z0-9_]{40,}"), _WORD | {"_"}),
    ("api-key", re.compile(r"sk-[A-Za-z0-9_-]{20,}"), _TOKEN),
    ("slack-token", re.compile(r"xox[abprs]-[A-Za-z0-9]+-[A-Za-z0-9-]{10,}"), _TOKEN),
    ("google-api-key", re.compile(r"AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"), _TOKEN),
    # npm's (since 2021), PyPI's (a macaroon, always `AgE…`) and GitLab's personal tokens.
    ("npm-token", re.compile(r"npm_[A-Za-z0-9]{36,}(?![A-Za-z0-9_])"), _WORD | {"_"}),
    ("pypi-token", re.compile(r"pypi-AgE[A-Za-z0-9_-]{20,}"), _TOKEN),
    ("gitlab-token", re.compile(r"glpat-[A-Za-z0-9_-]{20,}"), _TOKEN),
    # A registry login in an `.npmrc` (`//host/:_authToken=…`, `:_auth=`, `:_password=`): older
    # tokens and basic-auth logins have no shape of their own. `${NPM_TOKEN}` and `<token>`
    # name a value kept elsewhere, the usual way to commit the file.
    ("npm-auth", re.compile(r":_(?:authToken|auth|password) ?= ?[\"']?(?![$<{])[^\s\"'`]{8,}"),
     frozenset()),
    (
        "private-key",
        re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
        frozenset(),
    ),
    # A PuTTY key file (`.ppk`) is no PEM block: redacted through its `Private-MAC:` line.
    ("putty-key", re.compile(r"PuTTY-User-Key-File-[0-9]+: ?[a-z][a-z0-9-]*"), frozenset()),
)


def _key_kind(match: str) -> str:
    """Name the vendor of an ``sk-`` key when its prefix says so."""
    if match.startswith("sk-ant-"):
        return "anthropic-api-key"
    return "openai-api-key"


_ESCAPED = re.compile(r"(?:\\[A-Za-z]|%[0-9A-Fa-f]{2})\Z")


def _bounded(text: str, start: int, not_before: frozenset[str]) -> bool:
    """Does a match at ``start`` begin a token? An escape right before it (`\\n` in a JSON
    string, `%3D` in a URL) ends the token before it, although its last character is a
    letter or digit."""
    if not start or text[start - 1] not in not_before:
        return True
    return _ESCAPED.search(text, max(0, start - 3), start) is not None


def find_secret_patterns(text: str) -> list[tuple[int, str]]:
    """(1-based line, kind) for every line holding something shaped like an API key.

    One entry per line and kind, sorted by line then kind.
    """
    found: list[tuple[int, str]] = []
    for kind, pattern, not_before in _PATTERNS:
        for match in pattern.finditer(text):
            start = match.start()
            if not _bounded(text, start, not_before):
                continue
            name = _key_kind(match.group()) if kind == "api-key" else kind
            found.append((start, name))
    if not found:
        return []
    found.sort()
    result: set[tuple[int, str]] = set()
    line, counted_to = 1, 0
    for offset, name in found:
        # Counting newlines between consecutive hits keeps this linear on multi-megabyte text.
        line += text.count("\n", counted_to, offset)
        counted_to = offset
        result.add((line, name))
    return sorted(result)


REDACTED = "[redacted]"
_KEY_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_BASE64 = re.compile(r"[A-Za-z0-9+/=]+")
_ARMOR = re.compile(r"[A-Za-z][A-Za-z-]*: .*")  # Proc-Type:, DEK-Info:, Comment:, Version:


# A line break written as an escape: a key inside a JSON, YAML or .env string (`\n`, `\r\n`,
# or `\\n` escaped twice), as service-account files and exported settings hold it.
_ESCAPED_BREAK = re.compile(r"(?:\\{1,2}r)?\\{1,2}n")
_ESCAPED_MATERIAL = re.compile(r"(?:[A-Za-z0-9+/=]|(?:\\{1,2}r)?\\{1,2}n)*")


_MATERIAL_RUN = re.compile(r"[A-Za-z0-9+/]{40,}")  # a PEM line holds 64; names break at `_`
# The longest armored key (RSA 4096) is about 3.3 KB: room for quotes, `+` and escapes around.
_KEY_SPAN = 16_384


class _Footers:
    """The footers of a text and its runs of key material, found once per text, so that a file
    of many headers is still read in linear time."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.ends = [(m.start(), m.end()) for m in _KEY_END.finditer(text)]
        self.starts = [start for start, _ in self.ends]
        self.run_from, self.run = -1, -1

    def after(self, end: int) -> int | None:
        """The end of the footer that closes a key whose header ends at ``end``, whatever lies
        between (string pieces joined with `+`, spaces for line breaks): the next footer within
        a key's length, with key material before it; None when there is none."""
        i = bisect_left(self.starts, end)
        if i == len(self.starts) or self.starts[i] - end > _KEY_SPAN:
            return None
        return self.ends[i][1] if self._material_from(end) < self.starts[i] else None

    def _material_from(self, pos: int) -> int:
        if not self.run_from <= pos <= self.run:  # the run found for an earlier header serves
            found = _MATERIAL_RUN.search(self.text, pos)
            self.run_from, self.run = pos, found.start() if found else len(self.text)
        return self.run


def _block_end(text: str, end: int, footers: _Footers | None = None) -> int:
    """Where the key a header (ending at ``end``) introduces ends: through its footer when key
    material comes before it (`_Footers.after`), else the lines of key material after it
    (base64, armor headers, blank lines). Code or prose that only names a header
    (`startswith("-----BEGIN RSA PRIVATE KEY-----")`) keeps everything after the header; each
    line is looked at once, whatever the number of headers in a file."""
    closed = (footers or _Footers(text)).after(end)
    if closed is not None:
        return closed
    if _ESCAPED_BREAK.match(text, end):
        # The whole key is on this line: through its footer, else through the material.
        line_end = text.find("\n", end)
        footer = _KEY_END.search(text, end, len(text) if line_end < 0 else line_end)
        if footer is not None:
            return footer.end()
        material = _ESCAPED_MATERIAL.match(text, end)
        return end if material is None else material.end()
    line_end = text.find("\n", end)
    while line_end >= 0:
        start = line_end + 1
        line_end = text.find("\n", start)
        stop = len(text) if line_end < 0 else line_end
        line = text[start:stop].strip()
        footer = _KEY_END.match(line)
        if footer is not None:
            return text.index(footer.group(), start) + len(footer.group())
        if not line:
            continue  # a blank line inside the block (PGP armor) is no end of it
        if not _ARMOR.fullmatch(line) and not (
                _BASE64.fullmatch(line) and (len(line) >= 16 or line.endswith("=")
                                             or _footer_next(text, line_end))):
            break
        end = stop
    return end


def _footer_next(text: str, line_end: int) -> bool:
    # The last line of a key's base64 may be short: it is one when the footer comes next.
    if line_end < 0:
        return False
    after = text.find("\n", line_end + 1)
    return _KEY_END.match(text[line_end + 1 : len(text) if after < 0 else after].strip()) \
        is not None


_PUTTY_MAC = re.compile(r"Private-MAC:", re.IGNORECASE)
_PUTTY_LINES = re.compile(r"Private-Lines: *([0-9]{1,4})", re.IGNORECASE)


def _putty_end(text: str, end: int) -> int:
    """Where a PuTTY key whose header ends at ``end`` ends: through its `Private-MAC:` line
    within a key's length; a file cut short before it, through the `Private-Lines:` it counts;
    else the header alone (code or prose naming one)."""
    mac = _PUTTY_MAC.search(text, end, end + _KEY_SPAN)
    if mac is not None:
        stop = text.find("\n", mac.end())
        return len(text) if stop < 0 else stop
    lines = _PUTTY_LINES.search(text, end, end + _KEY_SPAN)
    if lines is None:
        return end
    stop = text.find("\n", lines.end())  # the counted lines come after this one
    for _ in range(int(lines.group(1))):
        if stop < 0:
            break
        stop = text.find("\n", stop + 1)
    return len(text) if stop < 0 else stop


# The same shapes in any case: what a store made of them before they were redacted holds as
# lower-cased search terms (`akiaxxxx…`), in insights and notes (`scrub`).
_ANY_CASE = tuple((kind, re.compile(pattern.pattern, re.IGNORECASE), not_before)
                  for kind, pattern, not_before in _PATTERNS)


def _spans(text: str, any_case: bool = False) -> list[tuple[int, int]]:
    spans = []
    footers: _Footers | None = None
    for kind, pattern, not_before in _ANY_CASE if any_case else _PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if not _bounded(text, start, not_before):
                continue
            if kind == "private-key":
                footers = footers or _Footers(text)
                end = _block_end(text, end, footers)
            elif kind == "putty-key":
                end = _putty_end(text, end)
            spans.append((start, end))
    return sorted(spans)


def redact_text(text: str, *, any_case: bool = False) -> str:
    """``text`` with every credential-shaped string replaced by ``[redacted]`` and the same
    number of line breaks (so line numbers still hold); ``text`` itself when it holds none.
    ``any_case``: lower-cased keys too (terms made of them), for what was stored before."""
    spans = _spans(text, any_case)
    if not spans:
        return text
    out, at = [], 0
    for start, end in spans:
        if end <= at:
            continue  # inside a block already redacted
        start = max(start, at)
        out.append(text[at:start])
        out.append(REDACTED + "\n" * text.count("\n", start, end))
        at = end
    out.append(text[at:])
    return "".join(out)


def redact(data: bytes) -> bytes:
    """``redact_text`` for a file's bytes, whatever their encoding: ``data`` itself (no copy)
    in the usual case."""
    # Latin-1 maps every byte to one character, so the encoding of everything around the
    # (ASCII) replacements survives the round trip.
    text = data.decode("latin-1")
    done = redact_text(text)
    return data if done is text else done.encode("latin-1")
