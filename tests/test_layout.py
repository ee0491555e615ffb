"""The package's imports point down its layers, as CONTRIBUTING.md draws them.

Read from the source with :mod:`ast` (every ``import`` and ``from ... import``,
also those inside functions), so a new module is checked with no list to keep.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "scaling_lab"
SUBPACKAGES = ("core", "data", "simulation", "planner", "presentation", "lab")

# What each layer may import besides itself.  The front door (``scaling_lab/__init__.py`` and
# ``__main__.py``) may import anything.
ALLOWED = {
    "core": set(),
    "data": set(),
    "concept": {"core", "data"},
    "simulation": {"core", "concept"},  # a model, to set a simulation beside it; never the other way
    "presentation": {"core", "concept"},
    "planner": {"core", "data", "concept"},
    "lab": {"core", "data", "concept", "simulation", "presentation"},
}


def module_name(path: Path, root: Path = PACKAGE) -> str:
    return ".".join(path.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__")


def layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] == "__main__":
        return "front"
    return parts[1] if parts[1] in SUBPACKAGES else "concept"


def imports(path: Path, root: Path = PACKAGE) -> list[tuple[str, int]]:
    """The ``scaling_lab`` modules ``path`` (a file of the package at ``root``) imports, with line numbers."""
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
            names = [f"{base}.{node.module}"] if node.module else [f"{base}.{a.name}" for a in node.names]
            found += [(name, node.lineno) for name in names]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "scaling_lab":
            found.append((node.module, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "scaling_lab"]
    return found


def upward_imports(root: Path = PACKAGE) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        here = layer(module_name(path, root))
        if here == "front":
            continue
        for target, line in imports(path, root):
            there = layer(target)
            if there != here and there not in ALLOWED[here]:
                bad.append(f"{path.relative_to(root.parent)}:{line} ({here}) imports {target} ({there})")
    return bad


def test_imports_point_down():
    assert upward_imports() == []


def test_the_check_sees_an_upward_import(tmp_path):
    package = tmp_path / "scaling_lab"
    (package / "core").mkdir(parents=True)
    (package / "queueing.py").write_text("from .core import validation\n")
    (package / "core" / "arrays.py").write_text("def f():\n    from ..simulation import drivers\n")
    (package / "cache.py").write_text("import scaling_lab.lab.redis_server\n")
    assert upward_imports(package) == [
        "scaling_lab/cache.py:1 (concept) imports scaling_lab.lab.redis_server (lab)",
        "scaling_lab/core/arrays.py:2 (core) imports scaling_lab.simulation (simulation)",
    ]


@pytest.mark.parametrize("module, expected", [("scaling_lab", "front"), ("scaling_lab.__main__", "front"),
                                              ("scaling_lab.queueing", "concept"), ("scaling_lab.lab.loadgen", "lab"),
                                              ("scaling_lab.core", "core")])
def test_layers(module, expected):
    assert layer(module) == expected
