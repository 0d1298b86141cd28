"""Embedded synthetic ECG-like beats: sums of Gaussian P, Q, R, S, T waves.

Normal beats vary in heart rate, wave amplitudes and widths, baseline wander and noise. Anomaly
types imitate what MIT-BIH annotates: PVC-like (no P wave, wide QRS, discordant T), premature
beats (early QRS, abnormal P), inverted T, ST-segment shift and noise bursts.
"""

from __future__ import annotations

import numpy as np

from ganad_cli.data.base import Samples

# (centre as fraction of the window, width as fraction, amplitude)
_WAVES = {
    "P": (0.22, 0.025, 0.15),
    "Q": (0.365, 0.008, -0.12),
    "R": (0.40, 0.011, 1.0),
    "S": (0.435, 0.010, -0.25),
    "T": (0.66, 0.045, 0.30),
}
ANOMALY_TYPES = ("pvc", "premature", "inverted_t", "st_shift", "noise_burst")


def _gauss(t: np.ndarray, centre: float, width: float, amp: float) -> np.ndarray:
    return amp * np.exp(-0.5 * ((t - centre) / width) ** 2)


def _beat(rng: np.random.Generator, t: np.ndarray, kind: str, noise: float) -> np.ndarray:
    rr = rng.normal(1.0, 0.05)  # relative R-R interval: stretches P-R and R-T distances
    waves = {}
    for name, (c, w, a) in _WAVES.items():
        centre = 0.40 + (c - 0.40) * rr + rng.normal(0, 0.004)
        waves[name] = [centre, w * rng.normal(1.0, 0.06), a * rng.normal(1.0, 0.08)]

    if kind == "pvc":
        waves["P"][2] = 0.0
        for name in ("Q", "R", "S"):
            waves[name][1] *= 3.0
        waves["R"][2] *= 1.3
        waves["S"][2] *= 2.0
        waves["T"][2] = -abs(waves["T"][2]) * 1.5
    elif kind == "premature":
        shift = rng.uniform(0.07, 0.11)
        for name in ("Q", "R", "S", "T"):
            waves[name][0] -= shift
        waves["P"][0] -= shift * 1.6
        waves["P"][2] *= -0.8
    elif kind == "inverted_t":
        waves["T"][2] = -abs(waves["T"][2])
    y = sum(_gauss(t, *params) for params in waves.values())
    if kind == "st_shift":
        s_end, t_start = waves["S"][0] + 0.03, waves["T"][0] - 0.02
        step = 1 / (1 + np.exp(-(t - s_end) / 0.01)) - 1 / (1 + np.exp(-(t - t_start) / 0.03))
        y = y + rng.choice([-1, 1]) * rng.uniform(0.15, 0.25) * np.clip(step, 0, None)
    wander = rng.uniform(0, 0.06) * np.sin(2 * np.pi * (rng.uniform(0.2, 0.6) * t + rng.random()))
    y = y + wander + rng.normal(0, noise, size=t.shape)
    if kind == "noise_burst":
        start = rng.integers(0, len(t) - len(t) // 5)
        y[start : start + len(t) // 5] += rng.normal(0, 0.2, size=len(t) // 5)
    return y


def generate_synthetic_ecg(
    n_normal: int,
    n_per_anomaly: int,
    length: int,
    noise: float = 0.02,
    anomaly_types: list[str] | tuple[str, ...] = ANOMALY_TYPES,
    seed: int = 0,
) -> Samples:
    """Seeded beats: `n_normal` of class 'N' and `n_per_anomaly` of each anomaly type."""
    unknown = sorted(set(anomaly_types) - set(ANOMALY_TYPES))
    if unknown:
        from ganad_cli.errors import GanadInputError

        raise GanadInputError(
            f"config key 'data.anomaly_types' has unknown types {unknown}; expected any of "
            f"{list(ANOMALY_TYPES)}"
        )
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, length)
    kinds = ["N"] * n_normal + [k for k in anomaly_types for _ in range(n_per_anomaly)]
    x = np.stack([_beat(rng, t, "normal" if k == "N" else k, noise) for k in kinds])
    return Samples(
        x=x[:, None, :].astype(np.float32),
        cls=np.asarray(kinds),
        group=np.asarray(["synthetic"] * len(kinds)),
    )
