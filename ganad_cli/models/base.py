"""What inversion and scoring need from every model, whatever its family."""

from __future__ import annotations

import math

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn


class GanadModule(pl.LightningModule):
    """Base of every model: a generator G(z) -> x and a discriminator D(x) -> (logit, features).

    Encoder models also implement `encode`; `has_encoder` tells inversion whether it may ask.
    `wasserstein` tells scoring whether D returns a critic value (no sigmoid) or a logit.
    """

    has_encoder: bool = False
    # the non-adversarial autoencoder has none: components that need D are refused
    has_discriminator: bool = True
    wasserstein: bool = False
    # integer attributes training changes outside the weights (BeatGAN: `d_resets`); they travel
    # in every checkpoint under "ganad_counters", so a resumed run carries on counting
    counters: tuple[str, ...] = ()
    generator: nn.Module
    discriminator: nn.Module

    def __init__(self, model_cfg: DictConfig | dict, shape: tuple[int, int]):
        super().__init__()
        cfg = model_cfg if isinstance(model_cfg, dict) else OmegaConf.to_container(model_cfg)
        self.save_hyperparameters({"model_cfg": cfg, "shape": list(shape)})
        self.cfg = OmegaConf.create(cfg)
        self.channels, self.length = shape
        self.latent_dim = int(self.cfg.latent_dim)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["ganad_counters"] = {name: int(getattr(self, name)) for name in self.counters}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        saved = checkpoint.get("ganad_counters") or {}
        for name in self.counters:
            if name in saved:
                setattr(self, name, int(saved[name]))

    # ------------------------------------------------------------------------------ latent prior
    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        prior = self.cfg.get("prior", "normal")
        shape = (n, self.latent_dim)
        if prior == "normal":
            z = torch.randn(shape, generator=generator)
        elif prior == "uniform":
            z = torch.rand(shape, generator=generator) * 2 - 1
        elif prior == "truncated_normal":
            z = torch.nn.init.trunc_normal_(torch.empty(shape), a=-2.0, b=2.0, generator=generator)
        else:
            raise ValueError(f"unknown prior {prior!r}")
        return z.to(self.device)

    def latent_mode_norm(self) -> float:
        """Mode of the chi distribution of ||z|| under a standard normal prior."""
        return math.sqrt(max(self.latent_dim - 1, 0))

    # ------------------------------------------------------------------------- networks as used
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)

    def discriminate(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.discriminator(x)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"model {self.cfg.name!r} has no encoder")

    def feature_pair(
        self, x: torch.Tensor, x_hat: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Features whose distance is the model's own feature-matching score, or None for the
        generic one (discriminator features of x and of x_hat). ALAD uses D_xx."""
        return None

    def score_logit(self, x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor | None:
        """The logit the discriminator score uses, or None for D(x_hat). BiGAN/ALAD: D(x, E(x))."""
        return None

    def loss_is_finite(self, *losses: torch.Tensor) -> None:
        for loss in losses:
            if not torch.isfinite(loss).all():
                raise FloatingPointError(
                    f"non-finite loss at global step {self.global_step} "
                    f"(epoch {self.current_epoch}); training stopped, last good checkpoint kept"
                )
