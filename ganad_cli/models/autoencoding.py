"""Autoencoder-style adversarial models: GANomaly, BeatGAN and beta-VAEGAN.

For all three the "generator" is the decoder, `encode` is the encoder, so `decode(encode(x))` is
the reconstruction; D is a BCE discriminator with features (no sigmoid, `wasserstein = False`).
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from omegaconf import DictConfig

from ganad_cli.models.adversarial import adam, bce
from ganad_cli.models.base import GanadModule
from ganad_cli.models.fanogan import training_progress
from ganad_cli.nets.factory import build_critic, build_encoder, build_generator
from ganad_cli.nets.init import init_weights


class _AutoencodingGAN(GanadModule):
    has_encoder = True
    variational = False

    def __init__(self, model_cfg: DictConfig | dict, shape: tuple[int, int]):
        super().__init__(model_cfg, shape)
        self.automatic_optimization = False
        self.encoder = build_encoder(self.cfg, shape, variational=self.variational)
        self.generator = build_generator(self.cfg, shape)
        self.discriminator = build_critic(self.cfg, shape)
        self._batch_in_epoch = 0

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def generator_modules(self) -> list[torch.nn.Module]:
        return [self.encoder, self.generator]

    def configure_optimizers(self):
        c = self.cfg
        g = itertools.chain(*(m.parameters() for m in self.generator_modules()))
        return adam(g, c.lr_g, c), adam(self.discriminator.parameters(), c.lr_d, c)

    def generator_loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict, list[torch.Tensor]]:
        """Total G loss, terms to log, and the fakes D should reject."""
        raise NotImplementedError

    def after_discriminator_step(self, loss_d: torch.Tensor) -> None:
        """Hook after each batch's updates (BeatGAN re-initialises a D that has won outright)."""

    def discriminator_fakes(self, x: torch.Tensor) -> list[torch.Tensor]:
        """What D should reject when it steps before G (model.update_order=d_first)."""
        return [self.generator(self.encode(x))]

    def _g_step(self, x: torch.Tensor, opt_g) -> tuple[torch.Tensor, dict, list[torch.Tensor]]:
        loss_g, logs, fakes = self.generator_loss(x)
        self.loss_is_finite(loss_g)
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(loss_g)
        opt_g.step()
        return loss_g, logs, fakes

    def _d_step(self, x: torch.Tensor, fakes: list[torch.Tensor], opt_d) -> torch.Tensor:
        d_real, _ = self.discriminator(x)
        loss_d = bce(d_real, 1.0) + sum(
            bce(self.discriminator(f.detach())[0], 0.0) for f in fakes
        ) / len(fakes)
        self.loss_is_finite(loss_d)
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(loss_d)
        opt_d.step()
        return loss_d

    def training_step(self, batch, batch_idx: int) -> None:
        """G then D on each batch (the default), or D then G with model.update_order=d_first
        (BeatGAN's code, model.py:205-208: D on the current G's reconstructions, then G
        against the updated D)."""
        (x,) = batch
        self._batch_in_epoch = batch_idx
        opt_g, opt_d = self.optimizers()
        if self.cfg.get("update_order", "g_first") == "d_first":
            with torch.no_grad():
                fakes = self.discriminator_fakes(x)
            loss_d = self._d_step(x, fakes, opt_d)
            loss_g, logs, _ = self._g_step(x, opt_g)
        else:
            loss_g, logs, fakes = self._g_step(x, opt_g)
            loss_d = self._d_step(x, fakes, opt_d)
        self.after_discriminator_step(loss_d.detach())
        self.log_dict(
            {"train/loss_g": loss_g, "train/loss_d": loss_d, **logs}, on_step=True, on_epoch=True
        )


class GANomaly(_AutoencodingGAN):
    """Akcay et al. 2018: encoder G_E, decoder G_D, second encoder E2 on the reconstruction.

    G loss = w_adv * ||f(x) - f(x_hat)||^2 + w_con * |x - x_hat| + w_enc * ||z - E2(x_hat)||^2.
    `encode_reconstruction(x_hat)` exposes E2 for the latent residual ||E(x) - E2(x_hat)||.
    """

    def __init__(self, model_cfg: DictConfig | dict, shape: tuple[int, int]):
        super().__init__(model_cfg, shape)
        self.encoder2 = build_encoder(self.cfg, shape)

    def encode_reconstruction(self, x_hat: torch.Tensor) -> torch.Tensor:
        return self.encoder2(x_hat)

    def generator_modules(self) -> list[torch.nn.Module]:
        return [self.encoder, self.generator, self.encoder2]

    def generator_loss(self, x):
        c = self.cfg
        z = self.encoder(x)
        x_hat = self.generator(z)
        z2 = self.encoder2(x_hat)
        _, f_x = self.discriminator(x)
        _, f_hat = self.discriminator(x_hat)
        adv = (f_x.detach() - f_hat).pow(2).mean()
        con = (x - x_hat).abs().mean()
        enc = (z - z2).pow(2).mean()
        loss = c.w_adv * adv + c.w_con * con + c.w_enc * enc
        return loss, {"train/adv": adv, "train/con": con, "train/enc": enc}, [x_hat]


class BeatGAN(_AutoencodingGAN):
    """Zhou et al. 2019: AE generator; G loss = ||x - x_hat||^2 + w_adv * ||f(x) - f(x_hat)||^2."""

    counters = ("d_resets",)

    def __init__(self, model_cfg: DictConfig | dict, shape: tuple[int, int]):
        super().__init__(model_cfg, shape)
        self.d_resets = 0

    def generator_loss(self, x):
        x_hat = self.generator(self.encoder(x))
        _, f_x = self.discriminator(x)
        _, f_hat = self.discriminator(x_hat)
        rec = (x - x_hat).pow(2).mean()
        adv = (f_x.detach() - f_hat).pow(2).mean()
        return rec + self.cfg.w_adv * adv, {"train/rec": rec, "train/adv": adv}, [x_hat]

    def after_discriminator_step(self, loss_d: torch.Tensor) -> None:
        """As in the authors' code: a D loss below `d_reset_below` re-initialises D's weights,
        by model.init (model.py:211-212, 242: their weights_init). The test reads loss_d back to
        the host, so it is made only when a threshold is set (a BCE loss is never below 0)."""
        below = float(self.cfg.get("d_reset_below", 0.0))
        if below > 0 and float(loss_d) < below:
            init_weights(self.discriminator, self.cfg.get("init", "default"))
            self.d_resets += 1
            self.log("train/d_resets", float(self.d_resets), on_step=False, on_epoch=True)


class BetaVAEGAN(_AutoencodingGAN):
    """beta-VAEGAN (Lueer et al. 2023) as ecgan trains it (emundo/ecgan, see
    conf/experiment/betavaegan_mitbih.yaml for file:line of each element).

    G loss = rec + beta_t * KL + w_adv * feature matching (ecgan utils/losses.py:444-460):
    rec is the mean squared error (ecgan: summed MSE times 1 / (batch * channels * length)); KL
    is summed over latent dimensions and averaged over the batch (losses.py:113-115), not divided
    by channels * length; the feature term is the MSE of the discriminator's features of x_hat
    and x, weight w_adv = 1. D is a BCE discriminator that rejects reconstructions only
    (losses.py:383-399), and steps before G on each batch (model.update_order=d_first, ecgan
    modules/generative/base/gan_module.py:212-225). beta_t ramps linearly from 0 to beta over
    the first `kl_warmup` fraction of training batches (0 = none, ecgan's default). `encode`
    returns the mean.
    """

    variational = True

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)[0]

    def reparameterised(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x)
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar), mu, logvar

    def discriminator_fakes(self, x: torch.Tensor) -> list[torch.Tensor]:
        """ecgan's D rejects G of a reparameterised sample of E(x) (sampler.py:346-360)."""
        return [self.generator(self.reparameterised(x)[0])]

    def beta_now(self) -> float:
        c = self.cfg
        if c.kl_warmup <= 0 or self._trainer is None:
            return float(c.beta)
        return float(c.beta) * min(1.0, training_progress(self) / c.kl_warmup)

    @staticmethod
    def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """KL(q(z|x) || N(0, I)) summed over latent dimensions, averaged over the batch."""
        return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).flatten(1).sum(1)).mean()

    def generator_loss(self, x):
        z, mu, logvar = self.reparameterised(x)
        x_hat = self.generator(z)
        rec = F.mse_loss(x_hat, x)
        kl = self.kl_divergence(mu, logvar)
        _, f_x = self.discriminator(x)
        _, f_hat = self.discriminator(x_hat)
        adv = F.mse_loss(f_hat, f_x.detach())
        beta = self.beta_now()
        loss = rec + beta * kl + self.cfg.w_adv * adv
        logs = {"train/rec": rec, "train/kl": kl, "train/adv": adv, "train/beta": beta}
        return loss, logs, [x_hat]


class Autoencoder(GanadModule):
    """BeatGAN without its adversarial part, the ablation that shows what the GAN adds: the same
    encoder and generator (built in the same order, so one seed gives BeatGAN's initial weights),
    trained on ||x - x_hat||^2 alone with one optimiser (Adam, lr_g). There is no discriminator:
    no adversarial term and no D updates, so an epoch costs about half of BeatGAN's; scoring
    components that need D (discriminator, feature_matching) are refused.

    The schema accepts BeatGAN's `w_adv` and `d_reset_below` only so that every BeatGAN preset
    (`experiment=beatgan_mitbih model=autoencoder`) composes unchanged; both are unused.
    """

    has_encoder = True
    has_discriminator = False

    def __init__(self, model_cfg: DictConfig | dict, shape: tuple[int, int]):
        super().__init__(model_cfg, shape)
        self.encoder = build_encoder(self.cfg, shape)
        self.generator = build_generator(self.cfg, shape)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def discriminate(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError("model 'autoencoder' has no discriminator")

    def configure_optimizers(self):
        params = itertools.chain(self.encoder.parameters(), self.generator.parameters())
        return adam(params, self.cfg.lr_g, self.cfg)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        (x,) = batch
        rec = (x - self.generator(self.encoder(x))).pow(2).mean()
        self.loss_is_finite(rec)
        self.log_dict({"train/loss_g": rec, "train/rec": rec}, on_step=True, on_epoch=True)
        return rec
