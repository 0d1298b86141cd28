"""Config schemas (`config.schema`, one module per group), the choice lists (`config.choices`),
value checks (`config.validate`) and composing a command line (`config.compose`).

Torch-free: a bad value is reported before torch or Lightning is imported.
"""

from __future__ import annotations

from ganad_cli.config.schema import *  # noqa: F403 (every schema, SCHEMAS, register_configs)
from ganad_cli.config.schema import __all__ as _SCHEMA_NAMES
from ganad_cli.config.validate import (
    check_discriminator_available,
    check_encoder_available,
    check_epoch_selection,
    check_finite,
    check_seed,
    to_plain,
    validate_config,
)
from ganad_cli.config.validate_detector import validate_inversion, validate_scoring

__all__ = [
    *_SCHEMA_NAMES,
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
