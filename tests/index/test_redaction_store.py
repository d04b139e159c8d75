"""A key committed in an ordinary file (before `init`, by someone else, with `--no-verify`)
never reaches the store: not its snippets, full text, vectors' previews, documentation notes or
commit messages. Checked on the store's bytes, every file of it, as well as through search."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import commit, git, run_git_aircher
from tests.index.test_secrets import GITLAB, NPM, PPK, PPK_MATERIAL, PYPI
from tests.sync.helpers import failures, wait_idle

AWS = "AKIA" + "ZQXWCEVRBTNYMUJ7"
KEY_BODY = "b3BlbnNzaC1rZXktdjEAAAAAQmFuYW5hc3BsaXQ"
KEY_FILE = (
    "-----BEGIN OPENSSH " + "PRIVATE KEY-----\n"
    f"{KEY_BODY}\n"
    "-----END OPENSSH " + "PRIVATE KEY-----\n"
)
SETTINGS = f'"""Settings for the zorblax uplink."""\n\nUPLINK_KEY = "{AWS}"\n\n\n' \
           "def connect_zorblax_uplink():\n    return UPLINK_KEY\n"
README = f"# Zorblax\n\nDeploy with the key `{AWS}` and the uplink.\n"
# What would be left of a secret in the store: the strings themselves and the lower-cased terms
# the tokenizer makes of them.
PAT = "github_pat_" + "11ZORBLAX0" + "q7" * 18  # no "gh" in it: a filter once missed it
SLACK = "xoxb-" + "1234567890-ZorblaxUplinkToken"
TRACES = [AWS, AWS.lower(), KEY_BODY, KEY_BODY.lower(), "quuxplumbus", PAT, PAT.lower(), SLACK,
          SLACK.lower(), AWS.encode("utf-16-le").decode("latin-1")]
ENVRC = "export ZORBLAX_PASSWORD=quuxplumbus\n"  # no key shape: secret by its name alone


def traces_in_store(repo: Path) -> list[str]:
    """Every trace of a key in the store's files but its backups (copies of the databases as
    they were, kept for recovery; a restore runs the scrub again)."""
    found = []
    backups = repo / ".agents" / "content" / "backups"
    for path in (repo / ".agents").rglob("*"):
        if path.is_file() and not path.is_symlink() and backups not in path.parents:
            data = path.read_bytes()
            found += [f"{path.relative_to(repo)}: {t}" for t in TRACES
                      if t.encode("latin-1" if "\0" in t else "utf-8") in data]
    return found


def search(repo: Path, *words: str) -> list[dict[str, Any]]:
    r = run_git_aircher(repo, "search", "--json", "--", *words)
    assert r.code == 0, r.err
    hits = json.loads(r.out)
    assert isinstance(hits, list)
    return hits


def test_keys_in_committed_files_never_enter_the_store(
        empty_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRCHER_SKIP", "1")  # everything in this process: index does it all
    wide = ("\ufeff# Notes\n\nThe uplink key is " + AWS + "\n").encode("utf-16-le")
    commit(empty_repo, {"settings.py": SETTINGS, "deploy_key": KEY_FILE, "README.md": README,
                        "NOTES.md": wide}, f"uplink, first try with {AWS}")
    assert run_git_aircher(empty_repo, "init").code == 0
    assert run_git_aircher(empty_repo, "index").code == 0
    assert run_git_aircher(empty_repo, "knowledge", "docs", "refresh").code == 0
    assert traces_in_store(empty_repo) == []
    # The rest of those files is indexed as usual, and search shows no key.
    hits = search(empty_repo, "connect", "zorblax", "uplink")
    assert {h["path"] for h in hits} >= {"settings.py", "README.md"}
    assert not any(AWS in h["preview"] or KEY_BODY in h["preview"] for h in hits)
    assert all(h["path"] != "deploy_key" for h in search(empty_repo, KEY_BODY))


def test_keys_inside_strings_and_files_named_as_secrets_never_enter_the_store(
        empty_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A service-account JSON under any name (its key on one line, breaks escaped) and a
    Rails `config/secrets.yml` (values with no key shape): neither's secret is indexed."""
    monkeypatch.setenv("AIRCHER_SKIP", "1")
    body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwZorblaxKeyMaterial"
    account = ('{"type": "service_account", "project_id": "zorblax-uplink",\n'
               ' "private_key": "-----BEGIN ' + 'PRIVATE KEY-----\\n' + body + '\\nQUJD\\n'
               '-----END ' + 'PRIVATE KEY-----\\n",\n "client_email": "up@zorblax.example"}\n')
    base = "9f3c" * 32
    commit(empty_repo, {"deploy/uplink.json": account,
                        "config/secrets.yml": f"production:\n  secret_key_base: {base}\n"},
           "uplink account")
    assert run_git_aircher(empty_repo, "init").code == 0
    assert run_git_aircher(empty_repo, "index").code == 0
    found = [str(p.relative_to(empty_repo)) for p in (empty_repo / ".agents").rglob("*")
             if p.is_file() and not p.is_symlink()
             and any(t in p.read_bytes() for t in (body.encode(), body.lower().encode(),
                                                   base.encode(), b"qujd"))]
    assert found == []
    assert {h["path"] for h in search(empty_repo, "zorblax", "uplink")} == {"deploy/uplink.json"}


def test_keys_committed_past_the_guard_never_enter_the_store(live: Path) -> None:
    """The same through the hooks and the background worker (`--no-verify` skips the guard)."""
    commit(live, {"notes.md": "# Notes\n\nNothing yet.\n"}, "notes")
    write_all = {"settings.py": SETTINGS, "deploy_key": KEY_FILE, "README.md": README}
    for rel, text in write_all.items():
        (live / rel).write_text(text)
    git(live, "add", "-A")
    git(live, "commit", "-q", "--no-verify", "-m", f"uplink with {AWS}")
    wait_idle(live)
    assert failures(live) == ""
    assert search(live, "connect", "zorblax", "uplink")  # the worker did index the commit
    wait_idle(live)
    assert traces_in_store(live) == []


def test_a_store_indexed_before_redaction_is_scrubbed_once(
        empty_repo: Path, monkeypatch: pytest.MonkeyPatch, aircher: Any) -> None:
    """A store the earlier code wrote (every reader took contents as they were) holds the keys;
    after the upgrade (migration 008 leaves the scrub pending) the next full update takes them
    out, the files stay searchable by their other words, and the scrub is not done again."""
    import sqlite3

    import gitext.records.docs_analysis
    import gitext.search.indexer
    import gitext.sync.commits
    import gitext.sync.derived
    import gitext.sync.files

    monkeypatch.setenv("AIRCHER_SKIP", "1")
    big = f"# Zorblax {SLACK}\n\n" + "Uplink notes, at length.\n" * 45_000  # > 1 MiB: no search
    commit(empty_repo, {"settings.py": SETTINGS, "deploy_key": KEY_FILE, "README.md": README,
                        ".envrc": ENVRC, "BIG.md": big}, f"uplink, first try with {AWS}")
    for branch in ("alpha", "beta"):  # insights and transfers are made of commit messages
        git(empty_repo, "switch", "-q", "-c", branch, "main")
        for i in range(3):
            commit(empty_repo, {f"{branch}{i}.txt": f"{i}\n"},
                   f"rotate {PAT} for the zorblax uplink {i}")
    git(empty_repo, "switch", "-q", "main")
    git(empty_repo, "merge", "-q", "--no-edit", "alpha")
    with monkeypatch.context() as old_code:
        for module in (gitext.sync.derived, gitext.search.indexer, gitext.records.docs_analysis):
            old_code.setattr(module, "redact", lambda data: data)
        old_code.setattr(gitext.sync.commits, "redact_text", lambda text: text)
        for module in (gitext.sync.files, gitext.sync.derived, gitext.search.indexer):
            old_code.setattr(module, "is_secret_path", lambda path: path.endswith(".pem"))
        # In this process, where the old code is in force.
        assert aircher(empty_repo, "init").code == 0
        assert aircher(empty_repo, "index").code == 0
        assert aircher(empty_repo, "knowledge", "docs", "refresh").code == 0
        db = empty_repo / ".agents" / "db" / "core" / "file_index.db"
        with sqlite3.connect(db) as conn:  # messages as the earlier code stored them
            for sha in git(empty_repo, "rev-list", "HEAD").split():
                conn.execute("UPDATE commits SET message = ? WHERE sha = ?",
                             (git(empty_repo, "log", "-1", "--format=%B", sha), sha))
        conn.close()
    knowledge = empty_repo / ".agents" / "db" / "core" / "knowledge.db"
    with sqlite3.connect(knowledge) as conn:  # an insight made of those messages, as terms
        conn.execute("INSERT INTO cross_context_insights (id, insight_type, description,"
                     " evidence) VALUES ('i1', 'similar_solution', ?, ?)",
                     (f"alike: rotate {PAT.lower()} zorblax",
                      json.dumps({"terms": [PAT.lower(), "uplink"]})))
    conn.close()
    with sqlite3.connect(db) as conn:  # what migration 008 leaves in such a store
        conn.execute("INSERT INTO pending_scrubs (name) VALUES ('credentials')")
    conn.close()
    before = "\n".join(traces_in_store(empty_repo))  # the earlier code's store, as it was
    for where, trace in (("file_index", PAT), ("knowledge", PAT.lower()), ("knowledge", SLACK),
                         ("file_index", AWS.lower())):
        assert f"{where}.db: {trace}" in before, before
    assert any(h["path"] == "settings.py" for h in search(empty_repo, AWS))

    assert run_git_aircher(empty_repo, "index").code == 0
    assert traces_in_store(empty_repo) == []
    assert not any(h["path"] == "settings.py" for h in search(empty_repo, AWS))
    hits = search(empty_repo, "connect", "zorblax", "uplink")
    assert {h["path"] for h in hits} >= {"settings.py", "README.md"}
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM pending_scrubs").fetchone()[0] == 0
        snippets = conn.execute("SELECT count(*) FROM file_snippets").fetchone()[0]
    conn.close()
    assert snippets > 0  # parsed again, redacted, not just deleted


def test_credential_files_of_common_tools_never_enter_the_store(
        empty_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`.npmrc`, `.pypirc`, `.git-credentials` and a PuTTY key were indexed whole, and backups
    kept their snippets (QA round 26d: 01). `.npmrc` stays searchable without its token."""
    monkeypatch.setenv("AIRCHER_SKIP", "1")
    npm, pypi, gitlab, ppk, material = NPM, PYPI, GITLAB, PPK, PPK_MATERIAL
    commit(empty_repo, {
        ".npmrc": f"registry=https://zorblax.example/npm/\n//zorblax.example/:_authToken={npm}\n",
        ".pypirc": f"[pypi]\nusername = __token__\npassword = {pypi}\n",
        ".git-credentials": f"https://qa:{gitlab}@gitlab.example.com\n",
        "deploy/server.ppk": ppk,
        "infra/prod.tfvars": 'db_password = "quuxplumbus"\n',
    }, "tool settings")
    assert run_git_aircher(empty_repo, "init").code == 0
    assert run_git_aircher(empty_repo, "index").code == 0
    assert run_git_aircher(empty_repo, "backup", "create").code == 0
    traces = [t.encode() for t in (npm, npm.lower(), pypi, pypi.lower(), gitlab,
                                   gitlab.lower(), material, material.lower(), "quuxplumbus")]
    found = [f"{p.relative_to(empty_repo)}: {t.decode()}"
             for p in (empty_repo / ".agents").rglob("*")
             if p.is_file() and not p.is_symlink() for t in traces if t in p.read_bytes()]
    assert found == []
    assert {h["path"] for h in search(empty_repo, "registry", "zorblax")} == {".npmrc"}


def test_the_scrub_drops_docs_named_like_secrets_an_earlier_refresh_stored(
        empty_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`knowledge docs refresh` read credentials.md before (QA round 26d: 02); search never
    indexed it, so the scrub's versions did not name it."""
    import sqlite3

    monkeypatch.setenv("AIRCHER_SKIP", "1")
    commit(empty_repo, {"credentials.md": "# Prod\n\nThe password is quuxplumbus.\n"}, "creds")
    assert run_git_aircher(empty_repo, "init").code == 0
    assert run_git_aircher(empty_repo, "index").code == 0
    core = empty_repo / ".agents" / "db" / "core"
    with sqlite3.connect(core / "knowledge.db") as conn:
        conn.execute("INSERT INTO documentation_files (id, file_path, doc_type, title, purpose)"
                     " VALUES ('d1', 'credentials.md', 'doc', 'Prod', 'The password is"
                     " quuxplumbus.')")
    conn.close()
    with sqlite3.connect(core / "file_index.db") as conn:
        conn.execute("INSERT INTO pending_scrubs (name) VALUES ('credentials')")
    conn.close()
    assert run_git_aircher(empty_repo, "index").code == 0
    assert traces_in_store(empty_repo) == []
