"""Where the latent_norm component is centred (`score.latent_center`).

auto: for AnoGAN's z (a prior draw moved by the search) the reference is the mode of the chi
distribution of ||z|| under the N(0, I) prior, sqrt(d_z - 1). Encoder codes do not follow the
prior (a beta-VAE's posterior means shrink towards 0), so for them the reference is fitted on
data: the median of ||E(x)|| over the validation normals. The component is |norm - c|.

ecgan_mode: ecgan's centre (emundo/ecgan@fefd35c, ecgan/modules/generative/base/
encoder_gan_module.py:269-270): numpy's 50-bin histogram of the training codes' norms, and the
left edge of its fullest bin (`histogram`'s bin edges indexed by the argmax of its counts). The
component is norm - c, signed, as ecgan subtracts it (encoder_gan_module.py:275,
anomaly_detection/detector/reconstruction_detector.py:323). ecgan takes the norms of the codes
its last training epoch drew; here they are the final encoder's codes of the training beats.

Either centre is fitted with the detector and stored in its score config (`latent_norm_center`).
Test data is never used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ganad_cli.inversion.run import uses_encoder

ECGAN_BINS = 50  # encoder_gan_module.py:269


def norms(z: torch.Tensor) -> np.ndarray:
    return z.detach().flatten(1).norm(dim=1).cpu().double().numpy()


def histogram_mode(values: np.ndarray, bins: int = ECGAN_BINS) -> float:
    """The left edge of the fullest of `bins` equal bins over [min, max] (the first, on a tie)."""
    counts, edges = np.histogram(np.asarray(values, dtype=np.float64), bins=bins)
    return float(edges[int(np.argmax(counts))])


def is_signed(score_cfg: Any) -> bool:
    """Is latent_norm the signed norm - c (ecgan_mode) rather than |norm - c|?"""
    return score_cfg.get("latent_center", "auto") == "ecgan_mode"


def fit_latent_center(
    z: torch.Tensor,
    labels: np.ndarray | None,
    inversion_cfg: Any,
    score_cfg: Any | None = None,
    training_codes: Callable[[], torch.Tensor] | None = None,
) -> float | None:
    """The centre for `score.latent_center`: ecgan_mode, the training codes' histogram mode
    (`training_codes` gives them); auto, the median norm of the validation normals' codes `z`
    when they come from an encoder, else None (the chi mode is used)."""
    if score_cfg is not None and is_signed(score_cfg):
        if training_codes is None:
            raise ValueError("score.latent_center=ecgan_mode needs the training beats' codes")
        return histogram_mode(norms(training_codes()))
    if not uses_encoder(inversion_cfg):
        return None
    values = norms(z)
    if labels is not None and (np.asarray(labels) == 0).any():
        values = values[np.asarray(labels) == 0]
    return float(np.median(values))
