"""Data set name -> loader. Each loader takes the `data` config node and returns Samples."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
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


def _mitbih(cfg: DictConfig) -> Samples:
    from ganad_cli.data.mitbih import load_mitbih

    return load_mitbih(cfg)


def _kachuee_csv(cfg: DictConfig) -> Samples:
    from ganad_cli.data.kachuee import load_kachuee_csv

    return load_kachuee_csv(cfg)


def _tabular(fn_name: str) -> Callable[[DictConfig], Samples]:
    def load(cfg: DictConfig) -> Samples:
        from ganad_cli.data import tabular

        return getattr(tabular, fn_name)(cfg)

    return load


LOADERS: dict[str, Callable[[DictConfig], Samples]] = {
    "synthetic_ecg": _synthetic,
    "mitbih": _mitbih,
    "kachuee_csv": _kachuee_csv,
    "ucr": _tabular("load_ucr"),
    "csv": _tabular("load_csv"),
    "npy": _tabular("load_npy"),
    "digits": _tabular("load_digits"),
}


def limit_samples(samples: Samples, max_samples: int | None, seed: int) -> Samples:
    """A seeded random subset of at most `max_samples` (order kept), for quick runs."""
    if max_samples is None or len(samples) <= max_samples:
        return samples
    if max_samples < 1:
        raise GanadInputError(f"config key 'data.max_samples' must be >= 1, got {max_samples}")
    idx = np.random.default_rng(seed).choice(len(samples), size=max_samples, replace=False)
    return samples.subset(np.sort(idx))


def load_samples(cfg: DictConfig) -> Samples:
    if cfg.name not in LOADERS:
        raise GanadInputError(
            f"config key 'data.name': unknown data set {cfg.name!r}; "
            f"expected one of {sorted(LOADERS)}"
        )
    return limit_samples(LOADERS[cfg.name](cfg), cfg.get("max_samples"), cfg.seed)
