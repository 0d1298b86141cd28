"""End to end through the installed `ganad` console script, in subprocesses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

GANAD = shutil.which("ganad") or str(Path(sys.executable).parent / "ganad")
METRIC_KEYS = ["auroc", "auprc", "f1", "fbeta", "precision", "recall", "mcc", "threshold", "lambda"]


def run(args: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "CI": "true"}
    return subprocess.run(
        [GANAD, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_help_lists_commands(tmp_path):
    out = run(["--help"], tmp_path)
    assert out.returncode == 0 and "train" in out.stdout


def test_train_help_shows_config_groups(tmp_path):
    out = run(["train", "--help"], tmp_path)
    assert out.returncode == 0
    groups = ("data", "model", "inversion", "score", "threshold", "trainer", "logger", "callbacks")
    for group in groups:
        assert f"{group}:" in out.stdout
    assert "schema/" not in out.stdout  # structured-config bases are not user choices


def test_cfg_job_prints_config(tmp_path):
    out = run(["train", "--cfg", "job"], tmp_path)
    assert out.returncode == 0 and "model:" in out.stdout and "n_critic" in out.stdout
    assert not (tmp_path / "outputs").exists()


@pytest.mark.parametrize(
    "override,needle",
    [
        ("model=nonexistent", "wgan_gp"),
        ("inversion.eps=-1", "inversion.eps"),
        ("model.not_a_key=1", "not_a_key"),
        ("trainer.max_epochs=ten", "max_epochs"),
    ],
)
def test_bad_override_exits_2_without_run_folder(tmp_path, override, needle):
    out = run(["train", override], tmp_path)
    assert out.returncode == 2, out.stderr
    lines = [ln for ln in out.stderr.strip().splitlines() if ln]
    assert len(lines) == 1 and lines[0].startswith("ganad: error:") and needle in lines[0]
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "outputs").exists()


def test_train_end_to_end_writes_run_folder(tmp_path):
    out = run(["train", "experiment=smoke", "hydra.run.dir=run"], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    run_dir = tmp_path / "run"
    for name in (
        ".hydra/config.yaml",
        "metrics.json",
        "scores.csv",
        "runtime.json",
        "train.log",
        "detector.pt",
        "checkpoints/last.ckpt",
    ):
        assert (run_dir / name).is_file(), name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for split in ("val", "test"):
        for key in METRIC_KEYS:
            assert f"{split}/{key}" in metrics, f"{split}/{key}"
    assert 0.0 <= metrics["test/auroc"] <= 1.0
    scores = pd.read_csv(run_dir / "scores.csv")
    for col in ("index", "label", "residual", "discriminator", "score", "prediction"):
        assert col in scores.columns
    assert len(scores) == metrics["test/n"]
    assert ((scores.score > metrics["test/threshold"]).astype(int) == scores.prediction).all()
    runtime = json.loads((run_dir / "runtime.json").read_text())
    assert runtime["train_seconds"] > 0 and runtime["test"]["ms_per_sample"] > 0
    assert runtime["test"]["mean_steps"] <= 20


def test_train_works_from_any_directory_with_default_outputs(tmp_path):
    out = run(["train", "experiment=smoke", "trainer.max_epochs=1", "inversion.n_max=5"], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    runs = list((tmp_path / "outputs").glob("*/*/metrics.json"))
    assert len(runs) == 1
