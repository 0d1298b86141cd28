"""`ganad bench`: a tiny grid on a smoke run writes bench.csv and bench.md with every cell filled;
bad input ends with one line and exit 2 and leaves the run untouched."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf

from ganad_cli.cli import main
from ganad_cli.tasks.bench import bench_subset, plan_rows, row_config

GRID = [
    "bench.n=24",
    "bench.eps=[0.05,0.5]",
    "bench.n_max=[3]",
    "bench.batch=[1,8,64]",
    "bench.inversions=[anogan,encoder_then_anogan,encoder]",
    "bench.warmup_steps=1",
    "threads=1",
]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory) -> Path:
    """A trained smoke run of a model with an encoder (BeatGAN), so every row kind exists."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    run = tmp_path_factory.mktemp("bench") / "run"
    code = main(
        ["train", "experiment=smoke", "model=beatgan", "quiet=true", f"hydra.run.dir={run}"]
    )
    torch.set_num_threads(saved)
    assert code == 0 and (run / "detector.pt").is_file()
    return run


def test_bench_writes_every_row_and_cell(smoke_run):
    before = {p: p.read_bytes() for p in (smoke_run / "metrics.json", smoke_run / "detector.pt")}
    before_cfg = (smoke_run / ".hydra" / "config.yaml").read_text()
    assert main(["bench", f"run={smoke_run}", "bench=table1", *GRID]) == 0
    frame = pd.read_csv(smoke_run / "bench.csv")
    # batch 64 > n = 24 collapses into batch 24; encoder rows have no eps/n_max
    assert sorted(set(frame.batch)) == [1, 8, 24]
    counts = frame.inversion.value_counts().to_dict()
    assert counts == {"anogan": 6, "encoder_then_anogan": 6, "encoder": 3}
    search = frame[frame.inversion != "encoder"]
    assert search.notna().all().all(), search[search.isna().any(axis=1)]
    enc = frame[frame.inversion == "encoder"].drop(columns=["eps", "n_max"])
    assert enc.notna().all().all()
    assert (frame.n == 24).all() and (frame.ms_per_sample_mean > 0).all()
    assert (frame.samples_per_s > 0).all() and frame.auroc.between(0, 1).all()
    assert (frame[frame.batch == 1].timings == 24).all()  # one timing per sample
    assert (frame.timings >= 3).all()  # whole passes repeated up to min_timings
    assert (search.mean_steps <= 3).all()
    assert (frame[frame.inversion == "encoder"].mean_steps == 0).all()
    # same problem (same starts) at every batch size: same steps, convergence and AUROC up to
    # float rounding of batched vs single convolutions
    for _, group in search.groupby(["inversion", "eps", "n_max"]):
        assert group.auroc.max() - group.auroc.min() <= 0.01
        assert group.fraction_converged.max() - group.fraction_converged.min() <= 1 / 24
        assert group.mean_steps.max() - group.mean_steps.min() <= 3 / 24
    assert {"hw_device_name", "hw_torch_threads", "hw_torch"} <= set(frame.columns)
    assert (frame.hw_torch_threads == 1).all()
    md = (smoke_run / "bench.md").read_text()
    table = [line for line in md.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + len(frame)  # header + one line per row
    assert "Runtime (ms/sample)" in table[0] and "test AUROC" in table[0]
    assert "nan" not in md.lower() and "torch" in md and "threads" in md
    assert "Encoder + AnoGAN" in md and "| Encoder | – | – | 24 |" in md
    # the run itself is untouched
    for p, data in before.items():
        assert p.read_bytes() == data, p
    assert (smoke_run / ".hydra" / "config.yaml").read_text() == before_cfg


@pytest.mark.parametrize(
    "override,key",
    [
        ("bench.eps=[0.05,0]", "bench.eps"),
        ("bench.eps=[-0.1]", "bench.eps"),
        ("bench.n_max=[0]", "bench.n_max"),
        ("bench.batch=[1,0]", "bench.batch"),
        ("bench.inversions=[magic]", "bench.inversions"),
        ("device=tpu", "device"),
    ],
)
def test_bad_grid_values_exit_2_with_one_line(smoke_run, capsys, override, key):
    code = main(["bench", f"run={smoke_run}", override])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("ganad: error:") and key in err
    assert (smoke_run / "detector.pt").is_file()  # the run folder is not removed


def test_run_folder_without_detector_exits_2(smoke_run, tmp_path, capsys):
    bare = tmp_path / "bare"
    shutil.copytree(smoke_run / ".hydra", bare / ".hydra")
    assert main(["bench", f"run={bare}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "detector" in err and str(bare) in err
    assert not (bare / "bench.csv").exists()
    assert main(["bench", f"run={tmp_path / 'missing'}"]) == 2
    assert "not found" in capsys.readouterr().err
    assert not (tmp_path / "missing").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="the message for a machine without CUDA")
def test_cuda_without_cuda_exits_2(smoke_run, capsys):
    assert main(["bench", f"run={smoke_run}", "device=cuda"]) == 2
    assert "CUDA is not available" in capsys.readouterr().err


def test_plan_skips_senseless_rows():
    bench = OmegaConf.create(
        {
            "inversions": ["anogan", "encoder_then_anogan", "encoder"],
            "eps": [0.005, 0.05],
            "n_max": [100, 500],
            "batch": [1, 64, 512],
        }
    )
    rows = plan_rows(bench, 100, has_encoder=False)  # GAN-only: no encoder rows
    assert {r["inversion"] for r in rows} == {"anogan"}
    assert sorted({r["batch"] for r in rows}) == [1, 64, 100]  # 512 > n collapses into n
    assert len(rows) == 2 * 2 * 3
    rows = plan_rows(bench, 50, has_encoder=True)  # 64 and 512 both collapse into 50
    assert [r["batch"] for r in rows if r["inversion"] == "encoder"] == [1, 50]
    assert all(r["eps"] is None for r in rows if r["inversion"] == "encoder")


def test_subset_is_stratified_and_seeded():
    import numpy as np

    y = np.array([0] * 90 + [1] * 10)
    a, b = bench_subset(y, 20, 0), bench_subset(y, 20, 0)
    assert (a == b).all() and len(a) == 20 and y[a].sum() == 2
    assert len(bench_subset(y, 500, 0)) == 100


def test_interrupted_bench_keeps_its_rows_and_resumes(smoke_run, tmp_path, monkeypatch, capfd):
    """Ctrl-C after the first row: bench.csv holds that row; `resume=true` measures only the
    rest, keeps the first row as it was, and repeats none."""
    import ganad_cli.tasks.bench as bench

    run = tmp_path / "run"
    shutil.copytree(smoke_run, run)
    (run / "bench.csv").unlink(missing_ok=True)
    grid = [*GRID[:1], "bench.eps=[0.05,0.5]", "bench.n_max=[3]", "bench.batch=[1,8]"]
    grid += ["bench.inversions=[anogan]", "bench.warmup_steps=1", "threads=1"]
    real, calls = bench.measure_row, []

    def ctrl_c_on_second_row(*args, **kwargs):
        calls.append(args[3]["batch_size"])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(bench, "measure_row", ctrl_c_on_second_row)
    assert main(["bench", f"run={run}", *grid]) == 130
    assert "resume=true" in capfd.readouterr().err
    first = pd.read_csv(run / "bench.csv")
    assert len(first) == 1 and (run / "bench.md").read_text().count("| AnoGAN |") == 1

    counted = []
    monkeypatch.setattr(bench, "measure_row", lambda *a, **k: counted.append(1) or real(*a, **k))
    assert main(["bench", f"run={run}", *grid, "resume=true"]) == 0
    assert len(counted) == 3  # only the rows not finished before
    frame = pd.read_csv(run / "bench.csv")
    keys = list(zip(frame.eps, frame.n_max, frame.batch))
    assert len(frame) == 4 and len(set(keys)) == 4
    pd.testing.assert_frame_equal(frame.iloc[:1], first)  # the first row, exactly as kept

    # another setup (here: bench.n) does not reuse the rows: one line naming the key, exit 2
    capfd.readouterr()
    assert main(["bench", f"run={run}", *grid, "bench.n=20", "resume=true"]) == 2
    err = capfd.readouterr().err
    assert err.count("ganad: error:") == 1 and "'resume'" in err
    assert pd.read_csv(run / "bench.csv").equals(frame)


def test_every_timed_batch_shape_is_warmed_up(smoke_run, monkeypatch):
    """n = 10 at batch 4 times batches of 4 and 2 samples: both shapes get an untimed warm-up
    (a spy around the real invert records each call's batch length and n_max)."""
    import numpy as np

    from ganad_cli.detector import Detector
    from ganad_cli.tasks import bench

    detector = Detector.load(smoke_run / "detector.pt")
    calls = []
    real = bench.invert

    def spy(model, x, cfg, **kw):
        calls.append((len(x), int(cfg["n_max"])))
        return real(model, x, cfg, **kw)

    monkeypatch.setattr(bench, "invert", spy)
    x = torch.randn(10, *detector.shape)
    y = np.array([0, 1] * 5)
    row = {"inversion": "anogan", "eps": 1e-9, "n_max": 6, "batch": 4}
    cfg = bench.row_config(dict(detector.inversion), row)
    bench.measure_row(detector, x, y, cfg, "cpu", min_timings=1, warmup_steps=2)
    first_timed = next(i for i, (_, n_max) in enumerate(calls) if n_max == 6)
    warmed = {n for n, _ in calls[:first_timed]}
    assert {n for n, n_max in calls if n_max == 6} == {4, 2} and warmed == {4, 2}


def test_anogan_rows_start_where_the_runs_inversion_init_says():
    """experiment=table1 sets inversion.init=encoder (ecgan's z0 = E(x)): its anogan rows take
    it; by default, and for an encoder_then_anogan run, anogan rows start from the prior."""
    row = {"inversion": "anogan", "eps": 0.05, "n_max": 10, "batch": 4}
    table1 = {"name": "encoder", "init": "encoder", "lr": 0.01, "lr_drop_below": 0.05}
    cfg = row_config(table1, row)
    assert (cfg["name"], cfg["init"], cfg["lr_drop_below"]) == ("anogan", "encoder", 0.05)
    assert row_config({"name": "encoder", "init": "prior"}, row)["init"] == "prior"
    assert row_config({"name": "anogan"}, row)["init"] == "prior"
    own = {"name": "encoder_then_anogan", "init": "encoder"}
    assert row_config(own, row)["init"] == "prior"
    both = {**row, "inversion": "encoder_then_anogan"}
    assert row_config({"name": "anogan", "init": "prior"}, both)["init"] == "encoder"
