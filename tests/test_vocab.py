"""One vocabulary: the page, the CLI and the report call a thing by one name."""

from __future__ import annotations

from pathlib import Path

from tspanel.cli import main
from tspanel.vocab import action_label, category_label, dataset_label, kpi_label, severity_label


def test_codes_read_as_words():
    assert category_label("self_harm") == "Self harm"
    assert category_label("hate_speech") == "Hate speech"
    assert category_label("brand_new_category") == "Brand new category"  # one the data brings
    assert action_label("auto_block") == "Auto-block" and action_label("human_review") == "Human review"
    assert severity_label("critical") == "Critical"
    assert kpi_label("coordinated_pct") == "Coordinated share"


def test_a_dataset_is_named_by_its_directory_not_its_path(tmp_path: Path):
    export = tmp_path / "exports" / "2026-09"
    export.mkdir(parents=True)
    assert dataset_label(str(export)) == "2026-09"
    assert dataset_label(str(export) + "/") == "2026-09"
    assert dataset_label("built-in synthetic world (seed 42)") == "built-in synthetic world (seed 42)"
    assert dataset_label("<i>[x](javascript:y)</i>") == "<i>[x](javascript:y)</i>"  # not a path: kept whole


def test_the_cli_table_uses_the_card_names(generated_small: Path, capsys):
    assert main(["kpis", "--data", str(generated_small)]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert first.startswith(f"{generated_small.name}: ") and str(generated_small.parent) not in first
    assert "Coordinated share" in out and "Coordinated flags" not in out
    assert "Human review" in out and "Sent to human review" not in out
