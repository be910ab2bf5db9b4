"""The data layer stands alone: tspanel.source imports nothing from the domain models."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import tspanel.source
from tspanel.models.filters import LIST_FILTERS
from tspanel.source.rows import FILTER_COLUMNS

PACKAGE = Path(tspanel.source.__file__).parent


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
    return found


def test_source_is_a_package_of_small_modules() -> None:
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert modules == [
        "__init__.py", "assemble.py", "budget.py", "cache.py", "chunks.py", "dataset.py", "files.py",
        "loaders.py", "rows.py", "sniff.py",
    ]  # fmt: skip
    assert all(len(p.read_text().splitlines()) < 250 for p in PACKAGE.glob("*.py"))


def test_no_source_module_imports_the_models_or_private_validate_names() -> None:
    for path in PACKAGE.glob("*.py"):
        for module, names in _imports(path):
            assert not module.startswith("tspanel.models"), (path.name, module)
            if module == "tspanel.validate":
                assert not [n for n in names if n.startswith("_")], (path.name, names)


def test_importing_and_loading_never_loads_the_models(tmp_path: Path) -> None:
    flags = "flag_id,date,category,severity,action,ml_score\nf1,2026-01-01,spam,low,allow,0.5\n"
    (tmp_path / "flags.csv").write_text(flags)
    (tmp_path / "reviewers.csv").write_text("reviewer_id,capacity_per_day\nR1,40\n")
    code = (
        "import sys; from tspanel.source import load_dataset; d = load_dataset(sys.argv[1]); "
        "assert d.in_memory is not None and d.n_flags == 1; "
        "print(sorted(m for m in sys.modules if m.startswith('tspanel.models')))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_index_keeps_the_columns_the_filters_restrict() -> None:
    assert set(FILTER_COLUMNS) == set(LIST_FILTERS.values())


def test_the_old_row_index_import_still_works() -> None:
    from tspanel.models.rows import FlagRows
    from tspanel.source.rows import FlagRows as Owned

    assert FlagRows is Owned
