"""Metrics and thresholds cross-checked against examples computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from omegaconf import OmegaConf

from ganad_cli.metrics import detection_metrics
from ganad_cli.scoring.combine import fit_combination, simplex_grid
from ganad_cli.scoring.threshold import best_threshold, fit_threshold


def test_metrics_match_hand_computation():
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 0])
    scores = np.array([0.1, 0.2, 0.3, 0.8, 0.7, 0.9, 0.4, 0.05])
    # tau = 0.5 -> predictions: 0 0 0 1 1 1 0 0 ; TP=2 FP=1 FN=1 TN=4
    m = detection_metrics(labels, scores, tau=0.5, classes=np.array(list("NNNNVVSN")))
    assert m["confusion_matrix"] == [[4, 1], [1, 2]]
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["mcc"] == pytest.approx((2 * 4 - 1 * 1) / math.sqrt(3 * 3 * 5 * 5))
    assert m["balanced_accuracy"] == pytest.approx((2 / 3 + 4 / 5) / 2)
    # AUROC: correctly ranked (anomaly, normal) pairs: 0.7 beats 4 of 5, 0.9 beats 5, 0.4 beats 4
    assert m["auroc"] == pytest.approx((4 + 5 + 4) / 15)
    assert m["per_class"]["V"]["flagged_rate"] == 1.0
    assert m["per_class"]["S"]["flagged_rate"] == 0.0
    assert m["per_class"]["S"]["auroc_vs_normal"] == pytest.approx(4 / 5)


def test_best_threshold_fbeta_and_mcc_separate_perfectly():
    scores = np.array([0.1, 0.2, 0.3, 0.6, 0.7])
    labels = np.array([0, 0, 0, 1, 1])
    tau, f1 = best_threshold(scores, labels, "fbeta")
    assert f1 == pytest.approx(1.0) and 0.3 < tau < 0.6
    tau, mcc = best_threshold(scores, labels, "mcc")
    assert mcc == pytest.approx(1.0) and 0.3 < tau < 0.6


def test_normal_quantile_uses_only_normals():
    scores = np.array([1.0, 2.0, 3.0, 4.0, 100.0])
    labels = np.array([0, 0, 0, 0, 1])
    cfg = {"name": "normal_quantile", "quantile": 0.5}
    assert fit_threshold(scores, labels, cfg) == pytest.approx(2.5)


def test_simplex_grid_sums_to_one():
    grid = simplex_grid(3, 0.25)
    assert np.allclose(grid.sum(1), 1.0)
    assert len(grid) == 15  # C(4 + 2, 2)


def test_weighted_combination_picks_informative_component():
    rng = np.random.default_rng(0)
    labels = np.r_[np.zeros(200), np.ones(50)].astype(int)
    informative = rng.normal(size=250) + 3 * labels
    noise = rng.normal(size=250)
    cfg = OmegaConf.create(
        {
            "components": ["a", "b"],
            "combine": "weighted",
            "grid_step": 0.1,
            "objective": "auroc",
            "standardize": True,
        }
    )
    fitted = fit_combination({"a": noise, "b": informative}, labels, cfg)
    assert fitted.weights[1] > 0.8
    # standardisation stats come from the normals only
    assert fitted.mean[1] == pytest.approx(informative[labels == 0].mean())
