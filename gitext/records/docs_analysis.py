"""documentation_files: Markdown and reStructuredText read for title, purpose line, sections
and cross references, keyed by content hash (the git blob id) so an unchanged doc is never
analysed twice. The sync engine calls `refresh_docs` for the .md/.rst files a change touched.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import unquote

from gitext import clock
from gitext.ids import derived_id
from gitext.index.languages import is_binary
from gitext.index.secrets import is_secret_path, redact
from gitext.project import Project
from gitext.records import values as v

MARKDOWN = (".md", ".markdown", ".mdown", ".mkd")
RST = (".rst", ".rest")
_ROLES = {
    "readme": "readme", "changelog": "changelog", "changes": "changelog", "history": "changelog",
    "news": "changelog", "contributing": "contributing", "license": "license",
    "copying": "license", "authors": "authors", "security": "security",
    "code_of_conduct": "code_of_conduct", "install": "install", "installation": "install",
    "api": "api", "architecture": "architecture", "design": "architecture",
}
_SCHEME = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")
_DOC_EXT = (*MARKDOWN, *RST, ".txt", ".adoc")


@dataclass
class DocInfo:
    path: str
    doc_type: str
    title: str
    purpose: str | None
    sections: list[dict[str, Any]] = field(default_factory=list)
    cross_refs: list[dict[str, Any]] = field(default_factory=list)
    content_hash: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def blob_id(content: str | bytes) -> str:
    """git's blob id of this content (what `git hash-object` prints for it)."""
    data = content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def is_doc_path(path: str) -> bool:
    return path.lower().endswith((*MARKDOWN, *RST))


def doc_role(path: str) -> str:
    stem = posixpath.basename(path).split(".", 1)[0].lower().replace("-", "_")
    if stem in _ROLES:
        return _ROLES[stem]
    parts = path.lower().split("/")
    return "guide" if any(p in ("docs", "doc", "documentation") for p in parts[:-1]) else "doc"


def _plain(text: str) -> str:
    """Inline markup removed: links to their text, code and emphasis marks dropped."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]*)\]\[[^\]]*\]", r"\1", text)
    text = re.sub(r":[a-z:]+:`([^`<]*?)(?:\s*<[^>]*>)?`", r"\1", text)
    text = re.sub(r"`([^`<]*?)\s*<[^>]*>`_{1,2}", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = text.replace("``", "").replace("`", "").replace("**", "").replace("__", "")
    return re.sub(r"\s+", " ", text).strip(" *_#>")


def _first_sentence(paragraph: str) -> str | None:
    text = _plain(paragraph)
    if not text:
        return None
    m = re.match(r"(.+?[.!?])(?:\s|$)", text)
    sentence = m.group(1) if m and len(m.group(1)) >= 20 else text
    return sentence[:300]


def _ref(doc_path: str, target: str, text: str | None, kind: str) -> dict[str, Any] | None:
    target = target.strip().strip("<>")
    if not target or _SCHEME.match(target) or target.startswith("#"):
        return None
    target, _, anchor = target.partition("#")
    base = posixpath.dirname(doc_path)
    joined = target.lstrip("/") if target.startswith("/") else posixpath.join(base, target)
    resolved = posixpath.normpath(unquote(joined))
    if resolved.startswith("../") or resolved == "..":
        return None
    if kind == "link":
        kind = "doc" if resolved.lower().endswith(_DOC_EXT) else "file"
    return {"target": resolved, "anchor": anchor or None, "text": text, "kind": kind}


def _dedupe(refs: list[dict[str, Any] | None]) -> list[dict[str, Any]]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for ref in refs:
        if ref is None:
            continue
        key = (ref["target"], ref["anchor"], ref["kind"])
        if key not in seen:
            seen.add(key)
            out.append(ref)
    return out


_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HTML_H = re.compile(r"<h([1-6])[^>]*>(.*?)</h\1>", re.I)
_LINK = re.compile(r"(!?)\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'][^\"']*[\"'])?\s*\)")
_REFDEF = re.compile(r"^ {0,3}\[([^\]]+)\]:\s*<?(\S+?)>?(?:\s.*)?$")


def _markdown(path: str, text: str) -> tuple[str | None, str | None, list[dict[str, Any]],
                                              list[dict[str, Any]]]:
    lines = text.splitlines()
    front_title = None
    start = 0
    if lines and lines[0].strip() == "---":
        for i in range(1, len(lines)):
            if lines[i].strip() in ("---", "..."):
                for fm in lines[1:i]:
                    m = re.match(r"^title:\s*(.+)$", fm)
                    if m:
                        front_title = m.group(1).strip().strip("'\"")
                start = i + 1
                break
    sections: list[dict[str, Any]] = []
    refs: list[dict[str, Any] | None] = []
    paragraphs: list[tuple[int, str]] = []  # (line, text) of prose paragraphs, in order
    fence: str | None = None
    para: list[str] = []
    para_line = 0

    def close_para() -> None:
        if para:
            paragraphs.append((para_line, " ".join(para)))
            para.clear()

    for i in range(start, len(lines)):
        line = lines[i]
        m = _FENCE.match(line)
        if fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            continue
        if m:
            close_para()
            fence = m.group(1)
            continue
        scan = re.sub(r"`[^`]*`", "", line)
        for img, label, target in _LINK.findall(scan):
            refs.append(_ref(path, target, _plain(label) or None, "image" if img else "link"))
        d = _REFDEF.match(scan)
        if d:
            refs.append(_ref(path, d.group(2), d.group(1), "link"))
            continue
        h = _ATX.match(line)
        hh = _HTML_H.search(line)
        if h or hh:
            close_para()
            level, title = (len(h.group(1)), h.group(2) or "") if h else \
                (int(hh.group(1)), hh.group(2)) if hh else (0, "")
            sections.append({"level": level, "title": _plain(title), "line": i + 1})
            continue
        stripped = line.strip()
        if para and re.match(r"^ {0,3}(=+|-+)\s*$", line) and stripped:
            level = 1 if stripped[0] == "=" else 2
            title = " ".join(para)
            para.clear()
            sections.append({"level": level, "title": _plain(title), "line": para_line})
            continue
        if not stripped:
            close_para()
            continue
        prose = not re.match(r"^(\s*[-*+]\s|\s*\d+[.)]\s|\s*\||\s{4,}|\s*<|\s*!?\[!\[)", line)
        if not prose:
            close_para()
            continue
        if not para:
            para_line = i + 1
        para.append(stripped.lstrip("> ").strip())
    close_para()
    title = next((s["title"] for s in sections if s["level"] == 1 and s["title"]), None)
    title = title or next((s["title"] for s in sections if s["title"]), None) or front_title
    after = next((s["line"] for s in sections if s["title"] == title), 0)
    purpose = next((_first_sentence(p) for ln, p in paragraphs if ln > after and _plain(p)),
                   None)
    if purpose is None:
        purpose = next((_first_sentence(p) for _, p in paragraphs if _plain(p)), None)
    return title, purpose, sections, _dedupe(refs)


_ADORN = set("=-`:'\"~^_*+#<>")


def _underline(line: str) -> str | None:
    s = line.rstrip()
    if len(s) >= 2 and s[0] in _ADORN and s == s[0] * len(s):
        return s[0]
    return None


def _rst(path: str, text: str) -> tuple[str | None, str | None, list[dict[str, Any]],
                                         list[dict[str, Any]]]:
    lines = text.splitlines()
    styles: list[tuple[str, bool]] = []
    sections: list[dict[str, Any]] = []
    refs: list[dict[str, Any] | None] = []
    paragraphs: list[tuple[int, str]] = []
    para: list[str] = []
    para_line = 0
    skip: set[int] = set()
    for i, line in enumerate(lines):
        for role, body in re.findall(r":(doc|ref|download):`([^`]+)`", line):
            m = re.match(r"^(.*?)\s*<([^>]+)>$", body)
            label, target = (m.group(1), m.group(2)) if m else (None, body)
            if role == "ref":
                refs.append({"target": target.strip(), "anchor": None, "text": label,
                             "kind": "label"})
            else:
                refs.append(_ref(path, target, label, "doc" if role == "doc" else "file"))
        for label, target in re.findall(r"`([^`<]*?)\s*<([^>`]+)>`_{1,2}", line):
            if not target.endswith("_"):
                refs.append(_ref(path, target, label or None, "link"))
        d = re.match(r"^\.\.\s+(include|literalinclude|image|figure)::\s*(\S+)", line)
        if d:
            refs.append(_ref(path, d.group(2), None, "image" if d.group(1) in (
                "image", "figure") else "file"))
        if i in skip:
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        over = _underline(line)
        if over and i + 2 < len(lines) and _underline(lines[i + 2]) == over and \
                lines[i + 1].strip() and not _underline(lines[i + 1]):
            style = (over, True)
            title, skip_to = lines[i + 1].strip(), {i + 1, i + 2}
        elif line.strip() and not line[0].isspace() and _underline(nxt) and \
                len(nxt.rstrip()) >= len(line.rstrip()) and not _underline(line):
            style = (_underline(nxt) or "", False)
            title, skip_to = line.strip(), {i + 1}
        else:
            stripped = line.strip()
            directive = stripped.startswith("..") or re.match(r"^:\w[^:]*:", stripped)
            if not stripped or directive or line[:1].isspace() or over:
                if para:
                    paragraphs.append((para_line, " ".join(para)))
                    para = []
                continue
            if not para:
                para_line = i + 1
            para.append(stripped)
            continue
        if para:
            paragraphs.append((para_line, " ".join(para)))
            para = []
        if style not in styles:
            styles.append(style)
        skip |= skip_to
        sections.append({"level": styles.index(style) + 1, "title": _plain(title),
                         "line": i + 1})
    if para:
        paragraphs.append((para_line, " ".join(para)))
    doc_title = sections[0]["title"] if sections else None
    after = sections[0]["line"] if sections else 0
    purpose = next((_first_sentence(p) for ln, p in paragraphs if ln > after and _plain(p)),
                   None)
    return doc_title, purpose, sections, _dedupe(refs)


def analyze_doc(path: str, text: str, content_hash: str | None = None) -> DocInfo:
    """Title, purpose line, sections and cross references of one Markdown or reST file.

    `content_hash` is the git blob id the caller already knows; computed from `text` if not.
    """
    parse = _rst if path.lower().endswith(RST) else _markdown
    title, purpose, sections, refs = parse(path, text)
    stem = posixpath.basename(path).rsplit(".", 1)[0]
    return DocInfo(path, doc_role(path), title or stem, purpose, sections, refs,
                   content_hash or blob_id(text))


def refresh_docs(
    project: Project,
    changed: Sequence[tuple[str, str, str]],
    *,
    removed: Sequence[str] = (),
) -> int:
    """Re-analyse changed docs (path, blob id, text) whose hash moved; drop removed paths.
    One short transaction; returns rows written or deleted. A doc named like a secret
    (`credentials.md`) is never analysed, whoever read it, and a row of one is dropped: its title
    and purpose line are its content."""
    wanted = [(p, b, t) for p, b, t in changed if is_doc_path(p) and not is_secret_path(p)]
    removed = [*removed, *(p for p, _, _ in changed if is_secret_path(p))]
    with project.db("knowledge").read() as conn:
        known = {
            r["file_path"]: r["content_hash"]
            for start in range(0, len(wanted), 500)
            for r in conn.execute(
                "SELECT file_path, content_hash FROM documentation_files WHERE file_path IN"
                f" ({','.join('?' * len(wanted[start:start + 500]))})",
                [p for p, _, _ in wanted[start:start + 500]],
            )
        }
    infos = [analyze_doc(p, t, b) for p, b, t in wanted if known.get(p) != b]
    if not infos and not removed:
        return 0
    now = clock.now()
    with project.db("knowledge").write() as conn:
        for info in infos:
            conn.execute(
                "INSERT INTO documentation_files (id, file_path, doc_type, title, purpose,"
                " sections, cross_refs, last_analyzed, content_hash) VALUES (?, ?, ?, ?, ?, ?,"
                " ?, ?, ?) ON CONFLICT(file_path) DO UPDATE SET doc_type = excluded.doc_type,"
                " title = excluded.title, purpose = excluded.purpose,"
                " sections = excluded.sections, cross_refs = excluded.cross_refs,"
                " last_analyzed = excluded.last_analyzed, content_hash = excluded.content_hash",
                (derived_id("documentation", info.path), info.path, info.doc_type, info.title,
                 info.purpose, v.dump(info.sections), v.dump(info.cross_refs), now,
                 info.content_hash),
            )
        gone = 0
        for path in removed:
            gone += conn.execute("DELETE FROM documentation_files WHERE file_path = ?",
                                 (path,)).rowcount
    return len(infos) + gone


def refresh_worktree_docs(project: Project) -> int:
    """Every tracked .md/.rst of this worktree (what `knowledge docs refresh` runs)."""
    from gitext.git.compare import tracked_files

    root = project.repo.root
    changed = []
    for rel in tracked_files(root, ["*.md", "*.markdown", "*.rst"]):
        if is_secret_path(rel):
            continue  # never read, as sync and search never read it; a row stored is dropped
        try:
            data = (root / rel).read_bytes()
        except OSError:
            continue
        if is_binary(data):
            continue  # UTF-16 text too: analysed as such, it would be read past redaction
        changed.append((rel, blob_id(data), redact(data).decode("utf-8", "replace")))
    with project.db("knowledge").read() as conn:
        stored = [r[0] for r in conn.execute("SELECT file_path FROM documentation_files")]
    present = {p for p, _, _ in changed}
    return refresh_docs(project, changed, removed=[p for p in stored if p not in present])


def list_docs(project: Project) -> list[dict[str, Any]]:
    with project.db("knowledge").read() as conn:
        rows = conn.execute("SELECT * FROM documentation_files ORDER BY file_path").fetchall()
    return [{"id": r["id"], "path": r["file_path"], "doc_type": r["doc_type"],
             "title": r["title"], "purpose": r["purpose"], "sections": v.load(r["sections"]),
             "cross_refs": v.load(r["cross_refs"]), "last_analyzed": r["last_analyzed"],
             "content_hash": r["content_hash"]} for r in rows]
