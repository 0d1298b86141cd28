"""R-peak check of normal beats, as the BeatGAN authors preprocess MIT-BIH (`data.normal_r_filter`).

Their code (hi-bingo/BeatGAN experiments/ecg/preprocess.py:84-101) runs biosppy's ECG pipeline on
the raw MLII signal at 360 Hz and keeps an N beat only if the detected R peak nearest to its
annotation is fewer than 10 samples away; anomalous beats are kept whatever the detector says.

- `biosppy`: the pipeline of biosppy 0.6.1, the version the authors' README pins: FIR band-pass
  3-45 Hz (order 0.3 fs), Hamilton segmenter, R peaks corrected to the signal's maximum within
  50 ms, peaks closer than 0.2 s to the start or 0.4 s to the end dropped. Built from the
  installed biosppy's own functions (0.6.1 itself no longer runs on current SciPy; these
  functions are unchanged since 0.6.1 apart from formatting).
- `biosppy_ecg`: the installed biosppy's `biosppy.signals.ecg.ecg` as it is (2.x band-passes
  0.67-45 Hz, order 1.5 fs, and removes the mean first).
biosppy is an optional dependency: `pip install ganad[beatgan]` (scripts/setup.sh installs it).
"""

from __future__ import annotations

import numpy as np

from ganad_cli.config.choices import R_FILTERS
from ganad_cli.errors import GanadInputError

# preprocess.py:101: abs(nearest R peak - annotation) < 10
R_TOLERANCE = 10


def biosppy_version(key: str = "data.normal_r_filter") -> str:
    """The installed biosppy's version; a one-line error if it cannot be imported."""
    try:
        import biosppy
        from biosppy.signals import ecg  # noqa: F401  (its own imports must work too)
    except Exception as exc:  # ImportError, or a broken install failing on its own imports
        raise GanadInputError(
            f"config key '{key}' needs biosppy, which cannot be imported "
            f"({type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:100]}); install it "
            "with `pip install 'ganad[beatgan]'` (scripts/setup.sh does), or set "
            "data.normal_r_filter=null"
        ) from exc
    return str(biosppy.__version__)


def detect_rpeaks(signal: np.ndarray, fs: float, method: str) -> np.ndarray:
    """R-peak sample indices of one raw ECG lead (1-D), by `method` (one of R_FILTERS)."""
    from biosppy.signals import ecg, tools

    signal = np.asarray(signal, dtype=float)
    fs = float(fs)
    if method == "biosppy_ecg":
        return np.asarray(ecg.ecg(signal=signal, sampling_rate=fs, show=False)["rpeaks"])
    if method != "biosppy":
        raise GanadInputError(
            f"config key 'data.normal_r_filter' must be null or one of {list(R_FILTERS)}, "
            f"got {method!r}"
        )
    filtered, _, _ = tools.filter_signal(
        signal=signal,
        ftype="FIR",
        band="bandpass",
        order=int(0.3 * fs),
        frequency=[3, 45],
        sampling_rate=fs,
    )
    (rpeaks,) = ecg.hamilton_segmenter(signal=filtered, sampling_rate=fs)
    (rpeaks,) = ecg.correct_rpeaks(signal=filtered, rpeaks=rpeaks, sampling_rate=fs, tol=0.05)
    _, rpeaks = ecg.extract_heartbeats(
        signal=filtered, rpeaks=rpeaks, sampling_rate=fs, before=0.2, after=0.4
    )
    return np.asarray(rpeaks)


def near_rpeak(beats: np.ndarray, rpeaks: np.ndarray, tol: int = R_TOLERANCE) -> np.ndarray:
    """Per beat: is the nearest R peak fewer than `tol` samples away? (False without peaks.)"""
    beats = np.asarray(beats, dtype=np.int64)
    peaks = np.sort(np.asarray(rpeaks, dtype=np.int64))
    if len(peaks) == 0:
        return np.zeros(len(beats), dtype=bool)
    right = np.clip(np.searchsorted(peaks, beats), 0, len(peaks) - 1)
    left = np.clip(right - 1, 0, len(peaks) - 1)
    nearest = np.minimum(np.abs(peaks[right] - beats), np.abs(peaks[left] - beats))
    return nearest < tol
