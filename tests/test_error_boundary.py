"""Issue 22: one error boundary, and no silent wrong answers.

Class 1: what used to end in a traceback (bad seeds, Lightning's checks, failing interpolations,
symlink loops, non-UTF-8 text, damaged .npy headers, allocation failures, wandb credentials, Ctrl-C
during start-up, broken run files, a full disk) ends with one `ganad: error:` line naming the key
or file, exit 2 (130 for Ctrl-C), and no folder that looks finished.
Class 2: NaN/inf in configs are refused by key; a detector carries its model name, input shape and
sampling rate and is checked against its run folder; NaN weights, thresholds or scores are errors.
"""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ganad_cli.cli import main
from ganad_cli.config.compose import preflight
from ganad_cli.errors import GanadInputError
from tests.test_cli import GANAD

SMOKE = ["experiment=smoke", "trainer.max_epochs=1", "inversion.n_max=3"]
# even smaller than SMOKE: for the property test's real training runs
TINY = [*SMOKE, "data.max_samples=300", "model.base_channels=8", "model.latent_dim=8"]


def _one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ganad: error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], err[-3000:]
    assert "Traceback" not in err
    return errors[0]


def _refused(argv: list[str], capfd, needle: str, code: int = 2) -> str:
    capfd.readouterr()
    got = main(argv)
    err = capfd.readouterr().err
    assert got == code, err[-3000:]
    line = _one_line(err)
    assert needle in line, line
    return line


@pytest.fixture(scope="module")
def trained_run(finished_smoke_run) -> Path:
    """The session's finished smoke run (tests/conftest.py); cases damage copies of it."""
    return finished_smoke_run


@pytest.fixture
def run_copy(trained_run, tmp_path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(trained_run, dst)
    return dst


# ------------------------------------------------------------------- class 1: config errors


@pytest.mark.parametrize(
    "override,needle",
    [
        ("seed=-1", "'seed'"),
        ("seed=${oc.env:HOME}", "'seed'"),
        ("data.num_workers=-1", "data.num_workers"),
        ("model.lr_g=${oc.env:HOME}", "model.lr_g"),
        ("model.lr_d=${oc.env:GANAD_TEST_UNSET_VARIABLE}", "model.lr_d"),
        ("inversion.eps=${model.no_such_key}", "inversion.eps"),
        ("data.n_normal=-5", "data.n_normal"),
        ("model.lr_d=-1", "'model.lr_d'"),
        ("model.beta1=1.5", "model.beta1"),
        ("inversion.seed=-3", "inversion.seed"),
    ],
)
def test_config_error_names_its_key_before_any_folder(override, needle, in_tmp, capfd):
    out = in_tmp / "out"
    _refused(["train", *SMOKE, override, f"hydra.run.dir={out}"], capfd, needle)
    assert not out.exists()


def test_lightning_misconfiguration_is_one_line_and_the_folder_goes(in_tmp, capfd):
    out = in_tmp / "out"
    argv = ["train", *SMOKE, "trainer.accelerator=banana", f"hydra.run.dir={out}"]
    line = _refused(argv, capfd, "trainer.accelerator")
    assert "banana" in line
    assert not out.exists()


def test_wandb_online_without_credentials(in_tmp, capfd, monkeypatch):
    monkeypatch.setenv("HOME", str(in_tmp))  # no ~/.netrc
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("WANDB_DIR", str(in_tmp))
    out = in_tmp / "out"
    argv = ["train", *SMOKE, "logger=wandb", "logger.mode=online", f"hydra.run.dir={out}"]
    _refused(argv, capfd, "logger.mode")
    assert not out.exists()


# --------------------------------------------------------------------- class 1: files


def test_data_root_symlink_loop(in_tmp, capfd):
    loop = in_tmp / "loop.csv"
    loop.symlink_to(loop.name)
    out = in_tmp / "out"
    argv = ["train", "data=csv", f"data.root={loop}", *SMOKE, f"hydra.run.dir={out}"]
    line = _refused(argv, capfd, "data.root")
    assert "loop.csv" in line and "symlink loop" in line
    assert not out.exists()


def test_unreadable_file_names_it():
    """EACCES cannot be provoked as root (this machine's tests run as root): the mapping
    itself, on the OSError open() raises."""
    from ganad_cli.boundary import as_input_error

    err = as_input_error(PermissionError(13, "Permission denied", "/data/windows.csv"))
    assert isinstance(err, GanadInputError)
    assert "/data/windows.csv" in str(err) and "permission denied" in str(err)


def test_detect_csv_with_latin1_bytes(run_copy, tmp_path, capfd):
    row = ",".join(["0.1"] * 128)
    path = tmp_path / "latin.csv"
    path.write_bytes(("caf\xe9," + row[4:] + "\n").encode("latin-1") + (row + "\n").encode())
    argv = ["detect", f"run={run_copy}", f"input={path}", f"output={tmp_path / 'd.csv'}"]
    line = _refused(argv, capfd, "latin.csv")
    assert "UTF-8" in line
    assert not (tmp_path / "d.csv").exists()


def _npy_claiming(path: Path, shape: tuple[int, ...], payload: int) -> Path:
    """A .npy whose header claims `shape` but holds only `payload` float32 values."""
    from numpy.lib import format as npy_format

    header = npy_format.header_data_from_array_1_0(np.zeros((1, 128), np.float32))
    header["shape"] = shape
    with open(path, "wb") as fh:
        npy_format.write_array_header_1_0(fh, header)
        fh.write(np.zeros(payload, np.float32).tobytes())
    return path


def test_npy_header_is_checked_against_the_file_length(run_copy, tmp_path, capfd):
    huge = _npy_claiming(tmp_path / "huge.npy", (4_000_000_000, 128), 512)
    line = _refused(["detect", f"run={run_copy}", f"input={huge}"], capfd, "huge.npy")
    assert "header" in line and "2176 bytes" in line
    out = tmp_path / "out"
    argv = ["train", "data=npy", f"data.root={huge}", *SMOKE, f"hydra.run.dir={out}"]
    line = _refused(argv, capfd, "huge.npy")
    assert "header" in line and "Unable to allocate" not in line
    assert not out.exists()


def test_wfdb_record_without_its_dat(mitdb_root, tmp_path):
    from ganad_cli.data.mitbih_files import read_record

    for ext in ("hea", "atr"):
        shutil.copy(mitdb_root / f"100.{ext}", tmp_path / f"100.{ext}")
    with pytest.raises(GanadInputError, match=r"100\.dat not found"):
        read_record(tmp_path, 100)


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def test_allocation_failures_map_to_one_line_naming_the_memory_keys(compose_train):
    """The fast counterpart of the memory-limit run below: the exception classes torch and
    numpy raise when an allocation fails."""
    from ganad_cli.boundary import as_input_error

    cfg = compose_train(["model.latent_dim=100000"])
    cpu = RuntimeError(
        "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate "
        "memory: you tried to allocate 819200000 bytes."
    )
    for exc in (cpu, torch.OutOfMemoryError("CUDA out of memory."), MemoryError()):
        err = as_input_error(exc, cfg)
        assert isinstance(err, GanadInputError), exc
        assert "out of memory" in str(err) and "model.latent_dim=100000" in str(err)
    assert as_input_error(RuntimeError("a bug in ganad"), cfg) is None  # keeps its traceback


@pytest.mark.slow
def test_allocation_failure_names_the_memory_keys(tmp_path):
    """model.latent_dim=100000 under a 3 GiB address-space limit (the installed script)."""
    out = tmp_path / "out"
    proc = subprocess.run(
        [GANAD, "train", *SMOKE, "model.latent_dim=100000", f"hydra.run.dir={out}"],
        cwd=tmp_path,
        env={**os.environ, "CI": "true"},
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limit_memory,
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    line = _one_line(proc.stderr)
    assert "out of memory" in line and "model.latent_dim=100000" in line
    assert not out.exists()


# --------------------------------------------------------------------- class 1: Ctrl-C


def _main_interruptible(argv: list[str]) -> int:
    """main(argv); a KeyboardInterrupt escaping it (the old behaviour) fails the test instead of
    stopping pytest."""
    try:
        return main(argv)
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped ganad's main()")


def _sigint_then(real):
    def wrapped(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # the user's Ctrl-C, delivered as a real signal
        return real(*args, **kwargs)

    return wrapped


def test_ctrl_c_while_composing(in_tmp, capfd, monkeypatch):
    import ganad_cli.cli.hydra_run as cli

    monkeypatch.setattr(cli, "preflight", _sigint_then(cli.preflight))
    capfd.readouterr()
    assert _main_interruptible(["train", *SMOKE, f"hydra.run.dir={in_tmp / 'out'}"]) == 130
    err = capfd.readouterr().err
    assert "Traceback" not in err and err.strip() == "ganad: interrupted"
    assert not (in_tmp / "out").exists()


def test_ctrl_c_while_loading_data_removes_the_new_folder(in_tmp, capfd, monkeypatch):
    import ganad_cli.tasks.train as pipeline

    monkeypatch.setattr(pipeline, "load_samples", _sigint_then(pipeline.load_samples))
    capfd.readouterr()
    assert _main_interruptible(["train", *SMOKE, f"hydra.run.dir={in_tmp / 'out'}"]) == 130
    err = capfd.readouterr().err
    assert "Traceback" not in err and "ganad: interrupted" in err
    assert not (in_tmp / "out").exists(), "a run stopped during start-up leaves no folder"


# ------------------------------------------------------------------ class 1: run files


def test_resume_with_unparsable_overrides(tmp_path, capfd):
    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "overrides.yaml").write_text("- [broken\n")
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "last.ckpt").write_bytes(b"")
    before = sorted(p.name for p in run.rglob("*"))
    _refused(["train", f"resume={run}"], capfd, "overrides.yaml")
    assert sorted(p.name for p in run.rglob("*")) == before, "a resumed folder is never changed"


def _limit_file_size():
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def test_report_on_a_full_disk_and_its_skipped_runs(trained_run, tmp_path):
    """report.md cannot be written (file size limit 0: EFBIG, as ENOSPC): one line, exit 2, no
    half report; with room, every skipped run is named with its reason."""
    root = tmp_path / "runs"
    for name in ("good", "truncated", "list", "broken_config"):
        shutil.copytree(trained_run, root / name, ignore=shutil.ignore_patterns("checkpoints"))
    metrics = (trained_run / "metrics.json").read_text()
    (root / "truncated" / "metrics.json").write_text(metrics[: len(metrics) // 2])
    (root / "list" / "metrics.json").write_text("[1, 2]")
    (root / "broken_config" / ".hydra" / "config.yaml").write_text("data: [unclosed\n")
    full = subprocess.run(
        [GANAD, "report", str(root)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limit_file_size,
    )
    assert full.returncode == 2, full.stderr[-3000:]
    assert "report" in _one_line(full.stderr)
    assert not list(root.glob("report*")), "no half-written report"
    out = tmp_path / "report"
    assert main(["report", str(root), "--out", str(out)]) == 0
    text = (out / "report.md").read_text()
    for name, why in (
        ("truncated", "not readable JSON"),
        ("list", "not a JSON object"),
        ("broken_config", "could not be read"),
    ):
        assert any(name in ln and why in ln for ln in text.splitlines()), text


# ---------------------------------------------------------------- class 2: the detector


def test_detector_carries_its_metadata(trained_run):
    blob = torch.load(trained_run / "detector.pt", weights_only=True)
    assert blob["metadata"] == {
        "model_name": "wgan_gp",
        "input_shape": [1, 128],
        "sampling_rate_hz": None,  # synthetic beats have no physical rate
    }
    from ganad_cli.runs.detector_file import expected_shape, sampling_rate_hz

    mitbih = {"name": "mitbih", "preprocess": "beatgan", "beatgan_before": 140}
    assert sampling_rate_hz(mitbih) == 360.0 and expected_shape(mitbih) == (1, 320)


def _rewrite(run: Path, change) -> None:
    blob = torch.load(run / "detector.pt", weights_only=True)
    change(blob)
    torch.save(blob, run / "detector.pt")


def _nan_weights(blob: dict) -> None:
    blob["state_dict"] = {
        k: torch.full_like(v, math.nan) if v.is_floating_point() else v
        for k, v in blob["state_dict"].items()
    }


@pytest.mark.parametrize(
    "change,needle",
    [
        (_nan_weights, "NaN or inf weights"),
        (lambda b: b.update(threshold=math.nan), "threshold nan"),
        (lambda b: b["score"].update(std=[math.inf] * len(b["score"]["std"])), "score.std"),
    ],
    ids=["nan-weights", "nan-threshold", "inf-score-std"],
)
def test_damaged_detector_is_refused_at_load(run_copy, tmp_path, capfd, change, needle):
    _rewrite(run_copy, change)
    windows = tmp_path / "w.npy"
    np.save(windows, np.zeros((3, 128), np.float32))
    out = tmp_path / "d.csv"
    _refused(["detect", f"run={run_copy}", f"input={windows}", f"output={out}"], capfd, needle)
    assert not out.exists()
    _refused(["evaluate", f"run={run_copy}"], capfd, needle)
    assert not (run_copy / "evaluations").exists()


def test_detector_of_another_model_in_a_run_folder(run_copy, tmp_path, capfd):
    """A beatgan detector.pt copied into a wgan_gp run folder: refused, never labelled wgan_gp."""
    from ganad_cli.detector import Detector
    from ganad_cli.models.registry import build_model

    det = Detector.load(run_copy / "detector.pt")
    cfg = {**det.model.hparams["model_cfg"], "name": "beatgan", "w_adv": 1.0, "d_reset_below": 0.0}
    cfg.pop("loss", None)
    det.model = build_model(cfg, det.shape)
    det.save(run_copy / "detector.pt")
    windows = tmp_path / "w.npy"
    np.save(windows, np.zeros((3, 128), np.float32))
    for argv in (
        ["detect", f"run={run_copy}", f"input={windows}"],
        ["evaluate", f"run={run_copy}"],
        ["bench", f"run={run_copy}", "bench.n=4", "bench.n_max=[2]", "bench.batch=[4]"],
    ):
        line = _refused(argv, capfd, "model.name")
        assert "'beatgan'" in line and "'wgan_gp'" in line
    assert not (run_copy / "evaluations").exists()
    assert not list(run_copy.rglob("detections.csv")) and not (run_copy / "bench.csv").exists()


def test_detector_without_metadata_still_loads(run_copy):
    """Detectors written before the metadata: it is derived from their model config and shape."""
    from ganad_cli.runs.folder import load_run_detector

    _rewrite(run_copy, lambda b: b.pop("metadata"))
    assert load_run_detector(run_copy).metadata["model_name"] == "wgan_gp"


def test_non_finite_scores_are_an_error_not_a_prediction(run_copy, tmp_path, capfd):
    """Finite but enormous windows overflow the residual to inf: refused, not 'anomalous'."""
    windows = tmp_path / "big.npy"
    np.save(windows, np.full((3, 128), 3e38, np.float32))
    out = tmp_path / "d.csv"
    argv = ["detect", f"run={run_copy}", f"input={windows}", f"output={out}"]
    line = _refused(argv, capfd, "NaN or inf")
    assert "detector.pt" in line
    assert not out.exists()


def test_detector_checks_the_input_shape(run_copy):
    from ganad_cli.detector import Detector

    det = Detector.load(run_copy / "detector.pt")
    with pytest.raises(GanadInputError, match=r"\(1, 128\)"):
        det.decision_function(torch.zeros(2, 1, 64))


# ------------------------------------------------------- the property: exit 0 or 2, one line

FLOAT_KEYS = [
    "data.contamination",
    "data.val_fraction",
    "data.noise",
    "model.lr_g",
    "model.lr_d",
    "model.beta1",
    "model.gp_weight",
    "inversion.eps",
    "inversion.lr",
    "inversion.eps_quantile",
    "score.grid_step",
    "score.svm_c",
    "threshold.value",
    "threshold.quantile",
    "threshold.beta",
    "trainer.limit_train_batches",
]
INT_KEYS = [
    "seed",
    "threads",
    "data.batch_size",
    "data.n_normal",
    "data.num_workers",
    "data.seed",
    "data.fold",
    "model.latent_dim",
    "inversion.n_max",
    "inversion.batch_size",
    "inversion.seed",
    "trainer.max_epochs",
]
SPECIAL = ["nan", "inf", "-inf", "${oc.env:HOME}", "${oc.env:GANAD_TEST_UNSET}", "${nope}"]
VALUES = st.one_of(
    st.sampled_from(SPECIAL),
    st.sampled_from(["abc", "true", "null", "[1,2]", "1e308", "-1e308"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**12), 10**12).map(str),
    st.integers(-3, 3).map(str),
)
OVERRIDES = st.lists(
    st.tuples(st.sampled_from(FLOAT_KEYS + INT_KEYS), VALUES), min_size=1, max_size=3
)


def _overrides(drawn: list[tuple[str, str]]) -> list[str]:
    return [f"{key}={value}" for key, value in dict(drawn).items()]


def _assert_names_a_drawn_key(drawn: list[tuple[str, str]], exc: GanadInputError) -> None:
    message = str(exc)
    assert "\n" not in message and len(message) < 600, message
    keys = {k for k, _ in drawn} | {k.split(".")[-1] for k, _ in drawn}
    assert any(k in message for k in keys), (drawn, message)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=OVERRIDES)
def test_property_composition_and_validation(drawn):
    """Any drawn overrides either compose and validate into a config with only finite numbers,
    or are refused by one GanadInputError line naming one of the drawn keys."""
    from hydra.errors import HydraException

    from ganad_cli.config import check_finite

    overrides = _overrides(drawn)
    try:
        (cfg,) = preflight("train", overrides, multirun=False)
    except GanadInputError as exc:
        _assert_names_a_drawn_key(drawn, exc)
        return
    except HydraException as exc:  # the override grammar itself: Hydra's own one-line error
        pytest.fail(f"{overrides}: {type(exc).__name__} escaped preflight: {exc}")
    for group in ("data", "model", "inversion", "score", "threshold", "trainer"):
        check_finite(cfg[group], group)


@pytest.fixture(scope="module")
def composed(compose_train):
    return compose_train(["experiment=smoke"])


@settings(max_examples=300, deadline=None)
@given(drawn=OVERRIDES)
def test_property_validation_of_set_values(composed, drawn):
    """Many more draws, set into one composed config (what Hydra's override parser would hand
    over: its YAML reading of the value) and validated: refused by key, or finite."""
    import yaml
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from ganad_cli.boundary import config_error
    from ganad_cli.config import check_finite, validate_config

    cfg = composed.copy()
    try:
        for key, value in drawn:
            OmegaConf.update(cfg, key, value if value.startswith("$") else yaml.safe_load(value))
        validate_config(cfg)
    except GanadInputError as exc:
        _assert_names_a_drawn_key(drawn, exc)
        return
    except OmegaConfBaseException as exc:
        _assert_names_a_drawn_key(drawn, config_error(exc))
        return
    for group in ("data", "model", "inversion", "score", "threshold", "trainer"):
        check_finite(cfg[group], group)


# keys a real tiny run can take any accepted value of in seconds
TRAIN_KEYS = ["threshold.value", "inversion.eps", "data.noise", "seed", "score.grid_step"]


@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck))
@example(drawn=[("threshold.value", "1e300")])  # accepted: real runs, not only refusals
@example(drawn=[("inversion.eps", "3"), ("seed", "3")])
@given(
    drawn=st.lists(
        st.tuples(
            st.sampled_from(TRAIN_KEYS),
            st.one_of(st.sampled_from(SPECIAL), st.sampled_from(["0.5", "-1", "1e300", "3"])),
        ),
        min_size=1,
        max_size=2,
    )
)
def test_property_real_tiny_training(drawn, tmp_path_factory, capfd):
    """A handful through `ganad train` itself: exit 0 with finite results, or exit 2 with one line
    and no folder; never a traceback."""
    os.environ["CI"] = "true"
    out = tmp_path_factory.mktemp("prop") / "out"
    overrides = [*TINY, "threshold=fixed", *_overrides(drawn), f"hydra.run.dir={out}"]
    if not any(k == "threshold.value" for k, _ in drawn):
        overrides.remove("threshold=fixed")
    capfd.readouterr()
    code = main(["train", *overrides])
    err = capfd.readouterr().err
    assert "Traceback" not in err, err[-3000:]
    assert code in (0, 2), err[-3000:]
    if code == 2:
        _one_line(err)
        assert not out.exists()
        return
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("test/threshold", "test/auroc", "val/threshold"):
        assert math.isfinite(metrics[key]), (key, metrics[key])
