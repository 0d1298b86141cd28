"""`ganad evaluate` and `ganad detect` on a tiny trained run (experiment=smoke)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from ganad_cli.cli import main
from ganad_cli.detector import Detector

SMALL = [
    "experiment=smoke",
    "data.n_normal=300",
    "data.n_per_anomaly=15",
    "trainer.max_epochs=1",
    "inversion.n_max=5",
    "logger=none",
    "quiet=true",
]


def _hashes(run: Path) -> dict[str, str]:
    return {
        str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(run.rglob("*"))
        if p.is_file() and "evaluations" not in p.parts and "detections" not in p.parts
    }


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("train") / "run"
    assert main(["train", *SMALL, f"hydra.run.dir={run}"]) == 0
    assert (run / "detector.pt").is_file() and (run / ".hydra/config.yaml").is_file()
    return run


def _evaluations(run: Path) -> list[Path]:
    root = run / "evaluations"
    if not root.is_dir():
        return []
    return [p.parent for p in sorted(root.rglob("metrics.json"), key=lambda p: p.stat().st_mtime)]


def test_evaluate_writes_a_new_folder_and_leaves_the_run_untouched(run_dir: Path):
    before = _hashes(run_dir)
    n0 = len(_evaluations(run_dir))
    args = [f"run={run_dir}", "score=svm", "threshold=val_mcc", "plots=true"]
    assert main(["evaluate", *args]) == 0
    assert _hashes(run_dir) == before
    evals = _evaluations(run_dir)
    assert len(evals) == n0 + 1
    out = evals[-1]
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("test/auroc", "test/auprc", "test/mcc", "test/per_class", "val/threshold"):
        assert key in metrics
    assert metrics["evaluated_run"] == str(run_dir.resolve())
    frame = pd.read_csv(out / "scores.csv")
    for col in ("label", "class", "residual", "discriminator", "score", "prediction"):
        assert col in frame.columns
    assert (out / ".hydra/config.yaml").is_file() and (out / "effective_config.yaml").is_file()
    for png in ("roc_pr.png", "score_hist.png", "reconstructions.png"):
        assert (out / "plots" / png).stat().st_size > 1000
    det = Detector.load(out / "detector.pt")
    assert det.score.combine == "svm" and det.score.svm is not None
    assert det.threshold == pytest.approx(metrics["test/threshold"])
    # same model weights as the run
    run_det = Detector.load(run_dir / "detector.pt")
    for k, v in run_det.model.state_dict().items():
        assert torch.equal(v, det.model.state_dict()[k])


def test_evaluate_with_default_choices_reproduces_the_run(run_dir: Path):
    """No new choices: inversion, scoring, tau are re-fitted exactly as in training."""
    assert main(["evaluate", f"run={run_dir}"]) == 0
    out = _evaluations(run_dir)[-1]
    a = json.loads((run_dir / "metrics.json").read_text())
    b = json.loads((out / "metrics.json").read_text())
    for key in ("test/auroc", "test/threshold", "val/auroc", "test/f1"):
        assert b[key] == pytest.approx(a[key], abs=1e-6)


def test_evaluate_each_score_choice(run_dir: Path):
    """Every score YAML through one sweep (val_fbeta and val_mcc are covered above, fixed below);
    normal_quantile here: no anomaly labels needed for tau."""
    from omegaconf import OmegaConf

    scores = ["residual", "discriminator", "feature_matching", "latent_norm", "weighted_all"]
    n0 = len(_evaluations(run_dir))
    args = [f"run={run_dir}", f"score={','.join(scores)}", "threshold=normal_quantile"]
    assert main(["evaluate", "-m", *args]) == 0
    evals = _evaluations(run_dir)[n0:]
    seen = []
    for out in evals:
        m = json.loads((out / "metrics.json").read_text())
        eff = OmegaConf.load(out / "effective_config.yaml")
        assert 0.0 <= m["test/auroc"] <= 1.0
        assert m["test/components"] == list(eff.score.components)
        assert m["val/threshold"] == m["test/threshold"]
        seen.append(eff.score.name)
    assert sorted(seen) == sorted(scores)


def test_evaluate_fixed_threshold_and_one_key_of_the_runs_score(run_dir: Path):
    """`+score.residual_norm=l2` (no group choice) changes one key of the run's score node."""
    args = [f"run={run_dir}", "+score.residual_norm=l2", "threshold=fixed", "threshold.value=0.5"]
    assert main(["evaluate", *args]) == 0
    out = _evaluations(run_dir)[-1]
    det = Detector.load(out / "detector.pt")
    assert det.score_cfg["residual_norm"] == "l2"
    assert det.score_cfg["components"] == ["residual", "discriminator"]  # the run's own
    assert det.threshold == 0.5
    frame = pd.read_csv(out / "scores.csv")
    assert (frame["prediction"] == (frame["score"] > 0.5)).all()


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "config key 'run' is required"),
        (["run=/nonexistent/run"], "run folder /nonexistent/run not found"),
        (["score=latent_residual"], "models with one: ganomaly"),
        (["inversion=encoder"], "has no encoder"),
        (["score=feature_matching", "score.feature_layer=50"], "score.feature_layer"),
        (["threshold=val_mcc", "threshold.quantile=2"], "threshold.quantile"),
    ],
)
def test_evaluate_bad_input_is_one_line_exit_2(run_dir: Path, capsys, args, message):
    n0 = len(list((run_dir / "evaluations").glob("*")))
    full = [f"run={run_dir}", *args] if args and not args[0].startswith("run=") else args
    assert main(["evaluate", *full]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ganad: error:") and message in err and "\n" not in err
    assert len(list((run_dir / "evaluations").glob("*"))) == n0


def test_evaluate_corrupt_or_missing_detector(run_dir: Path, tmp_path: Path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(run_dir / ".hydra", broken / ".hydra")
    assert main(["evaluate", f"run={broken}"]) == 2
    assert "detector.pt not found" in capsys.readouterr().err
    (broken / "detector.pt").write_bytes(b"not a torch file")
    assert main(["evaluate", f"run={broken}"]) == 2
    assert "could not be loaded safely" in capsys.readouterr().err
    assert not (broken / "evaluations").exists()


# ----------------------------------------------------------------------------------- detect


def _windows(n: int = 12) -> np.ndarray:
    from ganad_cli.data.synthetic import generate_synthetic_ecg

    return generate_synthetic_ecg(n - 4, 1, 128, seed=7, anomaly_types=["pvc"] * 1).x


def test_detect_npy_and_csv_give_the_same_scores(run_dir: Path, tmp_path: Path):
    x = _windows()
    np.save(tmp_path / "w.npy", x)
    header = ",".join(f"v{i}" for i in range(128))
    np.savetxt(tmp_path / "w.csv", x[:, 0], delimiter=",", header=header, comments="")
    outs = []
    for name in ("w.npy", "w.csv"):
        out = tmp_path / f"{name}.scores.csv"
        assert main(["detect", f"run={run_dir}", f"input={tmp_path / name}", f"output={out}"]) == 0
        outs.append(pd.read_csv(out))
    a, b = outs
    assert list(a.columns[:2]) == ["position", "score"] and "prediction" in a.columns
    assert {"residual", "discriminator"} <= set(a.columns) and len(a) == len(x)
    np.testing.assert_allclose(a["score"], b["score"], rtol=1e-5)
    det = Detector.load(run_dir / "detector.pt")
    scores, _ = det.decision_function(torch.from_numpy(x))
    np.testing.assert_allclose(a["score"], scores, rtol=1e-5)
    assert (a["prediction"] == (a["score"] > det.threshold)).all()


def test_detect_wrong_shape_is_one_line_exit_2(run_dir: Path, tmp_path: Path, capsys):
    np.save(tmp_path / "short.npy", np.zeros((3, 1, 100), dtype=np.float32))
    np.savetxt(tmp_path / "short.csv", np.zeros((3, 90)), delimiter=",")
    for name in ("short.npy", "short.csv"):
        assert main(["detect", f"run={run_dir}", f"input={tmp_path / name}"]) == 2
        err = capsys.readouterr().err.strip()
        assert "expects (channels, length) = (1, 128)" in err and "\n" not in err
    assert main(["detect", f"run={run_dir}", f"input={tmp_path / 'nope.npy'}"]) == 2
    assert "not found" in capsys.readouterr().err


def test_evaluate_sweep_over_runs_is_refused(run_dir: Path, tmp_path: Path, capsys):
    other = tmp_path / "other"
    shutil.copytree(run_dir, other, ignore=shutil.ignore_patterns("evaluations", "detections"))
    assert main(["evaluate", "-m", f"run={run_dir},{other}"]) == 2
    assert "not the run folder" in capsys.readouterr().err
    assert not (other / "evaluations").exists()


def test_detect_wfdb_record_uses_the_runs_beat_preprocessing(
    compose_train, mitdb_root: Path, tmp_path: Path
):
    """A detector whose data config is MIT-BIH (beatgan preset): `input=<record>.hea` extracts
    the record's beats exactly like training did. The model is untrained: this checks the
    input path, not detection quality."""
    from omegaconf import OmegaConf

    from ganad_cli.config import to_plain
    from ganad_cli.data.mitbih import extract_record
    from ganad_cli.models import build_model
    from ganad_cli.scoring.combine import FittedScore

    overrides = ["data=mitbih", f"data.root={mitdb_root}", "model=ganomaly", "inversion=encoder"]
    cfg = compose_train(overrides)
    model = build_model(cfg.model, (1, 320)).eval()
    score = FittedScore(["residual"], [0.0], [1.0], [1.0], combine="single")
    run = tmp_path / "mit_run"
    det = Detector(model, to_plain(cfg.inversion), {"components": ["residual"]}, score, 0.1, {})
    det.data = to_plain(cfg.data)
    det.save(run / "detector.pt")
    out = tmp_path / "beats.csv"
    record = mitdb_root / "100.hea"
    assert main(["detect", f"run={run}", f"input={record}", f"output={out}"]) == 0
    frame = pd.read_csv(out)
    beats = extract_record(mitdb_root, 100, OmegaConf.create(det.data))
    assert len(frame) == len(beats["x"]) + 2  # the two edge beats are rows without a score
    frame = frame[frame["scorable"] == 1]
    assert list(frame["class"]) == list(beats["cls"]) and set(frame["class"]) >= {"N", "S", "V"}
    # the fitted score here is the identity on the residual (mean 0, std 1, weight 1)
    np.testing.assert_allclose(frame["score"], frame["residual"], rtol=1e-6)
    assert np.isfinite(frame["score"]).all() and (frame["residual"] > 0).all()
    assert (frame["prediction"] == (frame["score"] > 0.1)).all()


def test_evaluate_refuses_data_that_changed_since_training(run_dir: Path, tmp_path: Path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("evaluations", "detections"))
    metrics = json.loads((copy / "metrics.json").read_text())
    metrics["data"]["n_test"] += 1
    (copy / "metrics.json").write_text(json.dumps(metrics))
    assert main(["evaluate", f"run={copy}"]) == 2
    err = capsys.readouterr().err
    assert "other splits than in training" in err and "n_test" in err
    assert _evaluations(copy) == []  # the half-made evaluation folder is removed
