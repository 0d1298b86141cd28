"""Tracking is complete: the full resolved config as every logger's hyperparameters (CSV's
hparams.yaml, TensorBoard's HParams), the optimised metric as `hp_metric`, plots as TensorBoard
images, wandb group and job type from the experiment and the sweep, one log line per epoch when
stdout is not a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ganad_cli.cli import main
from tests.conftest import REPO

TINY = [
    "experiment=smoke",
    "data.n_normal=300",
    "data.n_per_anomaly=15",
    "data.val_anomaly_fraction=0.3",
    "model.latent_dim=8",
    "model.base_channels=8",
    "trainer.max_epochs=2",
    "inversion.n_max=3",
    "quiet=true",
]


def test_csv_hparams_hp_metric_and_epoch_lines_without_a_terminal(tmp_path: Path):
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO), "CI": "true", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(  # stdout is a pipe, as under nohup or SLURM
        [
            sys.executable,
            "-m",
            "ganad_cli.cli",
            "train",
            *TINY,
            "logger=csv",
            f"hydra.run.dir={run}",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    epoch_lines = [ln for ln in proc.stdout.splitlines() if "[ganad]" in ln and "- epoch " in ln]
    assert [ln.split("- epoch ")[1].split(":")[0] for ln in epoch_lines] == ["1/2", "2/2"]
    assert "train/loss_d" in epoch_lines[0]

    hparams = yaml.safe_load((run / "logs" / "hparams.yaml").read_text())
    recorded = yaml.safe_load((run / ".hydra" / "config.yaml").read_text())
    assert hparams == recorded  # every group, resolved; not only the model's config
    assert hparams["trainer"]["max_epochs"] == 2 and hparams["inversion"]["n_max"] == 3

    import pandas as pd

    metrics = json.loads((run / "metrics.json").read_text())
    logged = pd.read_csv(run / "logs" / "metrics.csv")
    assert logged.hp_metric.dropna().tolist() == pytest.approx([metrics["objective"]])
    assert metrics["objective"] == metrics["val/auroc"]


def test_tensorboard_hparams_hp_metric_and_images(in_tmp: Path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    assert main(["train", *TINY, "logger=tensorboard", "plots=true", "hydra.run.dir=run"]) == 0
    events = EventAccumulator(str(in_tmp / "run" / "logs"), size_guidance={"images": 0})
    events.Reload()
    start = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    hp = plugin_data_pb2.HParamsPluginData.FromString(start).session_start_info.hparams
    assert {"trainer/max_epochs", "data/name", "inversion/n_max", "threshold/name", "seed"} <= set(
        hp
    )
    assert hp["trainer/max_epochs"].number_value == 2
    metrics = json.loads((in_tmp / "run" / "metrics.json").read_text())
    final = events.Scalars("hp_metric")[-1].value
    assert final == pytest.approx(metrics["objective"], abs=1e-6) and final != -1
    images = set(events.Tags()["images"])
    pngs = {f"plots/{p.stem}" for p in (in_tmp / "run" / "plots").glob("*.png")}
    assert pngs and pngs <= images


def _identity(compose_train, overrides: list[str], sweep_dir: str | None, num: int = 0):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    from ganad_cli.paths import conf_dir
    from ganad_cli.training.tracking import wandb_identity

    compose_train()  # registers the structured configs
    extra = ["hydra.mode=MULTIRUN", f"hydra.sweep.dir={sweep_dir}", f"hydra.job.num={num}"]
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[*overrides, *(extra if sweep_dir else [])],
            return_hydra_config=True,
        )
    HydraConfig.instance().set_config(cfg)
    try:
        return wandb_identity(cfg, Path("outputs/run"))
    finally:
        HydraConfig.instance().cfg = None
        GlobalHydra.instance().clear()


def test_wandb_group_and_job_type_from_experiment_and_sweep(compose_train):
    single = _identity(compose_train, ["experiment=smoke", "logger=wandb"], None)
    assert single == {"group": "smoke", "job_type": "train", "name": "run"}
    monday = _identity(
        compose_train, ["experiment=smoke", "logger=wandb"], "outputs/multirun/2026-12-01/20-00-00"
    )
    tuesday = _identity(
        compose_train,
        ["experiment=smoke", "logger=wandb"],
        "outputs/multirun/2026-12-02/20-00-00",
        num=3,
    )
    assert monday["group"] != tuesday["group"]  # the same time of day, other days
    assert monday["group"].startswith("smoke/") and monday["job_type"] == "sweep-basic"
    assert tuesday["name"].endswith("-3")
    optuna = _identity(
        compose_train,
        ["hparams_search=optuna", "logger=wandb"],
        "outputs/multirun/2026-12-02/20-00-00",
    )
    assert optuna["job_type"] == "sweep-optuna" and optuna["group"].startswith("wgan_gp-")
    named = _identity(compose_train, ["logger=wandb", "logger.group=mine"], None)
    assert named["group"] == "mine"
