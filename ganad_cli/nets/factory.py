"""Networks chosen by `model.backbone`: generator, critic, encoder and trunks per data shape.

Per config: `model.output_activation` (the generator's last layer), `model.bias` (false: dcgan1d
without the biases the BeatGAN authors' layers lack) and `model.init` (ganad_cli.nets.init).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from ganad_cli.errors import GanadInputError
from ganad_cli.nets.common import Critic, Encoder
from ganad_cli.nets.conv1d import Conv1dFeatures, Conv1dGenerator
from ganad_cli.nets.conv2d import Conv2dFeatures, Conv2dGenerator
from ganad_cli.nets.dcgan1d import Dcgan1dFeatures, Dcgan1dGenerator
from ganad_cli.nets.init import init_weights
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


def _bias_kwargs(cfg: Any) -> dict[str, bool]:
    """{} with biases (every backbone), {"bias": False} for dcgan1d without them."""
    if bool(cfg.get("bias", True)):
        return {}
    if cfg.get("backbone", "conv1d") != "dcgan1d":
        raise GanadInputError(
            f"config key 'model.bias' = false needs model.backbone=dcgan1d, got "
            f"{cfg.get('backbone', 'conv1d')!r}"
        )
    return {"bias": False}


def initialised(net: nn.Module, cfg: Any) -> nn.Module:
    scheme = cfg.get("init", "default")
    if scheme != "default":
        init_weights(net, scheme)
    return net


def build_generator(cfg: Any, shape: tuple[int, int], output_activation: str | None = None):
    """G (or decoder): z (n, latent_dim) -> x (n, channels, length); the last layer is
    `output_activation`, else model.output_activation (default none)."""
    gen_cls, _ = _backbone(cfg)
    channels, length = shape
    act = output_activation or cfg.get("output_activation", "none")
    net = gen_cls(
        int(cfg.latent_dim), channels, length, int(cfg.base_channels), act, **_bias_kwargs(cfg)
    )
    return initialised(net, cfg)


def _features(cfg: Any, shape: tuple[int, int], spectral_norm: bool) -> nn.Module:
    _, feat_cls = _backbone(cfg)
    channels, length = shape
    return feat_cls(channels, length, int(cfg.base_channels), spectral_norm, **_bias_kwargs(cfg))


def build_features(cfg: Any, shape: tuple[int, int], spectral_norm: bool = False) -> nn.Module:
    """x -> flat features (n, f); the trunk of critics and encoders (`.out_features`)."""
    return initialised(_features(cfg, shape, spectral_norm), cfg)


def build_critic(cfg: Any, shape: tuple[int, int]) -> Critic:
    """D: x -> (logit or critic value (n,), features (n, f)); spectral norm per config."""
    sn = bool(cfg.get("spectral_norm", False))
    critic = Critic(_features(cfg, shape, sn), sn, **_bias_kwargs(cfg))
    return initialised(critic, cfg)


def build_encoder(cfg: Any, shape: tuple[int, int], variational: bool = False) -> Encoder:
    """E: x -> z (n, latent_dim), or (mu, logvar) when variational."""
    features = _features(cfg, shape, False)
    encoder = Encoder(features, int(cfg.latent_dim), variational, **_bias_kwargs(cfg))
    return initialised(encoder, cfg)
