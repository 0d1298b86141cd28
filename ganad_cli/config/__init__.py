"""Config schemas (`config.schema`, one module per group), the choice lists (`config.choices`),
value checks (`config.validate`) and composing a command line (`config.compose`).

Torch-free: a bad value is reported before torch or Lightning is imported.
"""

from __future__ import annotations

from ganad_cli.config.schema import SCHEMAS, register_configs
from ganad_cli.config.schema.data import (
    CSVConfig,
    DataConfig,
    DigitsConfig,
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
from ganad_cli.config.validate import (
    check_discriminator_available,
    check_encoder_available,
    check_epoch_selection,
    check_finite,
    check_seed,
    to_plain,
    validate_config,
    validate_inversion,
    validate_scoring,
)

__all__ = [
    "SCHEMAS",
    "register_configs",
    "DataConfig",
    "SyntheticECGConfig",
    "MitbihConfig",
    "UCRConfig",
    "CSVConfig",
    "NPYConfig",
    "DigitsConfig",
    "ModelConfig",
    "GANConfig",
    "WGANConfig",
    "WGANGPConfig",
    "FAnoGANConfig",
    "BiGANConfig",
    "ALADConfig",
    "GANomalyConfig",
    "BeatGANConfig",
    "AutoencoderConfig",
    "BetaVAEGANConfig",
    "InversionConfig",
    "BenchConfig",
    "ScoreConfig",
    "ThresholdConfig",
    "TrainerConfig",
    "LoggerConfig",
    "check_discriminator_available",
    "check_encoder_available",
    "check_epoch_selection",
    "check_finite",
    "check_seed",
    "to_plain",
    "validate_config",
    "validate_inversion",
    "validate_scoring",
]
