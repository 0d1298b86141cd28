"""`gan`, `wgan` and `wgan_gp`: one GAN on shared networks; `model.loss` picks the loss (bce:
non-saturating, DCGAN-style; wasserstein: weight clipping, Arjovsky et al. 2017; wgan_gp: gradient
penalty, Gulrajani et al. 2017), and each name's schema sets its default loss."""

from __future__ import annotations

from ganad_cli.models.adversarial import GANFamily


class GAN(GANFamily):
    """G(z) and D(x) with the family's loss; nothing beyond GANFamily."""
