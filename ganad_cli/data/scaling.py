"""`data.scale=ecgan`: each split min-max scaled to [-1, 1] by its own minimum and maximum.

ecgan rescales the train, validation and test data of a fold separately for its tanh generator
(emundo/ecgan, ecgan/training/trainer.py:160-164 with scale_to_unit_circle,
ecgan/utils/miscellaneous.py:354-357, switched on by TANH_OUT at trainer.py:269-271): each split's
minimum over all of its samples, channels and time points maps to -1 and its maximum to 1. A
split whose values are all equal is only shifted (to -1). `info["scale"]` records each split's
(min, max). Used by data=kachuee_csv and data=mitbih (data.preprocess=kachuee).
"""

from __future__ import annotations

import numpy as np

from ganad_cli.data.base import Splits


def to_unit_interval(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """x min-max mapped from [lo, hi] to [-1, 1] (float32)."""
    span = hi - lo if hi > lo else 1.0
    return (2.0 * (x - lo) / span - 1.0).astype(np.float32)


def scale_each_split(splits: Splits) -> dict[str, list[float]]:
    """Scale train, validation and test in place, each by its own range; their (min, max)."""
    ranges = {}
    for name in ("train", "val", "test"):
        part = getattr(splits, name)
        lo, hi = float(part.x.min()), float(part.x.max())
        part.x = to_unit_interval(part.x, lo, hi)
        ranges[name] = [lo, hi]
    return ranges
