"""Faults and untrusted files (issue 8): NaN loss, SIGKILL mid-write, full or unwritable disks,
pickles that try to run code, credentials in run folders, and the GANAD_DEBUG flag."""

from __future__ import annotations

import os
import pickle
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ganad_cli.cli import main
from tests.test_cli import GANAD, run

SMOKE = ["experiment=smoke", "trainer.max_epochs=1", "inversion.n_max=3"]
SECRETS = {"WANDB_API_KEY": "wandb-key-0123456789abcdef", "GANAD_TEST_SECRET": "s3cr3t-t0ken-xyz"}
FINISHED = ("metrics.json", "scores.csv", "detections.csv")


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    """One small run, trained with credentials in the environment (they must not leak)."""
    base = tmp_path_factory.mktemp("safety")
    with pytest.MonkeyPatch.context() as mp:
        for k, v in SECRETS.items():
            mp.setenv(k, v)
        out = run(["train", *SMOKE, f"hydra.run.dir={base / 'run'}"], base)
    assert out.returncode == 0, out.stderr[-3000:]
    return base / "run"


def _copy(run_dir: Path, dst: Path) -> Path:
    shutil.copytree(run_dir, dst)
    return dst


def _error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ganad: error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], stderr[-3000:]
    return errors[0]


# ------------------------------------------------------------------------ crafted pickles


class RunsCode:
    """Unpickling this runs a shell command that creates the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _craft(path: Path, marker: Path) -> None:
    torch.save({"format": "ganad-detector", "state_dict": {}, "payload": RunsCode(marker)}, path)
    # the file really would run code if loaded the unsafe way
    probe = marker.with_name("probe")
    torch.save({"payload": RunsCode(probe)}, path.with_suffix(".probe"))
    torch.load(path.with_suffix(".probe"), weights_only=False)
    assert probe.exists()
    path.with_suffix(".probe").unlink()


@pytest.fixture
def force_unsafe_default(monkeypatch):
    """Make torch's own default unsafe: only an explicit weights_only=True protects."""
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")


def test_crafted_detector_is_refused(trained_run, in_tmp, capfd, force_unsafe_default):
    run_dir = _copy(trained_run, in_tmp / "run")
    marker = in_tmp / "pwned"
    _craft(run_dir / "detector.pt", marker)
    windows = in_tmp / "new.npy"
    import numpy as np

    np.save(windows, np.zeros((2, 128), dtype=np.float32))
    for argv in (
        ["detect", f"run={run_dir}", f"input={windows}"],
        ["evaluate", f"run={run_dir}"],
        ["bench", f"run={run_dir}", "bench.n=2"],
    ):
        capfd.readouterr()
        assert main(argv) == 2, argv
        line = _error_line(capfd.readouterr().err)
        assert "detector.pt" in line and "safely" in line
    assert not marker.exists(), "unpickling ran code"
    assert not list(run_dir.rglob("detections.csv")) and not list(run_dir.rglob("evaluations"))


def test_crafted_resume_checkpoint_is_refused(trained_run, in_tmp, capfd, force_unsafe_default):
    run_dir = _copy(trained_run, in_tmp / "run")
    (run_dir / "metrics.json").unlink()
    marker = in_tmp / "pwned"
    _craft(run_dir / "checkpoints" / "last.ckpt", marker)
    capfd.readouterr()
    assert main(["train", f"resume={run_dir}"]) == 2
    line = _error_line(capfd.readouterr().err)
    assert "last.ckpt" in line and "safely" in line
    assert not marker.exists(), "unpickling ran code"
    assert not (run_dir / "metrics.json").exists()

    # Lightning's own loader in our runs (checkpoint_io) is weights-only as well
    from ganad_cli.training.checkpoint_io import AtomicCheckpointIO

    with pytest.raises(pickle.UnpicklingError):
        AtomicCheckpointIO().load_checkpoint(
            run_dir / "checkpoints" / "last.ckpt", weights_only=False
        )
    assert not marker.exists()


# ----------------------------------------------------------------------------------- faults


def test_non_finite_loss_stops_naming_the_step_and_keeps_last_checkpoint(
    trained_run, in_tmp, capfd
):
    run_dir = _copy(trained_run, in_tmp / "run")
    (run_dir / "metrics.json").unlink()  # an interrupted run, to be resumed
    last = run_dir / "checkpoints" / "last.ckpt"
    good = last.read_bytes()
    step = torch.load(last, weights_only=True)["global_step"]
    capfd.readouterr()
    # gradient penalty x 1e300 overflows float32: the first step after resuming is non-finite
    code = main(["train", f"resume={run_dir}", "trainer.max_epochs=2", "model.gp_weight=1e300"])
    assert code == 1
    line = _error_line(capfd.readouterr().err)
    assert "training diverged" in line and f"global step {step}" in line, line
    assert last.read_bytes() == good, "the last good checkpoint was overwritten"
    assert torch.load(last, weights_only=True)["global_step"] == step
    assert not (run_dir / "metrics.json").exists()


WRITER = """
import sys
from ganad_cli.io import atomic_write_bytes
path, size = sys.argv[1], int(sys.argv[2])
blobs = [bytes([66]) * size, bytes([67]) * size]
if sys.argv[3] == "pause":  # announce the moment the temp file is written but not yet renamed
    import os, time
    real_fsync = os.fsync
    def fsync(fd):
        real_fsync(fd)
        print("mid", flush=True)
        time.sleep(60)
    os.fsync = fsync
print("ready", flush=True)
i = 0
while True:
    atomic_write_bytes(path, blobs[i % 2])
    i += 1
"""


def test_sigkill_during_atomic_write_never_leaves_a_partial_file(tmp_path):
    size = 8 << 20
    target = tmp_path / "metrics.json"
    target.write_bytes(b"A" * size)  # the previous complete result
    killed_mid_write = 0
    # kills at arbitrary moments, then one that lands for sure between write and rename
    for mode, delay in (("loop", 0.05), ("loop", 0.3), ("loop", 0.7), ("pause", 0.0)):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target), str(size), mode],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout.readline().strip() == "ready"
        if mode == "pause":
            assert proc.stdout.readline().strip() == "mid"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        data = target.read_bytes()
        assert len(data) == size and data in (b"A" * size, b"B" * size, b"C" * size)
        leftovers = list(tmp_path.glob(".metrics.json.*.tmp"))
        killed_mid_write += bool(leftovers)
        for p in leftovers:  # what a kill leaves: a hidden temp file, never the target
            assert len(p.read_bytes()) <= size
            p.unlink()
    assert killed_mid_write >= 1, "no kill landed during a write; the test proved nothing"


def test_atomic_files_get_normal_permissions(tmp_path):
    from ganad_cli.io import atomic_write_text

    umask = os.umask(0o022)
    os.umask(umask)
    atomic_write_text(tmp_path / "a.txt", "x")
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("multirun", [False, True], ids=["run", "sweep"])
def test_unwritable_output_dir_is_a_clear_error(in_tmp, capfd, multirun):
    afile = in_tmp / "afile"
    afile.write_text("a file, not a folder: even root cannot create folders inside it")
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    argv = ["train", *SMOKE, f"{key}={afile / 'run'}"] + (["-m", "seed=0,1"] if multirun else [])
    capfd.readouterr()
    assert main(argv) == 2
    err = capfd.readouterr().err
    line = _error_line(err)
    assert key in line and "afile" in line and "not a folder" in line
    assert err.strip() == line and afile.is_file()


def _limit_file_size():
    resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))


def test_disk_full_during_training_is_a_clear_error(tmp_path):
    """A 300 kB file size limit: the first checkpoint (about 2 MB) cannot be written."""
    env = {**os.environ, "CI": "true"}
    out = subprocess.run(
        [GANAD, "train", *SMOKE, f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=_limit_file_size,
    )
    assert out.returncode == 1, out.stderr[-3000:]
    line = _error_line(out.stderr)
    assert "cannot write" in line and "epoch000.ckpt" in line and "disk full" in line
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "run" / "metrics.json").exists()
    assert not list((tmp_path / "run").rglob("*.tmp")), "temp files are removed on failure"


# ----------------------------------------------------------------------- credentials, debug


def test_no_credentials_in_the_run_folder(trained_run):
    files = [p for p in trained_run.rglob("*") if p.is_file()]
    assert any(p.name == "config.yaml" for p in files) and any(p.suffix == ".log" for p in files)
    for path in files:
        blob = path.read_bytes()
        for name, value in SECRETS.items():
            assert value.encode() not in blob, f"{name} leaked into {path}"


def test_run_folders_load_without_pickled_code(trained_run, force_unsafe_default):
    """Everything ganad writes loads with weights_only=True (so refusing pickles costs nothing)."""
    for path in [trained_run / "detector.pt", *(trained_run / "checkpoints").glob("*.ckpt")]:
        torch.load(path, map_location="cpu", weights_only=True)


def test_debug_flag_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("GANAD_DEBUG", "1")
    out = run(["train", "model.latent_dim=0"], tmp_path)
    assert out.returncode == 2
    assert "Traceback" in out.stderr and "GanadInputError" in out.stderr
    assert _error_line(out.stderr).endswith("'model.latent_dim' must be >= 1, got 0")
    monkeypatch.delenv("GANAD_DEBUG")
    out = run(["train", "model.latent_dim=0"], tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr


def test_debug_flag_on_a_data_error(in_tmp, capfd, monkeypatch):
    monkeypatch.setenv("GANAD_DEBUG", "1")
    missing = in_tmp / "none.csv"
    capfd.readouterr()
    code = main(
        [
            "train",
            "data=csv",
            f"data.root={missing}",
            "trainer.max_epochs=1",
            f"hydra.run.dir={in_tmp / 'out'}",
        ]
    )
    err = capfd.readouterr().err
    assert code == 2 and "Traceback" in err and "none.csv" in _error_line(err)
    assert not (in_tmp / "out").exists()


def test_training_checkpoints_go_through_the_atomic_weights_only_io(compose_train, tmp_path):
    from ganad_cli.training.checkpoint_io import AtomicCheckpointIO
    from ganad_cli.training.trainer import build_trainer

    trainer = build_trainer(compose_train(SMOKE), tmp_path)
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)
    path = tmp_path / "checkpoints" / "x.ckpt"
    trainer.strategy.checkpoint_io.save_checkpoint({"state_dict": {"w": torch.ones(2)}}, path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.ckpt"]  # no temp file left
    loaded = trainer.strategy.checkpoint_io.load_checkpoint(path)
    assert torch.equal(loaded["state_dict"]["w"], torch.ones(2))
