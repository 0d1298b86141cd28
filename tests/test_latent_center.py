"""The latent_norm component: chi mode for AnoGAN z, the validation normals' median norm for
encoder codes (score.latent_center=auto), or ecgan's signed norm - histogram mode of the
training codes' norms (ecgan_mode); fitted with the detector."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganad_cli.config import validate_config
from ganad_cli.data.base import Samples
from ganad_cli.errors import GanadInputError
from ganad_cli.evaluation.fit import fit_detector
from ganad_cli.models import build_model
from ganad_cli.scoring.latent_center import histogram_mode

SHAPE = (1, 64)
TINY = ["model.latent_dim=6", "model.base_channels=8"]


def _samples(n: int = 24, seed: int = 0) -> Samples:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, *SHAPE, generator=g).numpy().astype(np.float32)
    label = np.r_[np.zeros(n - 6, int), np.ones(6, int)]
    cls = np.where(label == 1, "V", "N")
    return Samples(x=x, label=label, cls=cls, group=np.zeros(n, int))


def _fit(
    compose_train,
    model_name: str,
    inversion: str,
    score: str = "latent_norm",
    more: tuple[str, ...] = (),
    train: Samples | None = None,
):
    extra = ["inversion.n_max=2"] if inversion == "anogan" else []
    cfg = compose_train(
        [f"model={model_name}", f"inversion={inversion}", f"score={score}", *TINY, *extra, *more]
    )
    torch.manual_seed(0)
    model = build_model(cfg.model, SHAPE).eval()
    val = _samples()
    detector, res = fit_detector(model, val, cfg, train)
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


def test_histogram_mode_is_the_left_edge_of_the_fullest_of_50_bins():
    # 50 bins over [0, 50]: width 1; bin [10, 11) holds three values, so the mode is 10 (its
    # left edge, as ecgan indexes numpy's bin edges; the bin centre would be 10.5)
    assert histogram_mode(np.array([0.0, 10.0, 10.5, 10.9, 50.0])) == 10.0
    # a tie: the first fullest bin (argmax)
    assert histogram_mode(np.array([0.0, 0.2, 30.0, 30.5, 50.0])) == 0.0
    # 2 bins over [2, 3.5]: edges 2, 2.75, 3.5; 3.0 and 3.5 fill the second
    assert histogram_mode(np.array([2.0, 3.0, 3.5]), bins=2) == 2.75


def test_ecgan_mode_centres_on_the_training_codes_signed(compose_train):
    train = _samples(40, seed=1)
    detector, res, val = _fit(
        compose_train,
        "beta_vaegan",
        "encoder",
        more=("score.latent_center=ecgan_mode",),
        train=train,
    )
    train_norms = detector.invert(torch.from_numpy(train.x)).z.norm(dim=1).double().numpy()
    counts, edges = np.histogram(train_norms, bins=50)
    want = float(edges[np.argmax(counts)])
    assert detector.score_cfg["latent_norm_center"] == pytest.approx(want, rel=1e-9)
    val_norms = res["inv"].z.norm(dim=1).numpy()
    assert want != pytest.approx(histogram_mode(val_norms))  # not the validation codes'
    got = res["comps"]["latent_norm"]
    np.testing.assert_allclose(got, val_norms - want, rtol=1e-5, atol=1e-6)
    assert (got < 0).any() and (got > 0).any()  # signed, not |norm - mode|
    x = torch.from_numpy(val.x[:3])  # new data: the stored centre, nothing refitted
    comps = detector.components(x, detector.invert(x))
    np.testing.assert_allclose(comps["latent_norm"], val_norms[:3] - want, rtol=1e-5, atol=1e-6)


def test_ecgan_mode_needs_training_beats_and_the_encoder(compose_train):
    with pytest.raises(GanadInputError, match=r"score\.latent_center.*training beats"):
        _fit(compose_train, "beta_vaegan", "encoder", more=("score.latent_center=ecgan_mode",))
    for overrides, key in (
        (["inversion=anogan", "score.latent_center=ecgan_mode"], "score.latent_center"),
        (["score.latent_center=mode"], "score.latent_center"),
        (["score.svm_scaling=range"], "score.svm_scaling"),
    ):
        cfg = compose_train(["model=beta_vaegan", "score=latent_norm", *overrides])
        with pytest.raises(GanadInputError, match=key.replace(".", r"\.")):
            validate_config(cfg)
    ok = ["model=beta_vaegan", "score=latent_norm", "score.latent_center=ecgan_mode"]
    validate_config(compose_train([*ok, "inversion=encoder"]))


def test_the_betavaegan_presets_score_as_ecgan_and_the_default_as_before(compose_train):
    for preset in ("betavaegan_kachuee", "betavaegan_mitbih"):
        sc = compose_train([f"experiment={preset}"]).score
        assert (sc.latent_center, sc.svm_scaling) == ("ecgan_mode", "minmax")
    sc = compose_train([]).score
    assert (sc.latent_center, sc.svm_scaling) == ("auto", "standard")
