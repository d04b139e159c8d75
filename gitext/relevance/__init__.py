"""File relevance per context: components, scoring, feedback, and the task fusion.

The entry points the sync engine and the CLI use are light to import; numpy and scipy load only
when scores are computed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gitext.project import Project


def refresh(project: Project) -> None:
    """Recompute the current worktree context's stored scores if their inputs changed."""
    from gitext.relevance.scoring import refresh as _refresh

    _refresh(project)


def relevant(project: Project, *, top: int = 10, task: str | None = None,
             context: str | None = None, notes: list[str] | None = None) -> list[Any]:
    from gitext.relevance.rank import relevant as _relevant

    return _relevant(project, top=top, task=task, context=context, notes=notes)


def record_feedback(project: Project, path: str, useful: float, **kwargs: Any) -> Any:
    from gitext.relevance.feedback import record_feedback as _record

    return _record(project, path, useful, **kwargs)
