"""Layers point one way: the domain never imports the web layer (DESIGN.md).

``web/`` turns requests into calls of the domain and results into responses; the
domain packages raise :mod:`outreach.errors` and return plain data, so they can be used
by the command line, the workers and the tests without HTTP.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "outreach"
DOMAIN = ("scheduling", "feeds", "reports", "bookmobile", "models", "services")
# The modules at the top of the package are shared by the layers, except the two that
# assemble them.
ASSEMBLY = ("app.py", "cli.py")
WEB = ("outreach.web", "outreach.app", "outreach.cli", "starlette")


def _imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _domain_modules() -> list[Path]:
    paths = [p for package in DOMAIN for p in sorted((SRC / package).rglob("*.py"))]
    return paths + sorted(p for p in SRC.glob("*.py") if p.name not in ASSEMBLY)


@pytest.mark.parametrize("path", _domain_modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_the_domain_does_not_import_the_web_layer(path: Path) -> None:
    wrong = [
        f"{path.relative_to(SRC)}:{line} imports {name}"
        for line, name in _imports(path)
        if any(name == web or name.startswith(web + ".") for web in WEB)
    ]
    assert wrong == []


def test_the_check_sees_an_import_of_the_web_layer(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import starlette.requests\nfrom outreach.web.errors import Invalid\n", encoding="utf-8"
    )
    assert _imports(module) == [(1, "starlette.requests"), (2, "outreach.web.errors")]
