"""`conversation export -o PATH` and `config set` land where `>` and git would write.

Both wrote a temporary file and renamed it over the target. A rename replaces the directory
entry: `export -o /dev/null` run as root put a regular file in /dev (every later `> /dev/null`
on the machine wrote into it, and reads of /dev/null returned that output: a test of this
suite failed on `git gc` reading a stranger's text as revisions); a FIFO's reader got nothing;
a symlinked config.toml (dotfiles) became a plain file. (Found in session 23.)
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from gitext.project import Project
from gitext.records import add_message, start_conversation
from tests.conftest import run_git_aircher


def _one_conversation(project: Project) -> str:
    conv = start_conversation(project, "fifo check")
    add_message(project, conv.id, "user", "hello through a pipe")
    return conv.id


def test_export_into_a_fifo_feeds_its_reader_and_leaves_the_fifo(project: Project,
                                                                 tmp_path: Path) -> None:
    conv_id = _one_conversation(project)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    # Opened for reading in a thread: the export's open for writing waits for a reader.
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()

    r = run_git_aircher(project.repo.root, "conversation", "export", "-o", str(fifo))
    reader.join(30)

    assert r.code == 0, r.err
    assert not reader.is_alive()
    assert fifo.is_fifo()
    lines = [json.loads(x) for x in got[0].decode().splitlines()]
    assert any(x.get("id") == conv_id or x.get("conversation_id") == conv_id for x in lines)
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_export_through_a_symlink_writes_its_target(project: Project, tmp_path: Path) -> None:
    _one_conversation(project)
    (tmp_path / "kept").mkdir()
    target = tmp_path / "kept" / "all.jsonl"
    target.write_text("old\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)

    r = run_git_aircher(project.repo.root, "conversation", "export", "-o", str(link))

    assert r.code == 0, r.err
    assert link.is_symlink() and link.resolve() == target
    assert "hello through a pipe" in target.read_text()
    assert "old" not in target.read_text()


def test_config_set_through_a_symlinked_config_keeps_the_link(project: Project,
                                                             tmp_path: Path) -> None:
    root = project.repo.root
    config = project.layout.config
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    kept = dotfiles / "aircher.toml"
    kept.write_bytes(config.read_bytes() if config.exists() else b"")
    config.unlink(missing_ok=True)
    config.symlink_to(kept)

    r = run_git_aircher(root, "config", "set", "storage.embeddings.similarity_threshold", "0.5")

    assert r.code == 0, r.err
    assert config.is_symlink() and config.resolve() == kept
    assert "0.5" in kept.read_text()
    assert run_git_aircher(root, "config", "get",
                           "storage.embeddings.similarity_threshold").out.strip() == "0.5"
