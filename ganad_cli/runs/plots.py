"""Per-run plots (matplotlib, PNG): ROC and PR curves, score histograms per class, and examples
of x with its reconstruction x_hat for normal and for every anomalous class."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import PrecisionRecallDisplay, RocCurveDisplay  # noqa: E402

from ganad_cli.data.base import Samples  # noqa: E402
from ganad_cli.types import Scored  # noqa: E402

PLOTS = ("roc_pr.png", "score_hist.png", "reconstructions.png")


def _bins(scores: np.ndarray, n: int = 60) -> np.ndarray:
    lo, hi = np.percentile(scores, [0.5, 99.5])
    if not hi > lo:  # constant (or nearly) scores: a small symmetric range
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, n)


def _examples(s: Samples, per_class: int) -> list[tuple[str, np.ndarray]]:
    """Indices of the first samples of the normal class(es), then of each anomalous class."""
    normal = [c for c in np.unique(s.cls[s.label == 0]).tolist()]
    anomalous = [c for c in np.unique(s.cls[s.label == 1]).tolist() if c not in normal]
    rows = [("normal", np.flatnonzero(s.label == 0)[:per_class])]
    rows += [(str(c), np.flatnonzero(s.cls == c)[:per_class]) for c in anomalous]
    return [r for r in rows if len(r[1])]


def write_plots(out: Path, s: Samples, res: Scored, tau: float, per_class: int = 3) -> list[Path]:
    """Write the per-run PNGs into `out`; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    scores = np.asarray(res.scores, dtype=float)
    paths = [out / name for name in PLOTS]

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    RocCurveDisplay.from_predictions(s.label, scores, ax=axes[0])
    PrecisionRecallDisplay.from_predictions(s.label, scores, ax=axes[1])
    axes[0].set_title("ROC (test)")
    axes[1].set_title("precision-recall (test)")
    fig.tight_layout()
    fig.savefig(paths[0], dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    bins = _bins(scores)
    for c in sorted(np.unique(s.cls).tolist()):
        sel = s.cls == c
        ax.hist(scores[sel], bins=bins, alpha=0.5, density=True, label=f"{c} (n={sel.sum()})")
    ax.axvline(tau, color="k", linestyle="--", label="tau")
    ax.set_xlabel("anomaly score (higher = more anomalous)")
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(paths[1], dpi=100)
    plt.close(fig)

    x_hat = res.inversion.x_hat.detach().cpu().numpy()
    rows = _examples(s, per_class)
    fig, axes = plt.subplots(
        len(rows), per_class, figsize=(4 * per_class, 2.2 * len(rows)), squeeze=False
    )
    for r, (title, idx) in enumerate(rows):
        for col in range(per_class):
            ax = axes[r, col]
            if col >= len(idx):
                ax.axis("off")
                continue
            i = idx[col]
            for ch in range(s.x.shape[1]):
                ax.plot(s.x[i, ch], color="C0", lw=1, label="x" if ch == 0 else None)
                ax.plot(x_hat[i, ch], color="C1", lw=1, label="x_hat" if ch == 0 else None)
            flag = "flagged" if scores[i] > tau else "not flagged"
            ax.set_title(f"{title} ({s.cls[i]}): {scores[i]:.2f}, {flag}", fontsize=8)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(paths[2], dpi=100)
    plt.close(fig)
    return paths
