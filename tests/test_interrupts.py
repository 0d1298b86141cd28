"""Ctrl-C in epoch 0 leaves checkpoints/interrupted.ckpt (Lightning's OnExceptionCheckpoint),
and the `resume=` command ganad prints then continues the run to completion."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from ganad_cli.cli import main
from tests.conftest import REPO

TINY = [
    "experiment=smoke",
    "data.n_normal=300",
    "data.n_per_anomaly=15",
    "data.val_anomaly_fraction=0.3",
    "model.latent_dim=8",
    "model.base_channels=8",
    "data.batch_size=32",
    "trainer.max_epochs=2",
    "inversion.n_max=3",
    "logger=none",
    "quiet=true",
]

# `ganad train` whose training gets a real SIGINT (the user's Ctrl-C) at (epoch, batch)
CTRL_C_AT = """
import signal, sys
import pytorch_lightning as pl
import ganad_cli.tasks.train as pipeline
from ganad_cli.cli import main

epoch, batch = int(sys.argv[1]), int(sys.argv[2])

class CtrlC(pl.Callback):
    def on_train_batch_start(self, trainer, pl_module, b, batch_idx):
        if (trainer.current_epoch, batch_idx) == (epoch, batch):
            signal.raise_signal(signal.SIGINT)

real = pipeline.build_trainer
def build(cfg, run_dir, val=None):
    trainer = real(cfg, run_dir, val)
    trainer.callbacks.append(CtrlC())
    return trainer

pipeline.build_trainer = build
sys.exit(main(["train", *sys.argv[3:]]))
"""


def _ganad(*args: str, code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "CI": "true", "OMP_NUM_THREADS": "1"}
    env.pop("GANAD_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env
    )


def test_ctrl_c_in_epoch_0_then_resume_completes(in_tmp: Path):
    run = in_tmp / "run"
    stopped = _ganad("0", "2", *TINY, f"hydra.run.dir={run}", code=CTRL_C_AT)  # own process
    assert stopped.returncode == 130, stopped.stderr[-3000:]
    assert f"ganad train resume={run}" in stopped.stderr
    ckpts = run / "checkpoints"
    assert not (ckpts / "last.ckpt").exists()  # no whole epoch yet
    saved = torch.load(ckpts / "interrupted.ckpt", weights_only=True)
    assert saved["epoch"] == 0 and saved["global_step"] > 0  # mid-epoch 0, after some steps
    assert not (run / "metrics.json").exists()

    assert main(["train", f"resume={run}"]) == 0  # the command ganad printed
    metrics = json.loads((run / "metrics.json").read_text())
    runtime = json.loads((run / "runtime.json").read_text())
    assert runtime["resumed_from"] == str(ckpts / "interrupted.ckpt")
    assert runtime["epochs"] == 2
    assert 0.0 <= metrics["test/auroc"] <= 1.0
    last = torch.load(ckpts / "last.ckpt", weights_only=True)
    assert last["epoch"] == 1 and last["global_step"] > saved["global_step"]
    # the finished run keeps no stale interrupt checkpoint (a later resume uses last.ckpt)
    assert not (ckpts / "interrupted.ckpt").exists()
