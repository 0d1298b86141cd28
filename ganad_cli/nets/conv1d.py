"""1-D convolutional generator and feature trunk (critics and encoders put their heads on it, see
ganad_cli.nets.factory) for windows of any channel count and length."""

from __future__ import annotations

import math

import torch
from torch import nn

from ganad_cli.nets.common import output_activation as output_layer

_N_UP = 3  # three stride-2 stages: the generator starts at ceil(length / 8)


def _apply_sn(module: nn.Module) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(module)


class Conv1dGenerator(nn.Module):
    """z (n, latent_dim) -> x (n, channels, length)."""

    def __init__(
        self,
        latent_dim: int,
        channels: int,
        length: int,
        base_channels: int = 32,
        output_activation: str = "none",
    ):
        super().__init__()
        self.length = length
        self.start_len = math.ceil(length / 2**_N_UP)
        width = base_channels * 4
        self.project = nn.Sequential(
            nn.Linear(latent_dim, width * self.start_len),
            nn.BatchNorm1d(width * self.start_len),
            nn.ReLU(inplace=True),
        )
        layers: list[nn.Module] = []
        for _ in range(_N_UP):
            layers += [
                nn.ConvTranspose1d(width, width // 2, kernel_size=4, stride=2, padding=1),
                nn.BatchNorm1d(width // 2),
                nn.ReLU(inplace=True),
            ]
            width //= 2
        layers.append(nn.Conv1d(width, channels, kernel_size=5, padding=2))
        self.body = nn.Sequential(*layers)
        self.out = output_layer(output_activation)
        self._width = base_channels * 4

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.project(z).view(len(z), self._width, self.start_len)
        return self.out(self.body(h)[..., : self.length])


class Conv1dFeatures(nn.Module):
    """Shared strided conv trunk: x -> flattened features (critics and encoders use it)."""

    def __init__(self, channels: int, length: int, base_channels: int, spectral_norm: bool = False):
        super().__init__()
        wrap = _apply_sn if spectral_norm else (lambda m: m)
        widths = [channels, base_channels, base_channels * 2, base_channels * 4]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            layers += [wrap(nn.Conv1d(c_in, c_out, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*layers)
        with torch.no_grad():
            self.out_features = self.body(torch.zeros(1, channels, length)).numel()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).flatten(1)
