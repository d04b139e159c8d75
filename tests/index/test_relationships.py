"""Links between files: imports, includes, tests and documentation."""

from __future__ import annotations

from gitext.index.relationships import Relationship, find_relationships


def links(path: str, text: str, files: set[str]) -> set[tuple[str, str]]:
    found = find_relationships(path, text, frozenset(files))
    assert all(r.source == path for r in found)
    assert len(found) == len(set(found)), "duplicates"
    return {(r.target, r.kind) for r in found}


# --- Python ---------------------------------------------------------------------------------------

PY_REPO = {
    "app/__init__.py",
    "app/models.py",
    "app/views.py",
    "app/db/__init__.py",
    "app/db/session.py",
    "app/utils/__init__.py",
    "app/utils/text.py",
    "conftest.py",
}


def test_python_absolute_imports() -> None:
    text = "import os\nimport app.models\nfrom app.db import session\nfrom app.utils import slug\n"
    assert links("app/views.py", text, PY_REPO) == {
        ("app/models.py", "imports"),
        ("app/db/session.py", "imports"),
        ("app/utils/__init__.py", "imports"),
    }


def test_python_package_import_resolves_to_init() -> None:
    assert links("main.py", "import app.db\n", PY_REPO) == {("app/db/__init__.py", "imports")}


def test_python_relative_imports() -> None:
    text = "from . import models\nfrom .db.session import Session\nfrom .utils import text as t\n"
    assert links("app/views.py", text, PY_REPO) == {
        ("app/models.py", "imports"),
        ("app/db/session.py", "imports"),
        ("app/utils/text.py", "imports"),
    }


def test_python_parent_relative_imports() -> None:
    text = "from .. import models\nfrom ..utils import text\nfrom . import missing\n"
    assert links("app/db/session.py", text, PY_REPO) == {
        ("app/models.py", "imports"),
        ("app/utils/text.py", "imports"),
        ("app/db/__init__.py", "imports"),
    }


def test_python_relative_import_above_the_root_is_ignored() -> None:
    assert links("app/views.py", "from ... import nothing\n", PY_REPO) == set()


def test_python_src_layout() -> None:
    files = {"src/mypkg/__init__.py", "src/mypkg/core.py", "src/mypkg/cli.py", "lib/vendored.py"}
    text = "from mypkg.core import run\nimport vendored\nimport requests\n"
    assert links("src/mypkg/cli.py", text, files) == {
        ("src/mypkg/core.py", "imports"),
        ("lib/vendored.py", "imports"),
    }


def test_python_unresolvable_and_self_imports_are_ignored() -> None:
    text = "import numpy\nfrom django.db import models\nimport app.views\nfrom app import nope\n"
    assert links("app/views.py", text, PY_REPO) == {("app/__init__.py", "imports")}


def test_python_syntax_error_falls_back_to_regex() -> None:
    text = "import app.models\nfrom app.db import session\n\ndef broken(:\n    pass\n"
    assert links("scripts/run.py", text, PY_REPO) == {
        ("app/models.py", "imports"),
        ("app/db/session.py", "imports"),
    }


def test_python_syntax_error_relative_import() -> None:
    text = "from .models import User, Group\nclass Oops(\n"
    assert links("app/views.py", text, PY_REPO) == {("app/models.py", "imports")}


def test_relationship_is_a_frozen_dataclass() -> None:
    found = find_relationships("main.py", "import app.models\n", PY_REPO)
    assert found == [Relationship("main.py", "app/models.py", "imports")]
    assert hash(found[0]) == hash(Relationship("main.py", "app/models.py", "imports"))


def test_plain_set_is_accepted() -> None:
    found = find_relationships("main.py", "import app.models\n", set(PY_REPO))
    assert [r.target for r in found] == ["app/models.py"]


# --- JavaScript and TypeScript ----------------------------------------------------------------

JS_REPO = {
    "web/src/app.ts",
    "web/src/api/client.ts",
    "web/src/components/index.tsx",
    "web/src/components/Button.tsx",
    "web/src/legacy.js",
    "web/src/util.mjs",
    "web/src/styles.css",
    "web/lib/helpers.js",
}


def test_js_imports_requires_and_index_resolution() -> None:
    text = """
import { Client } from './api/client';
import Button from "./components/Button";
import * as components from './components';
import './styles.css';
export { helper } from '../lib/helpers';
const legacy = require('./legacy');
const util = await import('./util.mjs');
import React from 'react';
import { x } from '@scope/pkg';
const missing = require('./missing');
"""
    assert links("web/src/app.ts", text, JS_REPO) == {
        ("web/src/api/client.ts", "imports"),
        ("web/src/components/Button.tsx", "imports"),
        ("web/src/components/index.tsx", "imports"),
        ("web/src/styles.css", "imports"),
        ("web/lib/helpers.js", "imports"),
        ("web/src/legacy.js", "requires"),
        ("web/src/util.mjs", "imports"),
    }


def test_ts_esm_specifier_with_js_extension_finds_ts_file() -> None:
    text = "import { Client } from './api/client.js';\n"
    assert links("web/src/app.ts", text, JS_REPO) == {("web/src/api/client.ts", "imports")}


def test_js_multiline_import_and_parent_index() -> None:
    text = "import {\n  a,\n  b,\n} from '..';\n"
    assert links("web/src/components/Button.tsx", text, JS_REPO) == set()
    files = JS_REPO | {"web/src/index.ts"}
    assert links("web/src/components/Button.tsx", text, files) == {("web/src/index.ts", "imports")}


# --- Go -----------------------------------------------------------------------------------------

GO_REPO = {
    "go.mod",
    "cmd/server/main.go",
    "internal/store/store.go",
    "internal/store/sql.go",
    "internal/store/store_test.go",
    "pkg/api/handlers.go",
    "pkg/json/fast.go",
}


def test_go_import_block_and_single_import() -> None:
    text = """package main

import "github.com/acme/shop/pkg/api"

import (
    "fmt"
    "encoding/json"
    store "github.com/acme/shop/internal/store"
    // "github.com/acme/shop/pkg/old"
    "github.com/other/lib"
)
"""
    assert links("cmd/server/main.go", text, GO_REPO) == {
        ("pkg/api/handlers.go", "imports"),
        ("internal/store/sql.go", "imports"),
        ("internal/store/store.go", "imports"),
    }


def test_go_imports_are_capped() -> None:
    files = {f"pkg/big/f{i:02}.go" for i in range(30)}
    found = find_relationships("main.go", 'import "example.com/m/pkg/big"\n', files)
    assert len(found) == 20


# --- Rust ---------------------------------------------------------------------------------------

RUST_REPO = {
    "Cargo.toml",
    "src/main.rs",
    "src/config.rs",
    "src/net/mod.rs",
    "src/net/tcp.rs",
    "src/net/udp.rs",
    "src/util.rs",
}


def test_rust_mod_declarations() -> None:
    text = "mod config;\npub mod net;\nmod inline { fn f() {} }\nmod missing;\n"
    assert links("src/main.rs", text, RUST_REPO) == {
        ("src/config.rs", "imports"),
        ("src/net/mod.rs", "imports"),
    }


def test_rust_mod_in_mod_rs_and_in_named_module() -> None:
    assert links("src/net/mod.rs", "pub mod tcp;\nmod udp;\n", RUST_REPO) == {
        ("src/net/tcp.rs", "imports"),
        ("src/net/udp.rs", "imports"),
    }
    files = {"src/lib.rs", "src/net.rs", "src/net/tcp.rs"}
    assert links("src/net.rs", "mod tcp;\n", files) == {("src/net/tcp.rs", "imports")}


def test_rust_use_crate_self_and_super() -> None:
    text = """use std::io;
use crate::config::Config;
use crate::util;
use super::udp::Socket;
use self::helpers::x;
"""
    # "self::helpers" is an inline module of tcp.rs itself: no other file.
    assert links("src/net/tcp.rs", text, RUST_REPO) == {
        ("src/config.rs", "imports"),
        ("src/util.rs", "imports"),
        ("src/net/udp.rs", "imports"),
    }


def test_rust_use_groups_and_items_of_a_parent_module() -> None:
    text = "use crate::net::{tcp::Listener, udp};\nuse crate::net::Address;\n"
    assert links("src/main.rs", text, RUST_REPO) == {
        ("src/net/tcp.rs", "imports"),
        ("src/net/udp.rs", "imports"),
        ("src/net/mod.rs", "imports"),
    }


def test_rust_use_in_workspace_crate() -> None:
    files = {"crates/core/src/lib.rs", "crates/core/src/parse.rs", "src/parse.rs"}
    text = "use crate::parse::Parser;\n"
    assert links("crates/core/src/lib.rs", text, files) == {("crates/core/src/parse.rs", "imports")}


# --- C and C++ ----------------------------------------------------------------------------------

C_REPO = {
    "src/main.c",
    "src/util.h",
    "include/project/api.h",
    "third_party/zlib/zlib.h",
    "lib/a/config.h",
    "src/config.h",
}


def test_c_includes() -> None:
    text = """#include <stdio.h>
#include "util.h"
#include "project/api.h"
#include <zlib.h>
#  include "config.h"
#include "nowhere.h"
"""
    assert links("src/main.c", text, C_REPO) == {
        ("src/util.h", "includes"),
        ("include/project/api.h", "includes"),
        ("third_party/zlib/zlib.h", "includes"),
        ("src/config.h", "includes"),
    }


def test_c_include_prefers_nearest_match() -> None:
    files = {"a/x/config.h", "b/config.h", "a/x/main.cpp"}
    assert links("a/x/sub/file.cpp", '#include "config.h"\n', files) == {
        ("a/x/config.h", "includes")
    }


# --- Tests --------------------------------------------------------------------------------------


def test_python_test_links_imports_and_naming_convention() -> None:
    files = {
        "src/shop/__init__.py",
        "src/shop/cart.py",
        "src/shop/pricing.py",
        "tests/__init__.py",
        "tests/conftest.py",
        "tests/helpers.py",
        "tests/test_cart.py",
    }
    text = "from shop import pricing\nfrom tests import helpers\nimport shop\n"
    assert links("tests/test_cart.py", text, files) == {
        ("src/shop/pricing.py", "imports"),
        ("src/shop/pricing.py", "tests"),
        ("tests/helpers.py", "imports"),
        ("src/shop/__init__.py", "imports"),
        ("src/shop/cart.py", "tests"),
    }


def test_python_naming_prefers_same_package() -> None:
    files = {"pkg/a/utils.py", "pkg/b/utils.py", "pkg/a/utils_test.py"}
    assert links("pkg/a/utils_test.py", "", files) == {("pkg/a/utils.py", "tests")}
    files = {"src/a/utils.py", "src/b/utils.py", "tests/a/test_utils.py"}
    assert links("tests/a/test_utils.py", "", files) == {("src/a/utils.py", "tests")}


def test_go_test_links_same_directory_file() -> None:
    text = 'package store\n\nimport "testing"\n'
    assert links("internal/store/store_test.go", text, GO_REPO) == {
        ("internal/store/store.go", "tests")
    }


def test_ts_test_links_same_directory_file_and_imports() -> None:
    files = {"web/src/cart.ts", "web/src/cart.test.ts", "web/src/money.ts"}
    text = "import { add } from './money';\n"
    assert links("web/src/cart.test.ts", text, files) == {
        ("web/src/money.ts", "imports"),
        ("web/src/money.ts", "tests"),
        ("web/src/cart.ts", "tests"),
    }


def test_js_spec_in_tests_folder() -> None:
    files = {"src/__tests__/widget.spec.js", "src/widget.js"}
    assert links("src/__tests__/widget.spec.js", "", files) == {("src/widget.js", "tests")}


def test_file_in_tests_folder_is_a_test() -> None:
    files = {"tests/integration/checkout.rs", "src/lib.rs", "src/cart.rs"}
    text = "use crate::cart::Cart;\n"
    # A Rust integration test is its own crate root; nothing resolves, nothing is tested.
    assert links("tests/integration/checkout.rs", text, files) == set()
    files = {"app/__init__.py", "app/models.py", "test/smoke.py"}
    assert links("test/smoke.py", "from app import models\n", files) == {
        ("app/models.py", "imports"),
        ("app/models.py", "tests"),
    }


def test_non_tests_test_nothing() -> None:
    files = {"app/cart.py", "app/test_data.json", "app/models.py"}
    assert links("app/cart.py", "from app import models\n", files) == {("app/models.py", "imports")}


# --- Documentation ------------------------------------------------------------------------------

DOC_REPO = {
    "README.md",
    "docs/guide.md",
    "docs/api.rst",
    "docs/install.rst",
    "docs/img/logo.png",
    "docs/examples/demo.py",
    "docs/tutorial/README.md",
    "src/app.py",
    "CONTRIBUTING.md",
}


def test_markdown_links() -> None:
    text = """# Guide

See [the API](api.rst#functions) and ![logo](img/logo.png "Logo").
Read [contributing](../CONTRIBUTING.md?plain=1) and [the code](/src/app.py).
[Tutorial](tutorial/) [home](https://example.com/docs/guide.md) [mail](mailto:me@example.com)
[top](#guide) [gone](missing.md) [outside](../../etc/passwd)

[ref]: examples/demo.py
<img src="img/logo.png" alt="logo">
"""
    assert links("docs/guide.md", text, DOC_REPO) == {
        ("docs/api.rst", "documents"),
        ("docs/img/logo.png", "documents"),
        ("CONTRIBUTING.md", "documents"),
        ("src/app.py", "documents"),
        ("docs/tutorial/README.md", "documents"),
        ("docs/examples/demo.py", "documents"),
    }


def test_markdown_nested_image_link_and_encoded_space() -> None:
    files = {"README.md", "docs/my guide.md", "docs/img/badge.svg"}
    text = "[![badge](docs/img/badge.svg)](docs/my%20guide.md)\n"
    assert links("README.md", text, files) == {
        ("docs/img/badge.svg", "documents"),
        ("docs/my guide.md", "documents"),
    }


def test_rst_links_and_directives() -> None:
    text = """API
===

See `the guide <guide.md#start>`_ and `Python <https://python.org>`__.

.. include:: install.rst
.. literalinclude:: examples/demo.py
   :language: python
.. image:: img/logo.png

Also :doc:`install` and :doc:`the readme </README>`.
"""
    assert links("docs/api.rst", text, DOC_REPO) == {
        ("docs/guide.md", "documents"),
        ("docs/install.rst", "documents"),
        ("docs/examples/demo.py", "documents"),
        ("docs/img/logo.png", "documents"),
        ("README.md", "documents"),
    }


# --- Robustness -------------------------------------------------------------------------------


def test_unknown_language_and_odd_text() -> None:
    assert find_relationships("data.bin", "\x00\x01import os", PY_REPO) == []
    assert find_relationships("weird.py", "import app.models\x00\n", PY_REPO) == [
        Relationship("weird.py", "app/models.py", "imports")
    ]
    assert find_relationships("deep.py", "(" * 200_000, PY_REPO) == []


def test_large_pathological_inputs_finish() -> None:
    blob = "import " * 200_000 + "from '" * 50_000 + '#include "' * 50_000
    for path in ("big.ts", "big.py", "big.c", "big.md", "big.rst", "big.go", "big.rs"):
        assert isinstance(find_relationships(path, blob, JS_REPO), list)
