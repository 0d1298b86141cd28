"""Model name -> LightningModule class."""

from __future__ import annotations

from omegaconf import DictConfig

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


def build_model(model_cfg: DictConfig | dict, shape: tuple[int, int]) -> GanadModule:
    name = model_cfg["name"]
    return model_class(name)(model_cfg, shape)


def encoder_models() -> list[str]:
    return sorted(n for n, cls in MODELS.items() if cls.has_encoder)
