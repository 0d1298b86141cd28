"""2-D convolutional generator and feature trunk for small square images (e.g. 8x8 digits).

Samples keep the (channels, length) layout everywhere else; these nets view a row of length
side * side as a side x side image and flatten back, so (n, 1, 64) works as 8x8.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganad_cli.errors import GanadInputError
from ganad_cli.nets.common import maybe_sn
from ganad_cli.nets.common import output_activation as output_layer


def image_side(length: int) -> int:
    side = math.isqrt(length)
    if side * side != length or side < 4:
        raise GanadInputError(
            f"config key 'model.backbone': conv2d needs a sample length that is a square >= 16 "
            f"(side x side image), got length {length}"
        )
    return side


def _stages(side: int) -> int:
    return 2 if side <= 16 else 3


class Conv2dGenerator(nn.Module):
    """z (n, latent_dim) -> x (n, channels, side * side)."""

    def __init__(
        self,
        latent_dim: int,
        channels: int,
        length: int,
        base_channels: int = 32,
        output_activation: str = "none",
    ):
        super().__init__()
        self.side = image_side(length)
        n_up = _stages(self.side)
        self.start = math.ceil(self.side / 2**n_up)
        self.width = base_channels * 2 ** (n_up - 1)
        self.project = nn.Sequential(
            nn.Linear(latent_dim, self.width * self.start**2),
            nn.BatchNorm1d(self.width * self.start**2),
            nn.ReLU(inplace=True),
        )
        layers: list[nn.Module] = []
        width = self.width
        for _ in range(n_up):
            out = max(width // 2, base_channels // 2)
            layers += [
                nn.ConvTranspose2d(width, out, 4, stride=2, padding=1),
                nn.BatchNorm2d(out),
                nn.ReLU(inplace=True),
            ]
            width = out
        layers.append(nn.Conv2d(width, channels, 3, padding=1))
        self.body = nn.Sequential(*layers)
        self.out = output_layer(output_activation)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.project(z).view(len(z), self.width, self.start, self.start)
        img = self.body(h)[..., : self.side, : self.side]
        return self.out(img.flatten(2))


class Conv2dFeatures(nn.Module):
    """x (n, channels, side * side) -> flat features."""

    def __init__(self, channels: int, length: int, base_channels: int, spectral_norm: bool = False):
        super().__init__()
        self.side = image_side(length)
        sn = maybe_sn(spectral_norm)
        widths = [channels] + [base_channels * 2**i for i in range(_stages(self.side))]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            layers += [sn(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*layers)
        with torch.no_grad():
            self.out_features = self.body(torch.zeros(1, channels, self.side, self.side)).numel()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.view(len(x), x.shape[1], self.side, self.side)).flatten(1)
