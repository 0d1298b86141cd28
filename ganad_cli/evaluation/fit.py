"""The detector fitted on a run config's validation split, and applied to a split."""

from __future__ import annotations

from omegaconf import DictConfig

from ganad_cli.data.base import Samples
from ganad_cli.detector import Detector
from ganad_cli.models.base import GanadModule
from ganad_cli.types import Scored


def fit_detector(
    model: GanadModule, val: Samples, cfg: DictConfig, train: Samples | None = None
) -> tuple[Detector, Scored]:
    """Detector.fit with a run config's inversion, score, threshold and data nodes."""
    return Detector.fit(
        model, val, cfg.inversion, cfg.score, cfg.threshold, cfg.data, train, int(cfg.seed)
    )


def score_split(detector: Detector, s: Samples) -> Scored:
    return detector.evaluate(s.x, s.context, "test windows")
