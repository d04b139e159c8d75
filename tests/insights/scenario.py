"""A repository with parallel work: main and two feature branches in linked worktrees, all
three changing auth.py since they forked (so every pair would conflict), and the two features
changing auth.py together with its test (a co-change on two branches)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitext.contexts import Context
from gitext.project import Project
from gitext.records import current_context
from tests.conftest import commit, git
from tests.records.helpers import open_project

DOCS = Path(__file__).resolve().parents[2] / "docs" / "records.md"


@dataclass
class Scenario:
    main: Path
    login: Path
    signup: Path
    contexts: dict[str, Context]


def build(project: Project) -> Scenario:
    repo = project.repo.root
    commit(repo, {"auth.py": "def login():\n    return 'v1'\n",
                  "tests/test_auth.py": "def test_login():\n    pass\n"}, "add auth")
    git(repo, "branch", "feature/login")
    git(repo, "branch", "feature/signup")
    commit(repo, {"auth.py": "def login():\n    return 'main'\n", "README.md": "# demo\nmain\n"},
           "main: harden the login check")
    login = repo.parent / "wt-login"
    signup = repo.parent / "wt-signup"
    git(repo, "worktree", "add", "-q", str(login), "feature/login")
    git(repo, "worktree", "add", "-q", str(signup), "feature/signup")
    commit(login, {"auth.py": "def login():\n    return 'refresh'\n",
                   "tests/test_auth.py": "def test_login():\n    assert True\n"},
           "login: refresh the session token in auth")
    commit(login, {"auth.py": "def login():\n    return 'refresh twice'\n"},
           "login: retry the token refresh on expiry")
    commit(signup, {"auth.py": "def login():\n    return 'signup'\n",
                    "tests/test_auth.py": "def test_login():\n    assert 1\n"},
           "signup: refresh the token after signup in auth")
    contexts = {"main": current_context(project)}
    for name, path in (("feature/login", login), ("feature/signup", signup)):
        other = open_project(path)
        try:
            contexts[name] = current_context(other)
        finally:
            other.close()
    return Scenario(repo, login.resolve(), signup.resolve(), contexts)


def documented(name: str) -> Any:
    """The JSON example docs/records.md gives for `name` (after `<!-- shape: name -->`)."""
    text = DOCS.read_text("utf-8")
    m = re.search(r"<!-- shape: " + re.escape(name) + r" -->\s*```json\n(.*?)```", text, re.S)
    assert m, f"docs/records.md documents no shape {name!r}"
    return json.loads(m.group(1))
