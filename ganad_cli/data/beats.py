"""Beat positions in a signal: resampling to the training rate, QRS detection (wfdb.processing's
XQRS/GQRS), and detected beats against reference annotations (sensitivity, PPV)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ganad_cli.errors import GanadInputError


def resample_ratio(fs_in: float, fs_out: float) -> tuple[int, int]:
    """(up, down) integers with up / down = fs_out / fs_in (to 1e-6 relative)."""
    frac = Fraction(fs_out / fs_in).limit_denominator(10000)
    if abs(float(frac) - fs_out / fs_in) > 1e-6 * fs_out / fs_in:
        raise GanadInputError(
            f"cannot resample from {fs_in} Hz to {fs_out} Hz with a rational ratio"
        )
    return frac.numerator, frac.denominator


def resample(signal: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    if fs_in == fs_out:
        return signal
    from scipy.signal import resample_poly

    up, down = resample_ratio(fs_in, fs_out)
    return resample_poly(signal, up, down, axis=0)


# ---------------------------------------------------------------------------------- beats


def qrs_detect(signal: np.ndarray, fs: float, method: str, qrs: dict) -> np.ndarray:
    """Beat samples from wfdb's XQRS or GQRS, moved to the R wave (`correct_peaks`)."""
    from wfdb import processing

    sig = np.asarray(signal, dtype=np.float64)
    if len(sig) < int(2 * fs):
        return np.zeros(0, dtype=np.int64)
    if method == "xqrs":
        peaks = processing.xqrs_detect(sig, fs=fs, verbose=False)
    else:
        peaks = processing.gqrs_detect(sig, fs=fs)
    peaks = np.asarray(peaks, dtype=np.int64)
    if len(peaks) == 0:
        return peaks
    radius = max(1, int(round(float(qrs.get("search_radius_s", 0.05)) * fs)))
    smooth = max(2, int(round(float(qrs.get("smooth_window_s", 0.15)) * fs)))
    corrected = processing.correct_peaks(
        sig, peaks, search_radius=radius, smooth_window_size=smooth, peak_dir="compare"
    )
    corrected = np.asarray(corrected, dtype=np.int64)
    corrected = corrected[(corrected >= 0) & (corrected < len(sig))]
    return np.unique(corrected)


def compare_beats(ref: np.ndarray, test: np.ndarray, fs: float, window_s: float) -> dict:
    """Sensitivity and positive predictivity of detected beats against reference beats
    (`wfdb.processing.compare_annotations`, a match within `window_s` seconds)."""
    from wfdb import processing

    width = max(1, int(round(window_s * fs)))
    if len(ref) == 0 or len(test) == 0:
        return {
            "reference_beats": int(len(ref)),
            "detected_beats": int(len(test)),
            "matched": 0,
            "sensitivity": float("nan") if len(ref) == 0 else 0.0,
            "ppv": float("nan") if len(test) == 0 else 0.0,
            "match_window_s": window_s,
            "matches": np.full(len(test), -1, dtype=np.int64),
        }
    cmp = processing.compare_annotations(np.asarray(ref), np.asarray(test), width)
    # matching_sample_nums[i]: index in test matched to ref beat i, or -1
    matches = np.full(len(test), -1, dtype=np.int64)
    for i_ref, i_test in enumerate(np.asarray(cmp.matching_sample_nums)):
        if i_test >= 0:
            matches[int(i_test)] = i_ref
    return {
        "reference_beats": int(len(ref)),
        "detected_beats": int(len(test)),
        "matched": int(cmp.tp),
        "sensitivity": float(cmp.sensitivity),
        "ppv": float(cmp.positive_predictivity),
        "match_window_s": window_s,
        "matches": matches,
    }
