"""Row ids: random UUIDs for records, name-based UUIDs for rows derived from git.

A derived id is a function of the row's natural key, so applying the same git event twice
writes the same row twice (an upsert), never a duplicate.
"""

from __future__ import annotations

import uuid

_NAMESPACE = uuid.UUID("5b0f3f9e-4a52-4c4e-9c1d-2f6a1c0ae7a1")


def new_id() -> str:
    return str(uuid.uuid4())


def derived_id(*key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x00".join(key)))
