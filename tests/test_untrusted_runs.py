"""Run folders are untrusted input (issue 22, class 3): what resume, evaluate and report accept
from a run folder, one writer per folder, and a failed resume that changes nothing."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ganad_cli.errors import GanadInputError
from ganad_cli.runs.untrusted import check_saved_config, saved_overrides
from tests.test_cli import run

SMOKE = ["experiment=smoke", "trainer.max_epochs=1", "inversion.n_max=3"]


@pytest.fixture(scope="module")
def trained_run(finished_smoke_run) -> Path:
    """The session's finished smoke run (tests/conftest.py); cases damage copies of it."""
    return finished_smoke_run


def _interrupted_copy(run_dir: Path, dst: Path) -> Path:
    shutil.copytree(run_dir, dst)
    (dst / "metrics.json").unlink()  # an interrupted run, the kind one resumes
    return dst


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "train.log"  # Hydra's job log is appended to, by design
    }


def _one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("ganad: error:"), stderr[-3000:]
    return lines[0]


def _write_overrides(run_dir: Path, lines: list[str]) -> None:
    (run_dir / ".hydra" / "overrides.yaml").write_text("".join(f"- '{ln}'\n" for ln in lines))


def test_resume_cannot_run_a_hydra_callback_from_the_run_folder(trained_run, tmp_path):
    run_dir = _interrupted_copy(trained_run, tmp_path / "theirs")
    marker = tmp_path / "outside" / "pwned.txt"
    _write_overrides(
        run_dir,
        [
            *SMOKE,
            # a real callback: instantiating it writes a file outside the run folder
            "+hydra.callbacks.pwn._target_=ganad_cli.io.atomic_write_text",
            f"+hydra.callbacks.pwn.path={marker}",
            "+hydra.callbacks.pwn.text=owned",
        ],
    )
    before = _digest(run_dir)
    out = run(["train", f"resume={run_dir}"], tmp_path)
    assert out.returncode == 2
    line = _one_error_line(out.stderr)
    assert "overrides.yaml" in line and "hydra.callbacks.pwn" in line
    assert not marker.exists(), "a run folder's override ran code"
    assert _digest(run_dir) == before


@pytest.mark.parametrize(
    "bad, needle",
    [
        ("hydra/launcher=joblib", "Hydra itself"),
        ("hydra.sweeper.n_trials=3", "Hydra itself"),
        ("hparams_search=optuna", "hparams_search"),
        ("model.backbone={_target_: os.system}", "_target_"),
        ("data.root=${oc.env:HOME}", "resolver"),
        ("+trainer.not_an_argument=1.0", "trainer.not_an_argument"),
        ("+trainer.callbacks=[]", "trainer.callbacks"),
        ("+logger.save_dir=/elsewhere", "logger.save_dir"),
        ("+callbacks.model_checkpoint.dirpath=/elsewhere", "callbacks.model_checkpoint.dirpath"),
        ("callbacks.x={_target_: os.system}", "_target_"),
        ("~seed", "deletes"),
        ("seed=1,2", "sweep"),
        ("model@foo=gan", "package"),
    ],
)
def test_saved_overrides_only_take_ganads_schema(tmp_path, bad, needle):
    path = tmp_path / "overrides.yaml"
    path.write_text(f"- experiment=smoke\n- '{bad}'\n")
    with pytest.raises(GanadInputError, match=None) as info:
        saved_overrides(path)
    assert needle in str(info.value) and str(path) in str(info.value)


def test_saved_overrides_keep_ganads_own_keys(tmp_path):
    path = tmp_path / "overrides.yaml"
    keep = ["experiment=smoke", "model=beatgan", "model.latent_dim=8", "data.root=/data/mitdb"]
    keep += ["trainer.max_epochs=3", "seed=4", "score.residual_norm=l2", "data.bandpass=[3,45]"]
    keep += ["+trainer.gradient_clip_val=0.5"]  # a Lightning Trainer argument ganad applies
    path.write_text("".join(f"- '{k}'\n" for k in [*keep, "resume=/x", "hydra.run.dir=/x"]))
    assert saved_overrides(path) == keep


GANAD_KEYS = ["seed", "model.latent_dim", "data.root", "trainer.max_epochs", "score.name"]
FOREIGN_KEYS = ["hydra.callbacks.x", "hydra.job.chdir", "foo", "model.nonexistent", "bench.n"]
VALUES = ["1", "nan", "-inf", "abc", "${oc.env:HOME}", "${now:%H}", "{_target_: os.system}"]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    key=st.sampled_from(GANAD_KEYS + FOREIGN_KEYS),
    prefix=st.sampled_from(["", "+", "++"]),
    value=st.sampled_from(VALUES) | st.text(alphabet="abc019._-/", min_size=1, max_size=8),
)
def test_generated_overrides_are_accepted_only_when_safe(tmp_path, key, prefix, value):
    """Property: an override is replayed only if its key is ganad's and its value builds and
    resolves nothing; everything else is refused with GanadInputError (never another error)."""
    path = tmp_path / "overrides.yaml"
    line = f"{prefix}{key}={value}"
    path.write_text(f"- experiment=smoke\n- {line!r}\n".replace('"', "'"))
    safe = key in GANAD_KEYS and "_target_" not in value and "${" not in value
    try:
        accepted = saved_overrides(path)
    except GanadInputError as exc:
        assert not safe or "could not be read" in str(exc) or "not a valid override" in str(exc)
        return
    assert safe, f"accepted unsafe override {line!r}"
    assert accepted[-1] == line


def test_empty_overrides_file_is_refused_not_resumed_under_defaults(trained_run, tmp_path):
    run_dir = _interrupted_copy(trained_run, tmp_path / "run")
    (run_dir / ".hydra" / "overrides.yaml").write_text("")  # what a kill mid-write can leave
    out = run(["train", f"resume={run_dir}"], tmp_path)
    assert out.returncode == 2
    assert "overrides.yaml is empty" in _one_error_line(out.stderr)
    assert not (run_dir / "metrics.json").exists()


def test_resume_refuses_a_model_change_and_leaves_the_folder_as_it_was(trained_run, tmp_path):
    run_dir = _interrupted_copy(trained_run, tmp_path / "run")
    before = _digest(run_dir)
    out = run(["train", f"resume={run_dir}", "model=beatgan"], tmp_path)
    assert out.returncode == 2
    line = _one_error_line(out.stderr)
    assert "model.name" in line and "wgan_gp" in line and "beatgan" in line
    assert _digest(run_dir) == before
    # the folder still resumes as it should
    out = run(["train", f"resume={run_dir}"], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (run_dir / "metrics.json").is_file() and not (run_dir / ".hydra-resume").exists()
    saved = (run_dir / ".hydra" / "overrides.yaml").read_text()
    assert "experiment=smoke" in saved and f"resume={run_dir}" in saved


def test_resume_refuses_a_data_change(trained_run, tmp_path):
    run_dir = _interrupted_copy(trained_run, tmp_path / "run")
    out = run(["train", f"resume={run_dir}", "data.fold=1"], tmp_path)
    assert out.returncode == 2 and "data.fold" in _one_error_line(out.stderr)


def test_a_failing_resume_keeps_the_run_folder(trained_run, tmp_path):
    """Bad input met inside the resumed run (missing data) must not delete the user's run."""
    run_dir = _interrupted_copy(trained_run, tmp_path / "run")
    _write_overrides(
        run_dir, ["experiment=smoke", "data=npy", f"data.root={tmp_path / 'nope.npy'}"]
    )
    before = _digest(run_dir)
    out = run(["train", f"resume={run_dir}"], tmp_path)
    assert out.returncode == 2, out.stderr[-3000:]
    assert run_dir.is_dir() and _digest(run_dir) == before
    assert not (run_dir / ".hydra-resume").exists()


HOLD = """
import sys, time
from ganad_cli.runs.runlock import run_folder_lock
with run_folder_lock(sys.argv[1], "ganad train (test holder)"):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_second_writer_is_refused_naming_the_holder(trained_run, tmp_path):
    run_dir = _interrupted_copy(trained_run, tmp_path / "run")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(run_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        for args in (["train", f"resume={run_dir}"], ["bench", f"run={run_dir}"]):
            out = run(args, tmp_path)
            assert out.returncode == 2
            line = _one_error_line(out.stderr)
            assert "in use by" in line and f"pid {holder.pid}" in line
        assert not (run_dir / "metrics.json").exists() and not list(run_dir.glob("bench.*"))
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)  # the OS released the lock with the process
    out = run(["train", f"resume={run_dir}"], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]


def test_a_new_run_into_a_finished_run_folder_is_refused(trained_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(trained_run, run_dir)
    before = _digest(run_dir)
    out = run(["train", *SMOKE, f"hydra.run.dir={run_dir}"], tmp_path)
    assert out.returncode == 2
    assert "already holds a run" in _one_error_line(out.stderr)
    assert _digest(run_dir) == before


@pytest.mark.parametrize(
    "edit, needle",
    [
        (lambda t: t + "evil:\n  _target_: os.system\n", "evil"),
        (lambda t: t.replace("seed: 0", "seed: ${oc.env:GANAD_TEST_SECRET}"), "resolver"),
        (lambda t: t + "hydra:\n  callbacks: {}\n", "hydra"),
    ],
)
def test_evaluate_refuses_a_run_config_outside_the_schema(trained_run, tmp_path, edit, needle):
    run_dir = tmp_path / "run"
    shutil.copytree(trained_run, run_dir)
    cfg = run_dir / ".hydra" / "config.yaml"
    cfg.write_text(edit(cfg.read_text()))
    out = run(["evaluate", f"run={run_dir}"], tmp_path)
    assert out.returncode == 2
    line = _one_error_line(out.stderr)
    assert needle in line and "config.yaml" in line
    assert not (run_dir / "evaluations").exists()


def test_saved_config_check_walks_nested_values(tmp_path):
    check_saved_config({"seed": 0, "model": {"name": "gan", "tags": ["a", "b"]}}, tmp_path / "c")
    with pytest.raises(GanadInputError, match="_target_"):
        check_saved_config({"model": {"net": [{"_target_": "os.system"}]}}, tmp_path / "c")


# a class that, built, writes a marker file: instantiating it is what must never happen
WRITER = "ganad_cli.io.atomic_write_text"


@pytest.mark.parametrize(
    "lines",
    [
        ["trainer._target_=" + WRITER],
        ["logger._target_=" + WRITER],
        ["+callbacks.pwn._target_=" + WRITER],
        ["callbacks.early_stopping._target_=os.system"],
        ["+model.pwn._target_=pytorch_lightning.Trainer"],  # allow-listed, but not there
        ["+callbacks.early_stopping.kwargs._target_=" + WRITER],  # nested under an entry
    ],
)
def test_resume_builds_only_allow_listed_targets_from_the_run_folder(trained_run, tmp_path, lines):
    run_dir = _interrupted_copy(trained_run, tmp_path / "theirs")
    marker = tmp_path / "outside" / "pwned.txt"
    place = lines[0].split("=")[0].lstrip("+").removesuffix("._target_")
    _write_overrides(run_dir, [*SMOKE, *lines, f"+{place}.path={marker}", f"+{place}.text=x"])
    before = _digest(run_dir)
    out = run(["train", f"resume={run_dir}"], tmp_path)
    assert out.returncode == 2, out.stderr[-2000:]
    line = _one_error_line(out.stderr)
    assert "overrides.yaml" in line and "_target_" in line
    assert not marker.exists(), "a run folder's _target_ was built"
    assert _digest(run_dir) == before


def test_saved_overrides_keep_allow_listed_targets_and_callbacks(tmp_path):
    path = tmp_path / "overrides.yaml"
    keep = ["experiment=smoke", "callbacks=none", "+callbacks.early_stopping.monitor=train/x"]
    keep += ["+callbacks.lr_monitor._target_=pytorch_lightning.callbacks.LearningRateMonitor"]
    keep += ["trainer._target_=pytorch_lightning.Trainer", "callbacks.rich_progress=null"]
    keep += ["+logger.flush_logs_every_n_steps=5"]  # an argument of a Lightning logger
    path.write_text("".join(f"- '{k}'\n" for k in keep))
    assert saved_overrides(path) == keep


@pytest.mark.parametrize(
    "tree, needle",
    [
        ({"trainer": {"_target_": "os.system"}}, "trainer._target_"),
        ({"logger": {"_target_": WRITER, "name": "csv"}}, "logger._target_"),
        ({"callbacks": {"x": {"_target_": "builtins.exec"}}}, "callbacks.x._target_"),
        ({"callbacks": {"_target_": "pytorch_lightning.callbacks.EarlyStopping"}}, "callbacks"),
        ({"model": {"_target_": "pytorch_lightning.Trainer"}}, "model._target_"),
        ({"callbacks": {"x": {"y": {"_target_": "os.system"}}}}, "callbacks.x.y._target_"),
        ({"trainer": {"_target_": "pytorch_lightning.Trainer", "_args_": ["x"]}}, "_args_"),
    ],
)
def test_saved_config_allows_targets_only_on_the_list_and_at_their_place(tmp_path, tree, needle):
    with pytest.raises(GanadInputError) as info:
        check_saved_config(tree, tmp_path / "config.yaml")
    assert needle in str(info.value) and "config.yaml" in str(info.value)


def test_saved_config_accepts_ganads_own_targets(trained_run):
    import yaml

    saved = yaml.safe_load((trained_run / ".hydra" / "config.yaml").read_text())
    assert saved["trainer"]["_target_"] == "pytorch_lightning.Trainer"
    assert "early_stopping" in saved["callbacks"]
    check_saved_config(saved, trained_run / ".hydra" / "config.yaml")


def test_evaluate_refuses_a_stored_target_off_the_allow_list(trained_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(trained_run, run_dir)
    cfg = run_dir / ".hydra" / "config.yaml"
    text = cfg.read_text().replace("_target_: pytorch_lightning.Trainer", f"_target_: {WRITER}")
    assert text != cfg.read_text()
    cfg.write_text(text)
    out = run(["evaluate", f"run={run_dir}"], tmp_path)
    assert out.returncode == 2
    line = _one_error_line(out.stderr)
    assert "trainer._target_" in line and "allow-list" in line and "config.yaml" in line


def test_report_names_every_run_it_skips(trained_run, tmp_path, capfd):
    from ganad_cli.cli.commands import cmd_report as report_main

    root = tmp_path / "sweep"
    for name in ("good", "list", "truncated", "unsafe"):
        shutil.copytree(trained_run, root / name)
    (root / "list" / "metrics.json").write_text("[1, 2]")
    text = (root / "truncated" / "metrics.json").read_text()
    (root / "truncated" / "metrics.json").write_text(text[: len(text) // 2])
    cfg = root / "unsafe" / ".hydra" / "config.yaml"
    cfg.write_text(cfg.read_text() + "evil:\n  _target_: os.system\n")
    assert report_main([str(root)]) == 0
    err = capfd.readouterr().err
    for name in ("list", "truncated", "unsafe"):
        assert f"skipped run {root / name}" in err
    report = (root / "report.md").read_text()
    assert "Skipped 3 run(s)" in report and "1 runs" in report
