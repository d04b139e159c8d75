"""Folding text as the full-text index folds it (`fts.folded`): the archive's search folds every
archived message with it, so ASCII text takes a short way that must give the same string."""

from __future__ import annotations

import random
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import pytest

from gitext import clock
from gitext.lifecycle.archive import archive_conversations
from gitext.lifecycle.archive_search import search_archived
from gitext.project import Project
from gitext.records import add_message, start_conversation
from gitext.records.fts import folded


def _by_characters(text: str) -> str:
    """The fold as it was before the ASCII short way, the reference for every input."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


TRICKY = [
    "", "plain ascii", "MiXeD CaSe_Identifier42", "".join(map(chr, range(128))),
    "café", "CAFÉ", "cafe\u0301", "naïve", "Straße", "STRASSE ẞ", "İstanbul", "ISTANBUL ı",
    "\u212a elvin", "ﬁle ﬂow", "ＦＵＬＬ ｗｉｄｔｈ", "x²³ ½", "Ǆemal ǅ ǆ", "Å Å Å",
    "Ωmega Ω", "ΣΑΣ σας", "日本語のテキスト", "한국어", "emoji 👍🏽 zwj 👨‍👩‍👧",
    "\u0301 leading mark", "ascii then é at the end", "\x00nul\x7fdel", "tab\tnew\nline",
    "ℌilbert ℍ", "Ⅻ roman", "①②", "ǰ", "ﬃ", "\ufb2c hebrew", "ﾃﾞ halfwidth",
]


@pytest.mark.parametrize("text", TRICKY)
def test_folding_gives_what_the_character_by_character_fold_gives(text: str) -> None:
    assert folded(text) == _by_characters(text)


def test_folding_random_text_gives_what_the_character_by_character_fold_gives() -> None:
    rng = random.Random(26)
    pools = ["".join(map(chr, range(128))), "aé\u0301ßİıKﬁ２Σς日👍\u0300Å", "AZaz09 _-"]
    for _ in range(3000):
        pool = rng.choice(pools) + rng.choice(pools)
        text = "".join(rng.choice(pool) for _ in range(rng.randrange(0, 40)))
        assert folded(text) == _by_characters(text), repr(text)
    assert folded(None) == ""


@contextmanager
def _calls_to(*targets: Any) -> Iterator[list[int]]:
    """How often these C functions were called meanwhile (a profile hook, which also sees calls
    SQLite makes into Python)."""
    count = [0]

    def hook(_frame: FrameType, event: str, arg: Any) -> None:
        if event == "c_call" and any(arg is t for t in targets):
            count[0] += 1

    sys.setprofile(hook)
    try:
        yield count
    finally:
        sys.setprofile(None)


def test_searching_an_ascii_archive_folds_no_text_character_by_character(
        project: Project) -> None:
    """QA round 26f: 02. `conversation search --archived` spent ~95% of its time in the fold's
    per-character loop (6.7-17 s on 285,000 archived messages), though ASCII text, nearly all
    of an agent's, has nothing to decompose. The same hits, and no decomposition at all."""
    clock.set_now(1_800_000_000.0)
    old = start_conversation(project, "anthropic", title="refresh flow")
    for i in range(30):
        clock.set_now(1_800_000_000.0 + i)
        add_message(project, old.id, "user", f"message {i}: the refresh token expired at {i}")
    clock.set_now(1_800_000_100.0)
    start_conversation(project, "anthropic", title="newer")
    project.config.values["storage.lifecycle.conversation_max_per_project"] = 1
    assert archive_conversations(project).ids == [old.id]
    with _calls_to(unicodedata.normalize, unicodedata.combining) as calls:
        hits = search_archived(project, "Refresh TOKEN", 5)
        missed = search_archived(project, "nosuchword", 5)
    assert [h["snippet"] for h in hits] == [
        f"message {i}: the [refresh] [token] expired at {i}" for i in range(29, 24, -1)]
    assert missed == []
    assert calls[0] == 0
