"""The latent_norm component: chi mode for AnoGAN z, the validation normals' median norm for
encoder codes (fitted with the detector, as ecgan centres on its training latents)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganad_cli.data.base import Samples
from ganad_cli.evaluation.fit import fit_detector
from ganad_cli.models import build_model

SHAPE = (1, 64)
TINY = ["model.latent_dim=6", "model.base_channels=8"]


def _samples(n: int = 24) -> Samples:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, *SHAPE, generator=g).numpy().astype(np.float32)
    label = np.r_[np.zeros(n - 6, int), np.ones(6, int)]
    cls = np.where(label == 1, "V", "N")
    return Samples(x=x, label=label, cls=cls, group=np.zeros(n, int))


def _fit(compose_train, model_name: str, inversion: str, score: str = "latent_norm"):
    extra = ["inversion.n_max=2"] if inversion == "anogan" else []
    cfg = compose_train(
        [f"model={model_name}", f"inversion={inversion}", f"score={score}", *TINY, *extra]
    )
    torch.manual_seed(0)
    model = build_model(cfg.model, SHAPE).eval()
    val = _samples()
    detector, res = fit_detector(model, val, cfg)
    return detector, res, val


def test_encoder_codes_centre_on_the_validation_normals(compose_train):
    detector, res, val = _fit(compose_train, "beta_vaegan", "encoder")
    norms = res["inv"].z.norm(dim=1).numpy()
    want = float(np.median(norms[val.label == 0]))
    assert detector.score_cfg["latent_norm_center"] == pytest.approx(want, rel=1e-6)
    np.testing.assert_allclose(res["comps"]["latent_norm"], np.abs(norms - want), rtol=1e-5)
    # saved with the detector: scoring new data uses the same centre
    x = torch.from_numpy(val.x[:3])
    comps = detector.components(x, detector.invert(x))
    np.testing.assert_allclose(comps["latent_norm"], np.abs(norms[:3] - want), rtol=1e-5)


def test_anogan_z_keeps_the_chi_mode_and_only_latent_norm_fits_a_centre(compose_train):
    unused, _, _ = _fit(compose_train, "beta_vaegan", "encoder", score="residual")
    assert "latent_norm_center" not in unused.score_cfg
    encoder, _, _ = _fit(compose_train, "beta_vaegan", "encoder")
    assert "latent_norm_center" in encoder.score_cfg
    detector, res, _ = _fit(compose_train, "wgan_gp", "anogan")
    assert "latent_norm_center" not in detector.score_cfg
    norms = res["inv"].z.norm(dim=1).numpy()
    np.testing.assert_allclose(
        res["comps"]["latent_norm"], np.abs(norms - math.sqrt(6 - 1)), rtol=1e-5
    )
