"""The warm query server: `search` and `relevant` answered by a process that has already
imported scikit-learn.

Importing scikit-learn (through scipy.stats) costs about 1.5 s, more than the query itself on
most repositories. After a query run in-process, `git aircher` starts one detached server per
repository; the next queries hand their arguments, directory and environment to it over a
Unix socket only this user can open, and print what it answers. It exits after
`AIRCHER_SERVE_IDLE` seconds (default 900) without a query, when the installed code changes,
or on `stop`. Anything unexpected (no server, a stale socket, a server that dies mid-query)
falls back to running in-process, so the server only ever saves time. `AIRCHER_SERVE=0`
turns it off.
"""

SERVED = frozenset({"search", "relevant"})  # read-only, and dominated by start-up
