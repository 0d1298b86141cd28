"""`ganad detect run=<run> input=<file>`: score new data with a run's frozen detector.

Inputs:
- `.npy`: windows as (n, length) for one channel or (n, channels, length);
- `.csv`/`.tsv`/`.txt`: one window per row, channels concatenated (channel-major), an optional
  header line is skipped;
- `.hea`: a WFDB record with its .dat and .atr (MIT-BIH style): beats are extracted with the
  run's own preprocessing (`data.mitbih.extract_record`, the training data config); the
  reference annotations give the beat positions and the true class per beat.
Windows from CSV/NPY get the run's per-window `data.normalize` when the run's data set had one;
otherwise they must already be preprocessed like the training windows.
Output: a CSV, one row per window/beat: position, score, every component, prediction
(1 = anomalous, score > tau) and, for WFDB, the annotation symbol and AAMI class.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from omegaconf import DictConfig, OmegaConf

from ganad_cli.detector import Detector, load_run_detector
from ganad_cli.errors import GanadInputError
from ganad_cli.io import atomic_write_text

log = logging.getLogger("ganad")

FORMATS = {".npy": "npy", ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".hea": "wfdb"}


def input_format(path: Path, fmt: str = "auto") -> str:
    if fmt != "auto":
        if fmt not in set(FORMATS.values()):
            raise GanadInputError(
                f"config key 'format' must be auto or one of {sorted(set(FORMATS.values()))}, "
                f"got {fmt!r}"
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


def read_input(
    path: Path, fmt: str, detector: Detector
) -> tuple[np.ndarray, pd.DataFrame, np.ndarray | None]:
    """Windows, their per-row description (position; for WFDB class and RR features) and the
    RR features as an array (None for CSV/NPY windows, which carry no beat positions)."""
    data = OmegaConf.create(detector.data)
    if fmt == "wfdb":
        from ganad_cli.data.mitbih import extract_record

        if data.get("name") != "mitbih":
            raise GanadInputError(
                f"input {path}: WFDB records need a run trained on data=mitbih (its beat "
                f"preprocessing); this run used data={data.get('name')!r}"
            )
        if not path.stem.isdigit():
            raise GanadInputError(f"input {path}: expected an MIT-BIH record header like 100.hea")
        out = extract_record(path.parent, int(path.stem), data)
        if out is None:
            raise GanadInputError(f"input {path}: the record lacks lead {data.lead!r}")
        x = out["x"]
        if tuple(x.shape[1:]) != detector.shape:
            raise _shape_error(path, tuple(x.shape[1:]), detector.shape)
        info = pd.DataFrame(
            {"position": np.arange(len(x)), "symbol": out["sym"], "class": out["cls"]}
        )
        from ganad_cli.data.rhythm import RR_FEATURES

        for i, name in enumerate(RR_FEATURES):
            info[name] = out["rr"][:, i]
        return x.astype(np.float32), info, out["rr"]
    x = read_windows(path, fmt, detector.shape)
    if data.get("normalize") not in (None, "none"):
        from ganad_cli.data.tabular import normalize

        x = normalize(x, data.normalize).astype(np.float32)
    return x, pd.DataFrame({"position": np.arange(len(x))}), None


def _paths(cfg: DictConfig) -> tuple[Path, Path, str]:
    from ganad_cli.evaluate import run_folder

    run_dir = run_folder(cfg.get("run"))
    if cfg.get("input") in (None, "", "???"):
        raise GanadInputError("config key 'input' is required: expected input=<file.csv|.npy|.hea>")
    path = Path(str(cfg.input)).expanduser()
    if not path.is_file():
        raise GanadInputError(f"config key 'input': file {path} not found")
    return run_dir, path, input_format(path, cfg.get("format", "auto"))


def precheck(overrides: list[str], multirun: bool) -> None:
    """Run folder, detector and (for CSV/NPY) window shape, before any folder is made."""
    from ganad_cli.cli import compose_variants

    if multirun:
        raise GanadInputError("ganad detect does not take -m; run it once per input")
    (cfg,) = compose_variants("detect", overrides, multirun=False)
    run_dir, path, fmt = _paths(cfg)
    detector = load_run_detector(run_dir)
    if fmt != "wfdb":
        read_windows(path, fmt, detector.shape)


def run_detection(cfg: DictConfig, out_dir: Path) -> Path:
    run_dir, path, fmt = _paths(cfg)
    detector = load_run_detector(run_dir)
    x, frame, context = read_input(path, fmt, detector)
    use_gpu = cfg.get("accelerator") in ("gpu", "cuda") and torch.cuda.is_available()
    detector.model.to("cuda" if use_gpu else "cpu")
    scores, comps = detector.decision_function(torch.from_numpy(x), context)
    frame["score"] = scores
    for name, values in comps.items():
        frame[name] = values
    frame["prediction"] = (scores > detector.threshold).astype(int)
    target = Path(str(cfg.output)).expanduser() if cfg.get("output") else out_dir / "detections.csv"
    atomic_write_text(target, frame.to_csv(index=False))
    log.info(
        "%d windows from %s scored with %s: %d flagged (tau %.4f) -> %s",
        len(frame),
        path,
        run_dir,
        int(frame["prediction"].sum()),
        detector.threshold,
        target,
    )
    print(target)
    return target
