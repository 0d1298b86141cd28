"""data=kachuee_csv: Kachuee's beat CSV layout (187 samples, then the class 0..4), both splits,
cleansing, scaling, every bad-input line, and one tiny `ganad train` through it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from ganad_cli.cli import main
from ganad_cli.data import load_samples
from ganad_cli.data.splits import make_splits
from ganad_cli.errors import GanadInputError

CODE = {"N": 0, "premature": 1, "pvc": 2, "inverted_t": 3, "st_shift": 4, "noise_burst": 4}


def kachuee_rows(n_normal: int, n_per_anomaly: int, seed: int) -> np.ndarray:
    """Synthetic beats in Kachuee's layout: 187 samples min-max to [0, 1], the tail after the
    beat zero-padded, then the class as a float."""
    from ganad_cli.data.synthetic import generate_synthetic_ecg

    s = generate_synthetic_ecg(n_normal, n_per_anomaly, 150, 0.02, list(CODE)[1:], seed)
    x = s.x[:, 0, :].astype(np.float64)
    lo, hi = x.min(axis=1, keepdims=True), x.max(axis=1, keepdims=True)
    x = np.pad((x - lo) / (hi - lo), ((0, 0), (0, 187 - 150)))
    return np.column_stack([x, [float(CODE[c]) for c in s.cls]])


def write(path: Path, rows: np.ndarray) -> Path:
    np.savetxt(path, rows, delimiter=",", fmt="%.6e")
    return path


@pytest.fixture
def csvs(tmp_path) -> tuple[Path, Path]:
    return (
        write(tmp_path / "mitbih_train.csv", kachuee_rows(300, 12, 0)),
        write(tmp_path / "mitbih_test.csv", kachuee_rows(100, 6, 1)),
    )


@pytest.fixture
def data_cfg(compose_train, csvs):
    train, test = csvs

    def make(*overrides: str):
        base = ["data=kachuee_csv", f"data.train_csv={train}", f"data.test_csv={test}"]
        return compose_train([*base, *overrides]).data

    return make


def test_loads_both_files_with_classes_and_global_scale(data_cfg, csvs):
    s = load_samples(data_cfg())
    raw = np.concatenate([np.loadtxt(f, delimiter=",") for f in csvs])
    assert s.x.shape == (len(raw), 1, 187)
    assert (s.group == "train").sum() == 360 and (s.group == "test").sum() == 130
    assert list(s.cls[:3]) == ["N", "N", "N"] and set(s.cls) == {"N", "S", "V", "F", "Q"}
    assert (s.cls == "Q").sum() == 2 * (12 + 6)  # st_shift and noise_burst are both class 4
    # scale=global (the default): the pooled beats' min-max to [-1, 1]; [0, 1] becomes 2x - 1
    assert s.x.min() == -1.0 and s.x.max() == 1.0
    assert np.allclose(s.x[:, 0], 2.0 * raw[:, :-1] - 1.0, atol=1e-6)


def test_scale_ecgan_maps_each_split_by_its_own_range(data_cfg, csvs):
    """ecgan's scale_to_unit_circle on train, validation and test separately: a split whose
    beats span [0.1, 0.6] maps that range to [-1, 1], not the pooled range."""
    rows = np.loadtxt(csvs[1], delimiter=",")
    rows[:, :-1] = 0.1 + 0.5 * rows[:, :-1]  # the test file's beats in [0.1, 0.6]
    write(csvs[1], rows)
    cfg = data_cfg("data.scale=ecgan")
    raw = load_samples(data_cfg("data.scale=none"))
    assert np.array_equal(load_samples(cfg).x, raw.x)  # nothing scaled before the split
    s = make_splits(load_samples(cfg), cfg)
    plain = make_splits(raw, data_cfg("data.scale=none"))
    for name in ("train", "val", "test"):
        x, x0 = getattr(s, name).x, getattr(plain, name).x
        lo, hi = float(x0.min()), float(x0.max())
        assert x.min() == -1.0 and x.max() == 1.0
        assert np.allclose(x, 2.0 * (x0 - lo) / (hi - lo) - 1.0, atol=1e-6)
        assert s.info["scale"][name] == pytest.approx([lo, hi])
    assert s.info["scale"]["test"] == pytest.approx([0.1, 0.6])
    assert s.info["scale"]["train"] == pytest.approx([0.0, 1.0])


def test_scale_none_beat_and_resample(data_cfg, csvs):
    raw = np.loadtxt(csvs[0], delimiter=",")[:, :-1]
    none = load_samples(data_cfg("data.scale=none"))
    assert np.allclose(none.x[:360, 0], raw, atol=1e-6)
    shifted = raw * 0.5 + 0.2  # every beat in [0.2, 0.7]
    beat_rows = np.column_stack([shifted, np.zeros(len(raw))])
    write(csvs[0], beat_rows)
    beat = load_samples(data_cfg("data.scale=beat"))
    assert np.allclose(beat.x[:, 0].min(axis=1), -1.0) and np.allclose(beat.x[:, 0].max(1), 1.0)
    short = load_samples(data_cfg("data.scale=none", "data.resample_length=160"))
    assert short.x.shape[2] == 160
    assert np.allclose(short.x[:360, 0, [0, -1]], shifted[:, [0, -1]], atol=1e-6)
    assert np.allclose(
        short.x[0, 0], np.interp(np.linspace(0, 186, 160), np.arange(187), shifted[0]), atol=1e-6
    )


def test_cleanse_drops_flat_and_out_of_range_beats(data_cfg, csvs):
    rows = np.loadtxt(csvs[0], delimiter=",")
    rows[0, :-1] = 0.0  # flat: a dead sensor
    rows[1, 5] = 1.5  # above ecgan's upper fault threshold 1
    rows[2, 7] = -0.999  # inside [-1, 1]: kept
    write(csvs[0], rows)
    kept = load_samples(data_cfg("data.scale=none"))
    assert (kept.group == "train").sum() == 358
    assert np.isclose(kept.x[0, 0, 7], -0.999)
    everything = load_samples(data_cfg("data.scale=none", "data.cleanse=false"))
    assert (everything.group == "train").sum() == 360


def test_split_files_keeps_the_test_file_as_test(data_cfg):
    cfg = data_cfg()
    s = load_samples(cfg)
    splits = make_splits(s, cfg)
    assert set(splits.test.group) == {"test"} and len(splits.test) == 130
    assert set(splits.train.group) == {"train"} and set(splits.val.group) == {"train"}
    assert splits.train.label.sum() == 0 and len(splits.train) == 270  # 300 - 10 % validation
    assert (splits.val.label == 0).sum() == 30 and (splits.val.label == 1).sum() == 6  # 10 % of 60
    assert splits.info["train_file_anomalies_unused"] == 54


def test_split_ecgan_pools_both_files(data_cfg):
    cfg = data_cfg("data.split=ecgan", "data.fold=1")
    splits = make_splits(load_samples(cfg), cfg)
    n_normal = 400
    tv = int(np.ceil(n_normal * 0.85))
    assert (splits.test.label == 0).sum() == n_normal - tv
    assert len(splits.train) + (splits.val.label == 0).sum() == tv
    assert {"train", "test"} <= set(splits.train.group)  # beats of both files train
    assert (splits.val.label == 1).sum() + (splits.test.label == 1).sum() == 90
    other = make_splits(load_samples(cfg), data_cfg("data.split=ecgan", "data.fold=2"))
    assert np.array_equal(np.sort(other.test.x[:, 0, 0]), np.sort(splits.test.x[:, 0, 0]))


# ------------------------------------------------------------------------------ bad input


def _replace_line(path: Path, row: int, text: str) -> None:
    lines = path.read_text().splitlines()
    lines[row - 1] = text
    path.write_text("\n".join(lines) + "\n")


def _row(path: Path, row: int) -> list[str]:
    return path.read_text().splitlines()[row - 1].split(",")


@pytest.mark.parametrize(
    "damage,needle",
    [
        (lambda f: _replace_line(f, 4, ",".join(_row(f, 4)[:-1])), "row 4 has 187 columns"),
        (lambda f: _replace_line(f, 5, ",".join([*_row(f, 5)[:-1], "7.0"])), "row 5 has class 7"),
        (lambda f: _replace_line(f, 6, ",".join([*_row(f, 6)[:-1], "1.5"])), "class 1.5"),
        (lambda f: _replace_line(f, 2, ",".join(["abc", *_row(f, 2)[1:]])), "row 2, column 1"),
        (lambda f: _replace_line(f, 3, ",".join(["nan", *_row(f, 3)[1:]])), "row 3, column 1"),
        (lambda f: _replace_line(f, 1, ",".join(["1"] * 20)), "row 1 has 20 columns"),
        (lambda f: f.write_text(""), "is empty"),
        (lambda f: f.write_bytes(b"\xff\xfe" + b"0," * 187 + b"0\n"), "not UTF-8"),
    ],
)
def test_bad_rows_name_the_file_and_row(data_cfg, csvs, damage, needle):
    damage(csvs[1])
    with pytest.raises(GanadInputError, match="mitbih_test.csv") as info:
        load_samples(data_cfg())
    line = str(info.value)
    assert needle in line and "\n" not in line


def test_bad_keys_are_config_errors(compose_train, data_cfg):
    from ganad_cli.config import validate_config

    with pytest.raises(GanadInputError, match="data.scale"):
        load_samples(data_cfg("data.scale=unit"))
    with pytest.raises(GanadInputError, match="data.scale"):
        validate_config(compose_train(["data=kachuee_csv", "data.scale=unit"]))
    with pytest.raises(GanadInputError, match=r"data\.split.*kachuee_csv"):
        validate_config(compose_train(["data.split=files"]))


def _refused(argv: list[str], capfd) -> str:
    capfd.readouterr()
    code = main(argv)
    err = capfd.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, err[-3000:]
    assert lines[-1].startswith("ganad: error:") and "Traceback" not in err, err[-3000:]
    assert sum(ln.startswith("ganad: error:") for ln in lines) == 1
    return lines[-1]


@pytest.mark.parametrize("key", ["train_csv", "test_csv"])
def test_missing_file_exits_2_naming_key_and_file(csvs, tmp_path, capfd, key):
    out = tmp_path / "out"
    paths = {"train_csv": csvs[0], "test_csv": csvs[1], key: tmp_path / "absent.csv"}
    argv = ["train", "data=kachuee_csv", *(f"data.{k}={v}" for k, v in paths.items())]
    line = _refused([*argv, "experiment=smoke", f"hydra.run.dir={out}"], capfd)
    assert f"data.{key}" in line and "absent.csv" in line
    assert not out.exists()


def test_unset_file_exits_2_naming_the_key(csvs, tmp_path, capfd):
    out = tmp_path / "out"
    argv = ["train", "data=kachuee_csv", f"data.test_csv={csvs[1]}", f"hydra.run.dir={out}"]
    line = _refused([*argv, "experiment=smoke"], capfd)
    assert "data.train_csv" in line and "mitbih_train.csv" in line
    assert not out.exists()


def test_bad_row_through_the_cli(csvs, tmp_path, capfd):
    _replace_line(csvs[0], 9, ",".join([*_row(csvs[0], 9)[:-1], "5.0"]))
    out = tmp_path / "out"
    argv = ["train", "data=kachuee_csv", f"data.train_csv={csvs[0]}", f"data.test_csv={csvs[1]}"]
    line = _refused([*argv, "experiment=smoke", f"hydra.run.dir={out}"], capfd)
    assert "mitbih_train.csv" in line and "row 9" in line
    assert not out.exists()


# ------------------------------------------------------------------------------ end to end


def test_tiny_beta_vaegan_training_writes_metrics(csvs, tmp_path):
    os.environ.setdefault("CI", "true")
    out = tmp_path / "run"
    argv = [
        "train",
        "data=kachuee_csv",
        f"data.train_csv={csvs[0]}",
        f"data.test_csv={csvs[1]}",
        "data.resample_length=160",
        "data.batch_size=32",
        "model=beta_vaegan",
        "model.base_channels=8",
        "model.latent_dim=8",
        "trainer=cpu",
        "trainer.max_epochs=1",
        "trainer.enable_progress_bar=false",
        "plots=false",
        f"hydra.run.dir={out}",
    ]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["test/auroc"] <= 1.0
    assert metrics["test/n"] == 130


def test_tiny_betavaegan_kachuee_preset_trains_on_ecgan_scaled_splits(csvs, tmp_path):
    """experiment=betavaegan_kachuee end to end, tiny: pooled files, ecgan's folds and per-split
    scale, the SVM on ecgan's three components."""
    os.environ.setdefault("CI", "true")
    out = tmp_path / "run"
    argv = [
        "train",
        "experiment=betavaegan_kachuee",
        f"data.train_csv={csvs[0]}",
        f"data.test_csv={csvs[1]}",
        "data.batch_size=32",
        "model.base_channels=8",
        "trainer.max_epochs=1",
        "trainer.enable_progress_bar=false",
        "plots=false",
        f"hydra.run.dir={out}",
    ]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["test/auroc"] <= 1.0
    data = metrics["data"]
    # 400 normals: 340 train+validation in chunks of ceil(340 / 5) = 68, 60 test normals
    assert data["class_counts"]["val"]["N"] == 68 and data["class_counts"]["test"]["N"] == 60
    assert set(data["scale"]) == {"train", "val", "test"}
    assert metrics["test/components"] == ["residual", "feature_matching", "latent_norm"]
