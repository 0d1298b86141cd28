"""Where the latent_norm component is centred.

For AnoGAN's z (a prior draw moved by the search) the reference is the mode of the chi
distribution of ||z|| under the N(0, I) prior, sqrt(d_z - 1). Encoder codes do not follow the
prior (a beta-VAE's posterior means shrink towards 0), so for them the reference is fitted on
data, as ecgan does with the empirical mode of its training latents' norms: here the median of
||E(x)|| over the validation normals, fitted with the detector and stored in its score config
(`latent_norm_center`). Test data is never used.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ganad_cli.inversion.run import uses_encoder


def fit_latent_center(
    z: torch.Tensor, labels: np.ndarray | None, inversion_cfg: Any
) -> float | None:
    """The median norm of the validation normals' codes when z comes from an encoder, else None
    (the chi mode is used)."""
    if not uses_encoder(inversion_cfg):
        return None
    norms = z.detach().flatten(1).norm(dim=1).cpu().double().numpy()
    if labels is not None and (np.asarray(labels) == 0).any():
        norms = norms[np.asarray(labels) == 0]
    return float(np.median(norms))
