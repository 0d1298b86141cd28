"""f-AnoGAN (Schlegl et al. 2019): WGAN-GP, then an izif encoder with G and D frozen.

Phases share one Lightning fit: the first `gan_fraction` of all training batches
(trainer.max_epochs x batches per epoch) train the WGAN-GP; the rest train the encoder on
||x - G(E(x))||^2 + kappa * ||f(x) - f(G(E(x)))||^2 (f: critic features), G and D in eval mode
and without gradients. So with max_epochs=15 and gan_fraction=0.7 the switch is mid-epoch 11.
"""

from __future__ import annotations

import torch

from ganad_cli.models.adversarial import GANFamily, set_requires_grad
from ganad_cli.models.base import model_args
from ganad_cli.nets.factory import build_encoder


def training_progress(module) -> float:
    """Fraction of all training batches seen before the current one (0 at the start)."""
    t = module.trainer
    per_epoch = max(int(t.num_training_batches), 1)
    if t.max_epochs is not None and t.max_epochs > 0:
        total = t.max_epochs * per_epoch
    else:
        total = max(int(t.estimated_stepping_batches), 1)
    seen = module.current_epoch * per_epoch + module._batch_in_epoch
    return seen / total


class FAnoGAN(GANFamily):
    """Defaults: FAnoGANConfig."""

    has_encoder = True

    def __init__(
        self,
        shape: tuple[int, int],
        *,
        name: str = "fanogan",
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
        loss: str = "wgan_gp",
        n_critic: int = 5,
        gp_weight: float = 10.0,
        clip_value: float = 0.01,
        gan_fraction: float = 0.7,
        kappa: float = 1.0,
        lr_e: float = 1e-3,
    ):
        super().__init__(shape, model_args(locals()))
        self.gan_fraction = float(gan_fraction)
        self.kappa = float(kappa)
        self.lr_e = float(lr_e)
        self.encoder = build_encoder(self.nets, shape)
        self._batch_in_epoch = 0

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def configure_optimizers(self):
        return (*super().configure_optimizers(), self.adam(self.encoder.parameters(), self.lr_e))

    def izif_loss(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x_hat = self.generator(self.encoder(x))
        _, f_x = self.discriminator(x)
        _, f_hat = self.discriminator(x_hat)
        image = (x - x_hat).pow(2).mean()
        feature = (f_x - f_hat).pow(2).mean()
        return image + self.kappa * feature, image, feature

    def training_step(self, batch, batch_idx: int) -> None:
        (real,) = batch
        opt_g, opt_d, opt_e = self.optimizers()
        self._batch_in_epoch = batch_idx
        if training_progress(self) < self.gan_fraction:
            self.gan_step(real, batch_idx, opt_g, opt_d)
            return
        # encoder phase: G and D fixed (eval mode: BatchNorm uses running statistics)
        self.generator.eval()
        self.discriminator.eval()
        set_requires_grad(self.generator, False)
        set_requires_grad(self.discriminator, False)
        loss_e, image, feature = self.izif_loss(real)
        self.loss_is_finite(loss_e)
        opt_e.zero_grad(set_to_none=True)
        self.manual_backward(loss_e)
        opt_e.step()
        set_requires_grad(self.generator, True)
        set_requires_grad(self.discriminator, True)
        self.log_dict(
            {"train/loss_e": loss_e, "train/izif_image": image, "train/izif_feature": feature},
            on_step=True,
            on_epoch=True,
        )
