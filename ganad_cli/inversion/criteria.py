"""Dissimilarities of the latent search that need more than (x, x_hat).

- schlegl: AnoGAN's mapping loss (Schlegl et al. 2017, eq. 3-5),
  (1 - lambda) * residual + lambda * discrimination loss, with the residual mean |x - G(z)| and
  the discrimination loss mean |f(x) - f(G(z))| on the discriminator's features (the paper sums;
  the means keep eps independent of the beat length). lambda = 0.1 as in the paper.

- ecgan_rbf: ecgan's RBF similarity criterion (emundo/ecgan, ecgan/utils/reconstruction_criteria.py
  lines 24-40 and 89-117, used as the stopping loss at ecgan/anomaly_detection/reconstruction.py
  lines 151-156). Each time point of a beat is a point in channel space; the kernel compares every
  time point of x_hat with every time point of x: d_ts = ||x_hat[:, t] - x[:, s]||, bandwidth
  sigma = the median of all d_ts (torch.median: the lower middle value; not differentiated),
  k_ts = exp(-d_ts^2 / (2 sigma^2)), dissimilarity = 1 - mean_ts k_ts. ecgan computes one median
  and one mean over the whole batch and stops the batch as a whole; here each sample is its own
  batch of one (the survey's batch-1 rows are exactly ecgan's), so samples stop on their own.
  A zero median (ecgan: a division by zero) is clamped to 1e-12.

`dissimilarity` dispatches: schlegl needs the model; the others are `similarity.distance`.
"""

from __future__ import annotations

import torch

from ganad_cli.config.schema.detection import InversionConfig
from ganad_cli.inversion.similarity import distance
from ganad_cli.models.base import GanadModule

# similarities that need the model's discriminator
MODEL_SIMILARITIES = ("schlegl",)
SCHLEGL_LAMBDA = InversionConfig.schlegl_lambda  # the inversion schema's default


def ecgan_rbf(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Per-sample ecgan RBF dissimilarity of (n, channels, length) tensors (see module doc)."""
    pts_hat, pts = x_hat.flatten(2).transpose(1, 2), x.flatten(2).transpose(1, 2)
    dist = torch.cdist(pts_hat, pts)  # (n, length, length)
    sigma = dist.detach().flatten(1).median(dim=1).values.clamp_min(1e-12)
    gamma = 1.0 / (2.0 * sigma**2)
    return 1.0 - torch.exp(-gamma.view(-1, 1, 1) * dist.pow(2)).flatten(1).mean(1)


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
    if kind == "schlegl":
        if f_x is None:
            f_x = target_features(model, x, kind)
        residual = (x - x_hat).flatten(1).abs().mean(1)
        feature = (f_x - model.discriminate(x_hat)[1].flatten(1)).abs().mean(1)
        return (1.0 - lam) * residual + lam * feature
    if kind == "ecgan_rbf":
        return ecgan_rbf(x, x_hat)
    return distance(x, x_hat, kind, bandwidth)
