"""The GAN family on shared networks: `gan` (non-saturating BCE, DCGAN-style) and `wgan`
(Wasserstein with weight clipping, Arjovsky et al. 2017). `wgan_gp` lives in wgan_gp.py."""

from __future__ import annotations

from ganad_cli.models.adversarial import GANFamily


class GAN(GANFamily):
    default_loss = "bce"


class WGAN(GANFamily):
    wasserstein = True
    default_loss = "wasserstein"
