"""scripts/fidelity.py: the BeatGAN fidelity table comes from the composed presets."""

from __future__ import annotations

import importlib.util
import re
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
BY_DESIGN = {"F1 threshold"}


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
    assert rows["validation pass"][3] == "`trainer.val_batchnorm=batch`, `data.batch_size=64`"


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
        "validation anomalies",
        "validation pass",
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


def test_ecgan_tables_from_the_composed_presets(compose_train):
    """betavaegan_kachuee follows ecgan wherever a key can; betavaegan_mitbih departs in its
    beats only; every row cites ecgan file:line or says it is not in ecgan."""
    compose_train()
    csv = {r[0]: r for r in fidelity.rows("betavaegan_kachuee")}
    assert len(csv) == len(fidelity.PRESETS["betavaegan_kachuee"][2])
    departs = {e for e, r in csv.items() if not r[4].startswith(("yes", "partly"))}
    assert departs == {"network"}
    raw = {r[0]: r for r in fidelity.rows("betavaegan_mitbih")}
    departs = {e for e, r in raw.items() if r[4].startswith("no")}
    assert departs == {
        "data source",
        "files pooled",
        "cleansing",
        "network",
    }
    assert raw["scaling"][4] == raw["beat length"][4] == raw["folds"][4][:3] == "yes"
    assert raw["data source"][3] == "`data.name=mitbih`"
    for preset in ("betavaegan_kachuee", "table1"):
        for row in fidelity.rows(preset):
            where = row[2].strip("`")
            assert where.startswith("not in ecgan") or re.search(r"\.py:\d+", where), row


def test_table1_rows_state_the_bench_grid(compose_train):
    from omegaconf import OmegaConf

    from ganad_cli.paths import conf_dir

    compose_train()
    rows = {r[0]: r for r in fidelity.rows("table1")}
    assert rows["stopping criterion"][3] == "`inversion.similarity=ecgan_rbf`"
    grid = OmegaConf.load(conf_dir() / "bench" / "table1.yaml")
    assert 0.005 in grid.eps and 500 in grid.n_max and 64 in grid.batch  # ecgan's defaults
    stated = rows["eps x n_max x batch grid"][3]
    for key in ("eps", "n_max", "batch"):
        assert "{" + ", ".join(str(v) for v in grid[key]) + "}" in stated
    assert f"`bench.n`={grid.n}" in rows["test beats timed"][3]


def test_results_readme_holds_the_ecgan_tables(compose_train):
    compose_train()
    text = fidelity.RESULTS_README.read_text()
    for preset in ("betavaegan_kachuee", "betavaegan_mitbih", "table1"):
        assert fidelity.table(preset) in text, f"run python scripts/fidelity.py {preset} --write"
