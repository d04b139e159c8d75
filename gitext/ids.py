"""Row ids: random UUIDs for records, name-based UUIDs for rows derived from git.

A derived id is a function of the row's natural key, so applying the same git event twice
writes the same row twice (an upsert), never a duplicate.
"""

from __future__ import annotations

import hashlib
import uuid

_NAMESPACE = uuid.UUID("5b0f3f9e-4a52-4c4e-9c1d-2f6a1c0ae7a1")
_NS_HASH = hashlib.sha1(_NAMESPACE.bytes)
_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}


def new_id() -> str:
    return str(uuid.uuid4())


def derived_id(*key: str) -> str:
    """uuid5(namespace, key) without building UUID objects: the index of a 50,000-file
    repository derives half a million of these, and uuid.uuid5 made that a third of the time."""
    h = _NS_HASH.copy()
    h.update("\x00".join(key).encode("utf-8", "surrogateescape"))
    x = h.hexdigest()
    # Version 5 in the 13th digit, the RFC 4122 variant (binary 10xx) in the 17th.
    return f"{x[:8]}-{x[8:12]}-5{x[13:16]}-{_VARIANT[x[16]]}{x[17:20]}-{x[20:32]}"
