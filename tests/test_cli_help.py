"""Help and usage errors as a git user meets them: `git aircher --help` opens a manual page,
`help COMMAND` works, and a mistyped command or option is one `error:` line and a hint."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from gitext.cli.app import COMMANDS
from gitext.cli.manpage import render
from tests.conftest import run_git_aircher


def test_usage_errors_are_one_error_line_and_a_hint(tmp_path: Path) -> None:
    cases = {
        ("nosuch",): ("error: no such command 'nosuch'", "hint: `git aircher -h` shows the usage"),
        ("search", "--bogus", "x"): ("error: no such option '--bogus'",
                                     "hint: `git aircher search -h` shows the usage"),
        ("relevant", "--top", "x"): (
            "error: invalid value for '--top' / '-k': 'x' is not a valid integer",
            "hint: `git aircher relevant -h` shows the usage"),
    }
    for args, lines in cases.items():
        r = run_git_aircher(tmp_path, *args)
        assert r.code == 2, args
        assert r.out == ""
        assert r.err.splitlines() == list(lines), args


def test_an_option_without_its_value_names_its_command_s_help(  # type: ignore[no-untyped-def]
        aircher, tmp_path: Path) -> None:
    """click leaves its context out of "requires an argument": the hint named the top-level
    help, which lists none of these options (QA round 24c: 08)."""
    cases = {
        ("search", "foo", "--top"): ("--top", "search"),
        ("relevant", "--task"): ("--task", "relevant"),
        ("session", "list", "--limit"): ("--limit", "session list"),
        ("conversation", "list", "--context"): ("--context", "conversation list"),
        ("-C",): ("-C", ""),
    }
    for args, (option, command) in cases.items():
        r = aircher(tmp_path, *args)
        assert r.code == 2, args
        assert r.err.splitlines() == [
            f"error: option '{option}' requires an argument",
            f"hint: `git aircher {command + ' ' if command else ''}-h` shows the usage"], args


def test_a_mistyped_command_gets_the_closest_names(tmp_path: Path) -> None:
    """A mistyped subcommand got "Did you mean 'list'?", a mistyped top-level command nothing:
    click compares against a group's `commands`, and the lazy top level has none (QA round
    24c: 05)."""
    cases = {
        ("statsu",): "error: no such command 'statsu'. Did you mean 'status'?",
        ("sesion", "list"): "error: no such command 'sesion'. (Did you mean one of: 'decision',"
                            " 'session'?)",
        ("zzz",): "error: no such command 'zzz'",
        ("conversation", "lst"): "error: no such command 'lst'. Did you mean 'list'?",
    }
    for args, line in cases.items():
        r = run_git_aircher(tmp_path, *args)
        assert r.code == 2, args
        assert r.err.splitlines()[0] == line, args


def test_help_of_a_mistyped_command_gets_the_closest_names(tmp_path: Path) -> None:
    """`git aircher help statsu` said only "no such command", while `git aircher statsu` says
    "Did you mean 'status'?" (QA round 24c: 05) (known, session 22). help says it too, at
    either level."""
    cases = {
        ("statsu",): "error: no such command 'statsu' in git aircher. Did you mean 'status'?",
        ("sesion",): "error: no such command 'sesion' in git aircher. (Did you mean one of:"
                     " 'decision', 'session'?)",
        ("worktree", "lst"): "error: no such command 'lst' in git aircher worktree. Did you"
                             " mean 'list'?",
        ("zzz",): "error: no such command 'zzz' in git aircher",
    }
    for args, line in cases.items():
        r = run_git_aircher(tmp_path, "help", *args)
        assert r.code == 2, args
        assert r.err.splitlines()[0] == line, args


def test_help_command_prints_what_dash_h_prints(tmp_path: Path) -> None:
    for path in ([], ["search"], ["worktree", "list"]):
        via_help = run_git_aircher(tmp_path, "help", *path)
        via_flag = run_git_aircher(tmp_path, *path, "-h")
        assert via_help.code == 0 and via_flag.code == 0
        assert via_help.out == via_flag.out
        assert via_help.out.startswith(f"Usage: git aircher {' '.join(path)}".rstrip())
    bad = run_git_aircher(tmp_path, "help", "worktree", "nosuch")
    assert bad.code == 2
    assert bad.err.splitlines()[0] == "error: no such command 'nosuch' in git aircher worktree"
    leaf = run_git_aircher(tmp_path, "help", "search", "more")
    assert leaf.code == 2 and "git aircher search has no subcommands" in leaf.err


def test_manual_page_has_every_command_and_no_stray_requests() -> None:
    page = render()
    assert page.startswith(".TH GIT-AIRCHER 1 ")
    for name in COMMANDS:
        assert f"\n.SS git aircher {name}\n" in page, name
    assert "\n.SS git aircher worktree list\n" in page
    assert "\n.SS git aircher knowledge patterns add\n" in page
    requests = {line.split()[0] for line in page.splitlines() if line.startswith(".")}
    assert requests <= {".TH", ".SH", ".SS", ".B", ".nf", ".fi"}
    # Help text that starts with a dot or holds a backslash stays text.
    assert not re.search(r"(?<!\\)\\(?![e&\-fF])", page)


def test_a_group_without_its_subcommand_prints_its_usage(tmp_path: Path) -> None:
    for path in ([], ["worktree"], ["backup"]):
        r = run_git_aircher(tmp_path, *path)
        assert r.code == 2, path
        assert r.out == ""
        assert r.err == run_git_aircher(tmp_path, *path, "-h").out, path


def test_hints_name_commands_that_run(live: Path) -> None:
    """A hint's command does what the hint says, not print a usage."""
    cases = [("relevant", "--context", "nosuch"), ("compare", "HEAD", "nosuch"),
             ("feedback", "no/such.py", "--useful", "1")]
    for args in cases:
        r = run_git_aircher(live, *args)
        assert r.code == 2, args
        hint = r.err.splitlines()[-1]
        named = re.search(r"`git aircher ([^`]+)`", hint)
        assert named, hint
        follow = run_git_aircher(live, *named.group(1).split())
        assert follow.code == 0, (hint, follow.err)
    listed = run_git_aircher(live, "worktree", "list")
    assert "master" in listed.out or "main" in listed.out


def _hinted_commands() -> list[tuple[str, list[str]]]:
    """(where, words) of every `git aircher …` a hint in the source names; the values an
    f-string puts in are read as one word."""
    import ast

    import gitext

    found: list[tuple[str, list[str]]] = []
    for path in sorted(Path(gitext.__file__).parent.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        texts: list[ast.expr] = [k.value for k in ast.walk(tree)
                                 if isinstance(k, ast.keyword) and k.arg == "hint"]
        texts += [a.value for a in ast.walk(tree) if isinstance(a, ast.Assign)
                  and any(isinstance(t, ast.Name) and t.id.endswith("HINT") for t in a.targets)]
        for node in texts:
            for part in ast.walk(node):
                if not isinstance(part, ast.Constant | ast.JoinedStr):
                    continue
                text = part.value if isinstance(part, ast.Constant) else "".join(
                    v.value if isinstance(v, ast.Constant) else "VALUE" for v in part.values)
                if not isinstance(text, str):
                    continue
                for words in re.findall(r"`git aircher ([^`]+)`", text):
                    found.append((f"{path.name}:{part.lineno}", words.split()))
    return found


def test_every_hinted_command_parses() -> None:
    """What a hint tells to run exists, with those options (QA round 3: 04)."""
    import click

    from gitext.cli.app import cli

    hinted = _hinted_commands()
    assert len(hinted) > 20
    for where, words in hinted:
        # With the group's settings, as `git aircher` makes its context: click caches each
        # command's help option from the first context that asks for it, so a context with
        # click's default `--help` alone changed the help the docs test renders after it.
        ctx = click.Context(cli, info_name="git aircher", **cli.context_settings)
        cmd: click.Command | None = cli
        args = list(words)
        while isinstance(cmd, click.Group) and args and not args[0].startswith("-"):
            name, cmd, args = cmd.resolve_command(ctx, args)
            assert cmd is not None, (where, words)
            ctx = click.Context(cmd, info_name=name, parent=ctx)
        assert cmd is not None
        try:
            cmd.make_context(ctx.info_name, args, parent=ctx.parent)
        except click.ClickException as exc:
            raise AssertionError(f"{where}: `git aircher {' '.join(words)}`: {exc}") from None


def test_hints_for_unknown_session_and_decision_ids_run(live: Path) -> None:
    for args in (("session", "end", "nonexist"), ("decision", "supersede", "nope")):
        r = run_git_aircher(live, *args)
        assert r.code == 2, args
        named = re.search(r"`git aircher ([^`]+)`", r.err.splitlines()[-1])
        assert named, r.err
        follow = run_git_aircher(live, *named.group(1).split())
        assert follow.code == 0, (named.group(1), follow.err)


def test_ctrl_c_while_the_command_loads_is_one_line_and_130(repo: Path) -> None:
    """A Ctrl-C in the first tenth of a second, while the command's modules were still
    loading, printed a Python traceback; later ones print "aborted" and exit 130 (QA round 25b,
    noted). The SIGINT here is real, sent the moment the CLI's app module is looked for."""
    code = (
        "import os, signal, sys\n"
        # As at a terminal: a test runner started in the background inherits SIGINT ignored.
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'gitext.cli.app':\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "        return None\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "from gitext.cli import main\n"
        "sys.argv = ['git-aircher', 'status']\n"
        "sys.exit(main())\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True,
                          text=True, check=False, stdin=subprocess.DEVNULL)
    assert (proc.returncode, proc.stdout, proc.stderr) == (130, "", "aborted\n")


def test_a_command_run_from_a_removed_directory_is_one_error(live: Path) -> None:
    """Run from a directory removed under the shell (the worktree an agent sat in, removed with
    `git worktree remove --force`), every command, even `help`, crashed: exit 3 and a crash log
    per call (QA round 25d: 03). It is one error line and a hint now, as git refuses there."""
    linked = live.parent / "agent-wt"
    subprocess.run(["git", "worktree", "add", "-q", "-b", "agent", str(linked)], cwd=live,
                   check=True, capture_output=True)
    script = ('import os, subprocess, sys\n'
              'os.chdir(sys.argv[1])\n'
              'subprocess.run(["git", "-C", sys.argv[2], "worktree", "remove", "--force",'
              ' sys.argv[1]], check=True)\n'
              'for args in (["decision", "add", "keep it simple"], ["help"]):\n'
              '    done = subprocess.run([sys.argv[3], *args], capture_output=True, text=True)\n'
              '    print(done.returncode, repr(done.stdout), repr(done.stderr))\n'
              # An absolute -C does not need the removed directory, as git's does not.
              'done = subprocess.run([sys.argv[3], "-C", sys.argv[2], "decision", "list"],'
              ' capture_output=True, text=True)\n'
              'print(done.returncode, repr(done.stderr))\n')
    tool = str(Path(sys.executable).parent / "git-aircher")
    out = subprocess.run([sys.executable, "-c", script, str(linked), str(live), tool],
                         capture_output=True, text=True, check=True).stdout
    expected = ("2 '' 'error: cannot read the current directory: it no longer exists\\n"
                "hint: cd to a directory that exists; was its worktree removed?\\n'")
    assert out.splitlines() == [expected, expected, "0 ''"]
    logs = Path(os.environ["AIRCHER_HOME"]) / "logs"
    assert not logs.is_dir() or not any(p.name.startswith("crash-") for p in logs.iterdir())
