"""Kachuee et al. (2018)'s published MIT-BIH beats: `data=kachuee_csv`.

The two CSVs of the Kaggle "ECG Heartbeat Categorization Dataset" (mitbih_train.csv,
mitbih_test.csv) hold one beat per row without a header: 187 samples (125 Hz, each 10 s window
min-max scaled to [0, 1], the beat zero-padded) and then the class as a float, 0..4 = N, S, V, F, Q.
ecgan (emundo/ecgan) reads the same two files (ecgan/preprocessing/preprocessor.py:244-248).

- `data.train_csv`, `data.test_csv`: the two files (both required).
- `data.cleanse`: drop the beats ecgan's DataCleanser drops as ecgan configures it for these files
  (preprocessor.py:205-210, cleansing.py:41-166): a flat beat (standard deviation ~ 0) or a value
  outside [-1, 1]. ecgan also drops rows with more than 20 % NaN and imputes fewer with KNN; here a
  NaN is an input error naming the file and row.
- `data.resample_length`: null keeps the 187 samples (as ecgan does for this data set); a length
  interpolates each beat linearly.
- `data.scale`: none (Kachuee's [0, 1]) | ecgan (after the split, each split min-max to [-1, 1]
  by its own range, ecgan's scale_to_unit_circle for its tanh generator: trainer.py:160-164,
  269-271, miscellaneous.py:354-357; `ganad_cli.data.scaling`) | global (min-max of all beats
  read to [-1, 1], before the split) | beat (each beat min-max to [-1, 1]).
- Each beat's group is the file it came from ("train" or "test"), which `data.split=files` uses;
  `data.split=ecgan` pools both files as ecgan does (preprocessor.py:126-136).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from ganad_cli.config.choices import KACHUEE_SCALES
from ganad_cli.data.aami import AAMI_CLASSES
from ganad_cli.data.base import Samples
from ganad_cli.errors import GanadInputError
from ganad_cli.paths import resolve_path

log = logging.getLogger("ganad")

LENGTH = 187
# Kachuee's class codes 0..4 are the AAMI classes in this order
CLASSES = AAMI_CLASSES
EXPECTED = f"{LENGTH + 1} comma-separated numbers per row ({LENGTH} samples, then the class 0..4)"


def _path(cfg: DictConfig, key: str, what: str) -> Path:
    value = cfg.get(key)
    if not value:
        raise GanadInputError(f"config key 'data.{key}' must name {what}; it is not set")
    path = resolve_path(value, f"data.{key}")
    if not path.is_file():
        raise GanadInputError(
            f"config key 'data.{key}': {path} does not exist or is not a file; expected {what}"
        )
    if path.stat().st_size == 0:
        raise GanadInputError(f"config key 'data.{key}': {path} is empty; expected {EXPECTED}")
    return path


def _first_bad_row(path: Path) -> str:
    """The first row that is not 188 numbers, as 'row i: what is wrong'."""
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            fields = line.strip().split(",")
            if fields == [""]:
                continue
            if len(fields) != LENGTH + 1:
                return f"row {i} has {len(fields)} columns"
            for j, field in enumerate(fields, 1):
                try:
                    float(field)
                except ValueError:
                    return f"row {i}, column {j} is not a number ({field.strip()[:20]!r})"
    return "it could not be read as numbers"


def read_kachuee_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(beats (n, 187) float64, class names (n,)) of one Kachuee CSV; any bad row is an input
    error naming the file and the row."""
    try:
        table = np.loadtxt(path, delimiter=",", ndmin=2, encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise GanadInputError(
            f"{path} is not UTF-8 text (byte {exc.start}: {exc.reason}); expected {EXPECTED}"
        ) from exc
    except ValueError as exc:
        raise GanadInputError(f"{path}: {_first_bad_row(path)}; expected {EXPECTED}") from exc
    if table.shape[0] == 0:
        raise GanadInputError(f"{path} has no data rows; expected {EXPECTED}")
    if table.shape[1] != LENGTH + 1:
        raise GanadInputError(f"{path}: row 1 has {table.shape[1]} columns; expected {EXPECTED}")
    bad = ~np.isfinite(table)
    if bad.any():
        row, col = (int(v) + 1 for v in np.argwhere(bad)[0])
        raise GanadInputError(
            f"{path}: row {row}, column {col} is NaN or inf; expected finite numbers ({EXPECTED})"
        )
    label = table[:, -1]
    wrong = np.flatnonzero(~np.isin(label, np.arange(len(CLASSES))))
    if len(wrong):
        row = int(wrong[0])
        raise GanadInputError(
            f"{path}: row {row + 1} has class {label[row]:g} in column {LENGTH + 1}; expected "
            "0, 1, 2, 3 or 4 (N, S, V, F, Q)"
        )
    return table[:, :-1], np.array(CLASSES)[label.astype(np.int64)]


def cleanse_mask(x: np.ndarray) -> np.ndarray:
    """True for the beats ecgan's DataCleanser keeps (lower/upper fault thresholds -1 and 1,
    a standard deviation np.allclose to 0 marks a dead sensor)."""
    flat = np.isclose(x.std(axis=1), 0.0, rtol=1e-5, atol=1e-8)
    out_of_range = (x.min(axis=1) < -1.0) | (x.max(axis=1) > 1.0)
    return ~(flat | out_of_range)


def resample(x: np.ndarray, length: int) -> np.ndarray:
    """Each row linearly interpolated from its samples onto `length` evenly spaced points."""
    src, grid = np.linspace(0.0, 1.0, x.shape[1]), np.linspace(0.0, 1.0, length)
    pos = np.interp(grid, src, np.arange(x.shape[1], dtype=np.float64))
    lo = np.minimum(pos.astype(np.int64), x.shape[1] - 2)
    frac = pos - lo
    return x[:, lo] * (1.0 - frac) + x[:, lo + 1] * frac


def scale(x: np.ndarray, how: str) -> np.ndarray:
    if how not in KACHUEE_SCALES:
        raise GanadInputError(
            f"config key 'data.scale' must be one of {list(KACHUEE_SCALES)}, got {how!r}"
        )
    if how == "global":
        lo, hi = float(x.min()), float(x.max())
        return 2.0 * (x - lo) / (hi - lo if hi > lo else 1.0) - 1.0
    if how == "beat":
        lo, hi = x.min(axis=1, keepdims=True), x.max(axis=1, keepdims=True)
        return 2.0 * (x - lo) / np.where(hi > lo, hi - lo, 1.0) - 1.0
    return x  # none, or ecgan: each split on its own, after the split (make_splits)


def load_kachuee_csv(cfg: DictConfig) -> Samples:
    files = {
        "train": _path(cfg, "train_csv", f"Kachuee's mitbih_train.csv ({EXPECTED})"),
        "test": _path(cfg, "test_csv", f"Kachuee's mitbih_test.csv ({EXPECTED})"),
    }
    xs, cls, group = [], [], []
    for role, path in files.items():
        x, names = read_kachuee_csv(path)
        if cfg.cleanse:
            keep = cleanse_mask(x)
            if not keep.all():
                log.info("data %s: cleansing dropped %d of %d beats", path, (~keep).sum(), len(x))
            x, names = x[keep], names[keep]
        xs.append(x)
        cls.append(names)
        group.append(np.full(len(x), role))
    x = np.concatenate(xs)
    if len(x) == 0:
        raise GanadInputError(
            f"no beat of {files['train']} or {files['test']} is left after data.cleanse; "
            "expected beats with values in [-1, 1] that are not flat"
        )
    if cfg.resample_length and int(cfg.resample_length) != LENGTH:
        x = resample(x, int(cfg.resample_length))
    x = scale(x, cfg.scale)
    return Samples(
        x=x[:, None, :].astype(np.float32), cls=np.concatenate(cls), group=np.concatenate(group)
    )
