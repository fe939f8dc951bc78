"""docs/architecture.md stays true: the modules it names exist, it names every module, and
its import rules hold over every import in the code (functions included)."""

from __future__ import annotations

import re

import pytest

from tests.support.module_graph import imports, modules, under
from tests.support.server import ROOT

DOC = ROOT / "docs" / "architecture.md"
# "### `infinity_workflows/server/`" starts a table of that folder's modules.
_SECTION = re.compile(r"^### `(?P<root>[\w/]+)/`\s*$")
_MODULE = re.compile(r"`([\w/]+\.py)`")
_RULE = re.compile(r"^(?P<a>[\w.]+) -/-> (?P<b>[\w.]+)$")


def named_modules() -> set[str]:
    """Dotted names of the modules the doc's tables name, each under its section's folder."""
    named, root = set(), None
    for line in DOC.read_text().splitlines():
        section = _SECTION.match(line)
        if section:
            root = section["root"]
        elif line.startswith("#"):
            root = None
        elif root and line.startswith("| `"):
            first_cell = line.split("|")[1]
            for path in _MODULE.findall(first_cell):
                dotted = f"{root}/{path}".removesuffix(".py").replace("/", ".")
                named.add(dotted.removesuffix(".__init__"))
    return named


def rules() -> list[tuple[str, str]]:
    block = DOC.read_text().split("## Import rules", 1)[1]
    found = [(m["a"], m["b"]) for line in block.splitlines()
             if (m := _RULE.match(line.strip()))]
    assert found, "the Import rules section lists no rule"
    return found


def test_every_module_it_names_exists_and_every_module_is_named() -> None:
    named, present = named_modules(), set(modules())
    assert sorted(named - present) == [], "named in docs/architecture.md but missing"
    assert sorted(present - named) == [], "missing from docs/architecture.md"


@pytest.mark.parametrize(("importer", "imported"), rules())
def test_import_rule(importer: str, imported: str) -> None:
    known = modules()
    assert any(under(name, importer) for name in known), f"no module {importer}"
    assert any(under(name, imported) for name in known), f"no module {imported}"
    offenders = sorted(f"{name} imports {target}"
                       for name, path in known.items() if under(name, importer)
                       for target in imports(path) if under(target, imported))
    assert offenders == []
