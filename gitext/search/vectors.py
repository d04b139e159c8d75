"""The vector files under ``.agents/content/embeddings/<model>/``.

Vectors are float32 ``.npy`` segments, opened memory-mapped (reading them back from SQLite BLOB
rows is hundreds of times slower, DESIGN.md). A segment is written once, by one indexing batch,
and never changed: a row of ``embedding_metadata`` names its segment and row, so a reader never
sees a half-written file and a crash leaves at worst an unreferenced segment that
``compact``/maintenance removes. Compaction copies the live rows into one new segment, points
the metadata at it, then deletes the old files.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitext.folders import make_folder

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
SEGMENT_PREFIX = "seg-"


def model_dir(root: Path, model: str) -> Path:
    """The folder of a model's segments.

    Names that differ only in characters replaced here share one ("openai:org/emb",
    "openai:org_emb"); kept so, since a new rule would lose every store's vectors. They cannot
    mix all the same: a row names its segment, segments are named at random, and a compaction
    removes only those no row of any model names."""
    return root / (_UNSAFE.sub("_", model).strip("._") or "model")


class VectorStore:
    def __init__(self, root: Path, model: str, dimension: int) -> None:
        self.folder = model_dir(root, model)
        self.model = model
        self.dimension = dimension
        self._open: dict[str, Any] = {}

    def write_segment(self, matrix: npt.NDArray[np.float32]) -> str:
        """Store rows as a new segment; returns its file name (rows are 0..n-1 in it)."""
        import numpy as np

        # content/embeddings/<model>, made below a store that is there, never the store itself.
        make_folder(self.folder, self.folder.parent.parent)
        name = f"{SEGMENT_PREFIX}{uuid.uuid4().hex[:16]}.npy"
        tmp = self.folder / (name + ".tmp")
        with tmp.open("wb") as fh:
            np.save(fh, np.ascontiguousarray(matrix, dtype=np.float32))
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.folder / name)
        return name

    def segment(self, name: str) -> Any:
        arr = self._open.get(name)
        if arr is None:
            import numpy as np

            arr = np.load(self.folder / name, mmap_mode="r")
            self._open[name] = arr
        return arr

    def gather(self, refs: Sequence[tuple[str, int]]) -> npt.NDArray[np.float32]:
        """Rows named by (segment, row), in that order, as one C-contiguous float32 matrix."""
        import numpy as np

        out = np.empty((len(refs), self.dimension), dtype=np.float32)
        if not refs:
            return out
        by_seg: dict[str, tuple[list[int], list[int]]] = {}
        for i, (seg, row) in enumerate(refs):
            dest, rows = by_seg.setdefault(seg, ([], []))
            dest.append(i)
            rows.append(row)
        for seg, (dest, rows) in by_seg.items():
            data = self.segment(seg)
            out[np.asarray(dest)] = data[np.asarray(rows)]
        return out

    def segments(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.name for p in self.folder.glob(f"{SEGMENT_PREFIX}*.npy"))

    def remove(self, names: Iterable[str]) -> int:
        removed = 0
        for name in names:
            self._open.pop(name, None)
            try:
                (self.folder / name).unlink()
                removed += 1
            except FileNotFoundError:
                pass
        # A fresh .tmp is a segment another process is writing; an old one, a crash's leftover.
        stale = time.time() - 3600
        for tmp in self.folder.glob("*.tmp") if self.folder.is_dir() else []:
            with contextlib.suppress(FileNotFoundError):
                if tmp.stat().st_mtime < stale:
                    tmp.unlink()
        return removed

    def size_bytes(self) -> int:
        return sum((self.folder / n).stat().st_size for n in self.segments())
