"""Every change to redaction reaches stores indexed before it: a migration queues the one-time
scrub again. f2fb324 taught redaction joined key pieces and queued nothing, so stores indexed
in between kept such keys searchable after the upgrade (QA round 24a: 01)."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path

from gitext.index import secrets
from gitext.resources import data_dir
from gitext.search import scrub
from tests.hooks.test_guard import TEXT_SAMPLES

SECRETS = Path(secrets.__file__)
NOTE = re.compile(r"^-- gitext/index/secrets\.py sha256: ([0-9a-f]{64})$", re.M)


def test_the_newest_scrub_migration_names_the_redaction_rules_as_they_are() -> None:
    queuing = sorted(p for p in (data_dir("schemas") / "file_index").glob("*.sql")
                     if "INTO pending_scrubs" in p.read_text("utf-8"))
    assert queuing, "no migration queues the credentials scrub"
    newest = queuing[-1]
    noted = NOTE.search(newest.read_text("utf-8"))
    now = hashlib.sha256(SECRETS.read_bytes()).hexdigest()
    assert noted is not None and noted.group(1) == now, (
        f"{SECRETS.name} changed since {newest.name} queued the scrub: stores indexed before"
        " keep what the new rules take out. Add a file_index migration that queues the"
        " 'credentials' scrub (as 012_joined_keys.sql does), noting the new hash: " + now)


def test_the_scrub_s_filter_lets_every_key_shape_through() -> None:
    """The scrub looks only at values LIKE one of its literal starts: a shape without one stays
    in notes and insights (npm, PyPI, GitLab tokens, QA round 26d: 01)."""
    conn = sqlite3.connect(":memory:")
    for text in TEXT_SAMPLES:
        assert secrets.find_secret_patterns(text)
        assert any(conn.execute("SELECT ? LIKE ? ESCAPE '\\'", (text, like)).fetchone()[0]
                   for like in scrub._LIKELY), text
    conn.close()
