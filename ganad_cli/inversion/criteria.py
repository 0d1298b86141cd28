"""Dissimilarities of the latent search that need more than (x, x_hat).

- schlegl: AnoGAN's mapping loss (Schlegl et al. 2017, eq. 3-5),
  (1 - lambda) * residual + lambda * discrimination loss, with the residual mean |x - G(z)| and
  the discrimination loss mean |f(x) - f(G(z))| on the discriminator's features (the paper sums;
  the means keep eps independent of the beat length). lambda = 0.1 as in the paper.

`dissimilarity` dispatches: these need the model; the others are `anogan.distance`.
"""

from __future__ import annotations

import torch

from ganad_cli.models.base import GanadModule

# similarities that need the model's discriminator
MODEL_SIMILARITIES = ("schlegl",)
SCHLEGL_LAMBDA = 0.1


def needs_features(kind: str) -> bool:
    return kind in MODEL_SIMILARITIES


def target_features(model: GanadModule, x: torch.Tensor, kind: str) -> torch.Tensor | None:
    """f(x) for the similarities that compare discriminator features (computed once)."""
    if not needs_features(kind):
        return None
    if not model.has_discriminator:
        raise ValueError(f"inversion.similarity={kind} needs a discriminator")
    with torch.no_grad():
        return model.discriminate(x)[1].flatten(1)


def dissimilarity(
    model: GanadModule,
    x: torch.Tensor,
    x_hat: torch.Tensor,
    kind: str,
    bandwidth: float = 1.0,
    f_x: torch.Tensor | None = None,
    lam: float = SCHLEGL_LAMBDA,
) -> torch.Tensor:
    """Per-sample dissimilarity of x_hat to x (lower = closer), differentiable in x_hat."""
    from ganad_cli.inversion.anogan import distance

    if kind == "schlegl":
        if f_x is None:
            f_x = target_features(model, x, kind)
        residual = (x - x_hat).flatten(1).abs().mean(1)
        feature = (f_x - model.discriminate(x_hat)[1].flatten(1)).abs().mean(1)
        return (1.0 - lam) * residual + lam * feature
    return distance(x, x_hat, kind, bandwidth)
