"""Which of our hooks the pre-commit framework runs itself, as the repository's
``.pre-commit-config.yaml`` takes them from our ``.pre-commit-hooks.yaml`` (docs/hooks.md).

A hook whose work a configured ``aircher-*`` hook does needs no shim of ours: with both, the
guard ran twice and printed every finding twice, and every event was recorded twice (QA round
22c: 06). The config is read as YAML, as the framework reads it: flow style and JSON are YAML
too, and a pattern for ``id:`` lines missed them (QA round 23: 04). Each hook runs only at its
stages, as the framework picks them: a config that narrows ``aircher-sync`` to post-commit leaves
post-checkout to our shim (QA round 23: 01).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CONFIG = ".pre-commit-config.yaml"
GUARD_ID = "aircher-guard"
SYNC_ID = "aircher-sync"
# The framework hook that does each shim's work (stages in .pre-commit-hooks.yaml). Not
# post-applypatch: the framework has no such stage (its config refuses one), so our shim stays
# there whatever the config runs, and records `git am`'s commits.
DOES_THE_WORK_OF = {
    "post-checkout": SYNC_ID, "post-commit": SYNC_ID, "post-merge": SYNC_ID,
    "post-rewrite": SYNC_ID, "pre-commit": GUARD_ID,
}
# Each hook's stages in our .pre-commit-hooks.yaml: the framework's when the config names none.
_MANIFEST_STAGES = {
    GUARD_ID: frozenset({"pre-commit"}),
    SYNC_ID: frozenset({"post-checkout", "post-commit", "post-merge", "post-rewrite"}),
}
# Stage names the framework still takes for their current ones.
_OLD_STAGE_NAMES = {"commit": "pre-commit", "push": "pre-push",
                    "merge-commit": "pre-merge-commit"}


def configured_stages(worktree_root: Path) -> dict[str, frozenset[str]]:
    """The ``aircher-*`` hook ids the worktree's config names, each with the stages the
    framework runs it at; none without a config, or with one that does not parse."""
    try:
        text = (worktree_root / CONFIG).read_text("utf-8", "replace")
    except OSError:
        return {}
    import yaml  # only with a config: the hooks' fast paths must not pay for the import

    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    found: dict[str, frozenset[str]] = {}
    for local, hook in _hooks(config):
        hook_id = hook.get("id")
        if isinstance(hook_id, str) and hook_id.startswith("aircher-"):
            stages = _stages(hook, None if local else _MANIFEST_STAGES.get(hook_id), config)
            found[hook_id] = found.get(hook_id, frozenset()) | stages
    return found


def configured_ids(worktree_root: Path) -> frozenset[str]:
    """The ``aircher-*`` hook ids the worktree's config names; none without a config."""
    return frozenset(configured_stages(worktree_root))


def taken_by_framework(worktree_root: Path) -> dict[str, str]:
    """Each of our hook names whose work the config gives a framework hook running at that
    hook's stage, with that hook's id."""
    stages = configured_stages(worktree_root)
    return {name: hook_id for name, hook_id in DOES_THE_WORK_OF.items()
            if name in stages.get(hook_id, ())}


def _hooks(config: Any) -> list[tuple[bool, dict[str, Any]]]:
    """The hook entries of every repo in the config, each with whether it is defined in the
    config itself (``repo: local``: no manifest of ours), whatever else the config holds."""
    repos = config.get("repos") if isinstance(config, dict) else None
    hooks: list[tuple[bool, dict[str, Any]]] = []
    for repo in repos if isinstance(repos, list) else ():
        entries = repo.get("hooks") if isinstance(repo, dict) else None
        if isinstance(entries, list):
            local = repo.get("repo") in ("local", "meta")
            hooks.extend((local, entry) for entry in entries if isinstance(entry, dict))
    return hooks


def _stages(hook: dict[str, Any], manifest: frozenset[str] | None,
            config: dict[str, Any]) -> frozenset[str]:
    """As the framework merges them: the config's ``stages:``, else the manifest's, else the
    config's ``default_stages:`` (our manifest names stages, so those apply to a
    ``repo: local`` hook only), else every stage."""
    for stages in (hook.get("stages"), manifest, config.get("default_stages")):
        if stages:
            if not isinstance(stages, (list, tuple, frozenset)):
                return frozenset()
            return frozenset(_OLD_STAGE_NAMES.get(s, s) for s in stages if isinstance(s, str))
    # Neither names any: the framework runs the hook at every stage.
    return frozenset(DOES_THE_WORK_OF)
