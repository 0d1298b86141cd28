"""Networks chosen by `model.backbone`: generator, critic, encoder and trunks per data shape.

The builders take a `NetSpec`, a small frozen dataclass of the network knobs only, which each model
makes from its own explicit constructor arguments (never the raw config): `backbone`,
`latent_dim`, `base_channels`, `output_activation` (the generator's last layer), `init`
(ganad_cli.nets.init), `bias` (false: dcgan1d without the biases the BeatGAN authors' layers
lack) and `spectral_norm` (the critic's). Its defaults are those of the model schema
(ganad_cli.config.schema.model.ModelConfig); tests/test_model_constructors.py holds them equal.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ganad_cli.errors import GanadInputError
from ganad_cli.nets.common import Critic, Encoder
from ganad_cli.nets.conv1d import Conv1dFeatures, Conv1dGenerator
from ganad_cli.nets.conv2d import Conv2dFeatures, Conv2dGenerator
from ganad_cli.nets.dcgan1d import Dcgan1dFeatures, Dcgan1dGenerator
from ganad_cli.nets.init import init_weights
from ganad_cli.nets.lstm import LSTMFeatures, LSTMGenerator
from ganad_cli.nets.mlp import MLPFeatures, MLPGenerator


@dataclass(frozen=True)
class NetSpec:
    """What the network builders read (the `model.*` keys of the same names)."""

    backbone: str = "conv1d"
    latent_dim: int = 32
    base_channels: int = 32
    output_activation: str = "none"
    init: str = "default"
    bias: bool = True
    spectral_norm: bool = False


BACKBONES: dict[str, tuple[type[nn.Module], type[nn.Module]]] = {
    "conv1d": (Conv1dGenerator, Conv1dFeatures),
    "dcgan1d": (Dcgan1dGenerator, Dcgan1dFeatures),
    "mlp": (MLPGenerator, MLPFeatures),
    "lstm": (LSTMGenerator, LSTMFeatures),
    "conv2d": (Conv2dGenerator, Conv2dFeatures),
}


def _backbone(spec: NetSpec) -> tuple[type[nn.Module], type[nn.Module]]:
    name = spec.backbone
    if name not in BACKBONES:
        raise GanadInputError(
            f"config key 'model.backbone': unknown backbone {name!r}; "
            f"expected one of {sorted(BACKBONES)}"
        )
    return BACKBONES[name]


def _bias_kwargs(spec: NetSpec) -> dict[str, bool]:
    """{} with biases (every backbone), {"bias": False} for dcgan1d without them."""
    if spec.bias:
        return {}
    if spec.backbone != "dcgan1d":
        raise GanadInputError(
            f"config key 'model.bias' = false needs model.backbone=dcgan1d, got {spec.backbone!r}"
        )
    return {"bias": False}


def initialised(net: nn.Module, spec: NetSpec) -> nn.Module:
    if spec.init != "default":
        init_weights(net, spec.init)
    return net


def build_generator(spec: NetSpec, shape: tuple[int, int]) -> nn.Module:
    """G (or decoder): z (n, latent_dim) -> x (n, channels, length); the last layer is
    `spec.output_activation`."""
    gen_cls, _ = _backbone(spec)
    channels, length = shape
    net = gen_cls(
        spec.latent_dim,
        channels,
        length,
        spec.base_channels,
        spec.output_activation,
        **_bias_kwargs(spec),
    )
    return initialised(net, spec)


def _features(spec: NetSpec, shape: tuple[int, int], spectral_norm: bool) -> nn.Module:
    _, feat_cls = _backbone(spec)
    channels, length = shape
    return feat_cls(channels, length, spec.base_channels, spectral_norm, **_bias_kwargs(spec))


def build_features(spec: NetSpec, shape: tuple[int, int], spectral_norm: bool = False) -> nn.Module:
    """x -> flat features (n, f); the trunk of critics and encoders (`.out_features`)."""
    return initialised(_features(spec, shape, spectral_norm), spec)


def build_critic(spec: NetSpec, shape: tuple[int, int]) -> Critic:
    """D: x -> (logit or critic value (n,), features (n, f)); spectral norm per `spec`."""
    sn = spec.spectral_norm
    critic = Critic(_features(spec, shape, sn), sn, **_bias_kwargs(spec))
    return initialised(critic, spec)


def build_encoder(spec: NetSpec, shape: tuple[int, int], variational: bool = False) -> Encoder:
    """E: x -> z (n, latent_dim), or (mu, logvar) when variational."""
    features = _features(spec, shape, False)
    encoder = Encoder(features, spec.latent_dim, variational, **_bias_kwargs(spec))
    return initialised(encoder, spec)
