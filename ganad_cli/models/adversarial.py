"""Shared building blocks: adversarial losses (BCE / Wasserstein / WGAN-GP), weight clipping,
gradient penalty, freezing, and the GAN-family training step with a loss switch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganad_cli.config.choices import GAN_LOSSES
from ganad_cli.errors import GanadInputError
from ganad_cli.models.base import GanadModule
from ganad_cli.nets.factory import build_critic, build_generator


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    alpha = torch.rand(len(real), *([1] * (real.dim() - 1)), device=real.device)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    value, _ = critic(mixed)
    (grad,) = torch.autograd.grad(value.sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def d_loss(d_real: torch.Tensor, d_fake: torch.Tensor, kind: str) -> torch.Tensor:
    """Discriminator/critic loss on raw outputs (logits, or critic values if Wasserstein)."""
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(
            d_real, torch.ones_like(d_real)
        ) + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
    return d_fake.mean() - d_real.mean()


def g_loss(d_fake: torch.Tensor, kind: str) -> torch.Tensor:
    """Generator loss: non-saturating BCE, or -critic for Wasserstein losses."""
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
    return -d_fake.mean()


def bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def clip_weights(module: nn.Module, c: float) -> None:
    with torch.no_grad():
        for p in module.parameters():
            p.clamp_(-c, c)


def set_requires_grad(module: nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)


class GANFamily(GanadModule):
    """G(z) and D(x) trained with the loss named by `model.loss`; manual optimisation.

    Every batch is one D step; every `n_critic`-th batch also updates G. `wasserstein` follows the
    loss: critics of Wasserstein losses have no sigmoid and their output is scored as -D(x).
    """

    def __init__(self, shape: tuple[int, int], args: Mapping[str, Any]):
        """`args`: the concrete model's keyword arguments, with `loss`, `n_critic`, `gp_weight`
        and `clip_value` (GANConfig's fields)."""
        super().__init__(shape, args)
        self.automatic_optimization = False
        self.loss_kind = str(args["loss"])
        if self.loss_kind not in GAN_LOSSES:
            raise GanadInputError(
                f"config key 'model.loss' must be one of {GAN_LOSSES}, got {self.loss_kind!r}"
            )
        self.n_critic = int(args["n_critic"])
        self.gp_weight = float(args["gp_weight"])
        self.clip_value = float(args["clip_value"])
        self.wasserstein = self.loss_kind != "bce"
        self.generator = build_generator(self.nets, shape)
        self.discriminator = build_critic(self.nets, shape)

    def configure_optimizers(self):
        return (
            self.adam(self.generator.parameters(), self.lr_g),
            self.adam(self.discriminator.parameters(), self.lr_d),
        )

    def gan_step(self, real: torch.Tensor, batch_idx: int, opt_g, opt_d) -> None:
        fake = self.generator(self.sample_z(len(real))).detach()
        d_real, _ = self.discriminator(real)
        d_fake, _ = self.discriminator(fake)
        loss_d = d_loss(d_real, d_fake, self.loss_kind)
        logs = {}
        if self.loss_kind == "wgan_gp":
            gp = gradient_penalty(self.discriminator, real, fake)
            loss_d = loss_d + self.gp_weight * gp
            logs["train/gp"] = gp
        self.loss_is_finite(loss_d)
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(loss_d)
        opt_d.step()
        if self.loss_kind == "wasserstein":
            clip_weights(self.discriminator, self.clip_value)
        logs["train/loss_d"] = loss_d
        if self.wasserstein:
            logs["train/wasserstein"] = d_real.mean() - d_fake.mean()
        self.log_dict(logs, on_step=True, on_epoch=True)

        if (batch_idx + 1) % self.n_critic == 0:
            d_gen, _ = self.discriminator(self.generator(self.sample_z(len(real))))
            loss_g = g_loss(d_gen, self.loss_kind)
            self.loss_is_finite(loss_g)
            opt_g.zero_grad(set_to_none=True)
            self.manual_backward(loss_g)
            opt_g.step()
            self.log("train/loss_g", loss_g, on_step=True, on_epoch=True, prog_bar=True)

    def training_step(self, batch, batch_idx: int) -> None:
        (real,) = batch
        opt_g, opt_d = self.optimizers()
        self.gan_step(real, batch_idx, opt_g, opt_d)
