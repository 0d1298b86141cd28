"""Data set name -> loader. Each loader takes the `data` config node and returns Samples."""

from __future__ import annotations

from collections.abc import Callable

from omegaconf import DictConfig

from ganad_cli.data.base import Samples
from ganad_cli.errors import GanadInputError


def _synthetic(cfg: DictConfig) -> Samples:
    from ganad_cli.data.synthetic import generate_synthetic_ecg

    return generate_synthetic_ecg(
        n_normal=cfg.n_normal,
        n_per_anomaly=cfg.n_per_anomaly,
        length=cfg.length,
        noise=cfg.noise,
        anomaly_types=list(cfg.anomaly_types),
        seed=cfg.seed,
    )


LOADERS: dict[str, Callable[[DictConfig], Samples]] = {"synthetic_ecg": _synthetic}


def load_samples(cfg: DictConfig) -> Samples:
    if cfg.name not in LOADERS:
        raise GanadInputError(
            f"config key 'data.name': unknown data set {cfg.name!r}; "
            f"expected one of {sorted(LOADERS)}"
        )
    return LOADERS[cfg.name](cfg)
