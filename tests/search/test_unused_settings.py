"""Embedding settings the spec allows that cannot take effect (an index kind other than exact, a
dimension the model contradicts) are kept and said: a warning from `config set`, an info
finding from doctor, never a failure (QA round 13b: 04 and 08)."""

from __future__ import annotations

import json
from pathlib import Path

FAISS = ("warning: storage.embeddings.index_type = faiss is not used: the search index is exact"
         " (brute-force nearest neighbours), the only kind git-aircher builds")
DIM_128 = ("warning: storage.embeddings.dimension = 128 is not used: the model aircher-hash-384"
           " makes 384-wide vectors (the model aircher-hash-128 makes 128)")


def test_config_set_warns_of_a_value_that_cannot_take_effect(aircher, repo: Path,
                                                            ) -> None:  # type: ignore[no-untyped-def]
    assert aircher(repo, "init").code == 0
    r = aircher(repo, "config", "set", "storage.embeddings.index_type", "faiss")
    assert (r.code, r.out, r.err.splitlines()) == (0, "", [FAISS])
    assert aircher(repo, "config", "get", "storage.embeddings.index_type").out == "faiss\n"
    r = aircher(repo, "config", "set", "storage.embeddings.dimension", "128")
    assert (r.code, r.err.splitlines()) == (0, [DIM_128])
    # Another key says nothing of these; a model that agrees with the dimension ends the note.
    assert aircher(repo, "config", "set", "storage.embeddings.update_batch_size", "50").err == ""
    r = aircher(repo, "config", "set", "storage.embeddings.embedding_model", "aircher-hash-128")
    assert (r.code, r.err) == (0, "")
    r = aircher(repo, "config", "set", "storage.embeddings.embedding_model", "st:some-model")
    assert r.err.splitlines() == ["warning: storage.embeddings.dimension = 128 is not used: the"
                                  " model st:some-model gives vectors of its own size"]
    assert aircher(repo, "config", "set", "storage.embeddings.index_type", "exact").err == ""


def test_doctor_reports_them_as_information(aircher, repo: Path, tmp_path: Path,
                                           ) -> None:  # type: ignore[no-untyped-def]
    # The spec's example values, in the user's config: every command still works.
    home = tmp_path / "aircher-home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(
        '[storage.embeddings]\ndimension = 1536\nindex_type = "faiss"\n')
    assert aircher(repo, "init").code == 0
    assert aircher(repo, "status").code == 0
    r = aircher(repo, "doctor", "--json")
    assert r.code == 0, r.out
    found = [(f["severity"], f["message"], f["hint"]) for f in json.loads(r.out)["findings"]
             if f["check"] == "setting_unused"]
    glob = home / "config.toml"
    assert found == [
        ("info", FAISS.removeprefix("warning: "),
         f"set in {glob}; `git aircher config unset storage.embeddings.index_type --global`"
         " to stop this note"),
        ("info", "storage.embeddings.dimension = 1536 is not used: the model aircher-hash-384"
         " makes 384-wide vectors (the model aircher-hash-1536 makes 1536)",
         f"set in {glob}; `git aircher config unset storage.embeddings.dimension --global`"
         " to stop this note")]
