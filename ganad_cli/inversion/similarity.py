"""The dissimilarity between a window and its reconstruction: what the latent search minimises
(inversion.similarity) and what the residual score component is (score.residual_norm)."""

from __future__ import annotations

import torch


def distance(
    x: torch.Tensor, x_hat: torch.Tensor, kind: str = "l1", bandwidth: float = 1.0
) -> torch.Tensor:
    """Per-sample dissimilarity, averaged over elements so eps does not depend on length."""
    diff = (x - x_hat).flatten(1)
    if kind == "l1":
        return diff.abs().mean(1)
    if kind == "l2":
        return diff.pow(2).mean(1)
    if kind == "rbf":
        return 1.0 - torch.exp(-diff.pow(2).mean(1) / (2.0 * bandwidth**2))
    if kind == "cosine":
        return 1.0 - torch.nn.functional.cosine_similarity(x.flatten(1), x_hat.flatten(1), dim=1)
    raise ValueError(f"unknown similarity {kind!r}")
