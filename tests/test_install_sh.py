"""install.sh from a clean copy into a temp prefix, then `git aircher init` with what it made."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import git

CHECKOUT = Path(__file__).resolve().parents[1]
# Captured before the autouse fixture swaps HOME: pip's download cache is not "home data" we
# write, and without it every run would fetch scikit-learn again.
PIP_CACHE = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")


def clean_copy(dest: Path) -> Path:
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=CHECKOUT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = CHECKOUT / rel
        if not src.is_file():
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    return dest


@pytest.mark.slow
def test_install_into_prefix_then_init(tmp_path: Path) -> None:
    src = clean_copy(tmp_path / "src")
    prefix = tmp_path / "prefix"
    # PIP_COMPILE=0: pip's byte-compiling of scipy and scikit-learn was half of this test's
    # time, and it tests pip, not install.sh (the modules compile when first imported).
    env = {**os.environ, "PREFIX": str(prefix), "PIP_CACHE_DIR": PIP_CACHE, "PIP_COMPILE": "0",
           "PATH": "/usr/local/bin:/usr/bin:/bin:" + os.environ["PATH"]}
    proc = subprocess.run(["./install.sh"], cwd=src, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert f"git-aircher installed: {prefix}/bin/git-aircher" in proc.stdout
    assert "is not on your PATH" in proc.stdout
    tool = prefix / "bin" / "git-aircher"
    assert tool.exists()
    # Idempotent: a second run succeeds and leaves one working link.
    again = subprocess.run(["./install.sh"], cwd=src, env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    # Non-editable: the schemas and hooks came inside the wheel, not from the source tree.
    shutil.rmtree(src / "schemas")
    shutil.rmtree(src / "hooks")
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    run_env = {**os.environ, "PATH": f"{prefix / 'bin'}:/usr/bin:/bin"}
    out = subprocess.run(["git", "aircher", "init"], cwd=repo, env=run_env, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert (repo / ".agents" / "db" / "core" / "knowledge.db").exists()
    # git answers `git aircher --help` with `man git-aircher`; man looks beside PATH's bin.
    page = prefix / "share" / "man" / "man1" / "git-aircher.1"
    assert page.read_text().startswith(".TH GIT-AIRCHER 1 ")
    if shutil.which("man", path=run_env["PATH"]):
        man_env = {**run_env, "MANPAGER": "cat", "PAGER": "cat", "MANWIDTH": "100"}
        man_env.pop("MANPATH", None)
        shown = subprocess.run(["git", "aircher", "--help"], cwd=repo, env=man_env,
                               capture_output=True, text=True)
        assert shown.returncode == 0, shown.stderr
        assert "git aircher search" in shown.stdout


def test_install_refuses_an_old_python(tmp_path: Path) -> None:
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\n[ \"$1\" = --version ] && echo 'Python 3.8.0' && exit 0\nexit 1\n")
    fake.chmod(0o755)
    env = {**os.environ, "PYTHON": str(fake)}
    proc = subprocess.run([str(CHECKOUT / "install.sh")], env=env, capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[0] == (
        "error: Python 3.8.0 is too old; git-aircher needs Python 3.11 or newer")


def test_install_rejects_unknown_options(tmp_path: Path) -> None:
    proc = subprocess.run([str(CHECKOUT / "install.sh"), "--bogus"], capture_output=True,
                          text=True, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith("error: unknown option --bogus")


def test_install_without_home_or_prefix_says_so_before_installing(tmp_path: Path) -> None:
    """With HOME unset (cron, a systemd unit, `env -i`) and no PREFIX, install.sh installed the
    package into .venv, then died with bash's "HOME: unbound variable" where it linked the tool.
    Now it says so in its own style (`error:` + `hint: PREFIX=…`), up front: nothing is
    installed (QA round 22c: 07)."""
    src = clean_copy(tmp_path / "src")
    calls = tmp_path / "python-calls"
    real = shutil.which("python3")
    fake = tmp_path / "python3"  # answers the version check; records anything else it is asked
    fake.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n[ "$1" = -c ] && exec {real} "$@"\nexit 1\n')
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("HOME", "PREFIX")}
    env["PYTHON"] = str(fake)
    proc = subprocess.run(["./install.sh"], cwd=src, env=env, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: HOME is not set"), proc.stderr
    assert lines[1].startswith("hint: PREFIX=") and lines[1].endswith(" ./install.sh"), lines[1]
    assert not (src / ".venv").exists()
    assert "-m" not in (calls.read_text().split() if calls.exists() else [])
