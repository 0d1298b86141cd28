"""The `callbacks` group (conf/callbacks/): Lightning's own callbacks built by
hydra.utils.instantiate from their `_target_`, off until enabled, and every override of them
applied or refused (issue 20, Build)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from ganad_cli.cli import main
from tests.test_applied import TINY, _error_line

STOP_AFTER_ONE = [  # mode=min: stops once train/loss_d is below 1e9, i.e. after the first epoch
    "+callbacks.early_stopping.monitor=train/loss_d",
    "+callbacks.early_stopping.stopping_threshold=1e9",
]
LR_MONITOR = "pytorch_lightning.callbacks.LearningRateMonitor"
KEEP_BEST = ["+callbacks.model_checkpoint.monitor=train/loss_d"]


def _epochs(run_dir: Path) -> int:
    return json.loads((run_dir / "runtime.json").read_text())["epochs"]


def test_default_callbacks_are_off(in_tmp: Path):
    assert main(["train", *TINY, "trainer.max_epochs=2", "hydra.run.dir=plain"]) == 0
    assert _epochs(in_tmp / "plain") == 2
    assert not list((in_tmp / "plain" / "checkpoints").glob("best-*.ckpt"))


def test_early_stopping_and_model_checkpoint_overrides_take_effect(in_tmp: Path):
    args = [*TINY, "trainer.max_epochs=3", *STOP_AFTER_ONE, *KEEP_BEST, "hydra.run.dir=run"]
    assert main(["train", *args]) == 0
    run_dir = in_tmp / "run"
    assert _epochs(run_dir) == 1  # EarlyStopping stopped training after epoch 1 of 3
    best = sorted((run_dir / "checkpoints").glob("best-*.ckpt"))
    assert [p.name for p in best] == ["best-epoch=000.ckpt"]  # in <run>/checkpoints (dirpath)
    state = torch.load(best[0], weights_only=True)["callbacks"]
    assert any(k.startswith("EarlyStopping{'monitor': 'train/loss_d'") for k in state)
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()  # ganad's own, for resume


def test_lr_monitor_enabled_by_its_target_logs_learning_rates(in_tmp: Path):
    on = f"+callbacks.lr_monitor._target_={LR_MONITOR}"
    args = [*TINY, "logger=csv", on, "+callbacks.lr_monitor.logging_interval=epoch"]
    assert main(["train", *args, "hydra.run.dir=run"]) == 0
    columns = pd.read_csv(in_tmp / "run" / "logs" / "metrics.csv").columns
    assert any(c.startswith("lr-") for c in columns), list(columns)


def test_callbacks_none_builds_only_ganads_own(in_tmp: Path):
    args = [*TINY, "callbacks=none", "hydra.run.dir=run"]
    assert main(["train", *args]) == 0
    assert (in_tmp / "run" / "checkpoints" / "last.ckpt").is_file()


@pytest.mark.parametrize(
    "override,needle",
    [
        ("+callbacks.early_stopping.not_an_argument=1", "callbacks.early_stopping.not_an_argument"),
        (
            "+callbacks.model_checkpoint.dirpath=/tmp/elsewhere",
            "callbacks.model_checkpoint.dirpath",
        ),
        ("+callbacks.early_stopping.monitor=val/auroc", "callbacks.early_stopping.monitor"),
        ("+callbacks.mine={monitor:x}", "callbacks.mine"),
        ("+callbacks.mine._target_=ganad_cli.io.atomic_write_text", "allow-list"),
        ("trainer._target_=builtins.print", "allow-list"),
        ("logger._target_=pytorch_lightning.loggers.TensorBoardLogger", "logger.name"),
        ("+model.extra._target_=pytorch_lightning.Trainer", "model.extra._target_"),
        ("+callbacks.early_stopping._partial_=true", "_partial_"),
        ("callbacks.model_checkpoint.filename=last", "callbacks.model_checkpoint.filename"),
        ("+callbacks.model_checkpoint.save_last=true", "callbacks.model_checkpoint.save_last"),
        ("+logger.not_an_argument=1", "logger.not_an_argument"),
        (f"+callbacks.lr_monitor._target_={LR_MONITOR}", "callbacks.lr_monitor"),  # logger=none
        ("+logger.save_dir=/tmp/x", "logger.save_dir"),
    ],
)
def test_callbacks_overrides_ganad_cannot_apply_are_refused(in_tmp, capfd, override, needle):
    code = main(["train", *TINY, override, "hydra.run.dir=run"])
    line = _error_line(capfd.readouterr().err)
    assert code == 2 and needle in line, line
    assert not (in_tmp / "run").exists()


def test_logger_arguments_reach_the_logger(in_tmp: Path):
    """`+logger.<arg>` of the chosen Lightning logger is passed to it; the run folder stays
    ganad's."""
    from omegaconf import OmegaConf

    from ganad_cli.training.trainer import build_logger

    cfg = OmegaConf.create(
        {
            "resume": None,
            "logger": {
                "name": "csv",
                "_target_": "pytorch_lightning.loggers.CSVLogger",
                "flush_logs_every_n_steps": 12345,
            },
        }
    )
    logger = build_logger(cfg, in_tmp)
    assert logger._flush_logs_every_n_steps == 12345
    assert Path(logger.log_dir) == in_tmp / "logs"


def test_a_monitor_never_logged_is_one_error_line(in_tmp, capfd):
    bad = "+callbacks.early_stopping.monitor=train/not_logged"
    code = main(["train", *TINY, bad, "hydra.run.dir=run"])
    line = _error_line(capfd.readouterr().err)
    assert code == 2 and "callbacks.early_stopping.monitor" in line and "train/loss_d" in line
    assert not (in_tmp / "run").exists()


def test_command_line_target_off_the_allow_list_runs_nothing(in_tmp, capfd):
    marker = in_tmp / "pwned.txt"
    args = [
        "+callbacks.pwn._target_=ganad_cli.io.atomic_write_text",
        f"+callbacks.pwn.path={marker}",
        "+callbacks.pwn.text=owned",
    ]
    assert main(["train", *TINY, *args, "hydra.run.dir=run"]) == 2
    assert "allow-list" in _error_line(capfd.readouterr().err)
    assert not marker.exists()


def test_training_clock_is_lightnings_timer():
    from pytorch_lightning.callbacks import Timer

    from ganad_cli.training.callbacks import TrainingClock

    clock = TrainingClock()
    assert isinstance(clock, Timer)
    clock.load_state_dict({"time_elapsed": {"train": 7.0}, "seconds": 5.0, "epochs": 2})
    state = clock.state_dict()
    assert state["time_elapsed"]["train"] == 7.0 and (state["seconds"], state["epochs"]) == (5, 2)


def test_trainer_is_built_by_instantiate_without_ganads_own_keys(
    compose_train, tmp_path, monkeypatch
):
    """conf/trainer/*.yaml names pytorch_lightning.Trainer as `_target_`; hydra.utils.instantiate
    gets the trainer node minus GANAD_TRAINER_KEYS, ganad adds callbacks and logger."""
    import hydra.utils
    import pytorch_lightning as pl

    from ganad_cli.config.keys import GANAD_TRAINER_KEYS
    from ganad_cli.training.trainer import build_trainer

    seen: list[dict] = []
    real = hydra.utils.instantiate

    def spy(config, *args, **kwargs):
        seen.append(dict(config))
        return real(config, *args, **kwargs)

    monkeypatch.setattr(hydra.utils, "instantiate", spy)
    cfg = compose_train(["logger=csv", "trainer.max_epochs=4", "+trainer.max_time=00:01:00:00"])
    trainer = build_trainer(cfg, tmp_path)
    assert isinstance(trainer, pl.Trainer) and trainer.max_epochs == 4
    nodes = {node["_target_"]: node for node in seen}
    node = nodes["pytorch_lightning.Trainer"]
    assert not set(GANAD_TRAINER_KEYS) & set(node) and node["max_time"] == "00:01:00:00"
    assert "pytorch_lightning.loggers.CSVLogger" in nodes
    assert isinstance(trainer.logger, pl.loggers.CSVLogger)


def test_ganad_trainer_keys_are_exactly_the_schema_keys_lightning_lacks():
    """One home (config.keys.GANAD_TRAINER_KEYS): every other trainer schema key reaches
    pytorch_lightning.Trainer, so none is recorded and dropped."""
    import dataclasses

    from ganad_cli.config import TrainerConfig
    from ganad_cli.config.applied import trainer_arguments
    from ganad_cli.config.keys import GANAD_TRAINER_KEYS

    fields = {f.name for f in dataclasses.fields(TrainerConfig)} - {"_target_"}
    assert fields - trainer_arguments() == set(GANAD_TRAINER_KEYS)
