"""Schemas of the `model` group: the fields every model shares, and each model's own."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import MISSING


@dataclass
class ModelConfig:
    """Fields every model shares."""

    name: str = MISSING
    backbone: str = "conv1d"
    latent_dim: int = 32
    base_channels: int = 32
    prior: str = "normal"
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.9
    spectral_norm: bool = False
    # the generator's last layer: none | tanh | sigmoid
    output_activation: str = "none"
    # default (PyTorch's) | beatgan (the BeatGAN authors' weights_init) | dcgan (N(0, 0.02))
    init: str = "default"
    # false: dcgan1d without the biases the BeatGAN authors' layers lack
    bias: bool = True


@dataclass
class GANConfig(ModelConfig):
    """GAN family: `loss` is bce (non-saturating), wasserstein (weight clipping) or wgan_gp."""

    name: str = "gan"
    loss: str = "bce"
    n_critic: int = 1
    gp_weight: float = 10.0
    clip_value: float = 0.01


@dataclass
class WGANConfig(GANConfig):
    name: str = "wgan"
    loss: str = "wasserstein"
    n_critic: int = 5


@dataclass
class WGANGPConfig(GANConfig):
    name: str = "wgan_gp"
    loss: str = "wgan_gp"
    n_critic: int = 5
    gp_weight: float = 10.0


@dataclass
class FAnoGANConfig(WGANGPConfig):
    """WGAN-GP for the first `gan_fraction` of training batches, then the izif encoder."""

    name: str = "fanogan"
    gan_fraction: float = 0.7
    kappa: float = 1.0
    lr_e: float = 1e-3


@dataclass
class BiGANConfig(ModelConfig):
    name: str = "bigan"
    d_hidden: int = 128
    d_dropout: float = 0.2


@dataclass
class ALADConfig(BiGANConfig):
    name: str = "alad"


@dataclass
class GANomalyConfig(ModelConfig):
    name: str = "ganomaly"
    w_adv: float = 1.0
    w_con: float = 50.0
    w_enc: float = 1.0


@dataclass
class BeatGANConfig(ModelConfig):
    name: str = "beatgan"
    w_adv: float = 1.0
    # re-initialise D when its loss falls below this (BeatGAN's code: 5e-6); 0 = never
    d_reset_below: float = 0.0
    # g_first (ganad's default) | d_first (BeatGAN's code: D, then G, on each batch)
    update_order: str = "g_first"


@dataclass
class AutoencoderConfig(ModelConfig):
    """BeatGAN's encoder and generator trained on reconstruction only (no discriminator).
    `w_adv`, `d_reset_below` and `update_order` are BeatGAN's keys, accepted (and unused) so
    that every BeatGAN preset composes with model=autoencoder."""

    name: str = "autoencoder"
    w_adv: float = 0.0
    d_reset_below: float = 0.0
    update_order: str = "g_first"  # BeatGAN's key (no discriminator here: nothing to order)


@dataclass
class BetaVAEGANConfig(ModelConfig):
    name: str = "beta_vaegan"
    beta: float = 0.01
    kl_warmup: float = 0.0
    w_adv: float = 1.0
    # ecgan: D steps before G on each batch
    update_order: str = "d_first"
