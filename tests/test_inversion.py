"""Inversion settings: batch/single equivalence per similarity and optimiser, restarts, latent
restriction, encoder initialisation, data-driven eps, and the clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from ganad_cli.config import BeatGANConfig, InversionConfig, WGANGPConfig, validate_inversion
from ganad_cli.errors import GanadInputError
from ganad_cli.inversion import anogan_invert, distance, invert
from ganad_cli.inversion.run import calibrate_eps
from ganad_cli.models.registry import build_model, encoder_models

LENGTH, LATENT = 32, 8


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one thread avoids OpenMP spin-waiting on a shared, loaded CPU."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


def _model(schema=WGANGPConfig):
    torch.manual_seed(0)
    cfg = OmegaConf.to_container(OmegaConf.structured(schema(latent_dim=LATENT, base_channels=8)))
    model = build_model(cfg, (1, LENGTH))
    model.eval()
    return model


def _inv_cfg(**kw) -> dict:
    return {**OmegaConf.to_container(OmegaConf.structured(InversionConfig(name="anogan"))), **kw}


def _near_manifold(model, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Targets near G's range and starts at varying distance from their true z."""
    gen = torch.Generator().manual_seed(seed)
    z_true = torch.randn(n, LATENT, generator=gen)
    with torch.no_grad():
        x = model.decode(z_true) + 0.01 * torch.randn(n, 1, LENGTH, generator=gen)
    scale = torch.linspace(0.05, 1.5, n).unsqueeze(1)
    z0 = z_true + scale * torch.randn(n, LATENT, generator=gen)
    return x, z0


def _assert_same_as_single(model, x, z0, **kw):
    batched = anogan_invert(model, x, batch_size=len(x), z_init=z0, **kw)
    for i in range(len(x)):
        single = anogan_invert(model, x[i : i + 1], batch_size=1, z_init=z0[i : i + 1], **kw)
        assert single.steps.item() == batched.steps[i].item(), i
        assert single.converged.item() == batched.converged[i].item(), i
        torch.testing.assert_close(single.z[0], batched.z[i], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(
            single.similarity[0], batched.similarity[i], atol=1e-5, rtol=1e-4
        )
        torch.testing.assert_close(single.x_hat[0], batched.x_hat[i], atol=1e-5, rtol=1e-4)
    return batched


@pytest.mark.parametrize("similarity", ["l1", "l2", "rbf", "cosine"])
def test_batched_equals_single_for_each_similarity(similarity):
    model = _model()
    x, z0 = _near_manifold(model, 6, seed=1)
    with torch.no_grad():
        d0 = distance(x, model.decode(z0), similarity, 0.5)
    eps = float(d0.median()) * 0.5  # some rows converge mid-search, others run to n_max
    res = _assert_same_as_single(
        model, x, z0, eps=eps, n_max=30, lr=0.05, similarity=similarity, bandwidth=0.5
    )
    # the shrinking path was exercised: rows stopped at different steps
    assert len(set(res.steps.tolist())) >= 2, res.steps


@pytest.mark.parametrize(
    "kw",
    [
        {"optimizer": "sgd", "lr": 20.0, "momentum": 0.9},
        {"optimizer": "rmsprop", "lr": 0.01, "momentum": 0.5},
        {"optimizer": "adam", "lr": 0.1, "lr_schedule": "cosine"},
        {"optimizer": "adam", "lr": 0.1, "lr_schedule": "exponential", "lr_gamma": 0.9},
        {"lr": 0.05, "restriction": "chi", "chi_weight": 0.01},
    ],
)
def test_batched_equals_single_for_optimisers_and_schedules(kw):
    model = _model()
    x, z0 = _near_manifold(model, 5, seed=2)
    pilot = anogan_invert(model, x, eps=-1.0, n_max=10, z_init=z0, **kw)  # no stopping
    s = pilot.similarity.sort().values  # eps between two rows' values: about half get there
    eps = float(s[1] + s[2]) / 2  # within 10 steps, and no row sits on the boundary
    res = _assert_same_as_single(model, x, z0, eps=eps, n_max=25, **kw)
    assert res.steps.min() < 25  # something converged before n_max


def test_optimiser_and_schedule_change_the_path():
    model = _model()
    x, z0 = _near_manifold(model, 4, seed=3)
    base = anogan_invert(model, x, eps=1e-9, n_max=10, lr=0.1, z_init=z0)
    for kw in ({"optimizer": "rmsprop"}, {"lr_schedule": "exponential", "lr_gamma": 0.5}):
        other = anogan_invert(model, x, eps=1e-9, n_max=10, lr=0.1, z_init=z0, **kw)
        assert not torch.allclose(other.z, base.z), kw


def test_restarts_keep_the_best_start():
    model = _model()
    x = torch.randn(5, 1, LENGTH) * 0.5
    k, n_max = 3, 8
    best = anogan_invert(model, x, eps=1e-9, n_max=n_max, lr=0.05, restarts=k, seed=7)
    # the same K prior draws, searched one start at a time
    z_all = model.sample_z(k * 5, generator=torch.Generator().manual_seed(7)).view(k, 5, -1)
    runs = [
        anogan_invert(model, x, eps=1e-9, n_max=n_max, lr=0.05, z_init=z_all[j]) for j in range(k)
    ]
    sims = torch.stack([r.similarity for r in runs])  # (k, n)
    torch.testing.assert_close(best.similarity, sims.min(0).values, atol=1e-5, rtol=1e-4)
    pick = sims.argmin(0)
    for i in range(5):
        torch.testing.assert_close(best.z[i], runs[pick[i]].z[i], atol=1e-5, rtol=1e-4)
    assert (sims.min(0).values < sims.max(0).values).all()  # the starts really differed
    one = anogan_invert(model, x, eps=1e-9, n_max=n_max, lr=0.05, restarts=1, seed=7)
    assert (best.similarity <= one.similarity + 1e-6).all()


def test_clamp_keeps_z_in_the_truncated_region():
    model = _model()
    x = torch.randn(6, 1, LENGTH) * 3.0  # far targets pull z outward
    z0 = torch.randn(6, LATENT) * 3.0  # starts partly outside the region
    kw = dict(eps=1e-9, n_max=30, lr=0.3, z_init=z0)
    free = anogan_invert(model, x, **kw)
    assert free.z.abs().max() > 0.7
    clamped = anogan_invert(model, x, restriction="clamp", truncation=0.7, **kw)
    assert clamped.z.abs().max() <= 0.7 + 1e-6
    with torch.no_grad():  # x_hat and similarity belong to the returned (clamped) z
        torch.testing.assert_close(clamped.x_hat, model.decode(clamped.z), atol=1e-5, rtol=1e-4)


def test_chi_penalty_pulls_norm_to_the_chi_mode():
    model = _model()
    x = torch.randn(6, 1, LENGTH)
    z0 = torch.randn(6, LATENT) * 3.0  # norms far above the mode sqrt(d_z - 1)
    mode = model.latent_mode_norm()
    kw = dict(eps=1e-9, n_max=60, lr=0.1, z_init=z0)
    free = anogan_invert(model, x, **kw)
    chi = anogan_invert(model, x, restriction="chi", chi_weight=1.0, **kw)
    gap_free = (free.z.norm(dim=1) - mode).abs().mean()
    gap_chi = (chi.z.norm(dim=1) - mode).abs().mean()
    assert gap_chi < 0.5 * gap_free


def test_encoder_then_anogan_starts_at_the_encoder():
    assert "beatgan" in encoder_models()
    model = _model(BeatGANConfig)
    x = torch.randn(6, 1, LENGTH) * 0.5
    with torch.no_grad():
        z_enc = model.encode(x)
    start = invert(model, x, _inv_cfg(name="encoder_then_anogan", n_max=0))
    torch.testing.assert_close(start.z, z_enc)
    assert (start.steps == 0).all()
    enc_only = invert(model, x, _inv_cfg(name="encoder"))
    torch.testing.assert_close(start.similarity, enc_only.similarity, atol=1e-6, rtol=1e-5)
    # a search from E(x) is the search anogan_invert runs from z_init = E(x), and improves on it
    refined = invert(model, x, _inv_cfg(name="anogan", init="encoder", eps=1e-9, n_max=20, lr=0.02))
    direct = anogan_invert(model, x, eps=1e-9, n_max=20, lr=0.02, z_init=z_enc)
    torch.testing.assert_close(refined.z, direct.z)
    assert (refined.similarity < enc_only.similarity).all()


def test_encoder_on_gan_only_model_names_the_encoder_models():
    model = _model()
    for name in ("encoder", "encoder_then_anogan"):
        with pytest.raises(GanadInputError) as err:
            invert(model, torch.randn(2, 1, LENGTH), _inv_cfg(name=name))
        msg = str(err.value)
        assert "has no encoder" in msg and "beatgan" in msg and "fanogan" in msg
        assert "\n" not in msg


def test_data_driven_eps_from_validation_normals_only():
    model = _model(BeatGANConfig)
    gen = torch.Generator().manual_seed(5)
    x_val = torch.randn(40, 1, LENGTH, generator=gen) * 0.5
    label = np.zeros(40, dtype=int)
    label[30:] = 1
    cfg = _inv_cfg(name="encoder_then_anogan", eps_quantile=0.5, eps_reference="start", n_max=5)
    with pytest.raises(ValueError, match="calibrate_eps"):
        invert(model, x_val, cfg)  # refusing to run with an uncalibrated eps
    cal = calibrate_eps(model, x_val, label, cfg)
    with torch.no_grad():
        start = distance(x_val[:30], model.decode(model.encode(x_val[:30])))
    assert cal["eps"] == pytest.approx(float(np.quantile(start.double().numpy(), 0.5)), rel=1e-5)
    assert cal["eps_calibrated"] and cal["eps_calibration_rows"] == 30
    # the anomalies (label 1) do not move eps
    x_wild = x_val.clone()
    x_wild[30:] = 50.0
    assert calibrate_eps(model, x_wild, label, cfg)["eps"] == cal["eps"]
    # about half of the calibration normals now stop at step 0
    res = invert(model, x_val[:30], cal)
    assert 0.4 <= float((res.steps == 0).float().mean()) <= 0.6
    # search reference: the quantile of what a full search reaches (lower than at the start)
    cal_s = calibrate_eps(model, x_val, label, {**cfg, "eps_reference": "search"})
    assert 0 < cal_s["eps"] < cal["eps"]
    # a subset of at most eps_calibration_n normals
    assert (
        calibrate_eps(model, x_val, label, {**cfg, "eps_calibration_n": 7})["eps_calibration_rows"]
        == 7
    )
    # no eps_quantile: unchanged
    assert calibrate_eps(model, x_val, label, _inv_cfg(eps=0.1))["eps"] == 0.1


@pytest.mark.parametrize(
    "key,value",
    [
        ("optimizer", "lbfgs"),
        ("lr_schedule", "cyclic"),
        ("restriction", "box"),
        ("eps_quantile", 1.5),
        ("eps_reference", "end"),
        ("truncation", 0.0),
        ("device", "tpu"),
    ],
)
def test_bad_inversion_values_name_the_key(key, value):
    cfg = OmegaConf.create(_inv_cfg(**{key: value}))
    with pytest.raises(GanadInputError, match=f"inversion.{key}"):
        validate_inversion(cfg)


def test_old_run_configs_without_new_keys_still_validate():
    validate_inversion(OmegaConf.create({"name": "anogan", "eps": 0.05, "n_max": 10}))


def test_batchnorm_folding_keeps_the_function_and_the_weights():
    from ganad_cli.inversion.anogan import fold_batchnorm, folded_networks

    model = _model(BeatGANConfig)
    gen = torch.Generator().manual_seed(0)
    for m in model.modules():  # non-trivial running statistics and affine parameters
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen))
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
            m.weight.data.copy_(torch.randn(m.weight.shape, generator=gen))
    model.eval()
    z, x = torch.randn(5, LATENT), torch.randn(5, 1, LENGTH)
    g, e = fold_batchnorm(model.generator), fold_batchnorm(model.encoder)
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in g.modules())
    with torch.no_grad():
        torch.testing.assert_close(g(z), model.generator(z), atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(e(x), model.encoder(x), atol=1e-4, rtol=1e-4)
    original = model.generator
    with folded_networks(model):
        assert model.generator is not original
        again = model.generator
    assert model.generator is original
    with folded_networks(model):
        assert model.generator is again  # cached while the weights stay the same
    with torch.no_grad():
        original.project[0].weight.mul_(2.0)
    with folded_networks(model):
        assert model.generator is not again  # weights changed in place: folded again
        with torch.no_grad():
            torch.testing.assert_close(model.generator(z), original(z), atol=1e-4, rtol=1e-4)
    model.train()
    with folded_networks(model):  # training mode: BatchNorm uses batch statistics, no folding
        assert model.generator is original


def test_encoder_inversion_with_gan_only_model_is_caught_from_the_config():
    from ganad_cli.config import check_encoder_available

    for name in ("encoder", "encoder_then_anogan"):
        with pytest.raises(GanadInputError, match="has no encoder.*beatgan"):
            check_encoder_available(OmegaConf.create(_inv_cfg(name=name)), "wgan_gp")
    with pytest.raises(GanadInputError, match="has no encoder"):
        check_encoder_available(OmegaConf.create(_inv_cfg(init="encoder")), "gan")
    check_encoder_available(OmegaConf.create(_inv_cfg(name="encoder")), "beatgan")
    check_encoder_available(OmegaConf.create(_inv_cfg(name="anogan")), "wgan_gp")
