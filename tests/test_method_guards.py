"""Combinations that break a method are refused with one line before any run folder exists."""

from __future__ import annotations

import pytest
import torch

from ganad_cli.config import validate_config
from ganad_cli.config.choices import BATCHNORM_CRITIC_BACKBONES
from ganad_cli.errors import GanadInputError


@pytest.mark.parametrize("model", ["wgan_gp", "fanogan"])
def test_batchnorm_critic_with_gradient_penalty_is_refused(compose_train, model):
    cfg = compose_train([f"model={model}", "model.backbone=dcgan1d"])
    with pytest.raises(GanadInputError, match=r"model\.backbone.*BatchNorm.*wgan_gp"):
        validate_config(cfg)
    # the same critic without the penalty, and the penalty on a critic without BatchNorm, are fine
    validate_config(compose_train(["model=wgan", "model.backbone=dcgan1d"]))
    validate_config(compose_train([f"model={model}", "model.backbone=conv1d"]))


def test_cli_exits_2_with_one_line(in_tmp, capsys):
    from ganad_cli.cli import main

    args = ["train", "model=wgan_gp", "model.backbone=dcgan1d", "hydra.run.dir=never"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ganad: error:") and "model.backbone" in err[0]
    assert not (in_tmp / "never").exists()


def test_the_list_names_exactly_the_backbones_with_a_batchnorm_critic(compose_train):
    from ganad_cli.models import build_model

    for backbone in ("conv1d", "dcgan1d", "mlp", "lstm", "conv2d"):
        cfg = compose_train(["model=wgan", f"model.backbone={backbone}", "model.base_channels=4"])
        model = build_model(cfg.model, (1, 64))
        has_bn = any(
            isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
            for m in model.discriminator.modules()
        )
        assert has_bn == (backbone in BATCHNORM_CRITIC_BACKBONES), backbone
