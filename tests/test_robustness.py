"""The bad-input catalogue (issue 8): every case through the installed `ganad` script.

Each case must end with exit code 2 and one `ganad: error:` line on stderr naming the file or key
and what was expected, with no traceback, and must leave nothing that looks like a finished result
(no metrics.json, scores.csv, detector.pt, detections.csv or bench.csv appears; a train run's folder
is gone). Run-folder cases damage copies of ONE small trained run (module fixture). MIT-BIH cases
damage copies of record 100 in tmp_path; /work/shared is only read.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from ganad_cli.cli import main
from ganad_cli.config import validate_config
from ganad_cli.errors import GanadInputError
from tests.test_cli import run

SMOKE = ["experiment=smoke", "trainer.max_epochs=1", "inversion.n_max=3"]
# experiment=smoke sets synthetic-ECG keys; other data sets get the same small settings directly
DATA_SMOKE = [
    "trainer.max_epochs=1",
    "inversion.n_max=3",
    "plots=false",
    "trainer.enable_progress_bar=false",
]
FINISHED = {"metrics.json", "scores.csv", "detector.pt", "detections.csv", "bench.csv", "bench.md"}
LENGTH = 128  # window length of the synthetic ECG in experiment=smoke


@pytest.fixture(scope="module")
def trained_run(finished_smoke_run) -> Path:
    """The session's finished smoke run (tests/conftest.py); cases damage copies of it."""
    return finished_smoke_run


@dataclass
class Ctx:
    tmp: Path
    request: pytest.FixtureRequest

    @property
    def out(self) -> Path:
        """hydra.run.dir for train cases: must not exist afterwards."""
        return self.tmp / "out"

    def train(self, *args: str) -> list[str]:
        return ["train", *args, f"hydra.run.dir={self.out}"]

    def run_copy(self) -> Path:
        src = self.request.getfixturevalue("trained_run")
        dst = self.tmp / "run"
        shutil.copytree(src, dst)
        return dst

    def mitdb_copy(self, *exts: str) -> Path:
        src = self.request.getfixturevalue("mitdb_root")
        dst = self.tmp / "mitdb"
        dst.mkdir()
        for ext in exts:
            shutil.copy(src / f"100.{ext}", dst / f"100.{ext}")
        return dst

    def mitbih(self, root: Path, *extra: str) -> list[str]:
        return self.train(
            "data=mitbih",
            f"data.root={root}",
            "data.records=[100]",
            "data.download=false",
            "data.cache=false",
            *DATA_SMOKE,
            *extra,
        )

    def write(self, name: str, text: str) -> Path:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def csv_windows(self, name: str, n: int, length: int = LENGTH) -> Path:
        rows = np.random.default_rng(0).normal(size=(n, length))
        return self.write(name, "\n".join(",".join(f"{v:.4f}" for v in r) for r in rows) + "\n")


@dataclass
class Case:
    id: str
    argv: Callable[[Ctx], list[str]]
    needle: str | Callable[[Ctx], str]
    # config cases fail before Hydra starts: stderr is exactly the one line
    only_line: bool = False


def cfg(id: str, args: list[str], needle: str) -> Case:
    return Case(id, lambda c: c.train(*args), needle, only_line=True)


# ------------------------------------------------------------------------------- data helpers


def _truncate_dat(c: Ctx) -> list[str]:
    root = c.mitdb_copy("hea", "dat", "atr")
    dat = root / "100.dat"
    dat.write_bytes(dat.read_bytes()[: dat.stat().st_size // 2])
    return c.mitbih(root)


def _dat_longer_than_header(c: Ctx) -> list[str]:
    root = c.mitdb_copy("hea", "dat", "atr")
    with open(root / "100.dat", "ab") as fh:
        fh.write(b"\0" * 3000)
    return c.mitbih(root)


def _header_checksum_wrong(c: Ctx) -> list[str]:
    root = c.mitdb_copy("hea", "dat", "atr")
    hea = root / "100.hea"
    lines = hea.read_text().splitlines()
    fields = lines[1].split()
    fields[6] = str(int(fields[6]) + 1)  # the MLII checksum no longer matches the samples
    lines[1] = " ".join(fields)
    hea.write_text("\n".join(lines) + "\n")
    return c.mitbih(root)


def _sha256_mismatch(c: Ctx) -> list[str]:
    root = c.mitdb_copy("hea", "dat", "atr")
    shutil.copy(c.request.getfixturevalue("mitdb_root") / "SHA256SUMS.txt", root)
    atr = bytearray((root / "100.atr").read_bytes())
    atr[100] ^= 0x01  # one flipped bit the WFDB reader would not notice
    (root / "100.atr").write_bytes(bytes(atr))
    return c.mitbih(root)


def _ucr(c: Ctx, rows: list[str]) -> list[str]:
    folder = c.tmp / "Bad"
    c.write("Bad/Bad_TRAIN.tsv", "\n".join(rows) + ("\n" if rows else ""))
    return c.train("data=ucr", f"data.root={folder}", *DATA_SMOKE)


def _csv(c: Ctx, text: str, *extra: str) -> list[str]:
    path = c.write("bad.csv", text)
    return c.train("data=csv", f"data.root={path}", *DATA_SMOKE, *extra)


def _labelled_csv(c: Ctx, n: int, *extra: str, anomalies: bool = True) -> list[str]:
    rng = np.random.default_rng(0)
    labels = ["1" if anomalies and i % 5 == 0 else "0" for i in range(n)]
    rows = [lab + "," + ",".join(f"{v:.4f}" for v in rng.normal(size=32)) for lab in labels]
    path = c.write("windows.csv", "\n".join(rows) + "\n")
    return c.train(
        "data=csv",
        f"data.root={path}",
        "data.label_column=0",
        "data.normal_classes=[0]",
        *DATA_SMOKE,
        *extra,
    )


def _npy(c: Ctx, array: np.ndarray) -> list[str]:
    path = c.tmp / "windows.npy"
    np.save(path, array)
    return c.train("data=npy", f"data.root={path}", *DATA_SMOKE)


# -------------------------------------------------------------------------------- run helpers


def _detector_version(c: Ctx) -> Path:
    run_dir = c.run_copy()
    blob = torch.load(run_dir / "detector.pt", weights_only=True)
    blob["format_version"] = 99
    torch.save(blob, run_dir / "detector.pt")
    return run_dir


def _corrupt(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:1000])  # a truncated zip archive


def _detect_csv(c: Ctx, run_dir: Path, n: int = 4, length: int = LENGTH) -> list[str]:
    return ["detect", f"run={run_dir}", f"input={c.csv_windows('new.csv', n, length)}"]


def _detect_missing_detector(c: Ctx) -> list[str]:
    run_dir = c.run_copy()
    (run_dir / "detector.pt").unlink()
    return _detect_csv(c, run_dir)


def _evaluate_corrupt_detector(c: Ctx) -> list[str]:
    run_dir = c.run_copy()
    _corrupt(run_dir / "detector.pt")
    return ["evaluate", f"run={run_dir}", "score=residual"]


def _bench_corrupt_detector(c: Ctx) -> list[str]:
    run_dir = c.run_copy()
    _corrupt(run_dir / "detector.pt")
    return ["bench", f"run={run_dir}", "bench.n=4", "bench.n_max=[2]", "bench.batch=[4]"]


def _detect_wrong_channels(c: Ctx) -> list[str]:
    path = c.tmp / "two_leads.npy"
    np.save(path, np.zeros((3, 2, LENGTH), dtype=np.float32))
    return ["detect", f"run={c.run_copy()}", f"input={path}"]


def _detect_nan_input(c: Ctx) -> list[str]:
    path = c.tmp / "nan.npy"
    x = np.zeros((3, LENGTH), dtype=np.float32)
    x[1, 5] = np.nan
    np.save(path, x)
    return ["detect", f"run={c.run_copy()}", f"input={path}"]


def _detect_output_under_file(c: Ctx) -> list[str]:
    afile = c.write("afile", "a file where a folder is expected")
    return [*_detect_csv(c, c.run_copy()), f"output={afile / 'detections.csv'}"]


def _resume_without_checkpoint(c: Ctx) -> list[str]:
    run_dir = c.run_copy()
    shutil.rmtree(run_dir / "checkpoints")
    return ["train", f"resume={run_dir}"]


def _resume_corrupt_checkpoint(c: Ctx) -> list[str]:
    run_dir = c.run_copy()
    (run_dir / "metrics.json").unlink()  # an interrupted run: resume must not finish it
    _corrupt(run_dir / "checkpoints" / "last.ckpt")
    return ["train", f"resume={run_dir}"]


CASES: list[Case] = [
    # ---- config: refused by the preflight compose, before any folder exists
    cfg("unknown-group-choice", ["model=nonexistent"], "'model'"),
    cfg("unknown-threshold-choice", ["threshold=youden"], "'threshold'"),
    cfg("unknown-key-in-group", ["model.not_a_key=1"], "not_a_key"),
    cfg("unknown-top-level-key", ["not_a_key=1"], "not_a_key"),
    cfg("wrong-type-int", ["trainer.max_epochs=ten"], "max_epochs"),
    cfg("wrong-type-float", ["inversion.eps=small"], "eps"),
    cfg("wrong-type-list", ["data.normal_classes=N"], "normal_classes"),
    cfg("eps-zero", ["inversion.eps=0"], "inversion.eps"),
    cfg("eps-negative", ["inversion.eps=-0.5"], "inversion.eps"),
    cfg("n-max-zero", ["inversion.n_max=0"], "inversion.n_max"),
    cfg("lambda-grid-step-zero", ["score.grid_step=0"], "score.grid_step"),
    cfg("lambda-grid-step-above-1", ["score.grid_step=1.5"], "score.grid_step"),
    cfg("data-batch-size-zero", ["data.batch_size=0"], "data.batch_size"),
    cfg("inversion-batch-size-zero", ["inversion.batch_size=0"], "inversion.batch_size"),
    cfg("latent-size-zero", ["model.latent_dim=0"], "model.latent_dim"),
    cfg("contamination-one", ["data.contamination=1.0"], "data.contamination"),
    cfg("contamination-negative", ["data.contamination=-0.1"], "data.contamination"),
    cfg("fold-equals-folds", ["data.folds=5", "data.fold=5"], "data.fold"),
    cfg(
        "threshold-quantile-above-1",
        ["threshold=normal_quantile", "threshold.quantile=1.5"],
        "threshold.quantile",
    ),
    cfg("score-objective-unknown", ["score.objective=accuracy"], "score.objective"),
    cfg("one-bad-value-in-sweep", ["-m", "inversion.eps=0.1,-1"], "inversion.eps"),
    cfg("encoder-inversion-without-encoder", ["inversion=encoder"], "inversion.name"),
    cfg(
        "optuna-objective-without-val-anomalies",
        ["-m", "hparams_search=optuna", "data=mitbih"],
        "data.val_anomaly_fraction",
    ),
    cfg(
        "best-epoch-without-encoder",
        ["model=wgan_gp", "trainer.select_epoch=best_val_auroc"],
        "trainer.select_epoch",
    ),
    cfg("multirun-with-cfg-flag", ["-m", "--cfg", "job"], "Only one of"),
    Case("unknown-command", lambda c: ["frobnicate"], "frobnicate", only_line=True),
    # ---- data: refused when loading; the run folder Hydra made is removed
    Case(
        "csv-root-missing",
        lambda c: c.train("data=csv", f"data.root={c.tmp / 'nowhere.csv'}", *DATA_SMOKE),
        "nowhere.csv",
    ),
    Case("csv-root-unset", lambda c: c.train("data=csv", *DATA_SMOKE), "data.root"),
    Case("mitbih-root-missing", lambda c: c.mitbih(c.tmp / "no_mitdb"), "no_mitdb"),
    Case(
        "mitbih-record-missing",
        lambda c: c.mitbih(c.mitdb_copy("hea", "dat", "atr"), "data.records=[101]"),
        "101",
    ),
    Case("mitbih-truncated-dat", _truncate_dat, "truncated"),
    Case("mitbih-dat-longer-than-hea", _dat_longer_than_header, "disagrees with 100.hea"),
    Case("mitbih-hea-checksum-disagrees", _header_checksum_wrong, "checksum"),
    Case("mitbih-sha256-mismatch", _sha256_mismatch, "SHA-256"),
    Case("mitbih-missing-atr", lambda c: c.mitbih(c.mitdb_copy("hea", "dat")), "100.atr"),
    Case(
        "ucr-ragged-rows", lambda c: _ucr(c, ["1\t0.1\t0.2\t0.3", "2\t0.1\t0.2"]), "Bad_TRAIN.tsv"
    ),
    Case("ucr-inf-value", lambda c: _ucr(c, ["1\t0.1\t0.2\t0.3", "2\t0.1\tinf\t0.3"]), "inf"),
    Case("ucr-empty-file", lambda c: _ucr(c, []), "empty"),
    Case("csv-ragged-rows", lambda c: _csv(c, "0.1,0.2,0.3\n0.1,0.2\n0.4,0.5,0.6\n"), "bad.csv"),
    Case("csv-nan-value", lambda c: _csv(c, "0.1,0.2,0.3\n0.1,nan,0.3\n"), "NaN"),
    Case("csv-empty-file", lambda c: _csv(c, ""), "empty"),
    Case("csv-non-numeric", lambda c: _csv(c, "0.1,abc,0.3\n"), "bad.csv"),
    Case("npy-nan-value", lambda c: _npy(c, np.full((20, 16), np.nan)), "NaN"),
    Case("npy-wrong-rank", lambda c: _npy(c, np.zeros((2, 2, 2, 16))), "windows.npy"),
    Case(
        "normal-classes-not-present",
        lambda c: c.train("data.normal_classes=[Z]", *SMOKE),
        "data.normal_classes",
    ),
    Case(
        "no-anomalies-left-for-test", lambda c: _labelled_csv(c, 80, anomalies=False), "test split"
    ),
    Case(
        "fewer-samples-than-one-batch",
        lambda c: _labelled_csv(c, 40, "data.batch_size=64"),
        "data.batch_size",
    ),
    # ---- runs: refused before any evaluation/detection folder is written
    Case("evaluate-run-missing", lambda c: ["evaluate", f"run={c.tmp / 'no_run'}"], "no_run"),
    Case("detect-run-missing", lambda c: _detect_csv(c, c.tmp / "no_run"), "no_run"),
    Case("bench-run-missing", lambda c: ["bench", f"run={c.tmp / 'no_run'}"], "no_run"),
    Case("resume-run-missing", lambda c: ["train", f"resume={c.tmp / 'no_run'}"], "no_run"),
    Case("resume-checkpoint-missing", _resume_without_checkpoint, "last.ckpt"),
    Case("resume-checkpoint-corrupt", _resume_corrupt_checkpoint, "last.ckpt"),
    Case("detect-detector-missing", _detect_missing_detector, "detector.pt"),
    Case("evaluate-detector-corrupt", _evaluate_corrupt_detector, "detector.pt"),
    Case("bench-detector-corrupt", _bench_corrupt_detector, "detector.pt"),
    Case(
        "detect-detector-incompatible-version",
        lambda c: _detect_csv(c, _detector_version(c)),
        "format version 99",
    ),
    Case(
        "detect-wrong-window-length", lambda c: _detect_csv(c, c.run_copy(), length=100), "new.csv"
    ),
    Case("detect-wrong-channel-count", _detect_wrong_channels, "two_leads.npy"),
    Case("detect-nan-input", _detect_nan_input, "NaN"),
    Case("detect-output-under-a-file", _detect_output_under_file, "afile"),
    Case("report-dir-missing", lambda c: ["report", str(c.tmp / "no_runs")], "no_runs"),
    Case(
        "detect-input-missing",
        lambda c: ["detect", f"run={c.run_copy()}", f"input={c.tmp / 'none.csv'}"],
        "none.csv",
    ),
]


def _results(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.name in FINISHED}


def _check(case: Case, ctx: Ctx, code: int, stderr: str, before: set[Path]) -> None:
    needle = case.needle(ctx) if callable(case.needle) else case.needle
    assert code == 2, f"exit {code}\n{stderr[-3000:]}"
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ganad: error:")]
    assert len(errors) == 1, stderr[-3000:]
    assert lines[-1] == errors[0], "the error is the last thing printed"
    if case.only_line:
        assert lines == errors, stderr
    assert needle in errors[0], errors[0]
    assert len(errors[0]) < 600, "one readable line"
    assert "Traceback" not in stderr
    assert _results(ctx.tmp) == before, "a result file appeared"
    assert not ctx.out.exists(), "the failed run's folder was left behind"
    assert not (ctx.tmp / "outputs").exists()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_catalogue(case: Case, in_tmp: Path, request, capfd):
    """Every case through `ganad_cli.cli.main`, the function behind the console script."""
    ctx = Ctx(in_tmp, request)
    argv = case.argv(ctx)
    before = _results(in_tmp)
    capfd.readouterr()
    code = main(argv)
    _check(case, ctx, code, capfd.readouterr().err, before)


SCRIPT_CASES = [
    "unknown-key-in-group",
    "csv-ragged-rows",
    "mitbih-truncated-dat",
    "detect-wrong-window-length",
    "resume-checkpoint-corrupt",
]


@pytest.mark.parametrize("case_id", SCRIPT_CASES)
def test_installed_script_gives_the_same_answer(case_id: str, tmp_path: Path, request):
    """A sample of the catalogue through the installed `ganad` script in a subprocess."""
    case = next(c for c in CASES if c.id == case_id)
    ctx = Ctx(tmp_path, request)
    argv = case.argv(ctx)
    before = _results(tmp_path)
    out = run(argv, tmp_path)
    _check(case, ctx, out.returncode, out.stderr, before)


def test_catalogue_is_large_enough():
    assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)


# ------------------------------------------------------------ range fuzzing, in-process


@pytest.fixture(scope="module")
def base_cfg(compose_train):
    return compose_train(["experiment=smoke"])


RANGES: list[tuple[str, Callable[[float], bool], st.SearchStrategy]] = [
    ("inversion.eps", lambda v: v > 0, st.floats(-10, 10, allow_nan=False)),
    ("inversion.n_max", lambda v: v >= 1, st.integers(-5, 5)),
    ("inversion.batch_size", lambda v: v >= 1, st.integers(-5, 5)),
    ("data.batch_size", lambda v: v >= 1, st.integers(-5, 5)),
    ("model.latent_dim", lambda v: v >= 1, st.integers(-5, 5)),
    ("data.contamination", lambda v: 0 <= v < 1, st.floats(-1, 2, allow_nan=False)),
    ("data.fold", lambda v: 0 <= v < 5, st.integers(-3, 8)),
    ("score.grid_step", lambda v: 0 < v <= 1, st.floats(-1, 2, allow_nan=False)),
]


@pytest.mark.parametrize("key,valid,values", RANGES, ids=[r[0] for r in RANGES])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_range_checks_accept_exactly_the_valid_values(base_cfg, key, valid, values, data):
    value = data.draw(values)
    cfg = base_cfg.copy()
    OmegaConf.update(cfg, key, value)
    if valid(value):
        validate_config(cfg)
    else:
        with pytest.raises(GanadInputError, match=key.replace(".", r"\.")):
            validate_config(cfg)


@pytest.mark.parametrize("value", [math.nan, -math.inf], ids=["nan", "-inf"])
def test_non_finite_eps_is_refused(base_cfg, value):
    cfg = base_cfg.copy()
    OmegaConf.update(cfg, "inversion.eps", value)
    with pytest.raises(GanadInputError, match=r"inversion\.eps"):
        validate_config(cfg)


def test_sweep_jobs_with_bad_data_exit_2_without_traceback(in_tmp: Path, capfd):
    """Runtime bad input inside a sweep: one line per failed job, no traceback, exit 2."""
    sweep = in_tmp / "sweep"
    capfd.readouterr()
    code = main(["train", "-m", *SMOKE, "data.normal_classes=[Z],[Y]", f"hydra.sweep.dir={sweep}"])
    err = capfd.readouterr().err
    assert code == 2, err[-3000:]
    assert "Traceback" not in err
    errors = [ln for ln in err.splitlines() if ln.startswith("ganad: error:")]
    assert any("['Z'] names no class present" in ln for ln in errors)
    assert any("['Y'] names no class present" in ln for ln in errors)
    assert not list(sweep.rglob("metrics.json"))
