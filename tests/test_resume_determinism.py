"""Interrupted runs must equal uninterrupted ones (issue 22, class 4).

With `trainer.deterministic=true` on the CPU, a run interrupted and resumed from its last.ckpt
must end bit-equal to the same run trained in one go: metrics.json, scores.csv, the final
weights, the optimiser states and every counter the checkpoint carries. Two ways to interrupt:
a real Ctrl-C (SIGINT raised in the training process at a chosen batch; the resume keeps the
config) and stopping at `trainer.max_epochs` then resuming with a larger one.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl
import torch

import ganad_cli.tasks.train as pipeline
from ganad_cli.cli import main

TINY = [
    "experiment=smoke",
    "data.n_normal=500",
    "data.n_per_anomaly=20",
    "data.max_samples=null",
    "data.batch_size=64",
    "model.base_channels=8",
    "inversion.n_max=3",
    "logger=none",
    "trainer.deterministic=true",
]
# model family -> its overrides. BeatGAN: best-epoch selection and a D reset that fires (its D
# loss starts near 2 log 2 = 1.386 and falls; a reset re-draws D's weights from the global RNG).
# WGAN-GP: n_critic (G steps every 2nd batch), z and the penalty's mixing from the global RNG.
# beta-VAEGAN: the KL warm-up schedule and the reparameterisation noise.
MODELS = {
    "beatgan": [
        "model=beatgan",
        "model.d_reset_below=1.372",
        "trainer.select_epoch=best_val_auroc",
    ],
    "wgan_gp": ["model=wgan_gp", "model.n_critic=2"],
    "beta_vaegan": ["model=beta_vaegan"],
}
EPOCHS = 4


class CtrlCAt(pl.Callback):
    """Delivers a real SIGINT to this process at the start of (epoch, batch), as Ctrl-C would."""

    def __init__(self, epoch: int, batch: int):
        self.epoch, self.batch = epoch, batch

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        if (trainer.current_epoch, batch_idx) == (self.epoch, self.batch):
            signal.raise_signal(signal.SIGINT)


@pytest.fixture
def ctrl_c(monkeypatch):
    """ctrl_c(epoch, batch): the next `ganad train` runs in this process get Ctrl-C there;
    ctrl_c(None): no more."""
    real_build = pipeline.build_trainer
    saved_handler = signal.getsignal(signal.SIGINT)

    def arm(epoch: int | None, batch: int = 0) -> None:
        def build(cfg, run_dir, val=None):
            trainer = real_build(cfg, run_dir, val)
            trainer.callbacks.append(CtrlCAt(epoch, batch))
            return trainer

        monkeypatch.setattr(pipeline, "build_trainer", real_build if epoch is None else build)

    yield arm
    signal.signal(signal.SIGINT, saved_handler)


def train(*args: str) -> int:
    return main(["train", *args])


def _tree_equal(a: Any, b: Any, where: str) -> None:
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{where}: {a.keys()} {b.keys()}"
        for k in a:
            _tree_equal(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _tree_equal(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _without_paths(metrics: dict) -> dict:
    out = json.loads(json.dumps(metrics))
    out.get("model_selection", {}).pop("checkpoint", None)
    return out


def _callback_states(ckpt: dict) -> dict:
    """The callbacks' saved states, minus wall-clock seconds and folder names."""
    out = {}
    for key, state in ckpt["callbacks"].items():
        state = dict(state)
        if key == "TrainingClock":  # wall-clock: ours, and Lightning's Timer's
            state.pop("seconds")
            state.pop("time_elapsed")
        # Lightning's ModelCheckpoint does not restore `current_score` (the score of its latest
        # improvement, informational); `best_model_score`, which picks the epoch, is compared
        state.pop("current_score", None)
        for path_key in ("dirpath", "best_model_path", "last_model_path", "kth_best_model_path"):
            if path_key in state:
                state[path_key] = Path(state[path_key]).name
        if "best_k_models" in state:
            state["best_k_models"] = {Path(k).name: v for k, v in state["best_k_models"].items()}
        out[key] = state
    return out


def assert_same_run(one_go: Path, resumed: Path) -> None:
    a = json.loads((one_go / "metrics.json").read_text())
    b = json.loads((resumed / "metrics.json").read_text())
    assert a["test/auroc"] == b["test/auroc"]
    assert _without_paths(a) == _without_paths(b)
    assert (one_go / "scores.csv").read_bytes() == (resumed / "scores.csv").read_bytes()
    da = torch.load(one_go / "detector.pt", weights_only=True)
    db = torch.load(resumed / "detector.pt", weights_only=True)
    _tree_equal(da["state_dict"], db["state_dict"], "detector.state_dict")
    ca = torch.load(one_go / "checkpoints" / "last.ckpt", weights_only=True)
    cb = torch.load(resumed / "checkpoints" / "last.ckpt", weights_only=True)
    for key in ("epoch", "global_step", "state_dict", "optimizer_states", "lr_schedulers"):
        _tree_equal(ca.get(key), cb.get(key), key)
    # the counters the models keep themselves (BeatGAN's D resets)
    _tree_equal(ca["ganad_counters"], cb["ganad_counters"], "ganad_counters")
    # torch, numpy and Python RNG states travel in the checkpoint (and load weights-only)
    assert {"torch", "numpy", "python"} <= set(cb["callbacks"]["RNGStates"])
    _tree_equal(_callback_states(ca), _callback_states(cb), "callbacks")
    runtime = json.loads((resumed / "runtime.json").read_text())
    assert runtime["epochs"] == EPOCHS and runtime["train_epochs_timed"] == EPOCHS


# CI runs one family per way of interrupting; the rest are slow (each case trains 4 times)
@pytest.mark.parametrize(
    "family",
    [
        "beatgan",
        pytest.param("wgan_gp", marks=pytest.mark.slow),
        pytest.param("beta_vaegan", marks=pytest.mark.slow),
    ],
)
def test_ctrl_c_and_resume_equals_one_go(family: str, in_tmp: Path, ctrl_c):
    """Interrupted twice by Ctrl-C mid-epoch and resumed (same config) = one uninterrupted run."""
    args = [*TINY, *MODELS[family], f"trainer.max_epochs={EPOCHS}"]
    one_go, resumed = in_tmp / "one_go", in_tmp / "resumed"
    assert train(*args, f"hydra.run.dir={one_go}") == 0

    ctrl_c(1, 2)  # mid-epoch 1: last.ckpt holds epoch 0, the partial epoch is lost
    signal.signal(signal.SIGINT, signal.default_int_handler)
    assert train(*args, f"hydra.run.dir={resumed}") == 130
    # Lightning leaves SIGINT ignored after its graceful shutdown; ganad puts the handler back,
    # else this process and every child it starts would ignore the next Ctrl-C
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert not (resumed / "metrics.json").exists()
    assert torch.load(resumed / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 0
    ctrl_c(3, 1)
    assert train(f"resume={resumed}") == 130
    assert torch.load(resumed / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 2
    assert not (resumed / "metrics.json").exists()
    ctrl_c(None)
    assert train(f"resume={resumed}") == 0
    assert_same_run(one_go, resumed)
    if family == "beatgan":
        ckpt = torch.load(one_go / "checkpoints" / "last.ckpt", weights_only=True)
        assert ckpt["ganad_counters"]["d_resets"] > 0, (
            "the D reset never fired: the test checks nothing"
        )


@pytest.mark.parametrize("family", ["wgan_gp", pytest.param("beatgan", marks=pytest.mark.slow)])
def test_resume_with_more_epochs_equals_one_go(family: str, in_tmp: Path):
    """max_epochs=1, then resumed with 2, 3, 4 = max_epochs=4 in one go (models whose training
    does not depend on max_epochs; beta-VAEGAN's warm-up and f-AnoGAN's phases are fractions
    of it, so for them a larger max_epochs is a different schedule)."""
    one_go, resumed = in_tmp / "one_go", in_tmp / "resumed"
    args = [*TINY, *MODELS[family]]
    assert train(*args, f"trainer.max_epochs={EPOCHS}", f"hydra.run.dir={one_go}") == 0
    assert train(*args, "trainer.max_epochs=1", f"hydra.run.dir={resumed}") == 0
    for epochs in range(2, EPOCHS + 1):
        assert train(f"resume={resumed}", f"trainer.max_epochs={epochs}") == 0
    assert_same_run(one_go, resumed)
