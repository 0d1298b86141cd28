"""BiGAN / EGBAD (Donahue et al. 2017; Zenati et al. 2018) and ALAD (Zenati et al. 2018).

The encoder E is trained jointly with G; the discriminator sees (x, z) pairs: real (x, E(x)) vs
fake (G(z), z). ALAD adds the cycle discriminators D_xx on (x, x) vs (x, G(E(x))) and D_zz on
(z, z) vs (z, E(G(z))). `discriminate(x)` is D_xz(x, E(x)): logit and joint features. ALAD's
feature-matching score uses D_xx, as in the paper: |f_xx(x, x) - f_xx(x, x_hat)|.
"""

from __future__ import annotations

import itertools

import torch
from omegaconf import DictConfig

from ganad_cli.models.adversarial import adam, bce
from ganad_cli.models.base import GanadModule
from ganad_cli.nets.common import JointDiscriminator, LatentFeatures
from ganad_cli.nets.factory import build_encoder, build_features, build_generator


class BiGAN(GanadModule):
    has_encoder = True

    def __init__(self, model_cfg: DictConfig | dict, shape: tuple[int, int]):
        super().__init__(model_cfg, shape)
        self.automatic_optimization = False
        c = self.cfg
        sn = bool(c.spectral_norm)
        self.generator = build_generator(c, shape)
        self.encoder = build_encoder(c, shape)
        self.discriminator = JointDiscriminator(
            build_features(c, shape, sn),
            LatentFeatures(self.latent_dim, c.d_hidden, sn),
            c.d_hidden,
            sn,
            c.d_dropout,
        )

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
        c = self.cfg
        ge = itertools.chain(self.generator.parameters(), self.encoder.parameters())
        d = itertools.chain(*(m.parameters() for m in self.discriminators()))
        return adam(ge, c.lr_g, c), adam(d, c.lr_d, c)

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


class ALAD(BiGAN):
    def __init__(self, model_cfg: DictConfig | dict, shape: tuple[int, int]):
        super().__init__(model_cfg, shape)
        c = self.cfg
        sn = bool(c.spectral_norm)
        self.d_xx = JointDiscriminator(
            build_features(c, shape, sn), build_features(c, shape, sn), c.d_hidden, sn, c.d_dropout
        )
        self.d_zz = JointDiscriminator(
            LatentFeatures(self.latent_dim, c.d_hidden, sn),
            LatentFeatures(self.latent_dim, c.d_hidden, sn),
            c.d_hidden,
            sn,
            c.d_dropout,
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
