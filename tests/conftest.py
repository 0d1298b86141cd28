"""Shared fixtures: the repo's config dir, the shared MIT-BIH and UCR copies, a composed config."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

# A test run started in the background (nohup, or `&` in a non-interactive shell) inherits SIGINT
# ignored, and so would every ganad process it starts: the Ctrl-C tests deliver real SIGINTs and
# would see nothing. Python's own default (KeyboardInterrupt) is restored for this process; an
# exec'd child then starts with the default disposition too.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


# Tiny networks gain nothing from several intra-op threads, and spinning OpenMP threads make
# subprocess tests crawl when anything else shares the cores: one thread per process.
os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]
# ../shared (CI's data copy); $GANAD_TEST_SHARED points it elsewhere, e.g. at an empty folder to
# run the tests as on a fresh machine, where they fetch their data through ganad's download paths
SHARED = Path(os.environ.get("GANAD_TEST_SHARED") or REPO.parent / "shared")


@pytest.fixture(scope="session")
def mitdb_root() -> Path:
    """$GANAD_MITDB or ../shared/data/mitdb (CI); on a fresh machine without either, the 48
    records are fetched once through ganad's own download path into ganad's data folder."""
    from tests.mitdb_source import fetch_mitdb, local_mitdb

    root = local_mitdb(SHARED)
    if root is not None:
        return root
    from ganad_cli.data.locations import data_home
    from ganad_cli.data.mitbih import ALL_RECORDS
    from ganad_cli.errors import GanadInputError

    try:
        return fetch_mitdb(data_home() / "mitdb", ALL_RECORDS)
    except GanadInputError as exc:
        pytest.fail(f"MIT-BIH records are not here and could not be downloaded: {exc}")


@pytest.fixture(scope="session")
def ucr_root(tmp_path_factory):
    """ucr_root(NAME) -> a UCR data set folder: $GANAD_UCR/NAME or ../shared/data/NAME (CI); on
    a fresh machine without either, fetched once through ganad's own download path (the UCR/UEA
    archive's zip) into a temporary cache."""
    from ganad_cli.errors import GanadInputError
    from tests.ucr_source import fetch_ucr, local_ucr

    def get(name: str) -> Path:
        root = local_ucr(SHARED, name)
        if root is not None:
            return root
        try:
            return fetch_ucr(tmp_path_factory.getbasetemp() / "ucr", name)
        except GanadInputError as exc:
            pytest.fail(f"UCR data set {name} is not here and could not be downloaded: {exc}")

    return get


SMOKE_TRAIN = ["experiment=smoke", "trainer.max_epochs=1", "inversion.n_max=3"]


def _tree_digest(folder: Path) -> dict[str, int]:
    return {
        str(p.relative_to(folder)): hash(p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "train.log"
    }


@pytest.fixture(scope="session")
def finished_smoke_run(tmp_path_factory) -> Iterator[Path]:
    """One finished `ganad train` smoke run (wgan_gp on synthetic ECG, 1 epoch), trained once
    per session for the modules that read it or damage copies of it. A test that changed it in
    place would spoil the others: the teardown fails if its files changed."""
    from tests.test_cli import run

    base = tmp_path_factory.mktemp("finished_smoke")
    out = run(["train", *SMOKE_TRAIN, f"hydra.run.dir={base / 'run'}"], base)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (base / "run" / "metrics.json").is_file()
    before = _tree_digest(base / "run")
    yield base / "run"
    assert _tree_digest(base / "run") == before, "a test changed the shared smoke run in place"


@pytest.fixture(scope="session")
def compose_train():
    """compose_train(overrides) -> DictConfig, through Hydra's compose API."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from ganad_cli.config import register_configs
    from ganad_cli.paths import conf_dir

    register_configs()

    def _compose(overrides: list[str] | None = None, name: str = "train"):
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            return compose(name, overrides=overrides or [], return_hydra_config=False)

    yield _compose
    GlobalHydra.instance().clear()


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Commands run in-process (the console script's own `main`) from tmp_path, quietly."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CI", "true")
    monkeypatch.delenv("GANAD_DEBUG", raising=False)
    return tmp_path


def train_beat_run(base, mitdb_root, records: str, score_overrides: list[str]):
    """A tiny BeatGAN run on a few MIT-BIH records (1 epoch, 5 batches) in base/run, trained
    in-process; used by the rhythm and latent_knn fixtures."""
    from ganad_cli.cli import main

    args = [
        "train",
        "data=mitbih",
        f"data.root={mitdb_root}",
        f"data.records={records}",
        "data.val_anomaly_fraction=0.3",
        "data.download=false",
        f"data.cache_dir={base / 'cache'}",
        "model=beatgan",
        "model.latent_dim=8",
        "model.base_channels=8",
        *score_overrides,
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=5",
        "plots=false",
        f"hydra.run.dir={base / 'run'}",
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(base)
        mp.setenv("CI", "true")
        assert main(args) == 0
    return base / "run"
