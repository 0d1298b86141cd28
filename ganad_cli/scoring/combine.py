"""Combine components into one score, fitted on validation only.

1. Centring (optional, discriminator only, f-AnoGAN style): subtract the mean over validation
   normals (`mean`), or take the absolute deviation from it (`abs`).
2. Standardisation with mean/std of validation normals (for the SVM with
   score.svm_scaling=minmax: min-max scaling to [0, 1] by the whole validation set's range).
3. `weighted`: L_total = sum_i lambda_i L_i with sum lambda_i = 1 (survey eqs. 7, 9); lambda from a
   grid over the simplex maximising `score.objective` on validation labels.
   `svm`: RBF SVC on the standardised component vector when validation has both labels
   (Lueer et al. 2023), otherwise a OneClassSVM on validation normals.
   `single`: exactly one component.
   `fixed`: the weights given in `score.weights` (a paper's own score, e.g. f-AnoGAN's
   residual + kappa * feature MSE with score.standardize=false); no label is used.

The fitted SVM is kept as plain arrays (support vectors, dual coefficients, intercept, gamma) and
its decision function is rebuilt from them, so the detector loads with weights_only=True.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.svm import SVC, OneClassSVM

from ganad_cli.config.choices import CENTERINGS, COMBINES  # noqa: F401 (re-exported)
from ganad_cli.errors import GanadInputError
from ganad_cli.scoring.threshold import best_threshold

log = logging.getLogger("ganad")


@dataclass
class SVMParams:
    """An RBF SVM as arrays: f(v) = sign * (sum_i dual_coef_i k(sv_i, v) + intercept)."""

    support_vectors: list[list[float]]
    dual_coef: list[float]
    intercept: float
    gamma: float
    sign: float  # +1: SVC (class 1 = anomalous), -1: OneClassSVM (positive = inlier)
    kind: str  # "svc" or "one_class"

    def decision(self, v: np.ndarray) -> np.ndarray:
        k = rbf_kernel(v, np.asarray(self.support_vectors, dtype=np.float64), gamma=self.gamma)
        return self.sign * (k @ np.asarray(self.dual_coef, dtype=np.float64) + self.intercept)


@dataclass
class FittedScore:
    components: list[str]
    mean: list[float]
    std: list[float]
    weights: list[float]
    combine: str = "weighted"
    center: list[float] = field(default_factory=list)  # per component, subtracted before std
    center_abs: list[bool] = field(default_factory=list)  # |value - center| instead of shift
    svm: dict | None = None  # SVMParams as a dict

    def centered(self, comps: dict[str, np.ndarray]) -> np.ndarray:
        m = np.stack([comps[c] for c in self.components], axis=1).astype(np.float64)
        if self.center:
            m = m - np.asarray(self.center)
            m = np.where(np.asarray(self.center_abs, dtype=bool), np.abs(m), m)
        return m

    def standardized(self, comps: dict[str, np.ndarray]) -> np.ndarray:
        return (self.centered(comps) - np.asarray(self.mean)) / np.asarray(self.std)

    def total(self, comps: dict[str, np.ndarray]) -> np.ndarray:
        z = self.standardized(comps)
        if self.svm is not None:
            return SVMParams(**self.svm).decision(z)
        return z @ np.asarray(self.weights)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> FittedScore:
        return cls(**d)


def simplex_grid(k: int, step: float) -> np.ndarray:
    """All weight vectors with k entries, multiples of step, summing to 1."""
    n = round(1 / step)
    rows = [c for c in itertools.product(range(n + 1), repeat=k - 1) if sum(c) <= n]
    return np.array([[*c, n - sum(c)] for c in rows], dtype=np.float64) / n


def objective_value(name: str, labels: np.ndarray, scores: np.ndarray, beta: float = 1.0) -> float:
    if name == "auroc":
        return float(roc_auc_score(labels, scores))
    if name == "auprc":
        return float(average_precision_score(labels, scores))
    return best_threshold(scores, labels, "mcc" if name == "mcc" else "fbeta", beta)[1]


def fit_svm(z: np.ndarray, labels: np.ndarray, cfg: Any) -> SVMParams:
    """RBF SVC with both labels, OneClassSVM on normals otherwise; returned as plain arrays.

    The rebuilt decision function is checked against scikit-learn's on the fitting data."""
    has_both = 0 < labels.sum() < len(labels)
    if has_both:
        model: SVC | OneClassSVM = SVC(
            kernel="rbf",
            C=float(cfg.get("svm_c", 1.0)),
            gamma=cfg.get("svm_gamma", "scale"),
            class_weight="balanced",
            random_state=0,
        ).fit(z, labels)
        sign, kind, fit_on = 1.0, "svc", z
    else:
        fit_on = z[labels == 0] if (labels == 0).any() else z
        model = OneClassSVM(
            kernel="rbf", nu=float(cfg.get("svm_nu", 0.1)), gamma=cfg.get("svm_gamma", "scale")
        ).fit(fit_on)
        sign, kind = -1.0, "one_class"
    params = SVMParams(
        support_vectors=model.support_vectors_.tolist(),
        dual_coef=model.dual_coef_[0].tolist(),
        intercept=float(model.intercept_[0]),
        gamma=float(model._gamma),
        sign=sign,
        kind=kind,
    )
    expected = sign * model.decision_function(z)
    if not np.allclose(params.decision(z), expected, rtol=1e-6, atol=1e-8):
        raise RuntimeError("rebuilt SVM decision function differs from scikit-learn's")
    return params


def _scaling(
    values: np.ndarray, normal: np.ndarray, combine: str, cfg: Any
) -> tuple[list[float], list[float]]:
    """(shift, scale) per component: mean and std of the validation normals, or, for the SVM
    with score.svm_scaling=minmax, min and max - min of the whole validation set (ecgan fits
    its MinMaxTransformation on every validation beat, encoder_gan_module.py:196-202, 275, and
    applies those to test, anomaly_detection/detector/reconstruction_detector.py:157-175)."""
    if combine == "svm" and cfg.get("svm_scaling", "standard") == "minmax":
        shift, scale = values.min(0), values.max(0) - values.min(0)
    else:
        shift, scale = values[normal].mean(0), values[normal].std(0)
    return shift.tolist(), np.where(scale > 1e-12, scale, 1.0).tolist()


def fit_combination(comps: dict[str, np.ndarray], labels: np.ndarray, cfg: Any) -> FittedScore:
    """Fit on validation only: centring and standardisation on its normals, weights/SVM on its
    labels (a one-class SVM, or equal weights, when it has no anomalies)."""
    names = list(cfg.components)
    combine = cfg.get("combine", "weighted")
    if combine not in COMBINES:
        raise GanadInputError(
            f"config key 'score.combine' must be one of {COMBINES}, got {combine!r}"
        )
    if combine == "single" and len(names) != 1:
        raise GanadInputError(
            f"config key 'score.components' must name exactly one component for "
            f"score.combine=single, got {names}"
        )
    labels = np.asarray(labels).astype(int)
    normal = labels == 0 if (labels == 0).any() else np.ones(len(labels), dtype=bool)
    centering = cfg.get("discriminator_center", "none")
    raw = np.stack([comps[c] for c in names], axis=1).astype(np.float64)
    is_d = np.array([c == "discriminator" and centering != "none" for c in names])
    center = np.where(is_d, raw[normal].mean(0), 0.0)
    fitted = FittedScore(
        names,
        [0.0] * len(names),
        [1.0] * len(names),
        [1.0 / len(names)] * len(names),
        combine=combine,
        center=center.tolist(),
        center_abs=(is_d & (centering == "abs")).tolist(),
    )
    if cfg.get("standardize", True):
        fitted.mean, fitted.std = _scaling(fitted.centered(comps), normal, combine, cfg)
    z = fitted.standardized(comps)
    if combine == "svm":
        fitted.svm = asdict(fit_svm(z, labels, cfg))
        fitted.weights = []  # the SVM replaces the linear weights
        return fitted
    if combine == "fixed":  # the paper's own weights (f-AnoGAN: 1 and kappa), nothing fitted
        fitted.weights = [float(v) for v in cfg.get("weights")]
        return fitted
    if combine == "equal":  # label-free: the standardisation above saw validation normals only
        return fitted
    has_both = 0 < labels.sum() < len(labels)
    if len(names) > 1 and not has_both:
        log.warning(
            "score.combine=weighted: validation has no labelled anomalies, so lambda cannot be "
            "fitted; using equal weights (set data.val_anomaly_fraction > 0, or score=svm for a "
            "one-class SVM)"
        )
    if len(names) == 1 or not has_both:
        return fitted
    best_w, best_v = fitted.weights, -np.inf
    objective = cfg.get("objective", "auroc")
    for w in simplex_grid(len(names), cfg.get("grid_step", 0.05)):
        v = objective_value(objective, labels, z @ w)
        if v > best_v + 1e-12:
            best_w, best_v = w.tolist(), v
    fitted.weights = best_w
    return fitted
