"""The reload banner names the data without leaking where it lives: a directory by its name,
a database by its masked URL (a `?password=` in the URL must not reach the page)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

from tspanel.rollup.engines import mask_uri
from tspanel.ui.live import banner_text


def _watcher(path: Path, label: str) -> SimpleNamespace:
    return SimpleNamespace(
        path=path, label=label, error_reason="flags.parquet is corrupt", data_as_of=dt.datetime(2026, 11, 30, 23, 0)
    )


def test_a_directory_is_named_by_its_name_not_its_absolute_path() -> None:
    text = banner_text(_watcher(Path("/srv/data/ts-world"), "/srv/data/ts-world"))
    assert text.startswith("New data in ts-world could not be loaded: flags.parquet is corrupt;")
    assert "/srv/data" not in text


def test_a_database_url_with_a_password_parameter_is_shown_masked() -> None:
    url = "postgresql://analyst@db.internal/ts?password=hunter2-secret"
    text = banner_text(_watcher(Path(url), mask_uri(url)))
    assert "hunter2-secret" not in text
    assert "db.internal/ts" in text
