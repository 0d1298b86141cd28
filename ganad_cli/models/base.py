"""What inversion and scoring need from every model, whatever its family.

Models take explicit keyword arguments, one per field of their schema
(ganad_cli.config.schema.model), with the schema's defaults; `ganad_cli.models.registry` is the
one place that builds a model from a config. Each concrete `__init__` hands its arguments
(`model_args(locals())`) to `GanadModule.__init__`, which records them as the hyperparameters
`{"model_cfg": {name: value}, "shape": [channels, length]}` (what checkpoints and detector.pt
hold, and what the registry rebuilds a model from) and sets the attributes every model shares.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from ganad_cli.nets.factory import NetSpec


def model_args(frame_locals: Mapping[str, Any]) -> dict[str, Any]:
    """A model's keyword arguments, from `locals()` taken first thing in its `__init__`."""
    return {k: v for k, v in frame_locals.items() if k not in ("self", "shape", "__class__")}


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
    # training batches between host reads of the non-finite-loss note (trainer.finite_check_every)
    finite_check_every: int = 50
    _bad_step: torch.Tensor | None = None
    _bad_epoch: torch.Tensor | None = None

    def __init__(self, shape: tuple[int, int], args: Mapping[str, Any]):
        """`args`: the concrete model's keyword arguments (every field of its schema)."""
        super().__init__()
        self.save_hyperparameters({"model_cfg": dict(args), "shape": list(shape)})
        self.channels, self.length = shape
        self.name = str(args["name"])
        self.latent_dim = int(args["latent_dim"])
        self.prior = str(args["prior"])
        self.lr_g, self.lr_d = float(args["lr_g"]), float(args["lr_d"])
        self.betas = (float(args["beta1"]), float(args["beta2"]))
        self.nets = NetSpec(
            backbone=str(args["backbone"]),
            latent_dim=self.latent_dim,
            base_channels=int(args["base_channels"]),
            output_activation=str(args["output_activation"]),
            init=str(args["init"]),
            bias=bool(args["bias"]),
            spectral_norm=bool(args["spectral_norm"]),
        )

    @property
    def cfg(self) -> DictConfig:
        """The recorded `model` config, read-only, for callers outside the model (models read
        the attributes their `__init__` sets, never this)."""
        cfg = OmegaConf.create(dict(self.hparams["model_cfg"]))
        OmegaConf.set_readonly(cfg, True)
        return cfg

    def adam(self, params, lr: float) -> torch.optim.Adam:
        """Adam with the model's betas (`beta1`, `beta2`)."""
        return torch.optim.Adam(params, lr=lr, betas=self.betas)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["ganad_counters"] = {name: int(getattr(self, name)) for name in self.counters}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        saved = checkpoint.get("ganad_counters") or {}
        for name in self.counters:
            if name in saved:
                setattr(self, name, int(saved[name]))

    # ------------------------------------------------------------------------------ latent prior
    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n prior draws, made on the device of `generator` (or, without one, the model's): no
        host draw and copy per training step on a GPU."""
        prior = self.prior
        shape = (n, self.latent_dim)
        device = generator.device if generator is not None else self.device
        if prior == "normal":
            z = torch.randn(shape, generator=generator, device=device)
        elif prior == "uniform":
            z = torch.rand(shape, generator=generator, device=device) * 2 - 1
        elif prior == "truncated_normal":
            z = torch.nn.init.trunc_normal_(
                torch.empty(shape, device=device), a=-2.0, b=2.0, generator=generator
            )
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
        raise NotImplementedError(f"model {self.name!r} has no encoder")

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
        """Note, on the device, the first training step whose loss is not finite; nothing is read
        back to the host here (that would stall a GPU every step). `raise_if_diverged` reads the
        note every `finite_check_every` batches and at every epoch end, before any checkpoint
        of the epoch is written, and raises with the step and epoch of the first bad loss."""
        bad = torch.stack([~torch.isfinite(loss.detach()).all() for loss in losses]).any()
        if self._bad_step is None or self._bad_step.device != bad.device:
            self._bad_step = torch.full((), -1, dtype=torch.long, device=bad.device)
            self._bad_epoch = torch.full((), -1, dtype=torch.long, device=bad.device)
        first = bad & (self._bad_step < 0)
        self._bad_step = torch.where(first, self.global_step, self._bad_step)
        self._bad_epoch = torch.where(first, self.current_epoch, self._bad_epoch)

    def raise_if_diverged(self) -> None:
        if self._bad_step is not None and int(self._bad_step) >= 0:
            step, epoch = int(self._bad_step), int(self._bad_epoch)
            self._bad_step = self._bad_epoch = None
            raise FloatingPointError(
                f"non-finite loss at global step {step} "
                f"(epoch {epoch}); training stopped, last good checkpoint kept"
            )

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        if (batch_idx + 1) % max(int(self.finite_check_every), 1) == 0:
            self.raise_if_diverged()

    def on_train_epoch_end(self) -> None:
        # Lightning calls this before ModelCheckpoint's epoch-end save
        self.raise_if_diverged()
