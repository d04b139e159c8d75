#!/usr/bin/env bash
# Set up git-aircher from this checkout: a venv in .venv, the package in it, and `git-aircher`
# linked into ~/.local/bin (or $PREFIX/bin) so that `git aircher …` works. Idempotent.
#   ./install.sh          the tool
#   ./install.sh --dev    the tool in editable mode, plus what the tests need
set -euo pipefail

dev=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "error: unknown option $arg" >&2; echo "hint: ./install.sh [--dev]" >&2; exit 2 ;;
  esac
done

# Where the link goes, settled before anything is installed: with HOME unset (cron, a systemd
# unit, `env -i`) and no PREFIX there is no ~/.local, and finding out after the venv was made
# ended in bash's "HOME: unbound variable".
if [ -z "${PREFIX:-}" ] && [ -z "${HOME:-}" ]; then
  echo "error: HOME is not set, so there is no ~/.local/bin to link git-aircher into" >&2
  echo "hint: PREFIX=/somewhere ./install.sh${*:+ $*}" >&2
  exit 1
fi
prefix=${PREFIX:-$HOME/.local}

here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-python3}

if ! command -v git >/dev/null 2>&1; then
  echo "error: git is not installed; git-aircher needs it" >&2; exit 1
fi
if ! command -v "$python" >/dev/null 2>&1; then
  echo "error: $python not found; git-aircher needs Python 3.11 or newer" >&2; exit 1
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: $("$python" --version 2>&1) is too old; git-aircher needs Python 3.11 or newer" >&2
  echo "hint: PYTHON=/path/to/python3.11 ./install.sh" >&2
  exit 1
fi

venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
if [ "$dev" = 1 ]; then
  "${pip[@]}" install -e "$here[dev]"
  # An editable install runs the checkout's own sources. Where PYTHONDONTWRITEBYTECODE is set
  # (this CI's machine has it), Python never caches their bytecode, and every command, hook and
  # worker compiled each module again: about 0.06 s of CPU per command (session 23).
  "$venv/bin/python" -m compileall -q "$here/gitext" >/dev/null
else
  "${pip[@]}" install --force-reinstall --no-deps "$here" >/dev/null
  "${pip[@]}" install "$here"
fi

bindir="$prefix/bin"
mkdir -p "$bindir"
ln -sf "$venv/bin/git-aircher" "$bindir/git-aircher"
# git turns `git aircher --help` into `man git-aircher`; man finds share/man beside a PATH bin.
mandir="$prefix/share/man/man1"
mkdir -p "$mandir"
"$venv/bin/python" -m gitext.cli.manpage > "$mandir/git-aircher.1.tmp"
mv "$mandir/git-aircher.1.tmp" "$mandir/git-aircher.1"
echo "git-aircher installed: $bindir/git-aircher"
case ":$PATH:" in
  *":$bindir:"*) ;;
  *) echo "note: $bindir is not on your PATH; add it so that \`git aircher\` works:"
     echo "  export PATH=\"$bindir:\$PATH\"" ;;
esac
