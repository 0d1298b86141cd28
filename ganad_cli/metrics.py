"""Detection metrics from continuous scores and thresholded predictions (scikit-learn)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    fbeta_score,
    matthews_corrcoef,
    precision_score,
    recall_score,
    roc_auc_score,
)


def detection_metrics(
    labels: np.ndarray,
    scores: np.ndarray,
    tau: float,
    beta: float = 1.0,
    classes: np.ndarray | None = None,
) -> dict:
    labels = np.asarray(labels).astype(int)
    pred = (np.asarray(scores) > tau).astype(int)
    both = 0 < labels.sum() < len(labels)
    out: dict = {
        "auroc": float(roc_auc_score(labels, scores)) if both else float("nan"),
        "auprc": float(average_precision_score(labels, scores)) if both else float("nan"),
        "f1": float(f1_score(labels, pred, zero_division=0)),
        "fbeta": float(fbeta_score(labels, pred, beta=beta, zero_division=0)),
        "precision": float(precision_score(labels, pred, zero_division=0)),
        "recall": float(recall_score(labels, pred, zero_division=0)),
        "mcc": float(matthews_corrcoef(labels, pred)),
        "balanced_accuracy": float(balanced_accuracy_score(labels, pred)),
        "confusion_matrix": confusion_matrix(labels, pred, labels=[0, 1]).tolist(),
        "threshold": float(tau),
        "n": int(len(labels)),
        "n_anomalous": int(labels.sum()),
    }
    if classes is not None:
        out["per_class"] = per_class_metrics(labels, scores, pred, np.asarray(classes))
    return out


def per_class_metrics(
    labels: np.ndarray, scores: np.ndarray, pred: np.ndarray, classes: np.ndarray
) -> dict:
    """Detection rate at tau for every class; AUROC of each anomalous class against normals."""
    normal = labels == 0
    result = {}
    for c in sorted(np.unique(classes).tolist()):
        mask = classes == c
        row = {"n": int(mask.sum()), "flagged_rate": float(pred[mask].mean())}
        if labels[mask].all() and normal.any():
            sel = mask | normal
            row["auroc_vs_normal"] = float(roc_auc_score(labels[sel], scores[sel]))
        result[str(c)] = row
    return result
