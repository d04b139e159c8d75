"""The manual page git opens for `git aircher --help`, generated from each command's help.

    .venv/bin/python -m gitext.cli.manpage > git-aircher.1

git turns `git <cmd> --help` into `man git-<cmd>`, so without this page the habit every git
user has ends in "No manual entry". install.sh writes it where man finds it from PATH.
"""

from __future__ import annotations

from gitext import __version__
from gitext.cli.reference import command_entries, command_help


def _roff(text: str) -> str:
    lines = []
    for line in text.replace("\\", "\\e").splitlines():
        # A leading dot or quote would be read as a request; \& makes it text.
        lines.append("\\&" + line if line.startswith((".", "'")) else line)
    return "\n".join(lines)


def render() -> str:
    out = [
        f'.TH GIT-AIRCHER 1 "" "git-aircher {__version__}" "git-aircher manual"',
        ".SH NAME",
        "git-aircher \\- a private, git-aware memory for AI coding agents",
        ".SH SYNOPSIS",
        ".B git aircher",
        "[\\fB\\-C\\fR \\fIdir\\fR] \\fIcommand\\fR [\\fIargs\\fR]",
        ".SH DESCRIPTION",
        "Every repository gets a store under \\fB.agents/\\fR (never committed) that git hooks",
        "keep in step with git. \\fBgit aircher help\\fR \\fIcommand\\fR and",
        "\\fBgit aircher\\fR \\fIcommand\\fR \\fB\\-h\\fR print the sections below.",
        ".SH COMMANDS",
    ]
    for path, cmd in command_entries():
        text = _roff(command_help(path, cmd).rstrip())
        out += [f".SS git aircher {' '.join(path)}", ".nf", text, ".fi"]
    out += [".SH SEE ALSO", "The documentation in the git-aircher source tree, \\fBdocs/\\fR."]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")
