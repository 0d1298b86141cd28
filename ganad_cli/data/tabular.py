"""Generic window files: UCR-archive .tsv (located or downloaded by ucr_files.py), CSV rows,
NPY arrays, and scikit-learn digits.

Every loader returns Samples with x (n, channels, length); bad files raise GanadInputError with
one line naming the file and what was expected (ragged rows, NaN/inf, empty files).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from ganad_cli.config.choices import NORMALIZATIONS
from ganad_cli.data.base import Samples
from ganad_cli.errors import GanadInputError
from ganad_cli.paths import resolve_path


def _root(cfg: DictConfig, what: str) -> Path:
    if not cfg.root:
        raise GanadInputError(f"config key 'data.root' must name {what}; it is not set")
    return resolve_path(cfg.root, "data.root")


def label_str(v: object) -> str:
    """Class label as text: 1.0 -> '1', 'abc' -> 'abc'."""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def normalize(x: np.ndarray, how: str, key: str = "data.normalize") -> np.ndarray:
    """Per-window scaling over the last axis: zscore, or minmax to [-1, 1]."""
    if how not in NORMALIZATIONS:
        raise GanadInputError(
            f"config key '{key}' must be one of {list(NORMALIZATIONS)}, got {how!r}"
        )
    if how == "zscore":
        sd = x.std(axis=-1, keepdims=True)
        return (x - x.mean(axis=-1, keepdims=True)) / np.where(sd > 0, sd, 1.0)
    if how == "minmax":
        lo, hi = x.min(axis=-1, keepdims=True), x.max(axis=-1, keepdims=True)
        return 2.0 * (x - lo) / np.where(hi > lo, hi - lo, 1.0) - 1.0
    return x


def _finite(x: np.ndarray, path: Path) -> None:
    bad = ~np.isfinite(x)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise GanadInputError(
            f"{path} has NaN or inf values (first in row {row + 1}); expected "
            "finite numbers only (equal-length series)"
        )


def read_table(path: Path, delimiter: str | None, skip_header: bool = False) -> np.ndarray:
    """A numeric 2-D table; ragged rows, non-numbers, and empty files are input errors."""
    if not path.is_file():
        raise GanadInputError(f"{path} does not exist; expected a data file")
    if path.stat().st_size == 0:
        raise GanadInputError(f"{path} is empty; expected one window per row")
    try:
        table = np.loadtxt(
            path, delimiter=delimiter, skiprows=int(skip_header), ndmin=2, encoding="utf-8"
        )
    except UnicodeDecodeError as exc:
        raise GanadInputError(
            f"{path} is not UTF-8 text (byte {exc.start}: {exc.reason}); expected numbers as "
            "plain text"
        ) from exc
    except ValueError as exc:
        raise GanadInputError(
            f"{path} is not a table of equal-length numeric rows: {str(exc).splitlines()[0]}"
        ) from exc
    if table.size == 0:
        raise GanadInputError(f"{path} has no data rows; expected one window per row")
    return table


# ------------------------------------------------------------------------------------ UCR


def load_ucr(cfg: DictConfig) -> Samples:
    from ganad_cli.data.ucr_files import present_files, ucr_folder

    root, name = ucr_folder(cfg)
    files = present_files(root, name)
    if not files:
        raise GanadInputError(
            f"no {name}_TRAIN.tsv or {name}_TEST.tsv in {root}; set data.root to a UCR data set "
            "folder (and data.dataset if the files are named differently)"
        )
    xs, cls, group = [], [], []
    for part, f in files:
        table = read_table(f, delimiter="\t")
        if table.shape[1] < 2:
            raise GanadInputError(f"{f} has only one column; expected a label then the series")
        _finite(table, f)
        xs.append(table[:, 1:])
        cls += [label_str(v) for v in table[:, 0]]
        group += [part] * len(table)
    lengths = {x.shape[1] for x in xs}
    if len(lengths) > 1:
        raise GanadInputError(f"{name} TRAIN and TEST series differ in length {sorted(lengths)}")
    x = normalize(np.concatenate(xs), cfg.normalize)
    return Samples(x=x[:, None, :].astype(np.float32), cls=np.array(cls), group=np.array(group))


# ----------------------------------------------------------------------------------- CSV, NPY


def load_csv(cfg: DictConfig) -> Samples:
    path = _root(cfg, "a .csv file with one window per row")
    table = read_table(path, delimiter=cfg.delimiter, skip_header=bool(cfg.header))
    if cfg.label_column is not None:
        col = int(cfg.label_column)
        if not -table.shape[1] <= col < table.shape[1]:
            raise GanadInputError(
                f"config key 'data.label_column' = {col} is outside the {table.shape[1]} columns "
                f"of {path}"
            )
        labels = [label_str(v) for v in table[:, col]]
        table = np.delete(table, col, axis=1)
    else:
        labels = ["N"] * len(table)
    _finite(table, path)
    x = normalize(table, cfg.normalize)
    return Samples(
        x=x[:, None, :].astype(np.float32),
        cls=np.array(labels),
        group=np.full(len(x), path.stem),
    )


def check_npy_size(path: Path) -> None:
    """The .npy header's shape against the file's length, before numpy allocates that much: a
    damaged header can claim terabytes."""
    from numpy.lib import format as npy_format

    try:
        with open(path, "rb") as fh:
            version = npy_format.read_magic(fh)
            read_header = {
                (1, 0): npy_format.read_array_header_1_0,
                (2, 0): npy_format.read_array_header_2_0,
            }.get(version)
            if read_header is None:
                return  # a newer format: numpy's own reader decides
            shape, _, dtype = read_header(fh)
            offset = fh.tell()
    except ValueError as exc:  # not an .npy header at all: reported by np.load
        del exc
        return
    if dtype.hasobject:
        return  # object arrays are refused by np.load(allow_pickle=False)
    need = offset + int(np.prod(shape, dtype=object)) * dtype.itemsize
    have = path.stat().st_size
    if have < need:
        raise GanadInputError(
            f"{path}: its .npy header declares an array of shape {tuple(shape)} ({need} bytes), "
            f"but the file holds {have} bytes; expected an intact .npy file (truncated or damaged)"
        )


def _npy(path: Path, what: str) -> np.ndarray:
    if not path.is_file():
        raise GanadInputError(f"{path} does not exist; expected {what}")
    check_npy_size(path)
    try:
        return np.load(path, allow_pickle=False)
    except Exception as exc:
        raise GanadInputError(f"{path} is not a readable .npy file ({exc}); expected {what}") from (
            exc
        )


def load_npy(cfg: DictConfig) -> Samples:
    path = _root(cfg, "a .npy file of windows (n, length) or (n, channels, length)")
    x = _npy(path, "windows (n, length) or (n, channels, length)")
    if x.ndim == 2:
        x = x[:, None, :]
    if x.ndim != 3 or len(x) == 0 or not np.issubdtype(x.dtype, np.number):
        raise GanadInputError(
            f"{path} holds a {x.dtype} array of shape {x.shape}; expected a non-empty numeric "
            "array (n, length) or (n, channels, length)"
        )
    x = x.astype(np.float64)
    _finite(x.reshape(len(x), -1), path)
    if cfg.labels:
        lpath = resolve_path(cfg.labels, "data.labels")
        y = _npy(lpath, f"{len(x)} class labels")
        if y.ndim != 1 or len(y) != len(x):
            raise GanadInputError(f"{lpath} has shape {y.shape}; expected ({len(x)},) labels")
        labels = [label_str(v) for v in y.tolist()]
    else:
        labels = ["N"] * len(x)
    x = normalize(x, cfg.normalize)
    return Samples(x=x.astype(np.float32), cls=np.array(labels), group=np.full(len(x), path.stem))


# -------------------------------------------------------------------------------------- digits


def load_digits(cfg: DictConfig) -> Samples:
    """sklearn's 8x8 digits as (n, 1, 64) row-major rows; image_shape (8, 8) for 2-D nets."""
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    x = bunch.images.reshape(len(bunch.images), 1, 64).astype(np.float64)
    if cfg.normalize == "minmax":  # fixed pixel range 0..16, not per image
        x = x / 8.0 - 1.0
    else:
        x = normalize(x, cfg.normalize)
    return Samples(
        x=x.astype(np.float32),
        cls=np.array([str(t) for t in bunch.target]),
        group=np.full(len(x), "digits"),
        image_shape=(8, 8),
    )
