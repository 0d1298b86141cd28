"""`latent_knn`: how far a sample's latent code lies from the codes of the training beats.

The code is what the detector's inversion returns for the sample (the encoder's E(x), or the
AnoGAN search's z). The component is log(mean distance to the k nearest codes of the training
set), the deep-nearest-neighbour score of Bergman, Cohen and Hoshen (2020, "Deep Nearest Neighbor
Anomaly Detection", arXiv:2002.10445) in the GAN's own latent space. The reference codes are
those of the training set as the GAN saw it (normals, plus any deliberate contamination): no label
of any split enters the fit. Higher = more anomalous.

The codes are stored in detector.pt as one float32 tensor (loads with weights_only=True); the
nearest-neighbour search is scikit-learn's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ganad_cli.errors import GanadInputError

# floor inside the log: an exact duplicate of a training code has distance 0
DISTANCE_FLOOR = 1e-6


@dataclass
class LatentNeighbours:
    codes: torch.Tensor  # (m, d) float32, the training codes
    k: int = 1
    _index: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def fit(cls, codes: torch.Tensor, k: int, max_codes: int, seed: int) -> LatentNeighbours:
        codes = codes.detach().float().cpu().flatten(1)
        if len(codes) < k:
            raise GanadInputError(
                f"config key 'score.knn_k' = {k}: latent_knn needs at least k training codes, "
                f"got {len(codes)}"
            )
        if len(codes) > max_codes:  # a seeded subsample: memory and search time, not quality
            keep = np.sort(np.random.default_rng(seed).choice(len(codes), max_codes, replace=False))
            codes = codes[torch.from_numpy(keep)]
        return cls(codes.contiguous(), int(k))

    def _neighbours(self):
        if self._index is None:
            from sklearn.neighbors import NearestNeighbors

            self._index = NearestNeighbors(n_neighbors=self.k).fit(self.codes.numpy())
        return self._index

    def score(self, z: torch.Tensor) -> np.ndarray:
        """float32 (n,): log mean distance of each code to its k nearest training codes."""
        z = z.detach().float().cpu().flatten(1).numpy()
        if z.shape[1] != self.codes.shape[1]:
            raise GanadInputError(
                f"score component 'latent_knn': codes of size {z.shape[1]}; the detector's "
                f"training codes have size {self.codes.shape[1]}"
            )
        dist, _ = self._neighbours().kneighbors(z)
        return np.log(np.maximum(dist.mean(axis=1), DISTANCE_FLOOR)).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {"codes": self.codes, "k": self.k}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LatentNeighbours:
        codes, k = d["codes"], int(d["k"])
        if not torch.is_tensor(codes) or codes.ndim != 2 or k < 1 or len(codes) < k:
            raise ValueError("latent_knn codes must be a 2-D tensor with at least k rows")
        if not codes.isfinite().all():
            raise ValueError("latent_knn codes hold NaN or inf")
        return cls(codes.float(), k)
