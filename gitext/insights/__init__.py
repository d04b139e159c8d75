"""Knowledge across contexts: compare, transfer, generated insights and the cross-context
queries. Library only; the CLI is gitext/cli/{worktree,context}_cmd.py."""
