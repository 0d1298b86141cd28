"""Fully connected generator and feature trunk: windows flattened to channels * length."""

from __future__ import annotations

import torch
from torch import nn

from ganad_cli.nets.common import maybe_sn
from ganad_cli.nets.common import output_activation as output_layer


class MLPGenerator(nn.Module):
    """z (n, latent_dim) -> x (n, channels, length); hidden widths 4b and 8b."""

    def __init__(
        self,
        latent_dim: int,
        channels: int,
        length: int,
        base_channels: int = 32,
        output_activation: str = "none",
    ):
        super().__init__()
        self.channels, self.length = channels, length
        h = base_channels * 4
        self.body = nn.Sequential(
            nn.Linear(latent_dim, h),
            nn.BatchNorm1d(h),
            nn.ReLU(inplace=True),
            nn.Linear(h, 2 * h),
            nn.BatchNorm1d(2 * h),
            nn.ReLU(inplace=True),
            nn.Linear(2 * h, channels * length),
        )
        self.out = output_layer(output_activation)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(z).view(len(z), self.channels, self.length))


class MLPFeatures(nn.Module):
    """x -> flat features (n, 4b)."""

    def __init__(self, channels: int, length: int, base_channels: int, spectral_norm: bool = False):
        super().__init__()
        sn = maybe_sn(spectral_norm)
        h = base_channels * 4
        self.body = nn.Sequential(
            nn.Flatten(),
            sn(nn.Linear(channels * length, 2 * h)),
            nn.LeakyReLU(0.2),
            sn(nn.Linear(2 * h, h)),
            nn.LeakyReLU(0.2),
        )
        self.out_features = h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)
