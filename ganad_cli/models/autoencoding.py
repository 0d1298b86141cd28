"""Autoencoder-style adversarial models: GANomaly, BeatGAN and beta-VAEGAN.

For all three the "generator" is the decoder, `encode` is the encoder, so `decode(encode(x))` is
the reconstruction; D is a BCE discriminator with features (no sigmoid, `wasserstein = False`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

from ganad_cli.models.adversarial import bce
from ganad_cli.models.base import GanadModule, model_args
from ganad_cli.models.fanogan import training_progress
from ganad_cli.nets.factory import build_critic, build_encoder, build_generator
from ganad_cli.nets.init import init_weights


class _AutoencodingGAN(GanadModule):
    has_encoder = True
    variational = False

    def __init__(
        self, shape: tuple[int, int], args: Mapping[str, Any], update_order: str = "g_first"
    ):
        """`args`: the concrete model's keyword arguments; `update_order`: g_first or d_first
        (the models whose schema has the key pass it)."""
        super().__init__(shape, args)
        self.automatic_optimization = False
        self.update_order = str(update_order)
        self.encoder = build_encoder(self.nets, shape, variational=self.variational)
        self.generator = build_generator(self.nets, shape)
        self.discriminator = build_critic(self.nets, shape)
        self._batch_in_epoch = 0

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def generator_modules(self) -> list[torch.nn.Module]:
        return [self.encoder, self.generator]

    def configure_optimizers(self):
        g = itertools.chain(*(m.parameters() for m in self.generator_modules()))
        return self.adam(g, self.lr_g), self.adam(self.discriminator.parameters(), self.lr_d)

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
        if self.update_order == "d_first":
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

    def __init__(
        self,
        shape: tuple[int, int],
        *,
        name: str = "ganomaly",
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
        w_adv: float = 1.0,
        w_con: float = 50.0,
        w_enc: float = 1.0,
    ):
        super().__init__(shape, model_args(locals()))
        self.w_adv, self.w_con, self.w_enc = float(w_adv), float(w_con), float(w_enc)
        self.encoder2 = build_encoder(self.nets, shape)

    def encode_reconstruction(self, x_hat: torch.Tensor) -> torch.Tensor:
        return self.encoder2(x_hat)

    def generator_modules(self) -> list[torch.nn.Module]:
        return [self.encoder, self.generator, self.encoder2]

    def generator_loss(self, x):
        z = self.encoder(x)
        x_hat = self.generator(z)
        z2 = self.encoder2(x_hat)
        _, f_x = self.discriminator(x)
        _, f_hat = self.discriminator(x_hat)
        adv = (f_x.detach() - f_hat).pow(2).mean()
        con = (x - x_hat).abs().mean()
        enc = (z - z2).pow(2).mean()
        loss = self.w_adv * adv + self.w_con * con + self.w_enc * enc
        return loss, {"train/adv": adv, "train/con": con, "train/enc": enc}, [x_hat]


class BeatGAN(_AutoencodingGAN):
    """Zhou et al. 2019: AE generator; G loss = ||x - x_hat||^2 + w_adv * ||f(x) - f(x_hat)||^2."""

    counters = ("d_resets",)

    def __init__(
        self,
        shape: tuple[int, int],
        *,
        name: str = "beatgan",
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
        w_adv: float = 1.0,
        d_reset_below: float = 0.0,
        update_order: str = "g_first",
    ):
        super().__init__(shape, model_args(locals()), update_order)
        self.w_adv = float(w_adv)
        self.d_reset_below = float(d_reset_below)
        self.d_resets = 0

    def generator_loss(self, x):
        x_hat = self.generator(self.encoder(x))
        _, f_x = self.discriminator(x)
        _, f_hat = self.discriminator(x_hat)
        rec = (x - x_hat).pow(2).mean()
        adv = (f_x.detach() - f_hat).pow(2).mean()
        return rec + self.w_adv * adv, {"train/rec": rec, "train/adv": adv}, [x_hat]

    def after_discriminator_step(self, loss_d: torch.Tensor) -> None:
        """As in the authors' code: a D loss below `d_reset_below` re-initialises D's weights,
        by model.init (model.py:211-212, 242: their weights_init). The test reads loss_d back to
        the host, so it is made only when a threshold is set (a BCE loss is never below 0)."""
        below = self.d_reset_below
        if below > 0 and float(loss_d) < below:
            init_weights(self.discriminator, self.nets.init)
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

    def __init__(
        self,
        shape: tuple[int, int],
        *,
        name: str = "beta_vaegan",
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
        beta: float = 0.01,
        kl_warmup: float = 0.0,
        w_adv: float = 1.0,
        update_order: str = "d_first",
    ):
        super().__init__(shape, model_args(locals()), update_order)
        self.beta = float(beta)
        self.kl_warmup = float(kl_warmup)
        self.w_adv = float(w_adv)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)[0]

    def reparameterised(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x)
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar), mu, logvar

    def discriminator_fakes(self, x: torch.Tensor) -> list[torch.Tensor]:
        """ecgan's D rejects G of a reparameterised sample of E(x) (sampler.py:346-360)."""
        return [self.generator(self.reparameterised(x)[0])]

    def beta_now(self) -> float:
        if self.kl_warmup <= 0 or self._trainer is None:
            return self.beta
        return self.beta * min(1.0, training_progress(self) / self.kl_warmup)

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
        loss = rec + beta * kl + self.w_adv * adv
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

    def __init__(
        self,
        shape: tuple[int, int],
        *,
        name: str = "autoencoder",
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
        w_adv: float = 0.0,
        d_reset_below: float = 0.0,
        update_order: str = "g_first",
    ):
        # w_adv, d_reset_below, update_order: BeatGAN's keys, recorded and unused
        super().__init__(shape, model_args(locals()))
        self.encoder = build_encoder(self.nets, shape)
        self.generator = build_generator(self.nets, shape)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def discriminate(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError("model 'autoencoder' has no discriminator")

    def configure_optimizers(self):
        params = itertools.chain(self.encoder.parameters(), self.generator.parameters())
        return self.adam(params, self.lr_g)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        (x,) = batch
        rec = (x - self.generator(self.encoder(x))).pow(2).mean()
        self.loss_is_finite(rec)
        self.log_dict({"train/loss_g": rec, "train/rec": rec}, on_step=True, on_epoch=True)
        return rec
