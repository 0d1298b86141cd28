"""Config composition for every group choice, and bad overrides exiting 2 before any run folder."""

from __future__ import annotations

import pytest

from ganad_cli.config import validate_config
from ganad_cli.paths import conf_dir

GROUPS = [
    "data",
    "model",
    "inversion",
    "score",
    "threshold",
    "trainer",
    "logger",
    "callbacks",
    "experiment",
]


def _choices(group: str) -> list[str]:
    return sorted(p.stem for p in (conf_dir() / group).glob("*.yaml"))


@pytest.mark.parametrize(
    "group,choice", [(g, c) for g in GROUPS for c in _choices(g)], ids=lambda v: str(v)
)
def test_every_group_choice_composes_and_validates(compose_train, group, choice):
    extra = ["model=beatgan"] if group == "inversion" and choice.startswith("encoder") else []
    cfg = compose_train([f"{group}={choice}", *extra])
    if group != "experiment":
        assert cfg[group] is not None
    try:
        validate_config(cfg)
    except Exception as exc:  # a choice may legitimately need another key (e.g. data.root)
        pytest.fail(f"{group}={choice} does not validate with defaults: {exc}")


def test_each_group_has_a_choice():
    for group in GROUPS:
        assert _choices(group), f"conf/{group}/ has no YAML"


def test_defaults_list_comes_first_in_train_yaml():
    text = (conf_dir() / "train.yaml").read_text()
    first_key = next(line for line in text.splitlines() if line and not line.startswith("#"))
    assert first_key.startswith("defaults:")


def test_schema_rejects_unknown_key_and_wrong_type(compose_train):
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException):
        compose_train(["model.not_a_key=1"])
    with pytest.raises(ConfigCompositionException):
        compose_train(["inversion.n_max=many"])


@pytest.mark.parametrize(
    "override,key",
    [
        ("inversion.eps=0", "inversion.eps"),
        ("inversion.n_max=0", "inversion.n_max"),
        ("inversion.batch_size=0", "inversion.batch_size"),
        ("data.batch_size=0", "data.batch_size"),
        ("model.latent_dim=0", "model.latent_dim"),
        ("data.contamination=1.0", "data.contamination"),
        ("data.fold=5", "data.fold"),
        ("threshold.quantile=1.5", "threshold.quantile"),
    ],
)
def test_range_checks_name_the_key(compose_train, override, key):
    from ganad_cli.errors import GanadInputError

    with pytest.raises(GanadInputError, match=key.replace(".", r"\.")):
        validate_config(compose_train([override]))


def test_choice_lists_match_their_implementations():
    """ganad_cli.config.choices (torch-free, for fast config errors) agrees with the code behind
    it."""
    from ganad_cli.config import choices
    from ganad_cli.inversion.anogan import OPTIMIZERS
    from ganad_cli.models.registry import MODELS, encoder_models

    assert set(choices.MODEL_NAMES) == set(MODELS)
    assert sorted(choices.ENCODER_MODELS) == encoder_models()
    assert set(choices.INVERSION_OPTIMIZERS) == set(OPTIMIZERS)
    from ganad_cli.nets.common import ACTIVATIONS
    from ganad_cli.nets.factory import BACKBONES

    assert set(choices.OUTPUT_ACTIVATIONS) == set(ACTIVATIONS)
    assert set(choices.BACKBONES) == set(BACKBONES)


@pytest.mark.parametrize(
    "override",
    ["model.init=xavier", "model.output_activation=relu", "model.update_order=together"],
)
def test_bad_network_option_exits_2(override, in_tmp, capsys):
    from ganad_cli.cli import main

    assert main(["train", "model=beatgan", override, "hydra.run.dir=never"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ganad: error:")
    assert override.split("=")[0] in err[0] and not (in_tmp / "never").exists()


def test_config_errors_need_no_torch():
    """A bad value is reported before torch is imported (the error comes back fast)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from ganad_cli.cli import main\n"
        "rc = main(['train', 'inversion.lr_schedule=bogus', 'hydra.run.dir=never'])\n"
        "assert rc == 2, rc\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "inversion.lr_schedule" in proc.stderr
