"""`ganad evaluate ensemble=[...]`: runs of one configuration (seeds) as one detector (issue 17)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf
from sklearn.metrics import roc_auc_score

from ganad_cli.cli import main
from ganad_cli.data import load_samples
from ganad_cli.data.splits import make_splits
from ganad_cli.detector import Detector
from ganad_cli.runs.folder import load_run_config
from ganad_cli.scoring.threshold import fit_threshold
from ganad_cli.tasks.report import build_report

TINY = [
    "experiment=smoke",
    "data.n_normal=300",
    "data.n_per_anomaly=15",
    "data.val_anomaly_fraction=0.3",
    "model=beatgan",
    "model.latent_dim=8",
    "model.base_channels=8",
    "trainer.max_epochs=1",
    "logger=none",
    "quiet=true",
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("seeds")
    out = []
    for seed in (0, 1, 2):
        run = root / f"seed{seed}"
        assert main(["train", *TINY, f"seed={seed}", f"hydra.run.dir={run}"]) == 0
        out.append(run)
    return out


def _ensembles(run: Path) -> list[Path]:
    return sorted(p.parent for p in (run / "ensembles").rglob("metrics.json"))


def _folders(run: Path) -> list[Path]:
    return sorted((run / "ensembles").iterdir()) if (run / "ensembles").is_dir() else []


def _val_scores(run: Path) -> tuple[np.ndarray, np.ndarray]:
    """A member's total scores on its validation split, from its saved detector, and labels."""
    cfg = load_run_config(run)
    val = make_splits(load_samples(cfg.data), cfg.data).val
    scores, _ = Detector.load(run / "detector.pt").decision_function(torch.from_numpy(val.x))
    return scores, val.label


def test_ensemble_equals_the_hand_computation_from_the_members(runs: list[Path], in_tmp):
    assert main(["evaluate", f"ensemble=[{','.join(map(str, runs))}]"]) == 0
    (out,) = _ensembles(runs[0])
    metrics = json.loads((out / "metrics.json").read_text())
    frame = pd.read_csv(out / "scores.csv")
    assert list(frame.columns[:4]) == ["index", "label", "class", "group"]
    assert {"seed0", "seed1", "seed2", "score", "prediction"} <= set(frame.columns)

    # by hand: each member's test scores (its scores.csv) standardised with the mean/std of its
    # validation normals' scores, then averaged
    z, z_val = [], []
    for k, run in enumerate(runs):
        member = pd.read_csv(run / "scores.csv")
        np.testing.assert_array_equal(member["label"], frame["label"])
        np.testing.assert_allclose(frame[f"seed{k}"], member["score"], rtol=1e-6, atol=1e-9)
        val, val_label = _val_scores(run)
        mean, std = val[val_label == 0].mean(), val[val_label == 0].std()
        z.append((member["score"].to_numpy() - mean) / std)
        z_val.append((val - mean) / std)
    hand, hand_val = np.mean(z, axis=0), np.mean(z_val, axis=0)
    np.testing.assert_allclose(frame["score"], hand, rtol=1e-6, atol=1e-9)
    assert metrics["test/auroc"] == pytest.approx(roc_auc_score(frame["label"], hand), abs=1e-9)
    run_cfg = load_run_config(runs[0])
    tau = fit_threshold(hand_val, val_label, run_cfg.threshold)
    assert metrics["test/threshold"] == pytest.approx(tau, rel=1e-6)
    np.testing.assert_array_equal(frame["prediction"], (hand > tau).astype(int))
    per_class = metrics["test/per_class"]  # every anomaly class against N, as for a run
    anomalous = frame.loc[frame["label"] == 1, "class"].unique()
    for c in anomalous:
        sel = (frame["class"] == c) | (frame["label"] == 0)
        want = roc_auc_score(frame.loc[sel, "label"], hand[sel.to_numpy()])
        assert per_class[c]["auroc_vs_normal"] == pytest.approx(want, abs=1e-9)
    member_auroc = [json.loads((r / "metrics.json").read_text())["test/auroc"] for r in runs]
    assert metrics["ensemble"]["member_test_auroc"] == pytest.approx(member_auroc, abs=1e-9)
    assert all(abs(metrics["test/auroc"] - a) > 1e-6 for a in member_auroc)
    assert metrics["ensemble"]["seeds"] == [0, 1, 2]
    assert not (out / "detector.pt").exists()

    # ganad report reads it like a run, in a row of its own
    table, _ = build_report(runs[0].parent, in_tmp / "report")
    row = table[table["kind"] == "ensemble of 3"]
    assert len(row) == 1 and int(row["runs"].iloc[0]) == 1
    assert row["auroc_mean"].iloc[0] == pytest.approx(metrics["test/auroc"])
    trained = table[table["kind"] == "train"]
    assert int(trained["runs"].iloc[0]) == 3


def _one_error_line(capsys) -> str:
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("ganad: error:"), err
    return err[0]


def _copy_with(run: Path, dest: Path, **config) -> Path:
    shutil.copytree(run, dest, ignore=shutil.ignore_patterns("ensembles", "evaluations"))
    path = dest / ".hydra" / "config.yaml"
    cfg = OmegaConf.load(path)
    for key, value in config.items():
        OmegaConf.update(cfg, key.replace("__", "."), value)
    path.write_text(OmegaConf.to_yaml(cfg))
    return dest


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model__latent_dim": 9}, "differ in model.latent_dim"),
        ({"data__seed": 3, "seed": 5}, "differ in data.seed"),
        ({}, "the same seed 0"),
        ({"seed": 7, "data__root": "/elsewhere"}, None),  # seed and paths may differ
    ],
)
def test_ensemble_refuses_runs_of_other_configurations(
    runs: list[Path], tmp_path: Path, capsys, change, message
):
    other = _copy_with(runs[0], tmp_path / "other", **change)
    code = main(["evaluate", f"ensemble=[{other},{runs[0]}]", "plots=false"])
    if message is None:
        assert code == 0 and len(_ensembles(other)) == 1
        return
    assert code == 2
    assert message in _one_error_line(capsys)
    assert _folders(other) == []  # nothing left that looks like a result


def test_ensemble_refuses_runs_tested_on_other_splits(runs: list[Path], tmp_path: Path, capsys):
    other = _copy_with(runs[0], tmp_path / "other", seed=9)
    metrics = json.loads((other / "metrics.json").read_text())
    metrics["data"]["class_counts"]["test"]["N"] += 1
    (other / "metrics.json").write_text(json.dumps(metrics))
    assert main(["evaluate", f"ensemble=[{runs[1]},{other}]"]) == 2
    assert "other splits" in _one_error_line(capsys)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ensemble=[{0}]"], "at least two different"),
        (["ensemble=[{0},{0}]"], "at least two different"),
        (["ensemble={0}"], "must be a list"),
        (["ensemble=[{0},{1}]", "run={0}"], "exclusive"),
        (["-m", "ensemble=[{0},{1}]", "threshold=val_mcc,val_fbeta"], "expected no -m"),
        (["ensemble=[{0},/no/such/run]"], "not found"),
        (["ensemble=[{0},{1}]", "score=latent_residual"], "latent_residual"),
    ],
)
def test_ensemble_bad_input_is_one_line_exit_2(runs: list[Path], capsys, args, message):
    filled = [a.format(*runs) for a in args]
    before = _folders(runs[0])
    assert main(["evaluate", *filled]) == 2
    assert message in _one_error_line(capsys)
    assert _folders(runs[0]) == before


def test_ensemble_of_last_epoch_weights(runs: list[Path], tmp_path: Path, capsys):
    """`weights=last` reaches every member (ganad_cli.runs.weights): recorded per member, and a
    member without checkpoints/last.ckpt (an archived run) is refused before any folder."""
    a = _copy_with(runs[0], tmp_path / "a")
    b = _copy_with(runs[1], tmp_path / "b")
    assert main(["evaluate", f"ensemble=[{a},{b}]", "weights=last", "plots=false"]) == 0
    (out,) = _ensembles(a)
    chosen = json.loads((out / "metrics.json").read_text())["ensemble"]["model_selection"]
    assert [m["weights"] for m in chosen] == ["last", "last"]
    assert all(m["epoch"] == 1 and m["same_as_run"] for m in chosen)  # 1 epoch, selected last
    shutil.rmtree(b / "checkpoints")
    before = _folders(a)
    assert main(["evaluate", f"ensemble=[{a},{b}]", "weights=last"]) == 2
    line = _one_error_line(capsys)
    assert str(b / "checkpoints" / "last.ckpt") in line and "missing" in line
    assert _folders(a) == before
