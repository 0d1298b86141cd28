"""Types that pass between layers: what an inversion returns (scoring, the detector, bench and
the run folder read it; only the inversion modules make it), and what a detector's scoring of
windows returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class InversionResult:
    z: torch.Tensor  # (n, latent_dim)
    x_hat: torch.Tensor  # (n, channels, length)
    steps: torch.Tensor  # (n,) optimiser updates used
    converged: torch.Tensor  # (n,) bool: dissimilarity < eps reached
    similarity: torch.Tensor  # (n,) final dissimilarity (lower = closer)

    @staticmethod
    def cat(parts: list[InversionResult]) -> InversionResult:
        return InversionResult(
            *(torch.cat([getattr(p, f) for p in parts]) for f in InversionResult.__annotations__)
        )

    def select(self, idx: torch.Tensor) -> InversionResult:
        return InversionResult(*(getattr(self, f)[idx] for f in InversionResult.__annotations__))


@dataclass
class Scored:
    """Windows scored by a detector: the total score (higher = more anomalous), each component,
    the inversion behind them (z, x_hat, steps, converged) and its wall time in seconds."""

    scores: np.ndarray
    components: dict[str, np.ndarray]
    inversion: InversionResult
    seconds: float

    # the keys these results had as a dict ("inv", "comps", "scores", "seconds"): scripts and
    # tests written against them keep working
    _KEYS = {"inv": "inversion", "comps": "components", "scores": "scores", "seconds": "seconds"}

    def __getitem__(self, key: str):
        return getattr(self, self._KEYS[key])
