"""Files that ship with the package: the SQL schemas and the hook shims."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """schemas/ or hooks/: inside an installed wheel, else at the top of the source checkout."""
    shipped = _PKG / "_data" / name
    if shipped.is_dir():
        return shipped
    source = _PKG.parent / name
    if source.is_dir():
        return source
    raise FileNotFoundError(f"git-aircher is installed without its {name}/ folder")
