"""A choice that needs an optional extra that is not installed (simulated: its modules made
unimportable through sys.modules) is one `ganad: error:` line naming `pip install 'ganad[<extra>]'`
(an extra of pyproject.toml), exit 2, and no run or sweep folder."""

from __future__ import annotations

import re
import sys

import pytest

from ganad_cli.cli import main
from tests.conftest import REPO

SMOKE = ["experiment=smoke", "logger=none", "quiet=true", "trainer.max_epochs=1"]
CASES = {
    "optuna-sweeper-plugin": (
        ["hydra_plugins.hydra_optuna_sweeper"],
        ["-m", "hparams_search=optuna", "hydra.sweeper.n_trials=1"],
        "sweep",
    ),
    "optuna": (["optuna"], ["-m", "hparams_search=optuna", "hydra.sweeper.n_trials=1"], "sweep"),
    "joblib-launcher": (
        ["hydra_plugins.hydra_joblib_launcher"],
        ["-m", "hydra/launcher=joblib", "seed=0,1"],
        "sweep",
    ),
    "submitit-launcher": (
        ["hydra_plugins.hydra_submitit_launcher", "submitit"],
        ["-m", "hydra/launcher=submitit_local", "seed=0,1"],
        "cluster",
    ),
    "tensorboard": (["tensorboard", "tensorboardX"], ["logger=tensorboard"], "tensorboard"),
    "wandb": (["wandb"], ["logger=wandb", "logger.mode=offline"], "wandb"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_missing_extra_names_what_to_install(case, in_tmp, capfd, monkeypatch):
    modules, args, extra = CASES[case]
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)  # `import name` now raises ImportError
    out_dir = "hydra.sweep.dir=out" if "-m" in args else "hydra.run.dir=out"
    code = main(["train", *SMOKE, *args, out_dir])
    err = capfd.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, err[-2000:]
    assert len(lines) == 1 and lines[0].startswith("ganad: error:"), err[-2000:]
    assert f"pip install 'ganad[{extra}]'" in lines[0]
    assert not (in_tmp / "out").exists()
    pyproject = (REPO / "pyproject.toml").read_text()
    extras = pyproject.split("[project.optional-dependencies]")[1].split("\n[")[0]
    assert re.search(rf"^{extra} = \[", extras, re.M)  # the extra named is one of pyproject's
