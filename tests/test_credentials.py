from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gitext.errors import ConfigError
from gitext.layout import GlobalLayout, read_credentials


def test_created_owner_only(tmp_path: Path) -> None:
    layout = GlobalLayout(tmp_path / "g")
    layout.ensure()
    assert stat.S_IMODE(layout.credentials.stat().st_mode) == 0o600
    assert stat.S_IMODE(layout.root.stat().st_mode) & 0o077 == 0
    layout.credentials.write_text('[openai]\napi_key = "k"\n')
    assert read_credentials(layout.credentials) == {"openai": {"api_key": "k"}}


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "credentials.toml"
    path.write_text('[openai]\napi_key = "k"\n')
    os.chmod(path, mode)
    with pytest.raises(ConfigError) as err:
        read_credentials(path)
    assert err.value.hint == f"chmod 600 {path}"


def test_ensure_keeps_an_existing_file(tmp_path: Path) -> None:
    layout = GlobalLayout(tmp_path)
    layout.root.mkdir(exist_ok=True)
    layout.credentials.write_text("x = 1\n")
    os.chmod(layout.credentials, 0o600)
    layout.ensure()
    assert layout.credentials.read_text() == "x = 1\n"
