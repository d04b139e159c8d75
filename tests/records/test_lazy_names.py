"""`gitext.records` loads each part of the record API when first used, and offers all of it.

Every command imports the package for one or two names; loading all of its modules at each start
cost about 0.06 s of CPU per command (session 23). The names are a table, so it must agree with
what type checkers are shown, and every name must resolve to its module's object.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import gitext.records as records

SOURCE = Path(records.__file__)


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
