"""BiGAN / EGBAD (Donahue et al. 2017; Zenati et al. 2018) and ALAD (Zenati et al. 2018).

The encoder E is trained jointly with G; the discriminator sees (x, z) pairs: real (x, E(x)) vs
fake (G(z), z). ALAD adds the cycle discriminators D_xx on (x, x) vs (x, G(E(x))) and D_zz on
(z, z) vs (z, E(G(z))). `discriminate(x)` is D_xz(x, E(x)): logit and joint features. ALAD's
feature-matching score uses D_xx, as in the paper: |f_xx(x, x) - f_xx(x, x_hat)|.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import torch

from ganad_cli.models.adversarial import bce
from ganad_cli.models.base import GanadModule, model_args
from ganad_cli.nets.common import JointDiscriminator, LatentFeatures
from ganad_cli.nets.factory import build_encoder, build_features, build_generator


class _JointGAN(GanadModule):
    """G and E trained jointly against D_xz(x, z); `d_hidden` and `d_dropout` shape the joint
    discriminators."""

    has_encoder = True

    def __init__(self, shape: tuple[int, int], args: Mapping[str, Any]):
        super().__init__(shape, args)
        self.automatic_optimization = False
        self.d_hidden = int(args["d_hidden"])
        self.d_dropout = float(args["d_dropout"])
        self.generator = build_generator(self.nets, shape)
        self.encoder = build_encoder(self.nets, shape)
        self.discriminator = self.joint_discriminator(
            build_features(self.nets, shape, self.nets.spectral_norm),
            LatentFeatures(self.latent_dim, self.d_hidden, self.nets.spectral_norm),
        )

    def joint_discriminator(self, left: torch.nn.Module, right: torch.nn.Module):
        sn = self.nets.spectral_norm
        return JointDiscriminator(left, right, self.d_hidden, sn, self.d_dropout)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def discriminate(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.discriminator(x, self.encoder(x))

    def discriminators(self) -> list[torch.nn.Module]:
        return [self.discriminator]

    def score_logit(self, x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
        """Zenati et al. 2018 (EGBAD): the discriminator score is the BCE of D(x, E(x))."""
        return self.discriminator(x, self.encoder(x))[0]

    def feature_pair(self, x: torch.Tensor, x_hat: torch.Tensor):
        """Zenati et al. 2018 (EGBAD): features of (x, E(x)) against (G(E(x)), E(x))."""
        z = self.encoder(x)
        return self.discriminator(x, z)[1], self.discriminator(x_hat, z)[1]

    def configure_optimizers(self):
        ge = itertools.chain(self.generator.parameters(), self.encoder.parameters())
        d = itertools.chain(*(m.parameters() for m in self.discriminators()))
        return self.adam(ge, self.lr_g), self.adam(d, self.lr_d)

    def adversarial_terms(self, x: torch.Tensor, detach: bool) -> list[tuple[torch.Tensor, float]]:
        """(logit, target-for-D) pairs; G/E use the flipped targets."""
        z = self.sample_z(len(x))
        z_x = self.encoder(x)
        x_z = self.generator(z)
        if detach:
            z_x, x_z = z_x.detach(), x_z.detach()
        return [(self.discriminator(x, z_x)[0], 1.0), (self.discriminator(x_z, z)[0], 0.0)]

    def training_step(self, batch, batch_idx: int) -> None:
        (x,) = batch
        opt_ge, opt_d = self.optimizers()
        loss_d = sum(bce(logit, t) for logit, t in self.adversarial_terms(x, detach=True))
        self.loss_is_finite(loss_d)
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(loss_d)
        opt_d.step()

        loss_ge = sum(bce(logit, 1.0 - t) for logit, t in self.adversarial_terms(x, detach=False))
        self.loss_is_finite(loss_ge)
        opt_ge.zero_grad(set_to_none=True)
        self.manual_backward(loss_ge)
        opt_ge.step()
        self.log_dict(
            {"train/loss_d": loss_d, "train/loss_ge": loss_ge}, on_step=True, on_epoch=True
        )


class BiGAN(_JointGAN):
    """Defaults: BiGANConfig."""

    def __init__(
        self,
        shape: tuple[int, int],
        *,
        name: str = "bigan",
        backbone: str = "conv1d",
        latent_dim: int = 32,
        base_channels: int = 32,
        prior: str = "normal",
        lr_g: float = 1e-4,
        lr_d: float = 1e-4,
        beta1: float = 0.5,
        beta2: float = 0.9,
        spectral_norm: bool = False,
        output_activation: str = "none",
        init: str = "default",
        bias: bool = True,
        d_hidden: int = 128,
        d_dropout: float = 0.2,
    ):
        super().__init__(shape, model_args(locals()))


class ALAD(_JointGAN):
    """BiGAN plus the cycle discriminators D_xx and D_zz. Defaults: ALADConfig."""

    def __init__(
        self,
        shape: tuple[int, int],
        *,
        name: str = "alad",
        backbone: str = "conv1d",
        latent_dim: int = 32,
        base_channels: int = 32,
        prior: str = "normal",
        lr_g: float = 1e-4,
        lr_d: float = 1e-4,
        beta1: float = 0.5,
        beta2: float = 0.9,
        spectral_norm: bool = False,
        output_activation: str = "none",
        init: str = "default",
        bias: bool = True,
        d_hidden: int = 128,
        d_dropout: float = 0.2,
    ):
        super().__init__(shape, model_args(locals()))
        sn = self.nets.spectral_norm
        self.d_xx = self.joint_discriminator(
            build_features(self.nets, shape, sn), build_features(self.nets, shape, sn)
        )
        self.d_zz = self.joint_discriminator(
            LatentFeatures(self.latent_dim, self.d_hidden, sn),
            LatentFeatures(self.latent_dim, self.d_hidden, sn),
        )

    def discriminators(self) -> list[torch.nn.Module]:
        return [self.discriminator, self.d_xx, self.d_zz]

    def feature_pair(self, x: torch.Tensor, x_hat: torch.Tensor):
        """ALAD's score (Zenati et al. 2018): D_xx features of (x, x) against (x, x_hat)."""
        return self.d_xx(x, x)[1], self.d_xx(x, x_hat)[1]

    def adversarial_terms(self, x: torch.Tensor, detach: bool) -> list[tuple[torch.Tensor, float]]:
        z = self.sample_z(len(x))
        z_x = self.encoder(x)
        x_z = self.generator(z)
        x_rec = self.generator(z_x)
        z_rec = self.encoder(x_z)
        if detach:
            z_x, x_z, x_rec, z_rec = (t.detach() for t in (z_x, x_z, x_rec, z_rec))
        return [
            (self.discriminator(x, z_x)[0], 1.0),
            (self.discriminator(x_z, z)[0], 0.0),
            (self.d_xx(x, x)[0], 1.0),
            (self.d_xx(x, x_rec)[0], 0.0),
            (self.d_zz(z, z)[0], 1.0),
            (self.d_zz(z, z_rec)[0], 0.0),
        ]
