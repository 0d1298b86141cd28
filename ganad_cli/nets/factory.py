"""Networks chosen by `model.backbone`: generator, critic, encoder and trunks per data shape."""

from __future__ import annotations

from typing import Any

from torch import nn

from ganad_cli.errors import GanadInputError
from ganad_cli.nets.common import Critic, Encoder
from ganad_cli.nets.conv1d import Conv1dFeatures, Conv1dGenerator
from ganad_cli.nets.conv2d import Conv2dFeatures, Conv2dGenerator
from ganad_cli.nets.dcgan1d import Dcgan1dFeatures, Dcgan1dGenerator
from ganad_cli.nets.lstm import LSTMFeatures, LSTMGenerator
from ganad_cli.nets.mlp import MLPFeatures, MLPGenerator

BACKBONES: dict[str, tuple[type[nn.Module], type[nn.Module]]] = {
    "conv1d": (Conv1dGenerator, Conv1dFeatures),
    "dcgan1d": (Dcgan1dGenerator, Dcgan1dFeatures),
    "mlp": (MLPGenerator, MLPFeatures),
    "lstm": (LSTMGenerator, LSTMFeatures),
    "conv2d": (Conv2dGenerator, Conv2dFeatures),
}


def _backbone(cfg: Any) -> tuple[type[nn.Module], type[nn.Module]]:
    name = cfg.get("backbone", "conv1d")
    if name not in BACKBONES:
        raise GanadInputError(
            f"config key 'model.backbone': unknown backbone {name!r}; "
            f"expected one of {sorted(BACKBONES)}"
        )
    return BACKBONES[name]


def build_generator(cfg: Any, shape: tuple[int, int], output_activation: str = "none"):
    """G (or decoder): z (n, latent_dim) -> x (n, channels, length)."""
    gen_cls, _ = _backbone(cfg)
    channels, length = shape
    return gen_cls(int(cfg.latent_dim), channels, length, int(cfg.base_channels), output_activation)


def build_features(cfg: Any, shape: tuple[int, int], spectral_norm: bool = False) -> nn.Module:
    """x -> flat features (n, f); the trunk of critics and encoders (`.out_features`)."""
    _, feat_cls = _backbone(cfg)
    channels, length = shape
    return feat_cls(channels, length, int(cfg.base_channels), spectral_norm)


def build_critic(cfg: Any, shape: tuple[int, int]) -> Critic:
    """D: x -> (logit or critic value (n,), features (n, f)); spectral norm per config."""
    sn = bool(cfg.get("spectral_norm", False))
    return Critic(build_features(cfg, shape, sn), sn)


def build_encoder(cfg: Any, shape: tuple[int, int], variational: bool = False) -> Encoder:
    """E: x -> z (n, latent_dim), or (mu, logvar) when variational."""
    return Encoder(build_features(cfg, shape), int(cfg.latent_dim), variational)
