"""Score components from a beat's record rather than from the networks.

`template`: the log of the beat's template_mse (ganad_cli.data.rhythm), how far its shape is from
the median of the beats around it in its own record; nothing is fitted.

`rr_density`: how unusual a beat's rhythm is for a normal beat.

A Gaussian mixture (scikit-learn) on the log RR features (ganad_cli.data.rhythm) of the training
normals; the component is the negative log-likelihood, so higher = more anomalous. Only training
normals are seen: no label of validation or test data enters the fit. The mixture is kept as plain
arrays, so the detector still loads with weights_only=True.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.mixture import GaussianMixture

from ganad_cli.data.rhythm import CONTEXT_FEATURES, RR_FEATURES
from ganad_cli.errors import GanadInputError

MAX_FIT_BEATS = 50_000  # a seeded subsample beyond this: the fit's cost, not its quality


def _log_features(context: np.ndarray) -> np.ndarray:
    rr = np.asarray(context, dtype=np.float64)[:, : len(RR_FEATURES)]
    return np.log(np.clip(rr, 1e-3, None))


TEMPLATE_COLUMN = CONTEXT_FEATURES.index("template_mse")


def template_score(context: np.ndarray) -> np.ndarray:
    """log template_mse per beat (higher = further from its neighbours)."""
    context = np.asarray(context, dtype=np.float64)
    if context.ndim != 2 or context.shape[1] <= TEMPLATE_COLUMN:
        raise GanadInputError(
            "score component 'template' needs each beat's template_mse: beats cut from records "
            "by a ganad version that computes it (data=mitbih, or a WFDB record as detect input)"
        )
    return np.log(np.clip(context[:, TEMPLATE_COLUMN], 1e-8, None)).astype(np.float32)


@dataclass
class RhythmDensity:
    weights: list[float]
    means: list[list[float]]
    precisions_cholesky: list[list[list[float]]]

    @classmethod
    def fit(cls, context: np.ndarray, n_components: int = 4, seed: int = 0) -> RhythmDensity:
        v = _log_features(context)
        v = v[np.isfinite(v).all(axis=1)]
        if len(v) < 10 * n_components:
            raise GanadInputError(
                f"score component 'rr_density' needs RR features of at least {10 * n_components} "
                f"training normals, got {len(v)}"
            )
        rng = np.random.default_rng(seed)
        if len(v) > MAX_FIT_BEATS:
            v = v[rng.choice(len(v), MAX_FIT_BEATS, replace=False)]
        gm = GaussianMixture(
            n_components, covariance_type="full", random_state=seed, reg_covar=1e-4
        )
        gm.fit(v)
        return cls(gm.weights_.tolist(), gm.means_.tolist(), gm.precisions_cholesky_.tolist())

    def _mixture(self) -> GaussianMixture:
        gm = GaussianMixture(len(self.weights), covariance_type="full")
        gm.weights_ = np.asarray(self.weights)
        gm.means_ = np.asarray(self.means)
        gm.precisions_cholesky_ = np.asarray(self.precisions_cholesky)
        return gm

    def score(self, context: np.ndarray) -> np.ndarray:
        """Negative log-likelihood per beat (NaN features -> the largest finite score)."""
        v = _log_features(context)
        ok = np.isfinite(v).all(axis=1)
        out = np.empty(len(v), dtype=np.float64)
        out[ok] = -self._mixture().score_samples(v[ok]) if ok.any() else []
        out[~ok] = out[ok].max() if ok.any() else 0.0
        return out.astype(np.float32)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> RhythmDensity:
        return cls(**d)
