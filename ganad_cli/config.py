"""Structured config schemas (Hydra ConfigStore) and value checks.

Every YAML in conf/<group>/ starts with a defaults entry pointing at one of the schemas stored here
(`/schema/<group>/<name>@_here_`), so Hydra rejects unknown keys and wrong types while composing.
Range checks that types cannot express live in `validate_config`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from ganad_cli.errors import GanadInputError

# ----------------------------------------------------------------------------------------- data


@dataclass
class DataConfig:
    """Fields every data set shares: labels, splits, contamination, loading."""

    name: str = MISSING
    root: str | None = None
    normal_classes: list[str] = field(default_factory=lambda: ["N"])
    split: str = "intra_patient"
    folds: int = 5
    fold: int = 0
    val_fraction: float = 0.1
    val_anomaly_fraction: float = 0.0
    contamination: float = 0.0
    max_samples: int | None = None
    batch_size: int = 64
    num_workers: int = 0
    seed: int = 0


@dataclass
class SyntheticECGConfig(DataConfig):
    name: str = "synthetic_ecg"
    n_normal: int = 4000
    n_per_anomaly: int = 120
    length: int = 128
    noise: float = 0.02
    anomaly_types: list[str] = field(
        default_factory=lambda: ["pvc", "premature", "inverted_t", "st_shift", "noise_burst"]
    )


# ---------------------------------------------------------------------------------------- model


@dataclass
class ModelConfig:
    """Fields every model shares."""

    name: str = MISSING
    backbone: str = "conv1d"
    latent_dim: int = 32
    base_channels: int = 32
    prior: str = "normal"
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.9
    spectral_norm: bool = False


@dataclass
class WGANGPConfig(ModelConfig):
    name: str = "wgan_gp"
    n_critic: int = 5
    gp_weight: float = 10.0


# ------------------------------------------------------------------------------------ inversion


@dataclass
class InversionConfig:
    name: str = MISSING
    eps: float = 0.05
    n_max: int = 100
    lr: float = 0.05
    batch_size: int = 256
    similarity: str = "l1"
    rbf_bandwidth: float = 1.0
    restarts: int = 1
    init: str = "prior"
    restriction: str = "none"
    chi_weight: float = 0.0
    seed: int = 0


# ---------------------------------------------------------------------------- score, threshold


@dataclass
class ScoreConfig:
    name: str = MISSING
    components: list[str] = field(default_factory=lambda: ["residual", "discriminator"])
    residual_norm: str = "l1"
    combine: str = "weighted"
    grid_step: float = 0.05
    objective: str = "auroc"
    standardize: bool = True


@dataclass
class ThresholdConfig:
    name: str = MISSING
    beta: float = 1.0
    quantile: float = 0.95
    value: float | None = None


# ------------------------------------------------------------------------------ trainer, logger


@dataclass
class TrainerConfig:
    accelerator: str = "cpu"
    devices: Any = 1
    strategy: str = "auto"
    precision: str = "32-true"
    max_epochs: int = 15
    max_steps: int = -1
    limit_train_batches: float | None = None
    log_every_n_steps: int = 10
    deterministic: bool = True
    enable_progress_bar: bool = True


@dataclass
class LoggerConfig:
    name: str = MISSING
    project: str = "ganad"
    mode: str = "offline"


SCHEMAS: dict[str, dict[str, type]] = {
    "data": {"base": DataConfig, "synthetic_ecg": SyntheticECGConfig},
    "model": {"base": ModelConfig, "wgan_gp": WGANGPConfig},
    "inversion": {"base": InversionConfig},
    "score": {"base": ScoreConfig},
    "threshold": {"base": ThresholdConfig},
    "trainer": {"base": TrainerConfig},
    "logger": {"base": LoggerConfig},
}


def register_configs() -> None:
    cs = ConfigStore.instance()
    for group, schemas in SCHEMAS.items():
        for name, node in schemas.items():
            cs.store(group=f"schema/{group}", name=name, node=node)


# ------------------------------------------------------------------------------- value checks

SIMILARITIES = ("l1", "l2", "rbf", "cosine")
THRESHOLDS = ("val_fbeta", "val_mcc", "normal_quantile", "fixed")
OBJECTIVES = ("auroc", "auprc", "f1", "mcc")


def _check(ok: bool, key: str, expected: str, value: Any) -> None:
    if not ok:
        raise GanadInputError(f"config key '{key}' must be {expected}, got {value!r}")


def validate_config(cfg: DictConfig) -> None:
    """Range checks that types cannot express. Raises GanadInputError naming the key."""
    d, m, inv, th, sc = cfg.data, cfg.model, cfg.inversion, cfg.threshold, cfg.score
    _check(d.batch_size >= 1, "data.batch_size", ">= 1", d.batch_size)
    _check(0.0 <= d.contamination < 1.0, "data.contamination", "in [0, 1)", d.contamination)
    _check(d.folds >= 2, "data.folds", ">= 2", d.folds)
    _check(0 <= d.fold < d.folds, "data.fold", f"in [0, data.folds={d.folds})", d.fold)
    _check(0.0 < d.val_fraction < 1.0, "data.val_fraction", "in (0, 1)", d.val_fraction)
    _check(
        0.0 <= d.val_anomaly_fraction < 1.0,
        "data.val_anomaly_fraction",
        "in [0, 1)",
        d.val_anomaly_fraction,
    )
    _check(len(d.normal_classes) >= 1, "data.normal_classes", "a non-empty list", d.normal_classes)
    _check(m.latent_dim >= 1, "model.latent_dim", ">= 1", m.latent_dim)
    _check(m.lr_g > 0 and m.lr_d > 0, "model.lr_g/lr_d", "> 0", (m.lr_g, m.lr_d))
    if "n_critic" in m:
        _check(m.n_critic >= 1, "model.n_critic", ">= 1", m.n_critic)
    _check(inv.eps > 0, "inversion.eps", "> 0", inv.eps)
    _check(inv.n_max >= 1, "inversion.n_max", ">= 1", inv.n_max)
    _check(inv.batch_size >= 1, "inversion.batch_size", ">= 1", inv.batch_size)
    _check(inv.restarts >= 1, "inversion.restarts", ">= 1", inv.restarts)
    _check(inv.lr > 0, "inversion.lr", "> 0", inv.lr)
    _check(
        inv.similarity in SIMILARITIES,
        "inversion.similarity",
        f"one of {SIMILARITIES}",
        inv.similarity,
    )
    _check(th.name in THRESHOLDS, "threshold.name", f"one of {THRESHOLDS}", th.name)
    _check(th.beta > 0, "threshold.beta", "> 0", th.beta)
    _check(0.0 < th.quantile < 1.0, "threshold.quantile", "in (0, 1)", th.quantile)
    if th.name == "fixed":
        _check(th.value is not None, "threshold.value", "a number for threshold=fixed", th.value)
    _check(sc.objective in OBJECTIVES, "score.objective", f"one of {OBJECTIVES}", sc.objective)
    _check(0.0 < sc.grid_step <= 1.0, "score.grid_step", "in (0, 1]", sc.grid_step)
    _check(
        cfg.trainer.max_epochs >= 1 or cfg.trainer.max_steps > 0,
        "trainer.max_epochs",
        ">= 1",
        cfg.trainer.max_epochs,
    )


def to_plain(cfg: DictConfig) -> dict:
    """A resolved, JSON-safe copy of a config node."""
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
