"""Backbone-independent heads: critic, encoder and the joint (x, z) / (x, x') discriminators."""

from __future__ import annotations

import torch
from torch import nn


def apply_sn(module: nn.Module) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(module)


ACTIVATIONS = {"none": nn.Identity, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def output_activation(name: str) -> nn.Module:
    """The generator's last layer (model.output_activation): none, tanh or sigmoid."""
    return ACTIVATIONS[name]()


def maybe_sn(spectral_norm: bool):
    return apply_sn if spectral_norm else (lambda m: m)


class Critic(nn.Module):
    """features trunk + linear head: x -> (logit or critic value (n,), features (n, f))."""

    def __init__(self, features: nn.Module, spectral_norm: bool = False, bias: bool = True):
        super().__init__()
        self.features = features
        self.head = maybe_sn(spectral_norm)(nn.Linear(features.out_features, 1, bias=bias))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.features(x)
        return self.head(f).squeeze(1), f


class Encoder(nn.Module):
    """features trunk + linear head: x -> z (n, latent_dim), or (mu, logvar) if variational."""

    def __init__(
        self, features: nn.Module, latent_dim: int, variational: bool = False, bias: bool = True
    ):
        super().__init__()
        self.features = features
        self.variational = variational
        out = latent_dim * (2 if variational else 1)
        self.head = nn.Linear(features.out_features, out, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        h = self.head(self.features(x))
        if self.variational:
            mu, logvar = h.chunk(2, dim=1)
            return mu, logvar.clamp(-10.0, 10.0)
        return h


class JointDiscriminator(nn.Module):
    """D(a, b) for BiGAN/ALAD: a trunk per input, concatenated, then a small MLP.

    `a_features` / `b_features` map each input to flat features (a conv trunk for x, an MLP for z).
    Returns (logit (n,), joint features (n, hidden)).
    """

    def __init__(
        self,
        a_features: nn.Module,
        b_features: nn.Module,
        hidden: int = 128,
        spectral_norm: bool = False,
        dropout: float = 0.2,
    ):
        super().__init__()
        sn = maybe_sn(spectral_norm)
        self.a_features = a_features
        self.b_features = b_features
        joint_in = a_features.out_features + b_features.out_features
        self.joint = nn.Sequential(
            sn(nn.Linear(joint_in, hidden)), nn.LeakyReLU(0.2), nn.Dropout(dropout)
        )
        self.head = sn(nn.Linear(hidden, 1))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.joint(torch.cat([self.a_features(a), self.b_features(b)], dim=1))
        return self.head(f).squeeze(1), f


class LatentFeatures(nn.Module):
    """z (n, latent_dim) -> flat features; the z branch of a joint discriminator."""

    def __init__(self, latent_dim: int, hidden: int = 128, spectral_norm: bool = False):
        super().__init__()
        sn = maybe_sn(spectral_norm)
        self.body = nn.Sequential(sn(nn.Linear(latent_dim, hidden)), nn.LeakyReLU(0.2))
        self.out_features = hidden

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z)
