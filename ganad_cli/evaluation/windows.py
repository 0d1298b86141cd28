"""Windows a detector scores as they are (`.npy` (n, length) or (n, channels, length); `.csv`
one window per row, channel-major, an optional header line skipped): reading them with the run's
per-window `data.normalize`, and one row per window: position, score, every component,
prediction (1 = anomalous, score > tau)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf

from ganad_cli.detector import Detector
from ganad_cli.errors import GanadInputError

FORMATS = {
    ".npy": "npy",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".hea": "wfdb",
    ".edf": "edf",
}
ALL_FORMATS = sorted({*FORMATS.values(), "signal"})


def input_format(path: Path, fmt: str = "auto") -> str:
    if fmt != "auto":
        if fmt not in ALL_FORMATS:
            raise GanadInputError(
                f"config key 'format' must be auto or one of {ALL_FORMATS}, got {fmt!r}"
            )
        return fmt
    if path.suffix.lower() not in FORMATS:
        raise GanadInputError(
            f"input {path}: unknown file type {path.suffix!r}; expected one of {sorted(FORMATS)}"
        )
    return FORMATS[path.suffix.lower()]


def _csv_rows(path: Path) -> np.ndarray:
    from ganad_cli.data.tabular import read_table

    try:
        with open(path, encoding="utf-8") as fh:
            first = fh.readline()
    except UnicodeDecodeError as exc:
        raise GanadInputError(
            f"input {path} is not UTF-8 text (byte {exc.start}: {exc.reason}); expected numbers "
            "as plain text, one window per row"
        ) from exc
    delimiter = "\t" if "\t" in first else ("," if "," in first else None)
    try:
        [float(v) for v in (first.split(delimiter) if delimiter else first.split())]
        header = False
    except ValueError:
        header = True
    return read_table(path, delimiter, skip_header=header)


def _shape_error(path: Path, got: tuple, want: tuple[int, int]) -> GanadInputError:
    return GanadInputError(
        f"input {path} has windows of shape {got}; the run's detector expects "
        f"(channels, length) = {want} (CSV: one row of channels x length = {want[0] * want[1]} "
        "values per window)"
    )


def read_windows(path: Path, fmt: str, shape: tuple[int, int]) -> np.ndarray:
    """(n, channels, length) float32 from a CSV or NPY file, shape checked."""
    channels, length = shape
    if fmt == "npy":
        from ganad_cli.data.tabular import check_npy_size

        check_npy_size(path)
        try:
            x = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise GanadInputError(f"input {path} is not a readable .npy array ({exc})") from exc
        if x.ndim == 2 and channels == 1:
            x = x[:, None, :]
        if x.ndim != 3 or tuple(x.shape[1:]) != shape:
            raise _shape_error(path, tuple(x.shape[1:]), shape)
    else:
        rows = _csv_rows(path)
        if rows.shape[1] != channels * length:
            raise _shape_error(path, (rows.shape[1],), shape)
        x = rows.reshape(len(rows), channels, length)
    if not np.issubdtype(x.dtype, np.number) or not np.isfinite(x).all():
        raise GanadInputError(f"input {path} has non-numeric, NaN or inf values")
    return x.astype(np.float32)


def read_input(path: Path, fmt: str, detector: Detector) -> tuple[np.ndarray, pd.DataFrame]:
    """CSV/NPY windows (with the run's per-window `data.normalize`) and their row numbers."""
    data = OmegaConf.create(detector.data)
    x = read_windows(path, fmt, detector.shape)
    if data.get("normalize") not in (None, "none"):
        from ganad_cli.data.tabular import normalize

        x = normalize(x, data.normalize).astype(np.float32)
    return x, pd.DataFrame({"position": np.arange(len(x))})


def score_windows(detector: Detector, x: np.ndarray) -> pd.DataFrame:
    """Python API: score (n, channels, length) windows preprocessed like the training ones;
    one row per window: position, score, every component, prediction (score > tau)."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 2 and detector.shape[0] == 1:
        x = x[:, None, :]
    if x.ndim != 3 or tuple(x.shape[1:]) != detector.shape:
        raise GanadInputError(
            f"windows of shape {tuple(x.shape[1:])}; the detector expects (channels, length) = "
            f"{detector.shape}"
        )
    scores, comps = detector.decision_function(torch.from_numpy(x))
    frame = pd.DataFrame({"position": np.arange(len(x)), "score": scores})
    for name, values in comps.items():
        frame[name] = values
    frame["prediction"] = (scores > detector.threshold).astype(int)
    return frame
