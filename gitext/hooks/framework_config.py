"""Which of our hooks the pre-commit framework runs itself, as the repository's
``.pre-commit-config.yaml`` takes them from our ``.pre-commit-hooks.yaml`` (docs/hooks.md).

A hook whose work a configured ``aircher-*`` hook does needs no shim of ours: with both, the
guard ran twice and printed every finding twice, and every event was recorded twice (QA round
22c: 06). The config is read with a pattern, not a YAML parser: an ``id:`` entry is all that
matters, and a comment naming one is not a hook.
"""

from __future__ import annotations

import re
from pathlib import Path

CONFIG = ".pre-commit-config.yaml"
GUARD_ID = "aircher-guard"
SYNC_ID = "aircher-sync"
# The framework hook that does each shim's work (stages in .pre-commit-hooks.yaml).
DOES_THE_WORK_OF = {
    "post-checkout": SYNC_ID, "post-commit": SYNC_ID, "post-merge": SYNC_ID,
    "post-rewrite": SYNC_ID, "pre-commit": GUARD_ID,
}
_ID = re.compile(r"^[ \t-]*id:[ \t]*['\"]?(aircher-[A-Za-z0-9_.-]*[A-Za-z0-9_])", re.MULTILINE)


def configured_ids(worktree_root: Path) -> frozenset[str]:
    """The ``aircher-*`` hook ids the worktree's config names; none without a config."""
    try:
        text = (worktree_root / CONFIG).read_text("utf-8", "replace")
    except OSError:
        return frozenset()
    return frozenset(_ID.findall(text))


def taken_by_framework(worktree_root: Path) -> dict[str, str]:
    """Each of our hook names whose work the config gives a framework hook, with that hook's id."""
    ids = configured_ids(worktree_root)
    return {name: hook_id for name, hook_id in DOES_THE_WORK_OF.items() if hook_id in ids}
