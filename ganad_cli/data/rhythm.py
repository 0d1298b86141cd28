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
"""

from __future__ import annotations

import numpy as np

RR_FEATURES = ("pre_rr", "post_rr", "pre_ratio", "post_ratio")
LOCAL_BEATS = 10


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
