"""Model name -> LightningModule class, and the one place a model is built from a config.

`build_model` takes a validated `model` config (or the `model_cfg` dict a checkpoint or
detector.pt holds), fills every field of the name's schema (ganad_cli.config.schema.model: a
field missing from an older file takes the schema's default; a key the schema lacks is not a
constructor argument and is left out) and calls `MODELS[name](shape=shape, **fields)`. A file
names a model only by these registry names, never by a class to import.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ganad_cli.config import SCHEMAS
from ganad_cli.errors import GanadInputError
from ganad_cli.models.autoencoding import Autoencoder, BeatGAN, BetaVAEGAN, GANomaly
from ganad_cli.models.base import GanadModule
from ganad_cli.models.bigan import ALAD, BiGAN
from ganad_cli.models.fanogan import FAnoGAN
from ganad_cli.models.gan import GAN

MODELS: dict[str, type[GanadModule]] = {
    "gan": GAN,
    "wgan": GAN,
    "wgan_gp": GAN,
    "fanogan": FAnoGAN,
    "bigan": BiGAN,
    "alad": ALAD,
    "ganomaly": GANomaly,
    "beatgan": BeatGAN,
    "beta_vaegan": BetaVAEGAN,
    "autoencoder": Autoencoder,
}


def model_class(name: str) -> type[GanadModule]:
    if name not in MODELS:
        raise GanadInputError(
            f"config key 'model.name': unknown model {name!r}; expected one of {sorted(MODELS)}"
        )
    return MODELS[name]


def model_fields(name: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """Every field of model `name`'s schema, in schema order: `given`'s value, else the default."""
    schema = SCHEMAS["model"][name]
    return {
        f.name: given[f.name] if f.name in given else f.default for f in dataclasses.fields(schema)
    }


def build_model(model_cfg: DictConfig | Mapping[str, Any], shape: tuple[int, int]) -> GanadModule:
    given = OmegaConf.to_container(model_cfg) if isinstance(model_cfg, DictConfig) else model_cfg
    name = str(given["name"])
    cls = model_class(name)
    return cls(shape=tuple(shape), **model_fields(name, given))


def encoder_models() -> list[str]:
    return sorted(n for n, cls in MODELS.items() if cls.has_encoder)
