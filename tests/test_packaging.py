"""Every library tspanel imports is declared, at the versions the suite runs (issue #19)."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest

from tspanel.cli import main

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _imports() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "src" / "tspanel").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return {name for name in found if name not in sys.stdlib_module_names and name != "tspanel"}


def test_every_imported_library_is_declared() -> None:
    declared = {_name(r) for r in PYPROJECT["dependencies"]}
    for extra in PYPROJECT["optional-dependencies"].values():
        declared |= {_name(r) for r in extra}
    distributions = importlib.metadata.packages_distributions()
    undeclared = {}
    for module in _imports():
        dists = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        if not dists & declared:
            undeclared[module] = sorted(dists)
    assert undeclared == {}


def test_the_ui_and_summary_libraries_are_core_dependencies() -> None:
    core = {_name(r): r for r in PYPROJECT["dependencies"]}
    assert "panel-material-ui" in core and "pydantic" in core
    assert core["panel"].startswith("panel>=1.9")  # the Panel the suite runs (1.9.x)
    assert importlib.metadata.version("panel").startswith("1.9")


def test_bench_without_its_extra_says_how_to_get_it(monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "duckdb", None)  # as if DuckDB were not installed
    assert main(["bench", "--engines", "polars,duckdb"]) == 2
    assert capsys.readouterr().err == (
        "tspanel bench: error: the duckdb comparison needs the bench extra, which is not installed: "
        "pip install 'tspanel[bench]' (from a checkout: pip install -e '.[bench]'), or leave it out with "
        "--engines polars\n"
    )


@pytest.mark.parametrize("engine", ["spark"])
def test_bench_names_an_unknown_engine(engine: str, capsys) -> None:
    assert main(["bench", "--engines", engine]) == 2
    assert "unknown engine(s) spark; choose from polars, pandas, duckdb" in capsys.readouterr().err


def test_the_readme_says_bench_needs_its_extra() -> None:
    row = next(line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| `tspanel bench"))
    assert 'needs the bench extra: `pip install ".[bench]"`' in row
