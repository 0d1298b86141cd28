"""beta-VAEGAN as ecgan trains it: rec + beta * KL (summed over dims, batch mean) + feature MSE;
D rejects reconstructions only; the preset's settings are ecgan's."""

from __future__ import annotations

import pytest
import torch

from ganad_cli.models import build_model

SHAPE = (1, 64)


@pytest.fixture
def model(compose_train):
    torch.manual_seed(0)
    cfg = compose_train(["model=beta_vaegan", "model.latent_dim=6", "model.base_channels=8"])
    return build_model(cfg.model, SHAPE)


def test_generator_loss_by_hand(model):
    model.eval()  # spectral norm's power iteration and BatchNorm statistics stay put
    x = torch.randn(8, *SHAPE, generator=torch.Generator().manual_seed(3))
    torch.manual_seed(7)
    loss, logs, fakes = model.generator_loss(x)
    torch.manual_seed(7)
    mu, logvar = model.encoder(x)
    z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
    x_hat = model.generator(z)
    kl = sum(
        -0.5 * (1 + logvar[i] - mu[i] ** 2 - logvar[i].exp()).sum() for i in range(len(x))
    ) / len(x)
    feat = ((model.discriminator(x_hat)[1] - model.discriminator(x)[1]) ** 2).mean()
    want = ((x_hat - x) ** 2).mean() + 0.01 * kl + 1.0 * feat
    assert float(logs["train/kl"]) == pytest.approx(float(kl), rel=1e-5)  # not / (C * L)
    assert float(loss) == pytest.approx(float(want), rel=1e-5)
    # D rejects the reconstructions only (no prior samples)
    assert len(fakes) == 1 and torch.allclose(fakes[0], x_hat)
    assert len(model.discriminator_fakes(x)) == 1


def test_d_steps_first_and_training_runs(model):
    import pytorch_lightning as pl

    assert model.cfg.update_order == "d_first"
    x = torch.randn(32, *SHAPE, generator=torch.Generator().manual_seed(0))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=16)
    trainer = pl.Trainer(
        max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False
    )
    trainer.fit(model, loader)
    assert torch.isfinite(trainer.callback_metrics["train/loss_d"])


def test_preset_takes_ecgans_settings(compose_train):
    cfg = compose_train(["experiment=betavaegan_mitbih"])
    m = cfg.model
    assert (m.latent_dim, m.beta, m.kl_warmup, m.w_adv) == (50, 0.01, 0.0, 1.0)
    assert (m.lr_g, m.lr_d, m.beta1, m.beta2) == (1e-4, 1e-4, 0.5, 0.999)
    assert (m.spectral_norm, m.update_order) == (True, "d_first")
    assert (cfg.data.batch_size, cfg.trainer.max_epochs) == (256, 500)
    from ganad_cli.paths import conf_dir

    assert m.output_activation == "tanh"  # ecgan's TANH_OUT (networks/beatgan.py:167)
    # the values live once, in the protocol both presets include, with their ecgan file:line
    header = (conf_dir() / "experiment" / "protocol" / "betavaegan.yaml").read_text()
    assert "configs/config.yml" not in header  # not a file of the ecgan repository
    for ref in ("vaegan.py:188", "vaegan.py:193", "losses.py:113-115", "dataclasses.py:347"):
        assert ref in header
    csv = compose_train(["experiment=betavaegan_kachuee"])
    assert csv.model == cfg.model and csv.trainer == cfg.trainer and csv.score == cfg.score
    assert (csv.data.name, csv.data.split, csv.data.batch_size) == ("kachuee_csv", "ecgan", 256)
    assert (csv.data.cleanse, csv.data.scale, csv.data.resample_length) == (True, "ecgan", None)
    assert (csv.data.train_fraction, csv.data.folds) == (cfg.data.train_fraction, cfg.data.folds)
