"""`gan`, `wgan` and `wgan_gp`: one GAN on shared networks; `model.loss` picks the loss (bce:
non-saturating, DCGAN-style; wasserstein: weight clipping, Arjovsky et al. 2017; wgan_gp: gradient
penalty, Gulrajani et al. 2017), and each name's schema sets its default loss (the registry passes
every field of the name's schema, so `wgan` arrives with loss=wasserstein and n_critic=5)."""

from __future__ import annotations

from ganad_cli.models.adversarial import GANFamily
from ganad_cli.models.base import model_args


class GAN(GANFamily):
    """G(z) and D(x) with the family's loss; nothing beyond GANFamily. Defaults: GANConfig."""

    def __init__(
        self,
        shape: tuple[int, int],
        *,
        name: str = "gan",
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
        loss: str = "bce",
        n_critic: int = 1,
        gp_weight: float = 10.0,
        clip_value: float = 0.01,
    ):
        super().__init__(shape, model_args(locals()))
