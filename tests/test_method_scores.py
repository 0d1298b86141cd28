"""Each method scores as its paper does by default (f-AnoGAN, GANomaly, BiGAN/ALAD, AnoGAN), and
the combined score stays one override away."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganad_cli.config import validate_config
from ganad_cli.errors import GanadInputError
from ganad_cli.inversion.anogan import InversionResult, anogan_invert
from ganad_cli.inversion.criteria import dissimilarity
from ganad_cli.models import build_model
from ganad_cli.scoring.combine import fit_combination
from ganad_cli.scoring.components import compute_components

SHAPE = (1, 64)
TINY = ["model.latent_dim=8", "model.base_channels=8"]


def _model(compose_train, name: str, *extra: str):
    torch.manual_seed(0)
    cfg = compose_train([f"model={name}", *TINY, *extra])
    return cfg, build_model(cfg.model, SHAPE).eval()


def _inversion(model, n: int = 6) -> tuple[torch.Tensor, InversionResult]:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, *SHAPE, generator=g)
    with torch.no_grad():
        z = model.encode(x) if model.has_encoder else torch.randn(n, model.latent_dim, generator=g)
        x_hat = model.decode(z)
    zeros = torch.zeros(n)
    return x, InversionResult(z, x_hat, zeros.long(), zeros.bool(), zeros)


def _total(model, cfg, x, inv) -> np.ndarray:
    comps = compute_components(model, x, inv, list(cfg.score.components), cfg.score)
    labels = np.r_[np.zeros(len(x) - 2, int), np.ones(2, int)]
    return fit_combination(comps, labels, cfg.score).total(comps)


def test_fanogan_default_is_the_papers_izif_score(compose_train):
    """A(x) = mean (x - G(E(x)))^2 + kappa * mean (f(x) - f(G(E(x))))^2, kappa = 1, raw."""
    cfg, model = _model(compose_train, "fanogan")
    assert cfg.score.name == "fanogan" and cfg.inversion.name == "encoder"
    validate_config(cfg)
    x, inv = _inversion(model)
    with torch.no_grad():
        fx, fh = model.discriminate(x)[1], model.discriminate(inv.x_hat)[1]
    want = (x - inv.x_hat).pow(2).flatten(1).mean(1) + 1.0 * (fx - fh).pow(2).mean(1)
    np.testing.assert_allclose(_total(model, cfg, x, inv), want.numpy(), rtol=1e-5)
    # the combined, label-fitted score is still there when asked for
    combined, _ = _model(compose_train, "fanogan", "score=combined")
    assert combined.score.combine == "weighted"


def test_fixed_weights_need_one_per_component(compose_train):
    cfg = compose_train(["model=fanogan", "score.weights=[1.0]"])
    with pytest.raises(GanadInputError, match=r"score\.weights"):
        validate_config(cfg)


def test_ganomaly_default_is_the_latent_difference(compose_train):
    cfg, model = _model(compose_train, "ganomaly")
    assert list(cfg.score.components) == ["latent_residual"]
    x, inv = _inversion(model)
    with torch.no_grad():
        want = (model.encode(x) - model.encode_reconstruction(inv.x_hat)).pow(2).sum(1)
    got = compute_components(model, x, inv, ["latent_residual"], cfg.score)["latent_residual"]
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-5)


@pytest.mark.parametrize("name", ["bigan", "alad"])
def test_bigan_scores_on_the_pair_x_and_its_code(compose_train, name):
    """Zenati et al. 2018: the discriminator score is BCE(D(x, E(x)), real); BiGAN's feature
    matching compares f(x, E(x)) with f(G(E(x)), E(x))."""
    cfg, model = _model(compose_train, name)
    x, inv = _inversion(model)
    with torch.no_grad():
        z = model.encoder(x)
        logit, f_x = model.discriminator(x, z)
        _, f_hat = model.discriminator(inv.x_hat, z)
    got = compute_components(model, x, inv, ["discriminator", "feature_matching"], cfg.score)
    want_d = torch.nn.functional.softplus(-logit)
    np.testing.assert_allclose(got["discriminator"], want_d.numpy(), rtol=1e-5)
    if name == "bigan":  # ALAD keeps its D_xx feature score (tests/test_scoring.py)
        want_f = (f_x - f_hat).abs().mean(1)
        np.testing.assert_allclose(got["feature_matching"], want_f.numpy(), rtol=1e-5)


def test_schlegl_mapping_loss_by_hand(compose_train):
    _, model = _model(compose_train, "gan")
    x, inv = _inversion(model)
    with torch.no_grad():
        f_x, f_h = model.discriminate(x)[1], model.discriminate(inv.x_hat)[1]
        got = dissimilarity(model, x, inv.x_hat, "schlegl", lam=0.1)
    res = (x - inv.x_hat).abs().flatten(1).mean(1)
    feat = (f_x - f_h).abs().mean(1)
    np.testing.assert_allclose(got.numpy(), (0.9 * res + 0.1 * feat).numpy(), rtol=1e-5)


def test_anogan_search_minimises_the_schlegl_loss(compose_train):
    cfg, model = _model(compose_train, "gan")
    assert cfg.inversion.name == "anogan" and cfg.inversion.similarity == "schlegl"
    assert cfg.inversion.schlegl_lambda == 0.1
    plain = compose_train(["model=gan", "inversion=anogan"])
    assert plain.inversion.similarity == "l1"  # the user's explicit choice wins
    x, _ = _inversion(model, n=4)
    res = anogan_invert(model, x, eps=1e-9, n_max=5, lr=0.05, similarity="schlegl")
    with torch.no_grad():
        again = dissimilarity(model, x, model.decode(res.z), "schlegl", lam=0.1)
        start = dissimilarity(model, x, model.decode(_starts(model, 4)), "schlegl")
    np.testing.assert_allclose(res.similarity.numpy(), again.numpy(), rtol=1e-5)
    assert (res.similarity < start).all()


def _starts(model, n):
    from ganad_cli.inversion.anogan import prior_starts

    return prior_starts(model, n)[0]


def test_schlegl_needs_a_discriminator(compose_train):
    cfg = compose_train(["model=autoencoder", "inversion=anogan", "inversion.similarity=schlegl"])
    with pytest.raises(GanadInputError, match=r"inversion\.similarity"):
        validate_config(cfg)
