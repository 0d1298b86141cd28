"""Model selection by validation AUROC (trainer.select_epoch), BeatGAN's D reset, and
scripts/reproduce.py's resumable per-fold jobs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from ganad_cli.cli import main

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "reproduce.py"
SMALL = [
    "data.n_normal=600",
    "data.n_per_anomaly=30",
    "data.batch_size=64",
    "model.base_channels=8",
    "plots=false",
]


def test_best_val_auroc_epoch_is_the_detector(in_tmp: Path):
    run_dir = in_tmp / "run"
    rc = main(
        [
            "train",
            "model=beatgan",
            "trainer.max_epochs=4",
            "trainer.select_epoch=best_val_auroc",
            *SMALL,
            f"hydra.run.dir={run_dir}",
        ]
    )
    assert rc in (0, None)
    log = pd.read_csv(run_dir / "logs" / "metrics.csv")
    per_epoch = log.dropna(subset=["val/epoch_auroc"]).groupby("epoch")["val/epoch_auroc"].last()
    assert list(per_epoch.index) == [0, 1, 2, 3]
    selection = json.loads((run_dir / "metrics.json").read_text())["model_selection"]
    assert selection["rule"] == "best_val_auroc"
    assert selection["epoch"] == int(per_epoch.idxmax()) + 1
    assert selection["val_epoch_auroc"] == pytest.approx(per_epoch.max(), abs=1e-6)
    # the frozen detector carries the best checkpoint's weights, not necessarily the last ones
    best = torch.load(run_dir / "checkpoints" / "best.ckpt", weights_only=True)["state_dict"]
    weights = torch.load(run_dir / "detector.pt", weights_only=True)["state_dict"]
    for key, value in best.items():
        assert torch.equal(weights[key], value), key


def test_last_epoch_is_the_default(compose_train):
    cfg = compose_train(["model=beatgan"])
    assert cfg.trainer.select_epoch == "last"


@pytest.mark.parametrize(
    "overrides,needle",
    [
        (["trainer.select_epoch=best"], "trainer.select_epoch"),
        (["model=wgan_gp", "trainer.select_epoch=best_val_auroc"], "needs an encoder model"),
        (
            ["model=beatgan", "trainer.select_epoch=best_val_auroc", "data.val_anomaly_fraction=0"],
            "data.val_anomaly_fraction",
        ),
    ],
)
def test_bad_selection_exits_2(in_tmp: Path, capfd, overrides, needle):
    rc = main(["train", *overrides, "hydra.run.dir=bad"])
    err = capfd.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and needle in err[0], err
    assert not (in_tmp / "bad").exists()


def test_beatgan_resets_a_winning_discriminator():
    from ganad_cli.models import build_model

    cfg = {"name": "beatgan", "latent_dim": 8, "base_channels": 4, "d_reset_below": 1e-3}
    model = build_model({**_beatgan_defaults(), **cfg}, (1, 64))
    before = [p.detach().clone() for p in model.discriminator.parameters()]
    model.after_discriminator_step(torch.tensor(0.5))  # not below: untouched
    assert all(torch.equal(a, b) for a, b in zip(before, model.discriminator.parameters()))
    assert model.d_resets == 0
    model.after_discriminator_step(torch.tensor(1e-4))  # below: every layer re-initialised
    after = list(model.discriminator.parameters())
    weights = [(a, b) for a, b in zip(before, after) if a.dim() > 1]
    assert weights and all(not torch.equal(a, b) for a, b in weights)
    assert model.d_resets == 1


def _beatgan_defaults() -> dict:
    from dataclasses import asdict

    from ganad_cli.config import BeatGANConfig

    return asdict(BeatGANConfig())


def test_reproduce_resumes_and_skips_finished_folds(tmp_path, mitdb_root):
    out = tmp_path / "out"
    base = [
        sys.executable,
        str(SCRIPT),
        "beatgan_mitbih_small",
        "--smoke",
        "--jobs",
        "2",
        "--data-root",
        str(mitdb_root),
        "--out",
        str(out),
        "--results",
        str(tmp_path),
    ]
    first = subprocess.run(base, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    runs = out / "runs"
    done = (runs / "0" / "metrics.json").read_bytes()
    # fold 1 "dies" after its checkpoint: resume continues it from last.ckpt, fold 0 is kept
    (runs / "1" / "metrics.json").unlink()
    archive = tmp_path / "beatgan_mitbih_small_runs"  # a fold is archived once it finished:
    assert (archive / "0" / "metrics.json").is_file()  # a dead fold 1 would have no copy there
    shutil.rmtree(archive / "1")
    again = subprocess.run(base, capture_output=True, text=True, timeout=600)
    assert again.returncode != 0 and "not empty" in again.stdout + again.stderr
    resumed = subprocess.run([*base, "--resume"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert (runs / "0" / "metrics.json").read_bytes() == done
    runtime = json.loads((runs / "1" / "runtime.json").read_text())
    assert runtime["resumed_from"].endswith("checkpoints/last.ckpt")
    assert f"resume={runs / '1'}" in (out / "job1.log").read_text()
    calls = json.loads((out / "invocations.json").read_text())
    assert len(calls) == 2  # the refused call ran nothing and is not counted
    md = (tmp_path / "beatgan_mitbih_small.md").read_text()
    assert "summed over the 2 reproduce.py calls" in md and "(resumed)" in md
    # the md lists fold 1's start and its resume, though they ran in different calls
    assert md.count("then 1 × `") == 1 and f"resume={runs / '1'}`" in md
    status = subprocess.run(
        [sys.executable, str(SCRIPT), "beatgan_mitbih_small", "--status", "--out", str(out)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [r.split("|")[1:-1] for r in status.splitlines()[2:]]
    assert [(r[0].strip(), r[1].strip(), r[2].strip()) for r in rows] == [
        ("0", "done", "1"),
        ("1", "done", "1"),
    ]


def test_resume_keeps_the_first_csv_log(in_tmp: Path):
    """Lightning's CSVLogger would overwrite metrics.csv: a resumed run logs to resume1/."""
    run_dir = in_tmp / "run"
    args = ["model=beatgan", "trainer.select_epoch=best_val_auroc", *SMALL]
    assert main(["train", *args, "trainer.max_epochs=1", f"hydra.run.dir={run_dir}"]) in (0, None)
    first = (run_dir / "logs" / "metrics.csv").read_text()
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    first_seconds = last["callbacks"]["TrainingClock"]["seconds"]
    assert main(["train", f"resume={run_dir}", "trainer.max_epochs=2"]) in (0, None)
    assert (run_dir / "logs" / "metrics.csv").read_text() == first
    resumed = pd.read_csv(run_dir / "logs" / "resume1" / "metrics.csv")
    assert set(resumed.dropna(subset=["val/epoch_auroc"])["epoch"]) == {1}
    # training time is summed over both processes (the clock travels in the checkpoint)
    runtime = json.loads((run_dir / "runtime.json").read_text())
    assert runtime["train_epoch_seconds_total"] > first_seconds > 0
    assert runtime["train_epochs_timed"] == runtime["epochs"] == 2
    # the best epoch is chosen over both parts of the run
    both = pd.concat([pd.read_csv(run_dir / "logs" / "metrics.csv"), resumed])
    per_epoch = both.dropna(subset=["val/epoch_auroc"]).groupby("epoch")["val/epoch_auroc"].last()
    selection = json.loads((run_dir / "metrics.json").read_text())["model_selection"]
    assert selection["epoch"] == int(per_epoch.idxmax()) + 1


def test_last_checkpoint_every_epoch_best_only_on_improvement(in_tmp: Path, monkeypatch):
    """Validation AUROC 0.9, 0.8, 0.7: best.ckpt stays at epoch 1 while last.ckpt follows every
    epoch (Lightning alone would write `last` only when a monitored save happened)."""
    from ganad_cli.training.callbacks import EpochValAUROC

    values = iter([0.9, 0.8, 0.7])
    monkeypatch.setattr(EpochValAUROC, "epoch_auroc", lambda self, module, epoch=0: next(values))
    run_dir = in_tmp / "run"
    args = ["model=beatgan", "trainer.select_epoch=best_val_auroc", "trainer.max_epochs=3"]
    assert main(["train", *args, *SMALL, f"hydra.run.dir={run_dir}"]) in (0, None)
    ckpts = run_dir / "checkpoints"
    assert torch.load(ckpts / "last.ckpt", weights_only=True)["epoch"] == 2
    assert torch.load(ckpts / "best.ckpt", weights_only=True)["epoch"] == 0
    selection = json.loads((run_dir / "metrics.json").read_text())["model_selection"]
    assert (selection["epoch"], selection["val_epoch_auroc"]) == (1, pytest.approx(0.9))


def test_training_clock_from_a_checkpoint_without_an_epoch_count():
    """A run resumed from an older checkpoint keeps its seconds but no longer claims to know how
    many epochs they cover."""
    from ganad_cli.training.callbacks import TrainingClock

    clock = TrainingClock()
    clock.load_state_dict({"seconds": 12.5})
    clock.on_train_epoch_start(None, None)
    clock.on_train_epoch_end(None, None)
    assert clock.seconds > 12.5 and clock.epochs is None
    fresh = TrainingClock()
    fresh.load_state_dict(clock.state_dict() | {"epochs": 3})
    fresh.on_train_epoch_start(None, None)
    fresh.on_train_epoch_end(None, None)
    assert fresh.state_dict()["epochs"] == 4


class _TinyBN(torch.nn.Module):
    """encode/decode around one BatchNorm: x_hat = BN(x), so the score shows which statistics
    normalised it."""

    def __init__(self) -> None:
        super().__init__()
        self.bn = torch.nn.BatchNorm1d(1)
        self.device = torch.device("cpu")

    def encode(self, x):
        return self.bn(x)

    def decode(self, z):
        return z


def test_validation_pass_in_batch_mode_is_the_beatgan_authors_pass():
    """trainer.val_batchnorm=batch: training mode on shuffled batches (BatchNorm on each batch's
    statistics, running statistics updated, the module's mode restored), scores back in the
    samples' order, the same batches for the same seed and epoch; running: eval mode, nothing
    updated."""
    from ganad_cli.training.callbacks import EpochValAUROC

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(40, 1, 8, generator=gen) * 3 + 5
    label = [0] * 30 + [1] * 10
    x[30:] *= 2  # the anomalies have a larger spread
    module = _TinyBN()
    module.eval()
    running = EpochValAUROC(x, label, batchnorm="running")
    running.epoch_auroc(module, epoch=0)
    assert torch.equal(module.bn.running_mean, torch.zeros(1))  # eval mode: nothing updated
    batch = EpochValAUROC(x, label, batch_size=8, batchnorm="batch", seed=3)
    first = batch._order(epoch=1)
    assert torch.equal(first, batch._order(epoch=1)) and not torch.equal(first, batch._order(2))
    assert sorted(first.tolist()) == list(range(40))
    batch.epoch_auroc(module, epoch=1)
    assert not module.training  # the caller's mode is restored
    assert module.bn.running_mean.item() > 1.0  # five training-mode batches moved it toward 5
    # scores land on their own samples: with BatchNorm out of the way both modes agree
    plain = torch.nn.Module()
    plain.encode = lambda v: v * 0.5
    plain.decode = lambda z: z
    plain.device = torch.device("cpu")
    a = EpochValAUROC(x, label, batchnorm="running").epoch_auroc(plain)
    b = EpochValAUROC(x, label, batch_size=8, batchnorm="batch", seed=3).epoch_auroc(plain, 1)
    assert a == pytest.approx(b)
