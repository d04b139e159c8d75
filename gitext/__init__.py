"""git-aircher: a private, git-aware local memory for AI coding agents."""

__version__ = "0.2.0"
