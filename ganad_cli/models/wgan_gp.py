"""WGAN-GP (Gulrajani et al. 2017) as a LightningModule with manual optimisation.

Every training batch is one critic step; every `n_critic`-th batch also updates the generator.
"""

from __future__ import annotations

import torch
from omegaconf import DictConfig

from ganad_cli.models.base import GanadModule
from ganad_cli.nets.conv1d import Conv1dCritic, Conv1dGenerator


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    alpha = torch.rand(len(real), *([1] * (real.dim() - 1)), device=real.device)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    value, _ = critic(mixed)
    (grad,) = torch.autograd.grad(value.sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


class WGANGP(GanadModule):
    wasserstein = True

    def __init__(self, model_cfg: DictConfig | dict, shape: tuple[int, int]):
        super().__init__(model_cfg, shape)
        c = self.cfg
        self.automatic_optimization = False
        self.generator = Conv1dGenerator(
            self.latent_dim, self.channels, self.length, c.base_channels
        )
        self.discriminator = Conv1dCritic(
            self.channels, self.length, c.base_channels, spectral_norm=c.spectral_norm
        )

    def configure_optimizers(self):
        c = self.cfg
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=c.lr_g, betas=(c.beta1, c.beta2))
        opt_d = torch.optim.Adam(
            self.discriminator.parameters(), lr=c.lr_d, betas=(c.beta1, c.beta2)
        )
        return opt_g, opt_d

    def training_step(self, batch, batch_idx: int) -> None:
        (real,) = batch
        opt_g, opt_d = self.optimizers()
        z = self.sample_z(len(real))

        fake = self.generator(z).detach()
        d_real, _ = self.discriminator(real)
        d_fake, _ = self.discriminator(fake)
        gp = gradient_penalty(self.discriminator, real, fake)
        loss_d = d_fake.mean() - d_real.mean() + self.cfg.gp_weight * gp
        self.loss_is_finite(loss_d)
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(loss_d)
        opt_d.step()
        self.log_dict(
            {
                "train/loss_d": loss_d,
                "train/wasserstein": d_real.mean() - d_fake.mean(),
                "train/gp": gp,
            },
            on_step=True,
            on_epoch=True,
            prog_bar=False,
        )

        if (batch_idx + 1) % self.cfg.n_critic == 0:
            d_gen, _ = self.discriminator(self.generator(self.sample_z(len(real))))
            loss_g = -d_gen.mean()
            self.loss_is_finite(loss_g)
            opt_g.zero_grad(set_to_none=True)
            self.manual_backward(loss_g)
            opt_g.step()
            self.log("train/loss_g", loss_g, on_step=True, on_epoch=True, prog_bar=True)
