"""`ganad evaluate weights=selected|last`: the label-free variant re-scores the last epoch's
weights (checkpoints/last.ckpt), not the epoch the run selected by validation AUROC."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf

from ganad_cli.cli import main
from ganad_cli.detector import Detector

# a 2-epoch BeatGAN whose validation AUROC peaks in epoch 1: the selected and the last weights
# are different networks (the fixture checks that it is so)
BEST_FIRST = [
    "model=beatgan",
    "trainer.max_epochs=2",
    "trainer.select_epoch=best_val_auroc",
    "data.n_normal=600",
    "data.n_per_anomaly=30",
    "data.batch_size=64",
    "model.base_channels=8",
    "plots=false",
    "logger=none",
    "quiet=true",
    "seed=0",
]
LABEL_FREE = ["+score.combine=equal", "threshold=normal_quantile"]


def _evaluations(run: Path) -> list[Path]:
    found = sorted((run / "evaluations").rglob("metrics.json"), key=lambda p: p.stat().st_mtime)
    return [p.parent for p in found]


def _evaluate(run: Path, *args: str) -> Path:
    n0 = len(_evaluations(run)) if (run / "evaluations").is_dir() else 0
    assert main(["evaluate", f"run={run}", *args]) == 0
    evals = _evaluations(run)
    assert len(evals) == n0 + 1
    return evals[-1]


def _one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("ganad: error:"), err[-3000:]
    return lines[0]


@pytest.fixture(scope="module")
def best_first_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("weights") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CI", "true")
        assert main(["train", *BEST_FIRST, f"hydra.run.dir={run}"]) == 0
    selection = json.loads((run / "metrics.json").read_text())["model_selection"]
    assert selection["rule"] == "best_val_auroc" and selection["epoch"] == 1, selection
    return run


def test_last_weights_are_the_last_checkpoints_not_the_selected_epochs(best_first_run: Path):
    run = best_first_run
    selected = _evaluate(run, *LABEL_FREE)
    last = _evaluate(run, "weights=last", *LABEL_FREE)

    # the evaluated detector holds last.ckpt's generator (and every other network), not
    # detector.pt's (the best epoch's)
    last_ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    best_ckpt = torch.load(run / "checkpoints" / "best.ckpt", weights_only=True)["state_dict"]
    held = Detector.load(last / "detector.pt").model.state_dict()
    assert held.keys() == last_ckpt.keys()
    assert all(torch.equal(held[k], last_ckpt[k]) for k in held)
    g_keys = [k for k in held if k.startswith("generator.")]
    assert g_keys and any(not torch.equal(held[k], best_ckpt[k]) for k in g_keys)
    kept = Detector.load(selected / "detector.pt").model.state_dict()
    assert all(torch.equal(kept[k], best_ckpt[k]) for k in kept)

    # other weights, other scores; scores.csv is what the saved detector gives on the test split
    a, b = pd.read_csv(selected / "scores.csv"), pd.read_csv(last / "scores.csv")
    assert (a["label"] == b["label"]).all()
    assert not a["residual"].equals(b["residual"])
    ma = json.loads((selected / "metrics.json").read_text())
    mb = json.loads((last / "metrics.json").read_text())
    assert ma["test/auroc"] != mb["test/auroc"]

    # what was used is recorded: metrics.json and the effective config
    assert mb["model_selection"] == {
        "weights": "last",
        "rule": "last",
        "epoch": 2,
        "checkpoint": "checkpoints/last.ckpt",
        "same_as_run": False,
        "run_selection": {"rule": "best_val_auroc", "epoch": 1},
    }
    assert ma["model_selection"] == {
        "weights": "selected",
        "rule": "best_val_auroc",
        "epoch": 1,
        "checkpoint": "detector.pt",
        "same_as_run": True,
    }
    assert mb["test/combine"] == "equal"
    # which validation labels each row used, declared (runs/label_use.py)
    assert mb["label_use"]["label_free"] is True and not mb["label_use"]["val_metrics_in_sample"]
    assert mb["label_use"]["fitted_on_validation_labels"] == []
    assert ma["label_use"]["label_free"] is False and ma["label_use"]["val_metrics_in_sample"]
    assert ma["label_use"]["fitted_on_validation_labels"] == ["epoch"]
    trained = json.loads((run / "metrics.json").read_text())["label_use"]
    # the default score's λ is fitted on validation, and so is the default τ (val_fbeta)
    assert trained["fitted_on_validation_labels"] == ["epoch", "score weights", "tau"], trained
    assert OmegaConf.load(last / "effective_config.yaml").trainer.select_epoch == "last"
    assert OmegaConf.load(selected / "effective_config.yaml").trainer.select_epoch == (
        "best_val_auroc"
    )


def test_a_run_that_selected_the_last_epoch_gives_the_same_detector(finished_smoke_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished_smoke_run, run)
    selected = _evaluate(run)
    last = _evaluate(run, "weights=last")
    record = json.loads((last / "metrics.json").read_text())["model_selection"]
    assert record["same_as_run"] is True and record["epoch"] == 1
    assert record["run_selection"] == {"rule": "last", "epoch": 1}
    a, b = pd.read_csv(selected / "scores.csv"), pd.read_csv(last / "scores.csv")
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    "damage, args, needle",
    [
        ("no_checkpoints", ["weights=last"], "checkpoints/last.ckpt, which is missing"),
        ("none", ["weights=best"], "config key 'weights': 'best' is not one of selected, last"),
        ("nan", ["weights=last"], "has NaN or inf weights"),
        ("foreign", ["weights=last"], "does not fit the run's model"),
    ],
)
def test_bad_weights_are_one_line_exit_2_and_no_folder(
    finished_smoke_run, tmp_path, capfd, damage, args, needle
):
    run = tmp_path / "run"
    shutil.copytree(finished_smoke_run, run)
    ckpt = run / "checkpoints" / "last.ckpt"
    if damage == "no_checkpoints":  # an archived fold keeps detector.pt, not its checkpoints
        shutil.rmtree(run / "checkpoints")
    elif damage in ("nan", "foreign"):
        blob = torch.load(ckpt, weights_only=True)
        first = next(iter(blob["state_dict"]))
        if damage == "nan":
            blob["state_dict"][first] = torch.full_like(blob["state_dict"][first], float("nan"))
        else:
            blob["state_dict"][first] = torch.zeros(3, 3)
        torch.save(blob, ckpt)
    capfd.readouterr()
    assert main(["evaluate", f"run={run}", *args]) == 2
    line = _one_error_line(capfd.readouterr().err)
    assert needle in line, line
    assert not (run / "evaluations").exists()


def test_a_crafted_last_checkpoint_runs_nothing(finished_smoke_run, tmp_path, capfd, monkeypatch):
    from tests.test_safety import _craft

    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # only weights_only=True protects
    run = tmp_path / "run"
    shutil.copytree(finished_smoke_run, run)
    marker = tmp_path / "pwned"
    _craft(run / "checkpoints" / "last.ckpt", marker)
    capfd.readouterr()
    assert main(["evaluate", f"run={run}", "weights=last", *LABEL_FREE]) == 2
    line = _one_error_line(capfd.readouterr().err)
    assert "last.ckpt" in line and "safely" in line
    assert not marker.exists(), "unpickling last.ckpt ran code"
    assert not (run / "evaluations").exists()
