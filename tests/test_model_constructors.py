"""Models take explicit constructor arguments: one keyword per schema field, with its default, and
the registry is the one place that builds a model from a config."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf
from omegaconf.errors import ReadonlyConfigError
from torch.utils.data import DataLoader, TensorDataset

from ganad_cli.config import SCHEMAS
from ganad_cli.config.schema.model import ModelConfig
from ganad_cli.models import MODELS, build_model
from ganad_cli.models.registry import model_fields
from ganad_cli.nets.factory import NetSpec

SHAPE = (1, 64)
MODEL_NAMES = sorted(MODELS)


def schema_defaults(name: str) -> dict:
    return {f.name: f.default for f in dataclasses.fields(SCHEMAS["model"][name])}


def init_parameters(name: str) -> dict[str, inspect.Parameter]:
    params = dict(inspect.signature(MODELS[name].__init__).parameters)
    params.pop("self")
    assert list(params)[0] == "shape"
    params.pop("shape")
    return params


def test_every_schema_has_a_registered_model():
    assert set(MODELS) == set(SCHEMAS["model"]) - {"base"}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_constructor_keywords_are_the_schema_fields(name):
    """`name` is a field and a keyword too: gan, wgan and wgan_gp share one class, and the name
    travels in the recorded hyperparameters (detector.pt's model_name)."""
    params = init_parameters(name)
    assert set(params) == set(schema_defaults(name))
    for p in params.values():
        assert p.kind is inspect.Parameter.KEYWORD_ONLY, p
        assert p.annotation is not inspect.Parameter.empty, p
        assert p.default is not inspect.Parameter.empty, p


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_constructor_defaults_are_the_schema_defaults(name):
    """Each class's defaults are those of its own schema (the one its `name` default names);
    another name sharing the class (wgan, wgan_gp) gets its schema's defaults from the registry."""
    params = init_parameters(name)
    home = params["name"].default
    assert MODELS[home] is MODELS[name]
    assert {k: p.default for k, p in params.items()} == schema_defaults(home)
    model = build_model({"name": name}, SHAPE)
    assert model.hparams["model_cfg"] == schema_defaults(name)
    assert model.hparams["shape"] == list(SHAPE)


def test_net_spec_defaults_are_the_model_schema_defaults():
    shared = schema_defaults("gan")
    spec = NetSpec()
    for f in dataclasses.fields(NetSpec):
        assert getattr(spec, f.name) == shared[f.name], f.name
    assert {f.name for f in dataclasses.fields(NetSpec)} <= {
        f.name for f in dataclasses.fields(ModelConfig)
    }


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_recorded_config_is_the_composed_config(name, compose_train):
    """Checkpoints and detector.pt hold the validated `model` config, key for key, as before."""
    cfg = compose_train([f"model={name}", "model.base_channels=8", "model.latent_dim=8"])
    model = build_model(cfg.model, SHAPE)
    assert model.hparams["model_cfg"] == OmegaConf.to_container(cfg.model)
    assert list(model.hparams["model_cfg"]) == list(cfg.model)
    assert model.name == name and model.latent_dim == 8 and model.nets.base_channels == 8


def test_registry_fills_missing_fields_and_leaves_out_unknown_keys():
    given = {"name": "wgan", "latent_dim": 4, "w_adv": 3.0}  # w_adv: not a wgan field
    fields = model_fields("wgan", given)
    assert fields == {**schema_defaults("wgan"), "latent_dim": 4}
    model = build_model(given, SHAPE)
    assert model.loss_kind == "wasserstein" and model.n_critic == 5 and model.latent_dim == 4
    assert "w_adv" not in model.hparams["model_cfg"]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_rebuilt_from_recorded_hyperparameters(name):
    """What resume, evaluate and detect do: the recorded config rebuilds the same module."""
    pl.seed_everything(0, verbose=False)
    model = build_model({"name": name, "latent_dim": 4, "base_channels": 4}, SHAPE)
    again = build_model(model.hparams["model_cfg"], tuple(model.hparams["shape"]))
    again.load_state_dict(model.state_dict())
    assert type(again) is type(model) and again.hparams == model.hparams


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_default_schema_builds_and_trains_a_step(name):
    pl.seed_everything(0, verbose=False)
    model = MODELS[name](shape=SHAPE, **model_fields(name, {"name": name}))
    x = torch.randn(8, *SHAPE, generator=torch.Generator().manual_seed(0))
    before = [p.detach().clone() for p in model.generator.parameters()]
    trainer = pl.Trainer(
        max_epochs=1,
        limit_train_batches=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    trainer.fit(model, DataLoader(TensorDataset(x), batch_size=8))
    logged = {k: float(v) for k, v in trainer.callback_metrics.items()}
    assert any(k.startswith("train/loss") for k in logged), logged
    moved = any(
        not torch.equal(b, a.detach()) for b, a in zip(before, model.generator.parameters())
    )
    # a GAN-family G steps every n_critic-th batch: with one batch only where n_critic is 1
    assert moved == (getattr(model, "n_critic", 1) == 1)
    model.eval()
    with torch.no_grad():
        assert model.decode(model.sample_z(3)).shape == (3, *SHAPE)


def test_models_read_their_attributes_not_the_config():
    from pathlib import Path

    import ganad_cli.models as models

    for path in Path(models.__file__).parent.glob("*.py"):
        text = path.read_text()
        assert "self.cfg" not in text and "cfg.get(" not in text, path.name


def test_recorded_config_view_is_read_only():
    model = build_model({"name": "beta_vaegan"}, SHAPE)
    assert model.cfg.update_order == "d_first" == model.update_order
    with pytest.raises(ReadonlyConfigError):
        model.cfg.update_order = "g_first"
