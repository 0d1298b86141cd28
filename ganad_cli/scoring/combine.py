"""Combine components into one score: standardise, then weight (grid over the simplex)."""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from ganad_cli.scoring.threshold import best_threshold


@dataclass
class FittedScore:
    components: list[str]
    mean: list[float]
    std: list[float]
    weights: list[float]

    def total(self, comps: dict[str, np.ndarray]) -> np.ndarray:
        return self.standardized(comps) @ np.asarray(self.weights)

    def standardized(self, comps: dict[str, np.ndarray]) -> np.ndarray:
        m = np.stack([comps[c] for c in self.components], axis=1).astype(np.float64)
        return (m - np.asarray(self.mean)) / np.asarray(self.std)

    def to_dict(self) -> dict:
        return asdict(self)


def simplex_grid(k: int, step: float) -> np.ndarray:
    """All weight vectors with k entries, multiples of step, summing to 1."""
    n = round(1 / step)
    rows = [c for c in itertools.product(range(n + 1), repeat=k - 1) if sum(c) <= n]
    return np.array([[*c, n - sum(c)] for c in rows], dtype=np.float64) / n


def _objective(name: str, labels: np.ndarray, scores: np.ndarray, beta: float = 1.0) -> float:
    if name == "auroc":
        return float(roc_auc_score(labels, scores))
    if name == "auprc":
        return float(average_precision_score(labels, scores))
    return best_threshold(scores, labels, "mcc" if name == "mcc" else "fbeta", beta)[1]


def fit_combination(comps: dict[str, np.ndarray], labels: np.ndarray, cfg: Any) -> FittedScore:
    """Fit on validation only: standardisation on its normals, weights on its labels."""
    names = list(cfg.components)
    m = np.stack([comps[c] for c in names], axis=1).astype(np.float64)
    normals = m[labels == 0] if (labels == 0).any() else m
    if cfg.get("standardize", True):
        mean, std = normals.mean(0), normals.std(0)
        std = np.where(std > 1e-12, std, 1.0)
    else:
        mean, std = np.zeros(len(names)), np.ones(len(names))
    fitted = FittedScore(names, mean.tolist(), std.tolist(), [1.0 / len(names)] * len(names))
    has_both = 0 < labels.sum() < len(labels)
    if len(names) == 1 or cfg.get("combine", "weighted") == "single" or not has_both:
        return fitted
    z = fitted.standardized(comps)
    best_w, best_v = fitted.weights, -np.inf
    for w in simplex_grid(len(names), cfg.get("grid_step", 0.05)):
        v = _objective(cfg.get("objective", "auroc"), labels, z @ w)
        if v > best_v + 1e-12:
            best_w, best_v = w.tolist(), v
    fitted.weights = best_w
    return fitted
