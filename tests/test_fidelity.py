"""scripts/fidelity.py: the BeatGAN fidelity table comes from the composed presets."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _load():
    spec = importlib.util.spec_from_file_location("fidelity", REPO / "scripts" / "fidelity.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["fidelity"] = module
    spec.loader.exec_module(module)
    return module


fidelity = _load()
BY_DESIGN = {"validation anomalies", "validation pass", "F1 threshold"}


def test_faithful_preset_matches_the_reference_where_config_can(compose_train):
    compose_train()  # registers the schemas
    rows = {r[0]: r for r in fidelity.rows("beatgan_mitbih")}
    assert len(rows) == len(fidelity.ROWS)
    for element, row in rows.items():
        if element not in BY_DESIGN:
            assert row[4].startswith("yes"), row
    assert rows["network"][3] == (
        "`model.backbone=dcgan1d`, `model.base_channels=32`, `model.bias=false`"
    )
    assert rows["validation pass"][4] == "no"


def test_small_variant_departs_where_it_should(compose_train):
    compose_train()
    rows = {r[0]: r for r in fidelity.rows("beatgan_mitbih_small")}
    departs = {e for e, r in rows.items() if r[4] == "no"} - BY_DESIGN
    assert departs == {
        "classes",
        "normal-beat filter",
        "network",
        "generator output",
        "weight initialisation",
        "update order",
        "D reset",
    }
    assert rows["network"][3].startswith("`model.backbone=conv1d`")


def test_results_readme_holds_the_current_table(compose_train, tmp_path):
    compose_train()
    text = fidelity.RESULTS_README.read_text()
    assert fidelity.table("beatgan_mitbih") in text, "run python scripts/fidelity.py --write"
    copy = tmp_path / "README.md"
    start, end = "<!-- fidelity:beatgan_mitbih -->", "<!-- /fidelity:beatgan_mitbih -->"
    copy.write_text(f"a\n{start}\nSTALE\n{end}\n")
    assert fidelity.write("beatgan_mitbih", copy) and "STALE" not in copy.read_text()
    assert not fidelity.write("inter_patient", copy)
