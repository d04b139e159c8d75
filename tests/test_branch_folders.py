"""Each branch has a `.agents/worktrees/` folder of its own, whatever its name."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gitext.layout import slug
from tests.conftest import git, run_git_aircher
from tests.sync.helpers import store, wait_idle


def context_file(repo: Path, folder: str) -> dict[str, str]:
    data: dict[str, str] = json.loads(
        (store(repo) / "worktrees" / folder / "context.json").read_text())
    return data


def test_slugs_never_collide() -> None:
    names = ["main", "feature/auth", "feature-auth", "Feature-Auth", "feature--auth",
             "feature-auth-" + slug("feature/auth").rsplit("-", 1)[1], "(detached)", "detached",
             ".x", "x", "a" * 300, "a" * 301]
    slugs = [slug(n) for n in names]
    # Distinct even on a case-insensitive disk, and each one safe as a single folder name.
    assert len({s.lower() for s in slugs}) == len(names)
    assert all("/" not in s and not s.startswith(".") and len(s) <= 120 for s in slugs)
    # Plain names stay readable.
    assert slug("main") == "main" and slug("release-1.2") == "release-1.2"
    assert slug("feature/auth").startswith("feature-auth-")


def test_feature_slash_auth_and_feature_dash_auth_keep_their_own_context(repo: Path) -> None:
    assert run_git_aircher(repo, "init").code == 0
    git(repo, "checkout", "-q", "-b", "feature/auth")
    git(repo, "checkout", "-q", "-b", "feature-auth")
    git(repo, "checkout", "-q", "main")
    wait_idle(repo)
    slash = context_file(repo, slug("feature/auth"))
    dash = context_file(repo, "feature-auth")
    assert (slash["branch"], dash["branch"]) == ("feature/auth", "feature-auth")
    assert slash["context_id"] != dash["context_id"]


def test_a_folder_under_its_old_name_moves_to_the_new_one(repo: Path) -> None:
    assert run_git_aircher(repo, "init").code == 0
    git(repo, "checkout", "-q", "-b", "feature/auth")
    git(repo, "checkout", "-q", "main")
    wait_idle(repo)
    worktrees = store(repo) / "worktrees"
    new = worktrees / slug("feature/auth")
    ours = json.loads((new / "context.json").read_text())["context_id"]
    # What a store made before unique slugs holds: the branch's folder under the shared name,
    # with something in its cache.
    new.rename(worktrees / "feature-auth")
    (worktrees / "feature-auth" / "cache" / "kept.txt").write_text("cached\n")
    git(repo, "checkout", "-q", "feature/auth")
    wait_idle(repo)
    assert not (worktrees / "feature-auth").exists()
    assert (new / "cache" / "kept.txt").read_text() == "cached\n"
    assert json.loads((new / "context.json").read_text())["context_id"] == ours


def test_an_old_folder_of_another_branch_is_left_alone(repo: Path) -> None:
    assert run_git_aircher(repo, "init").code == 0
    git(repo, "checkout", "-q", "-b", "feature-auth")
    git(repo, "checkout", "-q", "main")
    wait_idle(repo)
    # `feature-auth` owns the folder `feature-auth`; `feature/auth` must not take it.
    git(repo, "checkout", "-q", "-b", "feature/auth")
    wait_idle(repo)
    assert context_file(repo, "feature-auth")["branch"] == "feature-auth"
    assert context_file(repo, slug("feature/auth"))["branch"] == "feature/auth"


def test_two_processes_writing_one_context_file_never_fail(tmp_path: Path) -> None:
    # The worker and a command (`index`) may write the same branch's file at the same moment.
    script = (
        "import sys\nfrom pathlib import Path\n"
        "from gitext.contexts import Context, write_context_file\n"
        "ctx = Context('c1', 'worktree', 'main', 'p1', '/w', 'main', 'abc')\n"
        "for _ in range(300):\n"
        "    write_context_file(Path(sys.argv[1]), ctx, Path('/w'))\n"
    )
    folder = tmp_path / "worktrees" / "main"
    procs = [subprocess.Popen([sys.executable, "-c", script, str(folder)],
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [p.communicate()[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert json.loads((folder / "context.json").read_text())["context_id"] == "c1"
    assert sorted(p.name for p in folder.iterdir()) == ["cache", "context.json"]
