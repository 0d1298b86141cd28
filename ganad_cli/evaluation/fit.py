"""The detector fitted on validation and applied to a split: inversion (timed), components,
combined score, tau."""

from __future__ import annotations

import time

import numpy as np
import torch
from omegaconf import DictConfig

from ganad_cli.config import to_plain
from ganad_cli.config.choices import CONTEXT_COMPONENTS
from ganad_cli.data.base import Samples
from ganad_cli.detector import Detector, check_scores
from ganad_cli.errors import GanadInputError
from ganad_cli.inversion import InversionResult
from ganad_cli.inversion.run import calibrate_eps
from ganad_cli.models.base import GanadModule
from ganad_cli.scoring.combine import fit_combination
from ganad_cli.scoring.threshold import fit_threshold


def timed_inversion(detector: Detector, x: torch.Tensor) -> tuple[InversionResult, float]:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    inv = detector.invert(x)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return inv, time.perf_counter() - t0


def fit_detector(
    model: GanadModule, val: Samples, cfg: DictConfig, train: Samples | None = None
) -> tuple[Detector, dict]:
    """Fit score combination and tau on validation only (the rr_density component on the
    training beats, as the GAN: normals, plus any deliberate contamination); returns the
    detector and the validation results."""
    detector = Detector(
        model,
        to_plain(cfg.inversion),
        to_plain(cfg.score),
        None,
        0.0,  # type: ignore[arg-type]
        to_plain(cfg.data),
    )
    context_used = [n for n in cfg.score.components if n in CONTEXT_COMPONENTS]
    if context_used and (val.context is None or (train is not None and train.context is None)):
        raise GanadInputError(
            f"config key 'score.components': {', '.join(context_used)} need(s) beats cut from "
            f"records (data=mitbih); data {cfg.data.name!r} has no beat positions"
        )
    if "rr_density" in cfg.score.components:
        from ganad_cli.scoring.rhythm import RhythmDensity

        if train is None or train.context is None:
            raise GanadInputError(
                "config key 'score.components': rr_density is fitted on the training beats' RR "
                "features, and none were given"
            )
        detector.rhythm = RhythmDensity.fit(train.context, seed=int(cfg.seed))
    x_val = torch.from_numpy(val.x)
    # a data-driven eps (inversion.eps_quantile) is calibrated on validation normals only
    detector.inversion = calibrate_eps(model, x_val, val.label, detector.inversion)
    inv, seconds = timed_inversion(detector, x_val)
    comps = detector.components(x_val, inv, val.context)
    check_scores(comps, np.zeros(len(x_val)), "the trained model", "validation windows")
    detector.score = fit_combination(comps, val.label, cfg.score)
    scores = detector.score.total(comps)
    check_scores(comps, scores, "the trained model", "validation windows")
    detector.threshold = fit_threshold(scores, val.label, cfg.threshold)
    return detector, {"inv": inv, "seconds": seconds, "comps": comps, "scores": scores}


def score_split(detector: Detector, s: Samples) -> dict:
    x = torch.from_numpy(s.x)
    inv, seconds = timed_inversion(detector, x)
    comps = detector.components(x, inv, s.context)
    scores = detector.score.total(comps)
    check_scores(comps, scores, "the trained model", "test windows")
    return {"inv": inv, "seconds": seconds, "comps": comps, "scores": scores}
