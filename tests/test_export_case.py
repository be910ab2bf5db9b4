"""The alert view's "Export case" download: the CLI's case (`detect --explain --case`) in one ZIP.

Built-in world (seed 42): the spam alert of 2026-11-18 covers 678 flags (`tspanel flags
--start 2026-11-18 --end 2026-11-18 --category spam --format json`), and its evidence names
the content hash 498c124474427bf1 (`tspanel detect --explain 2026-11-18 spam`).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest

from tspanel.cli import main
from tspanel.models.filters import Filters
from tspanel.source import default_world
from tspanel.ui.choices import choices_for
from tspanel.ui.detection import DetectionView
from tspanel.ui.selection import Selection

DAY, CATEGORY, FLAGS, SHARED_HASH = "2026-11-18", "spam", 678, "498c124474427bf1"
STEM = "case-2026-11-18-spam"


@pytest.fixture(scope="module")
def world():
    return default_world()


def _open_alert(world) -> DetectionView:
    filters = Filters()
    view = DetectionView(world, filters, Selection(filters, choices_for(world), world.first_day, world.last_day))
    assert view.export_case.disabled  # nothing to export before an alert is opened
    rows = [(str(r["date"]), r["category"]) for r in view._alert_rows.iter_rows(named=True)]
    view.open_alert(rows.index((DAY, CATEGORY)))
    return view


def test_the_export_holds_the_alert_its_evidence_and_its_flags(world):
    view = _open_alert(world)
    assert not view.export_case.disabled and view.export_case.filename == f"{STEM}.zip"
    with zipfile.ZipFile(view._case_file()) as archive:
        assert sorted(archive.namelist()) == [f"{STEM}/{STEM}-flags.csv", f"{STEM}/{STEM}.json"]
        case = json.loads(archive.read(f"{STEM}/{STEM}.json"))
        rows = list(csv.DictReader(io.StringIO(archive.read(f"{STEM}/{STEM}-flags.csv").decode("utf-8"))))
    assert case["flag_count"] == FLAGS and len(case["flag_ids"]) == len(set(case["flag_ids"])) == FLAGS
    assert [a["date"] for a in case["alerts"]] == [DAY] and case["alerts"][0]["category"] == CATEGORY
    content = next(i for i in case["evidence"]["items"] if i["kind"] == "content")
    assert SHARED_HASH in content["statement"] and content["suspicious"] is True
    assert len(rows) == FLAGS and {r["flag_id"] for r in rows} == set(case["flag_ids"])
    assert {r["category"] for r in rows} == {CATEGORY} and {r["date"] for r in rows} == {DAY}


def test_the_export_is_what_the_cli_writes(world, tmp_path, capsys):
    view = _open_alert(world)
    with zipfile.ZipFile(view._case_file()) as archive:
        case = json.loads(archive.read(f"{STEM}/{STEM}.json"))
        flags_csv = archive.read(f"{STEM}/{STEM}-flags.csv")
    assert main(["detect", "--explain", DAY, CATEGORY, "--case", str(tmp_path)]) == 0
    written = json.loads((tmp_path / f"{STEM}.json").read_text(encoding="utf-8"))
    case.pop("created"), written.pop("created")
    assert case == written
    assert flags_csv == (tmp_path / f"{STEM}-flags.csv").read_bytes()
