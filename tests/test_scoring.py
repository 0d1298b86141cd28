"""Score components, combination (weighted / SVM / single), thresholds, metrics, and the
label-permutation test: test labels never reach the fitted detector."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from sklearn.svm import SVC, OneClassSVM

from ganad_cli.errors import GanadInputError
from ganad_cli.inversion.anogan import InversionResult
from ganad_cli.metrics import detection_metrics
from ganad_cli.models import build_model
from ganad_cli.scoring.combine import FittedScore, fit_combination, fit_svm, simplex_grid
from ganad_cli.scoring.components import compute_components, feature_layers
from ganad_cli.scoring.threshold import fit_threshold

SHAPE = (1, 64)


def _score_cfg(**kw):
    base = dict(
        components=["residual"],
        residual_norm="l1",
        combine="weighted",
        grid_step=0.1,
        objective="auroc",
        standardize=True,
        rbf_bandwidth=1.0,
        feature_layer=-1,
        discriminator_center="none",
        svm_c=1.0,
        svm_nu=0.1,
        svm_gamma="scale",
    )
    base.update(kw)
    return OmegaConf.create(base)


@pytest.fixture(scope="module")
def models(compose_train):
    torch.manual_seed(0)
    out = {}
    for name in ("wgan_gp", "ganomaly", "gan"):
        cfg = compose_train([f"model={name}", "model.latent_dim=8", "model.base_channels=8"])
        out[name] = build_model(cfg.model, SHAPE).eval()
    return out


def _inversion(model, n: int = 6) -> tuple[torch.Tensor, InversionResult]:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, *SHAPE, generator=g)
    z = torch.randn(n, model.latent_dim, generator=g)
    with torch.no_grad():
        x_hat = model.decode(z)
    zeros = torch.zeros(n)
    return x, InversionResult(z, x_hat, zeros.long(), zeros.bool(), zeros)


# ------------------------------------------------------------------------------ components


def test_residual_norms_match_hand_formulas(models):
    model = models["wgan_gp"]
    x, inv = _inversion(model)
    diff = (x - inv.x_hat).flatten(1)
    for norm, want in (
        ("l1", diff.abs().mean(1)),
        ("l2", diff.pow(2).mean(1)),
        ("rbf", 1 - torch.exp(-diff.pow(2).mean(1) / (2 * 0.7**2))),
    ):
        cfg = _score_cfg(residual_norm=norm, rbf_bandwidth=0.7)
        got = compute_components(model, x, inv, ["residual"], cfg)["residual"]
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-5)


def test_discriminator_component_orientation(models):
    # Wasserstein critic: negated critic value; GAN: BCE of D(x_hat) against 1 = softplus(-logit)
    for name, f in (("wgan_gp", lambda d: -d), ("gan", lambda d: torch.nn.functional.softplus(-d))):
        model = models[name]
        x, inv = _inversion(model)
        with torch.no_grad():
            d, _ = model.discriminate(inv.x_hat)
        got = compute_components(model, x, inv, ["discriminator"], _score_cfg())["discriminator"]
        np.testing.assert_allclose(got, f(d).numpy(), rtol=1e-5)


def test_feature_matching_on_a_chosen_layer(models):
    model = models["wgan_gp"]
    x, inv = _inversion(model)
    layers = feature_layers(model.discriminator)
    assert len(layers) >= 2
    with torch.no_grad():
        first = dict(model.discriminator.named_modules())[layers[0]]
        want = (first(x) - first(inv.x_hat)).abs().flatten(1).mean(1)
        _, fx = model.discriminate(x)
        _, fh = model.discriminate(inv.x_hat)
    cfg = _score_cfg(feature_layer=0)
    got = compute_components(model, x, inv, ["feature_matching"], cfg)["feature_matching"]
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-5)
    last = compute_components(model, x, inv, ["feature_matching"], _score_cfg())
    np.testing.assert_allclose(last["feature_matching"], (fx - fh).abs().mean(1).numpy(), rtol=1e-5)
    with pytest.raises(GanadInputError, match="score.feature_layer"):
        compute_components(model, x, inv, ["feature_matching"], _score_cfg(feature_layer=99))


def test_alad_feature_matching_is_its_dxx_score(compose_train):
    """ALAD's score (Zenati et al. 2018): |f_xx(x, x) - f_xx(x, x_hat)|, not D_xz features."""
    torch.manual_seed(0)
    cfg = compose_train(["model=alad", "model.latent_dim=8", "model.base_channels=8"])
    model = build_model(cfg.model, SHAPE).eval()
    x, inv = _inversion(model)
    with torch.no_grad():
        want = (model.d_xx(x, x)[1] - model.d_xx(x, inv.x_hat)[1]).abs().mean(1)
        _, f_xz = model.discriminate(x)
        _, f_xz_hat = model.discriminate(inv.x_hat)
    got = compute_components(model, x, inv, ["feature_matching"], _score_cfg())
    np.testing.assert_allclose(got["feature_matching"], want.numpy(), rtol=1e-5)
    generic = (f_xz - f_xz_hat).abs().mean(1).numpy()
    assert not np.allclose(got["feature_matching"], generic)


def test_latent_norm_and_latent_residual(models):
    model = models["ganomaly"]
    x, inv = _inversion(model)
    got = compute_components(model, x, inv, ["latent_norm", "latent_residual"], _score_cfg())
    mode = math.sqrt(model.latent_dim - 1)
    np.testing.assert_allclose(got["latent_norm"], (inv.z.norm(dim=1) - mode).abs(), rtol=1e-5)
    with torch.no_grad():
        want = (model.encode(x) - model.encode_reconstruction(inv.x_hat)).pow(2).sum(1)
    np.testing.assert_allclose(got["latent_residual"], want.numpy(), rtol=1e-5)
    # a model without a second encoder: one clear line naming the models that have one
    w = models["wgan_gp"]
    x, inv = _inversion(w)
    with pytest.raises(GanadInputError, match="latent_residual.*ganomaly"):
        compute_components(w, x, inv, ["latent_residual"], _score_cfg())


# ----------------------------------------------------------------------------- combination


def _toy(n_normal: int = 200, n_anom: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.r_[np.zeros(n_normal, int), np.ones(n_anom, int)]
    comps = {
        "residual": rng.normal(0, 1, len(labels)) + 2.5 * labels,  # informative
        "discriminator": rng.normal(5, 3, len(labels)),  # pure noise, other scale
    }
    return comps, labels


def test_simplex_grid():
    grid = simplex_grid(3, 0.25)
    assert len(grid) == math.comb(4 + 2, 2)
    np.testing.assert_allclose(grid.sum(1), 1.0)
    assert ((grid * 4) == np.round(grid * 4)).all()


def test_weighted_combination_standardises_on_normals_and_picks_the_informative_component():
    comps, labels = _toy()
    cfg = _score_cfg(components=["residual", "discriminator"], grid_step=0.05)
    fitted = fit_combination(comps, labels, cfg)
    normals = np.stack([comps["residual"], comps["discriminator"]], 1)[labels == 0]
    np.testing.assert_allclose(fitted.mean, normals.mean(0))
    np.testing.assert_allclose(fitted.std, normals.std(0))
    assert fitted.weights[0] > 0.8 and sum(fitted.weights) == pytest.approx(1.0)
    # no anomaly labels in validation: equal weights, nothing is fitted from labels
    none = fit_combination(comps, np.zeros_like(labels), cfg)
    assert none.weights == [0.5, 0.5]


def test_single_needs_exactly_one_component():
    comps, labels = _toy()
    cfg = _score_cfg(components=["residual", "discriminator"], combine="single")
    with pytest.raises(GanadInputError, match="exactly one"):
        fit_combination(comps, labels, cfg)
    one = fit_combination(comps, labels, _score_cfg(combine="single"))
    z = (comps["residual"] - one.mean[0]) / one.std[0]
    np.testing.assert_allclose(one.total(comps), z)


def test_discriminator_centering_on_validation_normals():
    comps, labels = _toy()
    cfg = _score_cfg(
        components=["discriminator"],
        combine="single",
        standardize=False,
        discriminator_center="abs",
    )
    fitted = fit_combination(comps, labels, cfg)
    c = comps["discriminator"][labels == 0].mean()
    assert fitted.center == pytest.approx([c])
    np.testing.assert_allclose(fitted.total(comps), np.abs(comps["discriminator"] - c))


@pytest.mark.parametrize("supervised", [True, False])
def test_svm_rebuilt_from_arrays_matches_sklearn(supervised):
    comps, labels = _toy()
    z = np.stack([comps["residual"], comps["discriminator"]], 1)
    z = (z - z.mean(0)) / z.std(0)
    fit_labels = labels if supervised else np.zeros_like(labels)
    params = fit_svm(z, fit_labels, _score_cfg())
    if supervised:
        ref = SVC(kernel="rbf", gamma="scale", class_weight="balanced").fit(z, labels)
        want = ref.decision_function(z[:50] + 0.3)
    else:
        ref = OneClassSVM(kernel="rbf", gamma="scale", nu=0.1).fit(z)
        want = -ref.decision_function(z[:50] + 0.3)  # higher = more anomalous
    assert params.kind == ("svc" if supervised else "one_class")
    np.testing.assert_allclose(params.decision(z[:50] + 0.3), want, rtol=1e-6, atol=1e-9)


def test_svm_detector_part_survives_weights_only_load():
    comps, labels = _toy()
    fitted = fit_combination(
        comps, labels, _score_cfg(components=["residual", "discriminator"], combine="svm")
    )
    buf = io.BytesIO()
    torch.save(fitted.to_dict(), buf)
    buf.seek(0)
    loaded = FittedScore.from_dict(torch.load(buf, weights_only=True))
    np.testing.assert_array_equal(loaded.total(comps), fitted.total(comps))
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(labels, loaded.total(comps)) > 0.9


# ------------------------------------------------------------------------------ thresholds


def test_thresholds():
    scores = np.array([0.1, 0.2, 0.3, 0.35, 0.6, 0.7, 0.9])
    labels = np.array([0, 0, 0, 0, 1, 1, 1])
    for name in ("val_fbeta", "val_mcc"):
        tau = fit_threshold(scores, labels, {"name": name, "beta": 1.0})
        assert 0.35 <= tau < 0.6  # separates perfectly, with score > tau = anomalous
    q = fit_threshold(scores, labels, {"name": "normal_quantile", "quantile": 0.5})
    assert q == pytest.approx(np.quantile([0.1, 0.2, 0.3, 0.35], 0.5))
    assert fit_threshold(scores, labels, {"name": "fixed", "value": 0.42}) == 0.42
    # beta > 1 favours recall: with an overlapping anomaly, tau drops below it
    scores2 = np.array([0.1, 0.2, 0.3, 0.5, 0.25, 0.7, 0.9])
    tau_f1 = fit_threshold(scores2, labels, {"name": "val_fbeta", "beta": 1.0})
    tau_f4 = fit_threshold(scores2, labels, {"name": "val_fbeta", "beta": 4.0})
    assert tau_f4 < 0.25 < tau_f1


# --------------------------------------------------------------------------------- metrics


def test_metrics_hand_example():
    labels = np.array([0, 0, 0, 1, 1])
    scores = np.array([0.1, 0.4, 0.35, 0.8, 0.3])
    classes = np.array(["N", "N", "N", "V", "S"])
    m = detection_metrics(labels, scores, tau=0.35, beta=2.0, classes=classes)
    # predictions (score > 0.35): 0 1 0 1 0 -> TP 1, FP 1, FN 1, TN 2
    assert m["confusion_matrix"] == [[2, 1], [1, 1]]
    assert m["precision"] == pytest.approx(0.5) and m["recall"] == pytest.approx(0.5)
    assert m["fbeta"] == pytest.approx(5 * 0.25 / (4 * 0.5 + 0.5))
    assert m["mcc"] == pytest.approx((1 * 2 - 1 * 1) / math.sqrt(2 * 2 * 3 * 3))
    assert m["balanced_accuracy"] == pytest.approx((0.5 + 2 / 3) / 2)
    assert m["auroc"] == pytest.approx(4 / 6)  # 0.8 beats 3 normals, 0.3 beats 1
    assert m["auprc"] == pytest.approx(0.5 * 1.0 + 0.5 * 0.5)  # AP: recall steps x precision
    pc = m["per_class"]
    assert pc["N"]["flagged_rate"] == pytest.approx(1 / 3)
    assert pc["V"]["flagged_rate"] == 1.0 and pc["S"]["flagged_rate"] == 0.0
    assert pc["V"]["auroc_vs_normal"] == 1.0
    assert pc["S"]["auroc_vs_normal"] == pytest.approx(1 / 3)


# ---------------------------------------------------------------------- label permutation


def test_permuting_test_labels_leaves_the_detector_byte_identical(
    compose_train, tmp_path: Path, monkeypatch
):
    """Two full training runs; the second sees the test split with its labels (and classes)
    permuted. detector.pt must be byte-identical, while test metrics change."""
    import ganad_cli.tasks.train as pipeline
    from ganad_cli.data.splits import make_splits

    def permuted(samples, cfg):
        splits = make_splits(samples, cfg)
        perm = np.random.default_rng(123).permutation(len(splits.test))
        splits.test.label = splits.test.label[perm]
        splits.test.cls = splits.test.cls[perm]
        return splits

    overrides = [
        "experiment=smoke",
        "score=svm",
        "threshold=val_mcc",
        "data.n_normal=400",
        "data.n_per_anomaly=20",
        "trainer.max_epochs=1",
        "inversion.n_max=5",
        "logger=none",
        "quiet=true",
    ]
    cfg = compose_train(overrides)
    blobs, metrics = [], []
    for i in range(2):
        if i == 1:
            monkeypatch.setattr(pipeline, "make_splits", permuted)
        run = tmp_path / f"run{i}"
        metrics.append(pipeline.run_training(cfg, run))
        blobs.append((run / "detector.pt").read_bytes())
    assert blobs[0] == blobs[1]
    assert metrics[0]["val/auroc"] == metrics[1]["val/auroc"]
    assert metrics[0]["test/auroc"] != metrics[1]["test/auroc"]


def test_svm_minmax_scaling_by_the_whole_validation_range_and_kept_for_test():
    """score.svm_scaling=minmax (ecgan encoder_gan_module.py:196-202): min and max over every
    validation window, anomalies included; test values are mapped with those, not refitted."""
    comps = {"residual": np.array([1.0, 2.0, 3.0, 5.0]), "latent_norm": np.array([-2.0, 0, 2, 6])}
    labels = np.array([0, 0, 1, 1])
    cfg = _score_cfg(components=["residual", "latent_norm"], combine="svm")
    minmax = fit_combination(comps, labels, OmegaConf.merge(cfg, {"svm_scaling": "minmax"}))
    assert minmax.mean == [1.0, -2.0] and minmax.std == [4.0, 8.0]
    np.testing.assert_allclose(minmax.standardized(comps)[:, 0], [0, 0.25, 0.5, 1])
    np.testing.assert_allclose(minmax.standardized(comps)[:, 1], [0, 0.25, 0.5, 1])
    test = {"residual": np.array([9.0]), "latent_norm": np.array([-6.0])}
    np.testing.assert_allclose(minmax.standardized(test), [[2.0, -0.5]])
    standard = fit_combination(comps, labels, cfg)  # today's default: validation normals
    assert standard.mean == [1.5, -1.0] and standard.std == [0.5, 1.0]
    # the other combines keep standardising on the normals (svm_scaling names the SVM's inputs)
    weighted = OmegaConf.merge(cfg, {"combine": "weighted", "svm_scaling": "minmax"})
    assert fit_combination(comps, labels, weighted).mean == [1.5, -1.0]


def test_svm_minmax_scaling_on_a_constant_component_keeps_it_finite():
    comps = {"residual": np.array([1.0, 2.0, 3.0, 5.0]), "latent_norm": np.full(4, 0.7)}
    labels = np.array([0, 0, 1, 1])
    cfg = _score_cfg(components=["residual", "latent_norm"], combine="svm", svm_scaling="minmax")
    fitted = fit_combination(comps, labels, cfg)
    assert fitted.mean[1] == pytest.approx(0.7) and fitted.std[1] == 1.0
    assert np.isfinite(fitted.total(comps)).all()
