"""Choose tau on validation scores only. A sample is anomalous when score > tau (survey eq. 8)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

log = logging.getLogger("ganad")


def _tau_below(scores: np.ndarray, cut: float) -> float:
    """tau such that `score > tau` equals `score >= cut` on these scores."""
    lower = scores[scores < cut]
    return float((lower.max() + cut) / 2) if len(lower) else float(cut - 1e-12)


def best_threshold(
    scores: np.ndarray, labels: np.ndarray, objective: str = "fbeta", beta: float = 1.0
) -> tuple[float, float]:
    """(tau, objective value) maximising F-beta or MCC over all cuts of the scores."""
    if objective == "fbeta":
        precision, recall, cuts = precision_recall_curve(labels, scores)
        precision, recall = precision[:-1], recall[:-1]
        b2 = beta**2
        denom = b2 * precision + recall
        values = np.where(
            denom > 0, (1 + b2) * precision * recall / np.where(denom > 0, denom, 1), 0.0
        )
    elif objective == "mcc":
        fpr, tpr, cuts = roc_curve(labels, scores, drop_intermediate=False)
        fpr, tpr, cuts = fpr[1:], tpr[1:], cuts[1:]
        pos, neg = labels.sum(), len(labels) - labels.sum()
        tp, fp = tpr * pos, fpr * neg
        fn, tn = pos - tp, neg - fp
        denom = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        values = np.where(denom > 0, (tp * tn - fp * fn) / np.where(denom > 0, denom, 1), 0.0)
    else:
        raise ValueError(f"unknown objective {objective!r}")
    i = int(np.argmax(values))
    return _tau_below(scores, float(cuts[i])), float(values[i])


def fit_threshold(scores: np.ndarray, labels: np.ndarray, cfg: Any) -> float:
    name = cfg["name"]
    if name == "fixed":
        return float(cfg["value"])
    has_both = 0 < labels.sum() < len(labels)
    if name != "normal_quantile" and not has_both:
        log.warning(
            "threshold=%s needs labelled anomalies in validation (data.val_anomaly_fraction > 0); "
            "using the %.3g-quantile of validation normal scores instead",
            name,
            cfg.get("quantile", 0.95),
        )
    if name == "normal_quantile" or not has_both:
        normals = scores[labels == 0] if (labels == 0).any() else scores
        return float(np.quantile(normals, cfg.get("quantile", 0.95)))
    if name == "val_fbeta":
        return best_threshold(scores, labels, "fbeta", cfg.get("beta", 1.0))[0]
    if name == "val_mcc":
        return best_threshold(scores, labels, "mcc")[0]
    raise ValueError(f"unknown threshold {name!r}")
