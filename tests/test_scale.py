"""Sweeps, Optuna, DDP on CPU, resume after SIGKILL, wandb offline (issue: scale and tracking)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import numpy as np
import pandas as pd
import torch
import yaml

from tests.test_cli import GANAD, run

SMOKE = ["experiment=smoke", "trainer.max_epochs=1", "inversion.n_max=5"]


def test_multirun_2x2_one_folder_per_job(tmp_path):
    out = run(
        ["train", "-m", *SMOKE, "seed=0,1", "inversion.n_max=3,5", "hydra.sweep.dir=sw"], tmp_path
    )
    assert out.returncode == 0, out.stderr[-3000:]
    jobs = sorted((tmp_path / "sw").glob("*/metrics.json"))
    assert len(jobs) == 4
    seen = set()
    for m in jobs:
        cfg = yaml.safe_load((m.parent / ".hydra" / "config.yaml").read_text())
        seen.add((cfg["seed"], cfg["inversion"]["n_max"]))
    assert seen == {(0, 3), (0, 5), (1, 3), (1, 5)}


def test_failing_job_does_not_corrupt_the_others(tmp_path):
    # the second job asks for a batch larger than the training set: it fails at run time
    out = run(["train", "-m", *SMOKE, "data.batch_size=32,100000", "hydra.sweep.dir=sw"], tmp_path)
    assert out.returncode != 0
    assert "data.batch_size" in out.stderr
    assert (tmp_path / "sw" / "0" / "metrics.json").is_file()
    assert not (tmp_path / "sw" / "1" / "metrics.json").exists()


def test_optuna_sweep_of_three_trials(tmp_path):
    out = run(
        [
            "train",
            "hparams_search=optuna",
            *SMOKE,
            "hydra.sweeper.n_trials=3",
            "hydra.sweep.dir=opt",
        ],
        tmp_path,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = yaml.safe_load((tmp_path / "opt" / "optimization_results.yaml").read_text())
    assert 0.0 <= result["best_value"] <= 1.0
    trials = sorted((tmp_path / "opt").glob("*/metrics.json"))
    assert len(trials) == 3
    values = [json.loads(p.read_text())["val/auroc"] for p in trials]
    assert result["best_value"] == max(values)  # the objective is validation AUROC, not test


def test_ddp_two_cpu_processes_then_scoring_matches_checkpoint(tmp_path):
    out = run(
        [
            "train",
            "experiment=smoke",
            "trainer=ddp",
            "trainer.max_epochs=2",
            "inversion.n_max=5",
            "hydra.run.dir=ddp",
        ],
        tmp_path,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "MEMBER: 2/2" in out.stdout + out.stderr
    run_dir = tmp_path / "ddp"
    runtime = json.loads((run_dir / "runtime.json").read_text())
    assert runtime["epochs"] == 2
    # inversion and scoring ran once, in the main process, from rank 0's weights: re-scoring the
    # test split from the saved detector reproduces scores.csv
    from omegaconf import OmegaConf

    from ganad_cli.data import load_samples
    from ganad_cli.data.splits import make_splits
    from ganad_cli.detector import Detector

    cfg = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    splits = make_splits(load_samples(cfg.data), cfg.data)
    detector = Detector.load(run_dir / "detector.pt")
    scores, _ = detector.decision_function(torch.from_numpy(splits.test.x))
    saved = pd.read_csv(run_dir / "scores.csv")
    np.testing.assert_allclose(scores, saved.score.to_numpy(), rtol=1e-4, atol=1e-5)


def test_resume_after_sigkill_ends_with_same_epochs(tmp_path):
    args = [
        "train",
        "experiment=smoke",
        "trainer.max_epochs=12",
        "inversion.n_max=5",
        "hydra.run.dir=run",
    ]
    env = {**os.environ, "CI": "true"}
    proc = subprocess.Popen(
        [GANAD, *args], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    deadline = time.time() + 300
    while not last.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert last.exists(), "no checkpoint before the kill"
    assert not (tmp_path / "run" / "metrics.json").exists()
    epoch_at_kill = torch.load(last, map_location="cpu", weights_only=True)["epoch"]
    assert epoch_at_kill < 11, "the run finished before it could be killed"

    out = run(["train", f"resume={tmp_path / 'run'}"], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    runtime = json.loads((tmp_path / "run" / "runtime.json").read_text())
    assert runtime["epochs"] == 12
    assert runtime["resumed_from"].endswith("last.ckpt")
    assert (tmp_path / "run" / "metrics.json").is_file()


def test_resume_of_missing_run_exits_2(tmp_path):
    out = run(["train", f"resume={tmp_path / 'nope'}"], tmp_path)
    assert out.returncode == 2 and "resume" in out.stderr


def test_wandb_offline_run_writes_files_and_no_key(tmp_path):
    secret = "0123456789abcdef0123456789abcdef01234567"
    env = {**os.environ, "CI": "true", "WANDB_API_KEY": secret, "WANDB_MODE": "offline"}
    out = subprocess.run(
        [GANAD, "train", *SMOKE, "logger=wandb", "hydra.run.dir=run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    wandb_dir = tmp_path / "run" / "wandb"
    files = [p for p in wandb_dir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".wandb" for p in files)
    for p in (tmp_path / "run").rglob("*"):
        if p.is_file():
            assert secret.encode() not in p.read_bytes(), f"API key leaked into {p}"
    assert secret not in out.stdout + out.stderr
