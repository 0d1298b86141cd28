"""Hardware the machine lacks (`trainer=gpu` without a GPU, more devices than it has) is a user
error: one `ganad: error:` line naming the key and what is available, exit 2, found by the
preflight before Hydra makes a run folder (no data is loaded, nothing is left behind)."""

from __future__ import annotations

import pytest
import torch

from ganad_cli.cli import main

TINY = ["experiment=smoke", "logger=none", "quiet=true", "trainer.max_epochs=1"]
GPUS = torch.cuda.device_count() if torch.cuda.is_available() else 0


@pytest.fixture
def no_gpu(monkeypatch):
    """This machine as one without a GPU (as CI is), so the tests run on a GPU machine too."""
    import ganad_cli.hardware as hw

    monkeypatch.setattr(hw, "_cuda_count", lambda: 0)
    monkeypatch.setattr(hw, "_mps_available", lambda: False)


def _one_error(capfd) -> tuple[str, str]:
    out, err = capfd.readouterr()
    errors = [ln for ln in err.splitlines() if ln.startswith("ganad: error:")]
    assert len(errors) == 1, err[-3000:]
    assert "Traceback" not in err
    return errors[0], out + err


@pytest.mark.parametrize(
    "overrides",
    [["trainer=gpu"], ["trainer.accelerator=gpu"], ["trainer.accelerator=cuda"]],
)
def test_gpu_on_a_machine_without_one(in_tmp, capfd, overrides, no_gpu):
    code = main(["train", *TINY, *overrides, "hydra.run.dir=run"])
    line, output = _one_error(capfd)
    assert code == 2
    assert "trainer.accelerator" in line and "available: cpu" in line, line
    assert not (in_tmp / "run").exists()
    assert "data synthetic_ecg" not in output  # refused by the preflight: no data was loaded


def test_more_devices_than_the_machine_has(in_tmp, capfd):
    wanted = GPUS + 3
    code = main(["train", *TINY, "trainer=gpu", f"trainer.devices={wanted}", "hydra.run.dir=r"])
    line, output = _one_error(capfd)
    assert code == 2
    key = "trainer.devices" if GPUS else "trainer.accelerator"
    assert key in line and "available: cpu" in line, line
    assert not (in_tmp / "r").exists()
    assert "data synthetic_ecg" not in output


def test_sweep_over_accelerators_is_refused_before_any_job(in_tmp, capfd, no_gpu):
    code = main(["train", "-m", *TINY, "trainer=cpu,gpu", "hydra.sweep.dir=sweep"])
    line, _ = _one_error(capfd)
    assert code == 2 and "trainer.accelerator" in line
    assert not (in_tmp / "sweep").exists()


def test_git_commit_marks_changed_code_but_not_the_callers_outputs(tmp_path):
    import subprocess

    from ganad_cli.hardware import git_commit

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "table.md").write_text("old\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    (tmp_path / "results" / "table.md").write_text("new\n")
    assert "uncommitted" not in git_commit(tmp_path, outputs=("results",))
    assert git_commit(tmp_path).endswith("(with uncommitted changes)")
    (tmp_path / "code.py").write_text("x = 2\n")
    assert git_commit(tmp_path, outputs=("results",)).endswith("(with uncommitted changes)")
