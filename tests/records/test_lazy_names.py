"""`gitext.records` loads each part of the record API when first used, and offers all of it.

Every command imports the package for one or two names; loading all of its modules at each start
cost about 0.06 s of CPU per command (session 23). The names are a table, so it must agree with
what type checkers are shown, and every name must resolve to its module's object.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import gitext.records as records

SOURCE = Path(records.__file__)
API = SOURCE.parents[2] / "docs" / "api.md"


def _names_shown_to_type_checkers() -> dict[str, str]:
    tree = ast.parse(SOURCE.read_text("utf-8"))
    shown: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.module
                for alias in imp.names:
                    shown[alias.name] = imp.module.rsplit(".", 1)[1]
    return shown


def test_the_table_is_what_type_checkers_see() -> None:
    assert _names_shown_to_type_checkers() == records._HOME
    assert sorted(records.__all__) == sorted(records._HOME)
    assert {"start_conversation", "add_message", "import_jsonl", "Session"} <= set(records.__all__)


@pytest.mark.parametrize("name", sorted(records._HOME))
def test_each_name_is_its_module_s(name: str) -> None:
    module = importlib.import_module(f"gitext.records.{records._HOME[name]}")
    assert getattr(records, name) is getattr(module, name)


def _documented_names() -> dict[str, str]:
    """Each name docs/api.md's signature blocks document, and the module it says it lives in:
    `gitext.records` unless its line ends in a `# gitext.records.<module>` note (names of
    other packages are written out whole, `gitext.insights.…`, and are not taken)."""
    found: dict[str, str] = {}
    for block in re.findall(r"```python\n(.*?)```", API.read_text("utf-8"), re.S):
        for line in block.splitlines():
            name = re.match(r"([A-Za-z_]\w*)\(", line)
            if name:
                note = re.search(r"#\s*(gitext\.records\.\w+)\s*$", line)
                found[name.group(1)] = note.group(1) if note else "gitext.records"
    return found


def test_every_name_docs_api_documents_imports_from_where_it_says() -> None:
    """docs/api.md documented list_effectiveness and list_feedback beside their record_*
    twins, with no note, and `from gitext.records import list_feedback` was an ImportError:
    the table had missed them (QA round 26e: 03). The page and the table cannot drift now."""
    documented = _documented_names()
    assert {"start_conversation", "list_effectiveness", "list_feedback",
            "worktree_session", "AttachmentInput"} <= set(documented)
    missing = [f"{name} ({home})" for name, home in sorted(documented.items())
               if not hasattr(importlib.import_module(home), name)]
    assert missing == []
    in_package = {n for n, home in documented.items() if home == "gitext.records"}
    assert sorted(in_package - set(records.__all__)) == []


def test_an_unknown_name_is_an_attribute_error_and_submodules_still_import() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        records.no_such_name  # noqa: B018
    from gitext.records import values

    assert values.__name__ == "gitext.records.values"


def test_importing_the_package_loads_none_of_its_parts() -> None:
    code = ("import json, sys; import gitext.records as r;"
            " before = sorted(m for m in sys.modules if m.startswith('gitext.records.'));"
            " r.start_session;"
            " after = sorted(m for m in sys.modules if m.startswith('gitext.records.'));"
            " print(json.dumps([before, 'gitext.records.sessions' in after]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=SOURCE.parents[2])
    assert json.loads(proc.stdout) == [[], True]
