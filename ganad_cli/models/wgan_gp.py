"""WGAN-GP (Gulrajani et al. 2017) as a LightningModule with manual optimisation.

Every training batch is one critic step; every `n_critic`-th batch also updates the generator.
"""

from __future__ import annotations

from ganad_cli.models.adversarial import GANFamily, gradient_penalty

__all__ = ["WGANGP", "gradient_penalty"]


class WGANGP(GANFamily):
    wasserstein = True
    default_loss = "wgan_gp"
