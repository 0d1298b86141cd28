"""Rhythm context of each beat: RR intervals from the record's beat positions.

A supraventricular premature beat has a normal QRS and differs from N mostly in timing: it comes
early (short RR before) and is often followed by a pause (long RR after). Morphology-only models
cannot see that, so every beat also carries these features, computed from the positions of all
beats of its record (wfdb.processing.calc_rr gives the intervals):

- pre_rr, post_rr: seconds from the previous beat and to the next one;
- pre_ratio, post_ratio: the same divided by the local mean RR, the mean of the (up to)
  `LOCAL_BEATS` intervals that end at or before the previous beat (causal, so a detector can
  run on a live stream).

At a record's first (last) beat the missing interval is the neighbouring one.

A fifth column describes the beat's shape against its own record rather than against the training
set: template_mse, the mean squared difference between the beat and the element-wise median of
the beats within `TEMPLATE_HALF_WINDOW` beats either side of it (scipy's median filter along the
beat axis). A ventricular or fusion beat differs from the beats around it even in a patient whose
normal morphology the model never saw; it needs no labels and no training.
"""

from __future__ import annotations

import numpy as np

RR_FEATURES = ("pre_rr", "post_rr", "pre_ratio", "post_ratio")
CONTEXT_FEATURES = (*RR_FEATURES, "template_mse")
LOCAL_BEATS = 10
TEMPLATE_HALF_WINDOW = 20


def rr_features(beat_samples: np.ndarray, fs: float) -> np.ndarray:
    """float32 (n_beats, 4) RR features for the beats at these sample positions (sorted)."""
    from wfdb.processing import calc_rr

    beats = np.asarray(beat_samples, dtype=np.int64)
    n = len(beats)
    if n < 2:
        return np.full((n, len(RR_FEATURES)), np.nan, dtype=np.float32)
    rr = calc_rr(beats, fs=fs, rr_units="seconds").astype(np.float64)  # n - 1 intervals
    pre = np.concatenate([[rr[0]], rr])
    post = np.concatenate([rr, [rr[-1]]])
    # mean of the LOCAL_BEATS intervals ending at the previous beat (fewer at the record's
    # start; the first beat uses its own)
    csum = np.concatenate([[0.0], np.cumsum(pre)])
    idx = np.arange(n)
    lo = np.maximum(idx - LOCAL_BEATS, 0)
    count = idx - lo
    local = np.where(count > 0, (csum[idx] - csum[lo]) / np.maximum(count, 1), pre)
    local = np.where(local > 0, local, np.nan)
    out = np.stack([pre, post, pre / local, post / local], axis=1)
    return out.astype(np.float32)


def template_mse(x: np.ndarray, half_window: int = TEMPLATE_HALF_WINDOW) -> np.ndarray:
    """float32 (n_beats,): each beat (n, channels, length) against the median of its neighbours."""
    from scipy.ndimage import median_filter

    x = np.asarray(x, dtype=np.float32)
    if len(x) == 0:
        return np.zeros(0, dtype=np.float32)
    size = (min(2 * half_window + 1, 2 * len(x) - 1),) + (1,) * (x.ndim - 1)
    # "mirror" pads the record's first beats with the beats after them (not with copies of
    # themselves, which would make an odd first beat its own template)
    template = median_filter(x, size=size, mode="mirror")
    return ((x - template) ** 2).reshape(len(x), -1).mean(axis=1).astype(np.float32)


def beat_context(
    beat_samples: np.ndarray, fs: float, x: np.ndarray, keep: np.ndarray | None = None
) -> np.ndarray:
    """float32 (n_kept, 5): the CONTEXT_FEATURES of one record's beats. RR intervals come from
    every beat position; `x` holds the windows of the beats kept (`keep`, e.g. not at an edge)."""
    rr = rr_features(beat_samples, fs)
    if keep is not None:
        rr = rr[keep]
    return np.column_stack([rr, template_mse(x)]).astype(np.float32)
