"""UCR, CSV, NPY, digits and synthetic loaders, and their bad-input errors.

UCR files come from the `ucr_root` fixture: ../shared or $GANAD_UCR, else ganad's download path."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from ganad_cli.data import load_samples
from ganad_cli.data.splits import make_splits
from ganad_cli.errors import GanadInputError


@pytest.fixture
def data_cfg(compose_train):
    def make(*overrides: str):
        return compose_train(list(overrides)).data

    return make


def test_ucr_ecg200_train_and_test_concatenated(data_cfg, ucr_root):
    cfg = data_cfg("data=ucr", f"data.root={ucr_root('ECG200')}")
    s = load_samples(cfg)
    assert s.x.shape == (200, 1, 96)
    assert sorted(set(s.cls)) == ["-1", "1"]
    assert (s.group == "TRAIN").sum() == 100 and (s.group == "TEST").sum() == 100
    first = np.loadtxt(ucr_root("ECG200") / "ECG200_TRAIN.tsv", delimiter="\t", max_rows=1)
    assert np.allclose(s.x[0, 0], first[1:], atol=1e-6)
    splits = make_splits(s, cfg)
    assert splits.train.label.sum() == 0 and splits.test.label.sum() > 0


def test_ucr_ecg5000_train_only(data_cfg, ucr_root, tmp_path):
    # the archive's zip also holds the 4500 TEST series (../shared has TRAIN only): a folder
    # with the TRAIN file alone
    root = tmp_path / "ECG5000"
    root.mkdir()
    shutil.copy(ucr_root("ECG5000") / "ECG5000_TRAIN.tsv", root / "ECG5000_TRAIN.tsv")
    s = load_samples(data_cfg("data=ucr", f"data.root={root}"))
    assert s.x.shape == (500, 1, 140) and set(s.group) == {"TRAIN"}
    assert sorted(set(s.cls)) == ["1", "2", "3", "4", "5"]


@pytest.fixture
def ucr_copy(tmp_path, ucr_root) -> Path:
    """A copy of ECG200_TRAIN.tsv alone in tmp_path/ECG200, to damage."""
    root = tmp_path / "ECG200"
    root.mkdir()
    shutil.copy(ucr_root("ECG200") / "ECG200_TRAIN.tsv", root / "ECG200_TRAIN.tsv")
    return root


def test_ucr_ragged_row(data_cfg, ucr_copy):
    root = ucr_copy
    f = root / "ECG200_TRAIN.tsv"
    lines = f.read_text().splitlines()
    lines[3] = "\t".join(lines[3].split("\t")[:-5])
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(GanadInputError, match="ECG200_TRAIN.tsv") as info:
        load_samples(data_cfg("data=ucr", f"data.root={root}"))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("bad", ["NaN", "inf"])
def test_ucr_nan_or_inf(data_cfg, ucr_copy, bad):
    root = ucr_copy
    f = root / "ECG200_TRAIN.tsv"
    lines = f.read_text().splitlines()
    fields = lines[5].split("\t")
    fields[10] = bad
    lines[5] = "\t".join(fields)
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(GanadInputError, match="NaN or inf.*row 6"):
        load_samples(data_cfg("data=ucr", f"data.root={root}"))


def test_ucr_empty_and_missing(data_cfg, tmp_path, ucr_copy):
    root = ucr_copy
    (root / "ECG200_TRAIN.tsv").write_text("")
    with pytest.raises(GanadInputError, match="empty"):
        load_samples(data_cfg("data=ucr", f"data.root={root}"))
    with pytest.raises(GanadInputError, match="nothing_TRAIN.tsv"):
        load_samples(data_cfg("data=ucr", f"data.root={tmp_path / 'nothing'}"))
    with pytest.raises(GanadInputError, match="data.root"):
        load_samples(data_cfg("data=ucr"))


def test_ucr_normal_class_absent(data_cfg, ucr_root):
    cfg = data_cfg("data=ucr", f"data.root={ucr_root('ECG200')}", "data.normal_classes=[7]")
    with pytest.raises(GanadInputError, match="normal_classes"):
        make_splits(load_samples(cfg), cfg)


def test_csv_with_label_column(data_cfg, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 30))
    labels = np.array([0] * 30 + [1] * 10)
    path = tmp_path / "win.csv"
    np.savetxt(path, np.column_stack([x, labels]), delimiter=",")
    s = load_samples(
        data_cfg("data=csv", f"data.root={path}", "data.label_column=-1", "data.normalize=zscore")
    )
    assert s.x.shape == (40, 1, 30)
    assert list(s.cls[:30]) == ["0"] * 30 and list(s.cls[30:]) == ["1"] * 10
    assert np.allclose(s.x.mean(axis=2), 0, atol=1e-5)
    no_label = load_samples(data_cfg("data=csv", f"data.root={path}"))
    assert no_label.x.shape == (40, 1, 31) and set(no_label.cls) == {"N"}
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(GanadInputError, match="empty"):
        load_samples(data_cfg("data=csv", f"data.root={tmp_path / 'empty.csv'}"))


def test_npy_windows_and_labels(data_cfg, tmp_path):
    rng = np.random.default_rng(1)
    np.save(tmp_path / "x.npy", rng.normal(size=(25, 2, 50)))
    np.save(tmp_path / "y.npy", np.array(["N"] * 20 + ["V"] * 5))
    cfg = data_cfg(
        "data=npy", f"data.root={tmp_path / 'x.npy'}", f"data.labels={tmp_path / 'y.npy'}"
    )
    s = load_samples(cfg)
    assert s.x.shape == (25, 2, 50) and list(s.cls).count("V") == 5
    np.save(tmp_path / "bad.npy", np.array([[1.0, np.nan]]))
    with pytest.raises(GanadInputError, match="NaN"):
        load_samples(data_cfg("data=npy", f"data.root={tmp_path / 'bad.npy'}"))


def test_digits(data_cfg):
    cfg = data_cfg("data=digits")
    s = load_samples(cfg)
    assert s.x.shape == (1797, 1, 64) and s.image_shape == (8, 8)
    assert s.x.min() == -1.0 and s.x.max() == 1.0
    splits = make_splits(s, cfg)
    assert set(splits.train.cls) == {"0"}
    assert splits.info["image_shape"] == [8, 8]


def test_synthetic_default_unchanged(data_cfg):
    cfg = data_cfg()
    s = load_samples(cfg)
    assert s.x.shape == (4000 + 5 * 120, 1, 128)
    assert set(s.cls) == {"N", "pvc", "premature", "inverted_t", "st_shift", "noise_burst"}
