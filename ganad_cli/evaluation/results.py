"""A scored split as the run folder keeps it: metrics.json's metrics, scores.csv, plots, and
the inversion's runtime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from ganad_cli.data.base import Samples, Splits
from ganad_cli.detector import Detector
from ganad_cli.evaluation.fit import score_split
from ganad_cli.inversion import InversionResult
from ganad_cli.io import atomic_write_text
from ganad_cli.metrics import detection_metrics
from ganad_cli.types import Scored


def scores_frame(s: Samples, res: Scored, tau: float) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"index": np.arange(len(s)), "label": s.label, "class": s.cls, "group": s.group}
    )
    for name, values in res.components.items():
        frame[name] = values
    frame["score"] = res.scores
    frame["prediction"] = (res.scores > tau).astype(int)
    frame["steps"] = res.inversion.steps.cpu().numpy()
    frame["converged"] = res.inversion.converged.cpu().numpy().astype(int)
    return frame


def inversion_runtime(res: Scored) -> dict:
    inv: InversionResult = res.inversion
    n = len(inv.steps)
    return {
        "n": n,
        "ms_per_sample": 1000.0 * res.seconds / max(n, 1),
        "mean_steps": float(inv.steps.float().mean()),
        "fraction_converged": float(inv.converged.float().mean()),
    }


def evaluate_into(
    detector: Detector,
    splits: Splits,
    val_res: Scored,
    out_dir: Path,
    cfg: DictConfig,
    extra: dict | None = None,
) -> dict:
    """Score test with the frozen detector; write metrics.json, scores.csv, runtime, plots."""
    test_res = score_split(detector, splits.test)
    beta = float(cfg.threshold.get("beta", 1.0))
    metrics: dict = {}
    for split, s, res in (("val", splits.val, val_res), ("test", splits.test, test_res)):
        m = detection_metrics(s.label, res.scores, detector.threshold, beta, s.cls)
        m["lambda"] = detector.score.weights
        m["combine"] = detector.score_cfg.get("combine", "weighted")
        m["components"] = detector.score.components
        metrics.update({f"{split}/{k}": v for k, v in m.items()})
    metrics["data"] = splits.info
    metrics.update(extra or {})
    atomic_write_text(
        out_dir / "scores.csv",
        scores_frame(splits.test, test_res, detector.threshold).to_csv(index=False),
    )
    if cfg.get("plots", True):
        from ganad_cli.runs.plots import write_plots

        write_plots(out_dir / "plots", splits.test, test_res, detector.threshold)
    metrics["runtime"] = {"val": inversion_runtime(val_res), "test": inversion_runtime(test_res)}
    return metrics
