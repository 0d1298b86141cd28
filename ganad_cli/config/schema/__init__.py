"""Structured config schemas (Hydra ConfigStore), one module per group.

Every YAML in conf/<group>/ starts with a defaults entry pointing at one of the schemas stored here
(`/schema/<group>/<name>@_here_`), so Hydra rejects unknown keys and wrong types while composing.
"""

from __future__ import annotations

from hydra.core.config_store import ConfigStore

from ganad_cli.config.schema.data import (
    CSVConfig,
    DataConfig,
    DigitsConfig,
    KachueeCSVConfig,
    MitbihConfig,
    NPYConfig,
    SyntheticECGConfig,
    UCRConfig,
)
from ganad_cli.config.schema.detection import (
    BenchConfig,
    InversionConfig,
    ScoreConfig,
    ThresholdConfig,
)
from ganad_cli.config.schema.model import (
    ALADConfig,
    AutoencoderConfig,
    BeatGANConfig,
    BetaVAEGANConfig,
    BiGANConfig,
    FAnoGANConfig,
    GANConfig,
    GANomalyConfig,
    ModelConfig,
    WGANConfig,
    WGANGPConfig,
)
from ganad_cli.config.schema.run import (
    LoggerConfig,
    TrainerConfig,
)

SCHEMAS: dict[str, dict[str, type]] = {
    "data": {
        "base": DataConfig,
        "synthetic_ecg": SyntheticECGConfig,
        "mitbih": MitbihConfig,
        "kachuee_csv": KachueeCSVConfig,
        "ucr": UCRConfig,
        "csv": CSVConfig,
        "npy": NPYConfig,
        "digits": DigitsConfig,
    },
    "model": {
        "base": ModelConfig,
        "gan": GANConfig,
        "wgan": WGANConfig,
        "wgan_gp": WGANGPConfig,
        "fanogan": FAnoGANConfig,
        "bigan": BiGANConfig,
        "alad": ALADConfig,
        "ganomaly": GANomalyConfig,
        "beatgan": BeatGANConfig,
        "beta_vaegan": BetaVAEGANConfig,
        "autoencoder": AutoencoderConfig,
    },
    "inversion": {"base": InversionConfig},
    "bench": {"base": BenchConfig},
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


__all__ = [
    "SCHEMAS",
    "register_configs",
    "CSVConfig",
    "DataConfig",
    "DigitsConfig",
    "KachueeCSVConfig",
    "MitbihConfig",
    "NPYConfig",
    "SyntheticECGConfig",
    "UCRConfig",
    "BenchConfig",
    "InversionConfig",
    "ScoreConfig",
    "ThresholdConfig",
    "ALADConfig",
    "AutoencoderConfig",
    "BeatGANConfig",
    "BetaVAEGANConfig",
    "BiGANConfig",
    "FAnoGANConfig",
    "GANConfig",
    "GANomalyConfig",
    "ModelConfig",
    "WGANConfig",
    "WGANGPConfig",
    "LoggerConfig",
    "TrainerConfig",
]
