"""Types that pass between layers: what an inversion returns (scoring, the detector, bench and
the run folder read it; only the inversion modules make it)."""

from __future__ import annotations

from dataclasses import dataclass

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
