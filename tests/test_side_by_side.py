"""scripts/side_by_side.py at --smoke size: PyOD's AutoEncoder beside ganad on one shared subset
of real MIT-BIH beats (issue 17). Skipped where PyOD is not installed (`pip install
'ganad[baselines]'`)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "side_by_side.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("side_by_side", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["side_by_side"] = module
    spec.loader.exec_module(module)
    return module


side_by_side = _load_script()


def test_subset_is_disjoint_seeded_and_sized():
    label = np.r_[np.zeros(1000, dtype=int), np.ones(300, dtype=int)]
    sizes = {"train": 500, "test_normal": 200, "test_anomalous": 150, "val_normal": 100}
    sizes["val_anomalous"] = 50
    a = side_by_side.draw_subset(label, sizes, seed=0, smoke=False)
    b = side_by_side.draw_subset(label, sizes, seed=0, smoke=False)
    c = side_by_side.draw_subset(label, sizes, seed=1, smoke=False)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["train"], c["train"])
    assert (label[a["train"]] == 0).all() and len(a["train"]) == 500
    assert np.bincount(label[a["test"]]).tolist() == [200, 150]
    assert np.bincount(label[a["val"]]).tolist() == [100, 50]
    every = np.concatenate(list(a.values()))
    assert len(np.unique(every)) == len(every)  # no beat in two parts
    with pytest.raises(SystemExit, match="test S/V/F/Q needs 400"):
        side_by_side.draw_subset(label, {**sizes, "test_anomalous": 400}, seed=0, smoke=False)


def test_smoke_run_writes_the_table_from_one_subset(mitdb_root: Path, tmp_path: Path):
    pytest.importorskip("pyod")
    out = tmp_path / "sbs"
    argv = ["--smoke", "--out-dir", str(out), "--data-root", str(mitdb_root), "--threads", "1"]
    assert side_by_side.main(argv) == 0
    text = (out / "side_by_side.md").read_text()
    rows = pd.read_csv(out / "side_by_side.csv")
    assert rows["method"].tolist() == list(side_by_side.METHODS)
    for label in side_by_side.LABELS.values():
        assert f"| {label} |" in text
    assert ((rows["auroc"] > 0) & (rows["auroc"] < 1)).all() and rows["ap"].notna().all()
    assert rows[["S", "V", "F"]].notna().all().all()  # the smoke records hold S, V and F beats
    for key in (
        "commit:",
        "command:",
        "hardware:",
        "threads: 1",
        "python scripts/side_by_side.py --smoke --out-dir",
    ):
        assert key in text, key

    subset = np.load(out / "subset.npz")
    parts = {k: subset[k] for k in ("train", "val", "test")}
    every = np.concatenate(list(parts.values()))
    assert len(np.unique(every)) == len(every)
    # every ganad method scored exactly the subset's test beats; its own metrics agree
    for method in side_by_side.METHODS[1:]:
        scores = pd.read_csv(out / method / "scores.csv")
        assert len(scores) == len(parts["test"])
        assert scores["class"].value_counts().get("N") == side_by_side.SMOKE["test_normal"]
        metrics = json.loads((out / method / "metrics.json").read_text())
        row = rows[rows["method"] == method].iloc[0]
        assert metrics["test/auroc"] == pytest.approx(row["auroc"], abs=1e-9)
        assert metrics["data"]["n_train"] == len(parts["train"])
    context = json.loads((out / "context" / "metrics.json").read_text())
    assert context["test/components"] == ["residual", "rr_density", "template"]
    equal = json.loads((out / "context_equal" / "metrics.json").read_text())
    assert equal["test/lambda"] == pytest.approx([1 / 3] * 3)
    knn = json.loads((out / "neighbours_equal" / "metrics.json").read_text())
    assert knn["test/components"] == ["latent_knn", "rr_density"]
    assert knn["test/lambda"] == pytest.approx([1 / 2] * 2)
    ae = json.loads((out / "autoencoder" / "metrics.json").read_text())
    assert ae["test/components"] == ["residual"]


def test_missing_pyod_says_how_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "pyod", None)  # `import pyod` now raises ImportError
    assert side_by_side.main(["--smoke", "--out-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "pip install 'ganad[baselines]'" in err
    assert not list(tmp_path.iterdir())


def test_pyod_row_is_seeded_by_the_scripts_seed():
    pytest.importorskip("pyod")
    from ganad_cli.data.base import Samples, Splits

    rng = np.random.default_rng(0)

    def samples(n: int) -> Samples:
        x = rng.normal(size=(n, 1, 32)).astype(np.float32)
        return Samples(x=x, cls=np.full(n, "N"), group=np.zeros(n), label=np.zeros(n, dtype=int))

    splits = Splits(train=samples(64), val=samples(16), test=samples(32), info={})
    a, _, info = side_by_side.run_pyod(splits, epochs=1, seed=0)
    b, _, _ = side_by_side.run_pyod(splits, epochs=1, seed=0)
    c, _, _ = side_by_side.run_pyod(splits, epochs=1, seed=1)
    assert info["random_state"] == 0
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
