"""Every key a train config holds is applied or refused (ganad_cli.config.applied), never recorded
and
ignored: Lightning Trainer arguments under `trainer.` reach the Trainer, the rest is refused."""

from __future__ import annotations

import pandas as pd
import pytest

from ganad_cli.cli import main

TINY = [
    "experiment=smoke",
    "data.n_normal=300",
    "data.n_per_anomaly=15",
    "data.val_anomaly_fraction=0.3",
    "model.latent_dim=8",
    "model.base_channels=8",
    "trainer.max_epochs=1",
    "inversion.n_max=3",
    "logger=none",
    "quiet=true",
]
# the one model with automatic optimisation (one optimiser, Lightning does the step)
AUTOMATIC = [*TINY, "model=autoencoder", "score=residual", "inversion=encoder"]


def _error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ganad: error:")]
    assert len(errors) == 1, err[-3000:]
    return errors[0]


def test_gradient_clipping_is_applied(in_tmp):
    assert main(["train", *AUTOMATIC, "hydra.run.dir=plain"]) == 0
    clip = "+trainer.gradient_clip_val=0.001"
    assert main(["train", *AUTOMATIC, clip, "hydra.run.dir=clip"]) == 0
    plain = pd.read_csv(in_tmp / "plain" / "scores.csv")
    clipped = pd.read_csv(in_tmp / "clip" / "scores.csv")
    assert len(plain) == len(clipped)
    assert not (plain.score == clipped.score).all()  # the clipped training learnt other weights


@pytest.mark.parametrize("key", ["gradient_clip_val=1.0", "accumulate_grad_batches=2"])
def test_manual_optimisation_refuses_clipping_and_accumulation(in_tmp, capfd, key):
    code = main(["train", *TINY, "model=beatgan", f"+trainer.{key}", "hydra.run.dir=run"])
    line = _error_line(capfd.readouterr().err)
    assert code == 2
    assert f"trainer.{key.split('=')[0]}" in line and "manual" in line
    assert not (in_tmp / "run").exists()


@pytest.mark.parametrize(
    "override,needle",
    [
        ("+callbacks.early_stopping.monitor=val/auroc", "callbacks.early_stopping.monitor"),
        ("+trainer.not_an_argument=1", "trainer.not_an_argument"),
        ("+trainer.callbacks=[]", "trainer.callbacks"),
        ("+model.not_a_field=1", "model.not_a_field"),
    ],
)
def test_unapplied_keys_are_refused_before_a_run_folder(in_tmp, capfd, override, needle):
    code = main(["train", *TINY, override, "hydra.run.dir=run"])
    line = _error_line(capfd.readouterr().err)
    assert code == 2 and needle in line
    assert not (in_tmp / "run").exists()
