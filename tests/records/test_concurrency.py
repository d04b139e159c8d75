"""Two processes appending to one conversation: nothing lost, totals exact."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from gitext.project import Project
from gitext.records import get_conversation, list_messages, start_conversation

WRITER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from gitext.project import Project
    from gitext.records import add_message, add_messages, MessageInput
    project = Project.locate(Path(sys.argv[1]), Path(os.environ["AIRCHER_HOME"]), os.environ)
    conv, tag, n, gate = sys.argv[2], sys.argv[3], int(sys.argv[4]), Path(sys.argv[5])
    (gate / tag).touch()
    while len(list(gate.iterdir())) < 2:  # both writers start together
        pass
    for i in range(n):
        add_message(project, conv, "user", f"{tag} {i}", tokens=i + 1, cost=0.25)
        time.sleep(0.002)  # let the other writer in between: interleaved, not one after another
    add_messages(project, conv, [MessageInput("assistant", f"{tag} batch {i}", 2, 0.5)
                                 for i in range(5)])
    project.close()
""")


def test_two_processes_append_to_one_conversation(project: Project, tmp_path: Path) -> None:
    conv = start_conversation(project, "p")
    gate = tmp_path / "gate"
    gate.mkdir()
    n = 60
    env = dict(os.environ)
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(project.repo.root), conv.id, tag,
                          str(n), str(gate)], env=env, stderr=subprocess.PIPE)
        for tag in ("left", "right")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    messages = list_messages(project, conv.id)
    assert len(messages) == 2 * (n + 5)
    assert sorted(m.seq or 0 for m in messages) == list(range(1, 2 * (n + 5) + 1))
    got = get_conversation(project, conv.id)
    per_process_tokens = n * (n + 1) // 2 + 5 * 2
    assert got.total_tokens == 2 * per_process_tokens == sum(m.tokens or 0 for m in messages)
    assert got.total_cost == 2 * (n * 0.25 + 5 * 0.5) == sum(m.cost for m in messages)
    for tag in ("left", "right"):
        mine = [m.content for m in messages if (m.content or "").startswith(tag + " ")]
        assert mine[:n] == [f"{tag} {i}" for i in range(n)]  # each writer's order is kept
