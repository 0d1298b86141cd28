"""Model zoo: every model trains, feeds inversion and scoring, overfits, is deterministic."""

from __future__ import annotations

import math

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from torch.optim.optimizer import register_optimizer_step_pre_hook
from torch.utils.data import DataLoader, TensorDataset

from ganad_cli.data.synthetic import generate_synthetic_ecg
from ganad_cli.errors import GanadInputError
from ganad_cli.inversion import invert
from ganad_cli.inversion.similarity import distance
from ganad_cli.models import MODELS, build_model
from ganad_cli.scoring.components import compute_components
from ganad_cli.training.callbacks import SampleGrid

LENGTH = 64
SCORE_CFG = {"residual_norm": "l1"}


@pytest.fixture(scope="module")
def beats() -> torch.Tensor:
    s = generate_synthetic_ecg(64, 2, LENGTH, seed=0)
    return torch.from_numpy(s.x[s.cls == "N"][:64])


@pytest.fixture(scope="module")
def model_cfgs(request) -> dict[str, dict]:
    """Each model's default config, composed from conf/model/<name>.yaml, smaller networks."""
    compose = request.getfixturevalue("compose_train")
    out = {}
    for name in MODELS:
        cfg = compose([f"model={name}", "model.base_channels=8", "model.latent_dim=8"])
        out[name] = dict(cfg.model)
    return out


def fit(model, x, *, batches: int, epochs: int = 1, batch_size: int = 16, callbacks=(), seed=0):
    pl.seed_everything(seed, verbose=False)
    trainer = pl.Trainer(
        max_epochs=epochs,
        limit_train_batches=batches,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        deterministic=True,
        callbacks=list(callbacks),
    )
    loader = DataLoader(
        TensorDataset(x),
        batch_size=batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )
    trainer.fit(model, loader)
    return trainer


def make(cfg: dict, shape=(1, LENGTH), seed: int = 0):
    pl.seed_everything(seed, verbose=False)
    return build_model(cfg, shape)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_trains_and_feeds_inversion_and_scoring(name, model_cfgs, beats, tmp_path):
    model = make(model_cfgs[name])
    trainer = fit(model, beats, batches=4, callbacks=[SampleGrid(tmp_path / "plots", n=4)])
    logged = {k: float(v) for k, v in trainer.callback_metrics.items()}
    assert any(k.startswith("train/loss") for k in logged), logged
    assert all(math.isfinite(v) for v in logged.values()), logged
    if name == "fanogan":  # last of 4 batches is past gan_fraction=0.7: the encoder phase ran
        assert "train/loss_e" in logged
    assert (tmp_path / "plots" / "samples_epoch000.png").is_file()

    model.eval()
    x = beats[:6]
    inversions = {"anogan": {"name": "anogan", "n_max": 3}}
    if model.has_encoder:
        inversions["encoder"] = {"name": "encoder"}
    names = ["residual", "discriminator", "feature_matching", "latent_norm"]
    if not model.has_discriminator:  # the autoencoder ablation
        names = ["residual", "latent_norm"]
    if hasattr(model, "encode_reconstruction"):
        names.append("latent_residual")
    for inv_name, inv_cfg in inversions.items():
        inv = invert(model, x, inv_cfg)
        assert inv.x_hat.shape == x.shape and inv.z.shape == (6, model.latent_dim)
        comps = compute_components(model, x, inv, names, SCORE_CFG)
        for comp, values in comps.items():
            assert values.shape == (6,) and np.isfinite(values).all(), (inv_name, comp)
    assert model.has_discriminator == (name != "autoencoder")
    if model.has_discriminator:
        logit, feats = model.discriminate(x)
        assert logit.shape == (6,) and feats.dim() == 2 and len(feats) == 6
    assert model.wasserstein == (name in ("wgan", "wgan_gp", "fanogan"))
    assert model.has_encoder == (name not in ("gan", "wgan", "wgan_gp"))


@pytest.mark.parametrize(
    ("name", "backbone"),
    [
        ("gan", "conv2d"),
        ("ganomaly", "mlp"),
        ("bigan", "lstm"),
        ("beatgan", "conv2d"),
        ("beatgan", "dcgan1d"),
        ("wgan", "dcgan1d"),  # a BatchNorm critic: no gradient penalty (config refuses it)
    ],
)
def test_backbones_train_on_their_shapes(name, backbone, model_cfgs, beats):
    cfg = {**model_cfgs[name], "backbone": backbone}
    x = beats[:32, :, :LENGTH]  # length 64 = 8x8 for conv2d, as digits are stored (n, 1, 64)
    model = make(cfg, (1, LENGTH))
    trainer = fit(model, x, batches=2)
    assert all(math.isfinite(float(v)) for v in trainer.callback_metrics.values())
    model.eval()
    z = model.sample_z(3)
    assert model.decode(z).shape == (3, 1, LENGTH)
    if model.has_encoder:
        assert model.encode(x[:3]).shape == (3, model.latent_dim)


def test_dcgan1d_is_the_beatgan_authors_network(model_cfgs):
    """BeatGAN with latent 50 and 32 base channels on (1, 320): the authors' layer shapes."""
    cfg = {**model_cfgs["beatgan"], "backbone": "dcgan1d", "base_channels": 32, "latent_dim": 50}
    model = make(cfg, (1, 320))
    convs = [m for m in model.encoder.features.modules() if isinstance(m, torch.nn.Conv1d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs] == [
        (1, 32, 4, 2),
        (32, 64, 4, 2),
        (64, 128, 4, 2),
        (128, 256, 4, 2),
        (256, 512, 4, 2),
    ]
    assert model.encoder.features.out_features == 512 * 10  # the final conv's kernel spans 10
    first = model.generator.body[0]
    assert (first.in_channels, first.out_channels, first.kernel_size[0]) == (50, 512, 10)
    x = torch.randn(2, 1, 320)
    assert model.decode(model.encode(x)).shape == (2, 1, 320)
    # crops odd lengths, refuses windows shorter than five halvings
    assert make(cfg, (2, 187)).decode(torch.randn(2, 50)).shape == (2, 2, 187)
    with pytest.raises(GanadInputError, match="model.backbone"):
        make(cfg, (1, 20))


# The BeatGAN authors' networks (hi-bingo/BeatGAN experiments/ecg/network.py:30-110, model.py:21-54)
# with nc=1, ndf=ngf=32, nz=50 on 320 samples, counted by hand: every conv without bias,
# BatchNorm (weight + bias) after all encoder convs but the first and after all decoder convs but
# the last. Encoder trunk: 1*32*4 + 32*64*4 + 64*128*4 + 128*256*4 + 256*512*4 = 696448,
# BN 2*(64+128+256+512) = 1920; its last conv (512 -> out, kernel 10): 5120 * out.
AUTHORS_D = 696448 + 1920 + 5120 * 1
AUTHORS_E = 696448 + 1920 + 5120 * 50
# decoder: 50*512*10 + 512*256*4 + 256*128*4 + 128*64*4 + 64*32*4 + 32*1*4, BN 2*(512+...+32)
AUTHORS_DEC = 256000 + 524288 + 131072 + 32768 + 8192 + 128 + 2 * (512 + 256 + 128 + 64 + 32)


def _faithful_beatgan(model_cfgs, **extra):
    cfg = {
        **model_cfgs["beatgan"],
        "backbone": "dcgan1d",
        "base_channels": 32,
        "latent_dim": 50,
        "bias": False,
        "output_activation": "tanh",
        "init": "beatgan",
        "update_order": "d_first",
        **extra,
    }
    return make(cfg, (1, 320))


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_faithful_beatgan_has_the_authors_parameters_tanh_and_init(model_cfgs):
    model = _faithful_beatgan(model_cfgs)
    assert count(model.discriminator) == AUTHORS_D  # 703488: "0.70 M"
    assert count(model.encoder) == AUTHORS_E and count(model.generator) == AUTHORS_DEC
    assert isinstance(model.generator.out, torch.nn.Tanh)
    slopes = {
        m.negative_slope for m in model.discriminator.modules() if hasattr(m, "negative_slope")
    }
    assert slopes == {0.2}
    x = torch.randn(4, 1, 320) * 3
    assert model.decode(model.encode(x)).abs().max() <= 1.0
    # weights_init: BatchNorm weight N(1, 0.02), bias 0; convs Xavier-normal
    bn = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    w = torch.cat([m.weight.detach() for m in bn])
    assert abs(float(w.mean()) - 1.0) < 0.005 and 0.015 < float(w.std()) < 0.025
    assert all(float(m.bias.abs().max()) == 0.0 for m in bn)
    conv = model.encoder.features.body[-3]  # 256 -> 512, kernel 4
    assert isinstance(conv, torch.nn.Conv1d) and conv.out_channels == 512
    want = math.sqrt(2.0 / (256 * 4 + 512 * 4))
    assert abs(float(conv.weight.std()) / want - 1) < 0.03
    # the linear head stands for the authors' final conv (512 -> 50, kernel 10)
    head = model.encoder.head.weight
    want = math.sqrt(2.0 / (512 * 10 + 50 * 10))
    assert model.encoder.head.bias is None and abs(float(head.std()) / want - 1) < 0.03
    # the default stays PyTorch's: the same networks as before these options existed
    plain = make({**model_cfgs["beatgan"], "backbone": "dcgan1d", "base_channels": 32}, (1, 320))
    assert count(plain.discriminator) == AUTHORS_D + 32 + 1  # first conv's and head's biases
    assert isinstance(plain.generator.out, torch.nn.Identity)
    with pytest.raises(GanadInputError, match="model.bias"):
        make({**model_cfgs["beatgan"], "bias": False})  # conv1d has no bias-free variant


def test_d_first_update_order_and_reset_by_the_authors_init(model_cfgs, beats):
    order: list[str] = []

    def record(optimizer, args, kwargs):
        ids = {id(p) for g in optimizer.param_groups for p in g["params"]}
        order.append("D" if id(next(model.discriminator.parameters())) in ids else "G")

    x = torch.nn.functional.pad(beats[:32], (128, 128))  # length 320
    for update_order, want in (("d_first", ["D", "G", "D", "G"]), ("g_first", ["G", "D"] * 2)):
        model = _faithful_beatgan(model_cfgs, base_channels=4, update_order=update_order)
        handle = register_optimizer_step_pre_hook(record)
        try:
            fit(model, x, batches=2)
        finally:
            handle.remove()
        assert order == want, update_order
        order.clear()
    # a D reset re-applies the authors' init: BatchNorm weights back near 1, biases 0
    model = _faithful_beatgan(model_cfgs, base_channels=4, d_reset_below=1e9)
    bn = [m for m in model.discriminator.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    for m in bn:
        m.weight.data.fill_(5.0)
    model.after_discriminator_step(torch.tensor(0.0))
    assert model.d_resets == 1
    w = torch.cat([m.weight.detach() for m in bn])
    assert float((w - 1).abs().max()) < 0.2 and float(w.std()) > 0.005  # N(1, 0.02), not 1


def test_multichannel_and_bad_image_shape(model_cfgs):
    model = make(model_cfgs["beatgan"], (3, 100))
    x = torch.randn(4, 3, 100)
    assert model.decode(model.encode(x)).shape == (4, 3, 100)
    with pytest.raises(GanadInputError, match="model.backbone"):
        make({**model_cfgs["gan"], "backbone": "conv2d"}, (1, 60))
    with pytest.raises(GanadInputError, match="model.backbone"):
        make({**model_cfgs["gan"], "backbone": "transformer"})
    with pytest.raises(GanadInputError, match="model.loss"):
        make({**model_cfgs["gan"], "loss": "hinge"})


def _reconstruction_error(model, x: torch.Tensor) -> float:
    model.eval()
    cfg = {"name": "encoder"} if model.has_encoder else {"name": "anogan", "n_max": 60, "lr": 0.05}
    inv = invert(model, x, {**cfg, "eps": 1e-6})
    return float(distance(x, inv.x_hat).mean())


# One representative per family; lr raised so a handful of epochs on 8 beats is enough.
FAMILIES = {
    "gan": {"lr_g": 1e-3, "lr_d": 1e-3},
    "fanogan": {"lr_g": 1e-3, "lr_d": 1e-3, "lr_e": 3e-3, "n_critic": 1},
    "alad": {"lr_g": 1e-3, "lr_d": 1e-4},  # BiGAN family; ALAD's D_xx drives reconstruction
    "beatgan": {"lr_g": 3e-3},
}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_short_overfit_lowers_reconstruction_error(name, model_cfgs, beats):
    x = beats[:8]
    model = make({**model_cfgs[name], **FAMILIES[name]})
    before = _reconstruction_error(model, x)
    fit(model, x.repeat(8, 1, 1), batches=8, epochs=6, batch_size=8)
    after = _reconstruction_error(model, x)
    assert after < 0.8 * before, (before, after)


@pytest.mark.parametrize("name", ["wgan_gp", "beta_vaegan", "bigan"])
def test_deterministic_for_a_seed(name, model_cfgs, beats):
    def run(seed: int) -> list[torch.Tensor]:
        model = make(model_cfgs[name], seed=seed)
        fit(model, beats[:32], batches=2, seed=seed)
        return [p.detach().clone() for p in model.parameters()]

    a, b, c = run(0), run(0), run(1)
    assert all(torch.equal(p, q) for p, q in zip(a, b))
    assert not all(torch.equal(p, q) for p, q in zip(a, c))


class _CorruptAtEpoch(pl.Callback):
    """Puts a NaN into the discriminator at the start of an epoch (a real divergence)."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch == self.epoch:
            with torch.no_grad():
                next(pl_module.discriminator.parameters()).fill_(float("nan"))


def test_divergence_stops_with_step_and_keeps_last_checkpoint(model_cfgs, beats, tmp_path):
    from pytorch_lightning.callbacks import ModelCheckpoint

    model = make(model_cfgs["gan"])
    ckpt = ModelCheckpoint(dirpath=str(tmp_path), save_last=True)
    trainer = pl.Trainer(
        max_epochs=3,
        limit_train_batches=2,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[ckpt, _CorruptAtEpoch(1)],
    )
    with pytest.raises(FloatingPointError, match=r"global step \d+ \(epoch 1\)"):
        trainer.fit(model, DataLoader(TensorDataset(beats[:32]), batch_size=16))
    state = torch.load(tmp_path / "last.ckpt", weights_only=False)["state_dict"]
    assert state and all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


class _CorruptAtBatch(pl.Callback):
    """NaN into D before batch `batch` of epoch 1; remembers the global step it happened at."""

    def __init__(self, batch: int):
        self.batch, self.step = batch, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.current_epoch == 1 and batch_idx == self.batch:
            self.step = trainer.global_step
            with torch.no_grad():
                next(pl_module.discriminator.parameters()).fill_(float("nan"))


def test_finite_loss_check_reads_nothing_back_per_step(model_cfgs, beats, tmp_path):
    """The per-step check only notes the first bad step on the device (no host read); it is read
    every finite_check_every batches and at the epoch end, and the error names that first step
    although later batches ran before the read."""
    from pytorch_lightning.callbacks import ModelCheckpoint

    from tests.host_reads import HostReads

    model = make(model_cfgs["gan"])
    with HostReads() as reads:
        model.loss_is_finite(torch.tensor(1.0), torch.tensor([2.0, 3.0]))
    assert reads.count == 0, reads.names
    model.finite_check_every = 50
    corrupt = _CorruptAtBatch(1)
    ckpt = ModelCheckpoint(dirpath=str(tmp_path), save_last=True)
    trainer = pl.Trainer(
        max_epochs=3,
        limit_train_batches=4,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[ckpt, corrupt],
    )
    with pytest.raises(FloatingPointError) as err:
        trainer.fit(model, DataLoader(TensorDataset(beats[:64]), batch_size=16))
    assert f"global step {corrupt.step} (epoch 1)" in str(err.value)
    assert trainer.global_step > corrupt.step  # the later batches of the epoch did run
    state = torch.load(tmp_path / "last.ckpt", weights_only=False)["state_dict"]
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


def test_autoencoder_is_beatgan_without_its_discriminator(model_cfgs, beats, compose_train):
    """model=autoencoder: BeatGAN's encoder and generator (same initial weights for a seed),
    trained on reconstruction only; no discriminator exists, so its components are refused."""
    ae = make(model_cfgs["autoencoder"])
    gan = make({**model_cfgs["autoencoder"], "name": "beatgan", "w_adv": 1.0})
    assert not hasattr(ae, "discriminator") and not ae.has_discriminator
    assert not any("discriminator" in k for k in ae.state_dict())
    gan_eg = {k: v for k, v in gan.state_dict().items() if not k.startswith("discriminator.")}
    assert gan_eg.keys() == ae.state_dict().keys()
    assert all(torch.equal(gan_eg[k], v) for k, v in ae.state_dict().items())
    x = beats[:8]
    ae = make({**model_cfgs["autoencoder"], "lr_g": 3e-3})
    before = {k: v.clone() for k, v in ae.state_dict().items()}
    err0 = _reconstruction_error(ae, x)
    trainer = fit(ae, x.repeat(8, 1, 1), batches=8, epochs=6, batch_size=8)
    assert set(trainer.callback_metrics) >= {"train/rec", "train/loss_g"}
    assert not any("loss_d" in k or "adv" in k for k in trainer.callback_metrics)
    assert _reconstruction_error(ae, x) < 0.8 * err0
    assert any(not torch.equal(before[k], v) for k, v in ae.state_dict().items())
    (opt,) = trainer.optimizers  # one optimiser, over E and G: nothing else to update
    optimised = {id(p) for g in opt.param_groups for p in g["params"]}
    assert optimised == {id(p) for p in ae.parameters()}
    # its residual score: higher for beats it was not trained on
    inv = invert(ae, torch.cat([x, -x]), {"name": "encoder"})
    res = compute_components(ae, torch.cat([x, -x]), inv, ["residual"], SCORE_CFG)["residual"]
    assert res[8:].min() > res[:8].max()
    with pytest.raises(GanadInputError, match="discriminator"):
        compute_components(ae, x, inv, ["residual", "discriminator"], SCORE_CFG)
    # in a BeatGAN preset it keeps the preset's networks and training; D components are refused
    preset = compose_train(["experiment=beatgan_mitbih", "model=autoencoder"])
    beatgan = compose_train(["experiment=beatgan_mitbih"])
    assert preset.model.name == "autoencoder" and preset.score.name == "residual"
    for key in ("backbone", "latent_dim", "base_channels", "lr_g", "beta1", "beta2"):
        assert preset.model[key] == beatgan.model[key], key
    assert preset.trainer == beatgan.trainer and preset.data == beatgan.data
    from ganad_cli.config import validate_config

    validate_config(preset)
    bad = compose_train(["model=autoencoder", "score=combined"])
    with pytest.raises(GanadInputError, match="score.components.*discriminator"):
        validate_config(bad)


def test_autoencoder_trains_from_the_command_line(in_tmp):
    import json

    from ganad_cli.cli import main
    from ganad_cli.detector import Detector

    run = in_tmp / "ae"
    args = ["experiment=smoke", "data.n_normal=300", "data.n_per_anomaly=15", "logger=none"]
    assert (
        main(["train", "model=autoencoder", *args, "trainer.max_epochs=1", f"hydra.run.dir={run}"])
        == 0
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test/components"] == ["residual"] and metrics["test/auroc"] > 0.5
    detector = Detector.load(run / "detector.pt")
    assert detector.model.cfg.name == "autoencoder" and not detector.model.has_discriminator
    assert main(["train", "model=autoencoder", "score=combined", *args]) == 2
