"""Embedding settings the spec allows that cannot take effect here, said rather than ignored.

`storage.embeddings.index_type` may be faiss or annoy in the spec's example configs, but the
only index built is exact (DESIGN.md, "Similarity search": brute force at memory bandwidth beats
an approximate index at our sizes). `storage.embeddings.dimension` cannot change the size of a
model that fixes its own (`aircher-hash-384` is 384 wide by its name; an `st:` model's size is
the model's). Refusing such values would make configs written from the spec fail every
command, so they are accepted and reported: a warning from `config set`, an info from doctor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitext.config import Config
from gitext.config_keys import HASH_DIMENSIONS, HASH_PREFIX

INDEX_TYPE = "storage.embeddings.index_type"
DIMENSION = "storage.embeddings.dimension"
MODEL = "storage.embeddings.embedding_model"


@dataclass(frozen=True)
class Unused:
    keys: tuple[str, ...]  # the settings involved: setting any of them may bring this about
    message: str


def unused_settings(cfg: Config) -> list[Unused]:
    found = []
    index_type = cfg.text(INDEX_TYPE)
    if index_type != "exact":
        found.append(Unused((INDEX_TYPE,), (
            f"{INDEX_TYPE} = {index_type} is not used: the search index is exact (brute-force"
            " nearest neighbours), the only kind git-aircher builds")))
    # A dimension left at its default is no one's choice: only one that was set can contradict.
    if cfg.sources[DIMENSION] == "default":
        return found
    model, dimension = cfg.text(MODEL), cfg.integer(DIMENSION)
    rest = model[len(HASH_PREFIX):] if model.startswith(HASH_PREFIX) else ""
    if rest.isdigit() and int(rest) != dimension:
        low, high = HASH_DIMENSIONS
        other = (f" (the model {HASH_PREFIX}{dimension} makes {dimension})"
                 if low <= dimension <= high else "")  # the hash embedder's bounds
        found.append(Unused((DIMENSION, MODEL), (
            f"{DIMENSION} = {dimension} is not used: the model {model} makes {int(rest)}-wide"
            f" vectors{other}")))
    elif model.startswith("st:"):
        found.append(Unused((DIMENSION, MODEL), (
            f"{DIMENSION} = {dimension} is not used: the model {model} gives vectors of its own"
            " size")))
    return found


def unusable_model(project: Any) -> tuple[str, str | None] | None:
    """(message, hint) when the configured embedding model cannot be made (an unknown name, a
    hash size out of bounds, an endpoint model with no endpoint): index and search then fail,
    and doctor said healthy (QA round 25c: 06). An `st:` model is not loaded for this: that
    takes seconds, and `index` says why it fails."""
    from gitext.errors import ConfigError
    from gitext.search.embedders import embedder_for

    cfg = project.config
    if not cfg.flag("storage.embeddings.enabled") or cfg.text(MODEL).startswith("st:"):
        return None
    try:
        embedder_for(project)
    except ConfigError as exc:
        return exc.message, exc.hint
    return None
