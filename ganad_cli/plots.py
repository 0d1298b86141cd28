"""Per-run plots (matplotlib, PNG): ROC, PR, score histograms per class, reconstructions."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import PrecisionRecallDisplay, RocCurveDisplay  # noqa: E402

from ganad_cli.data.base import Samples  # noqa: E402


def write_plots(out: Path, s: Samples, res: dict, tau: float) -> None:
    out.mkdir(parents=True, exist_ok=True)
    scores = res["scores"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    RocCurveDisplay.from_predictions(s.label, scores, ax=axes[0])
    PrecisionRecallDisplay.from_predictions(s.label, scores, ax=axes[1])
    fig.tight_layout()
    fig.savefig(out / "roc_pr.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    bins = np.linspace(np.percentile(scores, 0.5), np.percentile(scores, 99.5), 60)
    for c in sorted(np.unique(s.cls).tolist()):
        ax.hist(scores[s.cls == c], bins=bins, alpha=0.5, density=True, label=str(c))
    ax.axvline(tau, color="k", linestyle="--", label="tau")
    ax.set_xlabel("anomaly score")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "score_hist.png", dpi=100)
    plt.close(fig)

    x_hat = res["inv"].x_hat.cpu().numpy()
    picks = [
        ("normal", np.flatnonzero(s.label == 0)[:3]),
        ("anomalous", np.flatnonzero(s.label)[:3]),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(12, 5), squeeze=False)
    for row, (title, idx) in enumerate(picks):
        for col, i in enumerate(idx):
            ax = axes[row, col]
            ax.plot(s.x[i, 0], label="x")
            ax.plot(x_hat[i, 0], label="x_hat")
            ax.set_title(f"{title} ({s.cls[i]}), score {scores[i]:.2f}")
    axes[0, 0].legend()
    fig.tight_layout()
    fig.savefig(out / "reconstructions.png", dpi=100)
    plt.close(fig)
