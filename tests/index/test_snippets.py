"""Header and definition snippets with their line ranges."""

from __future__ import annotations

from gitext.index.snippets import MAX_CONTENT, MAX_SNIPPETS, Snippet, extract_snippets


def outline(path: str, text: str) -> list[tuple[str, str, int, int]]:
    return [(s.kind, s.name, s.line_start, s.line_end) for s in extract_snippets(path, text)]


PYTHON = '''"""Shopping cart."""

from __future__ import annotations

import functools

TAX = 0.2


@functools.cache
def price(item: str) -> float:
    return 1.0


class Cart:
    """A cart."""

    size = 0

    def __init__(self) -> None:
        self.items: list[str] = []

    @property
    def total(self) -> float:
        return sum(price(i) for i in self.items)

    async def checkout(self) -> None:
        def inner() -> None:
            pass

        inner()

    class Line:
        def cost(self) -> float:
            return 0.0


async def main() -> None:
    await Cart().checkout()
'''


def test_python_definitions_with_decorators_and_methods() -> None:
    assert outline("shop/cart.py", PYTHON) == [
        ("header", "cart.py", 1, 7),
        ("function", "price", 10, 12),
        ("class", "Cart", 15, 35),
        ("function", "Cart.__init__", 20, 21),
        ("function", "Cart.total", 23, 25),
        ("function", "Cart.checkout", 27, 31),
        ("function", "main", 38, 39),
    ]


def test_snippet_content_is_the_lines() -> None:
    snippets = {s.name: s for s in extract_snippets("shop/cart.py", PYTHON)}
    assert snippets["price"].content == (
        "@functools.cache\ndef price(item: str) -> float:\n    return 1.0"
    )
    assert snippets["cart.py"].content.startswith('"""Shopping cart."""\n\nfrom __future__')
    assert snippets["Cart.total"] == Snippet(
        "function",
        "Cart.total",
        23,
        25,
        "    @property\n    def total(self) -> float:\n"
        "        return sum(price(i) for i in self.items)",
    )


def test_header_stops_at_thirty_lines() -> None:
    text = "".join(f"# comment {i}\n" for i in range(50)) + "def f():\n    pass\n"
    assert outline("long.py", text)[0] == ("header", "long.py", 1, 30)


def test_no_header_when_file_starts_with_a_definition() -> None:
    assert outline("f.py", "\n\ndef f():\n    return 1\n") == [("function", "f", 3, 4)]


def test_header_skips_leading_blank_lines() -> None:
    assert outline("f.py", "\n\nimport os\n\n\ndef f():\n    pass\n")[0] == ("header", "f.py", 3, 3)


def test_empty_and_blank_files() -> None:
    assert extract_snippets("empty.py", "") == []
    assert extract_snippets("blank.md", "\n\n  \n") == []


def test_file_without_definitions_is_only_a_header() -> None:
    assert outline("README.md", "# Title\n\nSome text.\n") == [("header", "README.md", 1, 3)]
    assert outline("data.json", '{"a": 1}') == [("header", "data.json", 1, 1)]


def test_python_syntax_error_uses_indentation() -> None:
    text = """import os


@decorator
def good(a):
    return a


class Broken:
    def method(self):
        x = (
        return x

    def other(self):
        pass


def after():
    pass
"""
    assert outline("broken.py", text) == [
        ("header", "broken.py", 1, 1),
        ("function", "good", 4, 6),
        ("class", "Broken", 9, 15),
        ("function", "Broken.method", 10, 12),
        ("function", "Broken.other", 14, 15),
        ("function", "after", 18, 19),
    ]


def test_content_is_truncated() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(2_000))
    snippets = extract_snippets("big.py", f"def big():\n{body}")
    assert snippets[0].line_start == 1
    assert snippets[0].line_end == 2_001
    assert len(snippets[0].content) == MAX_CONTENT


def test_at_most_max_snippets() -> None:
    text = "import os\n" + "".join(f"def f{i}():\n    pass\n" for i in range(500))
    snippets = extract_snippets("many.py", text)
    assert len(snippets) == MAX_SNIPPETS
    assert snippets[0].kind == "header"
    assert snippets[-1].name == f"f{MAX_SNIPPETS - 2}"


TYPESCRIPT = """// Cart module
import { Item } from './item';

export interface Line {
  id: string;
}

export class Cart extends Base {
  private items: Item[] = [];
  constructor(a: number) {
    super();
  }
  async total(): Promise<number> {
    if (this.items.length) {
      return 1;
    }
    return 0;
  }
}

export const add = (a: number, b: number): number => {
  return a + b;
};
const inc = (a: number) => a + 1;
export default function main(): string {
  const s = "}";
  return s; // }
}
"""


def test_typescript_definitions() -> None:
    assert outline("web/cart.ts", TYPESCRIPT) == [
        ("header", "cart.ts", 1, 2),
        ("class", "Line", 4, 6),
        ("class", "Cart", 8, 19),
        ("function", "Cart.constructor", 10, 12),
        ("function", "Cart.total", 13, 18),
        ("function", "add", 21, 23),
        ("function", "inc", 24, 24),
        ("function", "main", 25, 28),
    ]


def test_javascript_function_and_class() -> None:
    text = "const a = require('a');\n\nfunction go(x) {\n  return `${x}}`;\n}\n\nclass A {}\n"
    assert outline("x.js", text) == [
        ("header", "x.js", 1, 1),
        ("function", "go", 3, 5),
        ("class", "A", 7, 7),
    ]


def test_go_definitions() -> None:
    text = """package main

import "fmt"

type Server struct {
\taddr string
}

func (s *Server) Start(port int) error {
\tfmt.Println("{")
\treturn nil
}

func main() {
\ts := &Server{}
\t_ = s
}
"""
    assert outline("main.go", text) == [
        ("header", "main.go", 1, 3),
        ("class", "Server", 5, 7),
        ("function", "Server.Start", 9, 12),
        ("function", "main", 14, 17),
    ]


def test_rust_definitions() -> None:
    text = """use std::fmt;

#[derive(Debug, Clone)]
pub struct Point<T> {
    x: T,
}

pub struct Unit;

impl<T: fmt::Display> fmt::Display for Point<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.x)
    }
}

pub trait Shape {
    fn area(&self) -> f64;
}

pub(crate) async fn run(buf: [u8; 4]) -> Result<(), ()> {
    let c = '{';
    Ok(())
}

enum Color { Red, Green }
"""
    assert outline("src/geo.rs", text) == [
        ("header", "geo.rs", 1, 1),
        ("class", "Point", 3, 6),
        ("class", "Unit", 8, 8),
        ("class", "fmt::Display for Point<T>", 10, 14),
        ("function", "Point.fmt", 11, 13),
        ("class", "Shape", 16, 18),
        ("function", "run", 20, 23),
        ("class", "Color", 25, 25),
    ]


def test_c_functions_and_structs() -> None:
    text = """#include <stdio.h>

struct point {
    int x;
};

static int helper(int a);

struct point *make_point(void) {
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        printf("}");
    }
    return 0;
}
"""
    assert outline("main.c", text) == [
        ("header", "main.c", 1, 1),
        ("class", "point", 3, 5),
        ("function", "make_point", 9, 11),
        ("function", "main", 13, 19),
    ]


def test_cpp_and_java_methods_are_named_after_their_class() -> None:
    cpp = """class Widget : public Base {
 public:
  Widget(int x) : x_(x) {}
  int size() const override { return x_; }
};

Widget::~Widget() {
}
"""
    assert outline("w.cpp", cpp) == [
        ("class", "Widget", 1, 5),
        ("function", "Widget.Widget", 3, 3),
        ("function", "Widget.size", 4, 4),
        ("function", "Widget::~Widget", 7, 8),
    ]
    java = """package a;

public class Foo {
    @Override
    public String toString() {
        return "x";
    }
}
"""
    assert outline("Foo.java", java) == [
        ("header", "Foo.java", 1, 1),
        ("class", "Foo", 3, 8),
        ("function", "Foo.toString", 4, 7),
    ]


def test_unbalanced_braces_and_odd_text_never_raise() -> None:
    assert outline("x.c", "int f(void) {\n  if (x) {\n") == [("function", "f", 1, 2)]
    assert outline("x.ts", "class A {\n  /* never closed\n  m() {}\n") == [("class", "A", 1, 3)]
    for path in ("x.py", "x.js", "x.go", "x.rs", "x.c", "x.java", "x.unknown"):
        odd = "\x00\ufeff{{{)))'\"`/*" * 1_000 + "\ndef f(:\nfn x( {\n" + "}" * 5_000
        assert isinstance(extract_snippets(path, odd), list)


def test_large_files_finish() -> None:
    minified = "function a(){return{b:1}};" * 100_000
    snippets = extract_snippets("bundle.min.js", minified)
    assert len(snippets) <= MAX_SNIPPETS
    deep = "def f():\n" + "".join("    " * i + "if x:\n" for i in range(1, 200))
    assert isinstance(extract_snippets("deep.py", deep), list)
