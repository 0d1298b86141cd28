"""`ganad detect run=<run> input=<file>`: score new data with a run's frozen detector.

Recordings (WFDB with any record name, EDF, a raw CSV/NPY signal with `fs=`): every beat is a
row (`ganad_cli.evaluation.beatscore`: beats from annotations or XQRS/GQRS, resampling to the
training rate, the training beat cutting, chunked for long recordings); a per-record summary with a
warning when the flagged share is far above the validation normals' rate, an optional
label-free per-record tau, pictures and a self-contained HTML report
(`ganad_cli.runs.detect_report`).

Windows (`.npy` (n, length) or (n, channels, length); `.csv` one window per row, channel-major,
an optional header line skipped) get the run's per-window `data.normalize` when the run's data
set had one; otherwise they must already be preprocessed like the training windows. One row per
window: position, score, every component, prediction (1 = anomalous, score > tau).

Python API: `score_signal(Detector.load(path), signal, fs)`, and
`ganad_cli.evaluation.windows.score_windows(detector, x)`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from omegaconf import DictConfig, OmegaConf

from ganad_cli.config.choices import DETECT_TAUS
from ganad_cli.data.recording import RECORDING_FORMATS, Recording, choose_channels
from ganad_cli.detector import Detector
from ganad_cli.errors import GanadInputError
from ganad_cli.evaluation.beatscore import (
    BeatOptions,
    _check_recording_detector,
    beat_source,
    score_recording,
)
from ganad_cli.evaluation.windows import input_format, read_input, read_windows, score_windows
from ganad_cli.io import atomic_write_json, atomic_write_text
from ganad_cli.runs.folder import load_run_detector

log = logging.getLogger("ganad")

# warn when a record's flagged share exceeds WARN_RATIO x the validation normals' rate (and
# WARN_MIN_SHARE), a sign that tau does not transfer
WARN_RATIO = 3.0
WARN_MIN_SHARE = 0.05


def score_signal(
    detector: Detector,
    signal: np.ndarray,
    fs: float,
    leads: list[str] | None = None,
    name: str = "recording",
    ann_samples: np.ndarray | None = None,
    ann_symbols: list[str] | None = None,
    tau: str = "run",
    tau_quantile: float = 0.99,
    tau_k: float = 5.0,
    **beat_options,
) -> tuple[pd.DataFrame, dict]:
    """Python API: score every beat of a raw recording (numpy (n,) or (n, leads) at fs Hz).

    Returns the per-beat table `ganad detect` writes (record, beat, sample, time_s,
    rr_before_s, rr_after_s, [symbol, class], scorable, RR features, score, components,
    prediction) and the per-record summary. `beat_options` are BeatOptions fields (beats,
    lead, qrs, chunk_s, ...); `tau` is run | quantile | mad as in conf/detect.yaml."""
    from ganad_cli.data.recording import from_array

    rec = from_array(signal, fs, leads, name, ann_samples, ann_symbols)
    result = score_recording(detector, rec, BeatOptions(**beat_options))
    opts = tau_options(OmegaConf.create({"tau": tau, "tau_quantile": tau_quantile, "tau_k": tau_k}))
    summary = summarize(result, detector, opts, None)
    return result.frame, summary


def _paths(cfg: DictConfig) -> tuple[Path, Path, str]:
    from ganad_cli.runs.folder import run_folder

    run_dir = run_folder(cfg.get("run"))
    if cfg.get("input") in (None, "", "???"):
        raise GanadInputError(
            "config key 'input' is required: expected input=<record.hea|.edf|windows.csv|.npy>"
        )
    path = Path(str(cfg.input)).expanduser()
    if not path.is_file():
        raise GanadInputError(f"config key 'input': file {path} not found")
    fmt = input_format(path, cfg.get("format", "auto"))
    if cfg.get("format", "auto") == "auto" and fmt in ("csv", "npy") and cfg.get("fs"):
        fmt = "signal"  # a stated sampling rate: the file is a raw signal, not windows
    return run_dir, path, fmt


def beat_options(cfg: DictConfig) -> BeatOptions:
    qrs = OmegaConf.to_container(cfg.qrs, resolve=True) if cfg.get("qrs") else {}
    opts = BeatOptions(
        beats=str(cfg.get("beats", "auto")),
        lead=cfg.get("lead"),
        qrs=qrs,
        chunk_s=float(cfg.get("chunk_s", 3600)),
        margin_s=float(cfg.get("margin_s", 10)),
        batch_size=int(cfg.get("batch_size", 512)),
        top_k=int(cfg.get("top_k", 6)),
    )
    if opts.chunk_s <= 0 or opts.batch_size <= 0 or opts.top_k < 0:
        raise GanadInputError(
            "config keys 'chunk_s' and 'batch_size' must be > 0 and 'top_k' >= 0, got "
            f"{opts.chunk_s}, {opts.batch_size}, {opts.top_k}"
        )
    return opts


def report_options(cfg: DictConfig) -> tuple[int, float]:
    """(zoom_k, zoom_s): how many zoomed strips the report shows, and their length in s."""
    k, seconds = int(cfg.get("zoom_k", 6)), float(cfg.get("zoom_s", 10.0))
    if k < 0 or not seconds > 0:
        raise GanadInputError(
            f"config keys 'zoom_k' must be >= 0 and 'zoom_s' > 0, got {k} and {seconds}"
        )
    return k, seconds


def tau_options(cfg: DictConfig) -> dict:
    tau = str(cfg.get("tau", "run"))
    if tau not in DETECT_TAUS:
        raise GanadInputError(f"config key 'tau' must be one of {list(DETECT_TAUS)}, got {tau!r}")
    q, k = float(cfg.get("tau_quantile", 0.99)), float(cfg.get("tau_k", 5.0))
    if not 0 < q < 1 or k <= 0:
        raise GanadInputError(
            f"config keys 'tau_quantile' must be in (0, 1) and 'tau_k' > 0, got {q} and {k}"
        )
    return {"tau": tau, "tau_quantile": q, "tau_k": k}


def open_recording(cfg: DictConfig, path: Path, fmt: str) -> Recording:
    from ganad_cli.data.recording import read_recording

    rec = read_recording(
        path, fmt, str(cfg.get("annotator", "atr")), cfg.get("fs"), cfg.get("leads")
    )
    if cfg.get("record"):
        rec.name = str(cfg.record)
    return rec


def precheck(overrides: list[str], multirun: bool) -> None:
    """Run folder, detector, options and the input's shape / leads, before any folder is made."""
    from ganad_cli.config.compose import compose_variants

    if multirun:
        raise GanadInputError("ganad detect does not take -m; run it once per input")
    (cfg,) = compose_variants("detect", overrides, multirun=False)
    run_dir, path, fmt = _paths(cfg)
    detector = load_run_detector(run_dir)
    tau_options(cfg)
    if fmt in RECORDING_FORMATS:
        opts = beat_options(cfg)
        report_options(cfg)
        rec = open_recording(cfg, path, fmt)
        data = _check_recording_detector(detector)
        beat_source(rec, opts.beats)
        choose_channels(rec, opts.lead or str(data.lead), bool(data.two_leads))
    else:
        read_windows(path, fmt, detector.shape)


def _device(cfg: DictConfig) -> str:
    return (
        "cuda" if cfg.get("accelerator") in ("gpu", "cuda") and torch.cuda.is_available() else "cpu"
    )


def run_detection(cfg: DictConfig, out_dir: Path) -> Path:
    run_dir, path, fmt = _paths(cfg)
    detector = load_run_detector(run_dir)
    detector.model.to(_device(cfg))
    target = Path(str(cfg.output)).expanduser() if cfg.get("output") else out_dir / "detections.csv"
    if fmt in RECORDING_FORMATS:
        return _detect_recording(cfg, run_dir, path, fmt, detector, target, out_dir)
    x, frame = read_input(path, fmt, detector)
    scored = score_windows(detector, x)
    frame = pd.concat([frame, scored.drop(columns="position")], axis=1)
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
    return target


def _detect_recording(
    cfg: DictConfig,
    run_dir: Path,
    path: Path,
    fmt: str,
    detector: Detector,
    target: Path,
    out_dir: Path,
) -> Path:
    rec = open_recording(cfg, path, fmt)
    result = score_recording(detector, rec, beat_options(cfg))
    summary = summarize(result, detector, tau_options(cfg), validation_flag_rate(run_dir, detector))
    summary.update(input=str(path), run=str(run_dir), detections=str(target))
    atomic_write_text(target, result.frame.to_csv(index=False))
    if cfg.get("report", True):
        from ganad_cli.runs.detect_report import write_report

        zoom_k, zoom_s = report_options(cfg)
        summary["report"] = str(write_report(out_dir, result, summary, zoom_k, zoom_s))
    atomic_write_json(out_dir / "summary.json", summary)
    for note in rec.notes:
        log.info("%s: %s", rec.name, note)
    log.info("%s", summary_line(summary))
    if summary.get("warning"):
        log.warning("%s", summary["warning"])
    return target


def validation_flag_rate(run_dir: Path, detector: Detector) -> float | None:
    """Share of validation normals above tau in the run (its metrics.json), if recorded."""
    path = run_dir / "metrics.json"
    try:
        per_class = json.loads(path.read_text()).get("val/per_class") or {}
    except (OSError, ValueError):
        return None
    normal = [str(c) for c in detector.data.get("normal_classes") or ["N"]]
    rows = [per_class[c] for c in normal if isinstance(per_class.get(c), dict)]
    try:
        n = sum(float(r["n"]) for r in rows)
        return sum(float(r["flagged_rate"]) * float(r["n"]) for r in rows) / n if n else None
    except (KeyError, TypeError, ValueError):
        return None


def record_tau(scores: np.ndarray, tau: str, q: float, k: float) -> float:
    """A label-free threshold from the record's own scores (assumes most beats are normal):
    `quantile`: the q-quantile; `mad`: median + k * 1.4826 * MAD (robust z-score > k)."""
    s = scores[np.isfinite(scores)]
    if len(s) == 0:
        return float("nan")
    if tau == "quantile":
        return float(np.quantile(s, q))
    med = float(np.median(s))
    return med + k * 1.4826 * float(np.median(np.abs(s - med)))


def summarize(result, detector: Detector, tau_opts: dict, val_rate: float | None) -> dict:
    """Thresholds the scores (the run's tau, or one from this record) into `prediction` and
    returns the per-record summary, with a warning when the flagged share is far above the
    validation normals' rate."""
    frame, info = result.frame, dict(result.info)
    scores = frame["score"].to_numpy(dtype=float)
    if tau_opts["tau"] == "run":
        tau = float(detector.threshold)
    else:
        tau = record_tau(scores, tau_opts["tau"], tau_opts["tau_quantile"], tau_opts["tau_k"])
    scorable = frame["scorable"].to_numpy() == 1
    pred = pd.array(np.where(scorable, scores > tau, 0).astype(int), dtype="Int64")
    pred[~scorable] = pd.NA
    frame["prediction"] = pred
    n_scorable = int(scorable.sum())
    flagged = int((frame["prediction"] == 1).sum())
    share = flagged / n_scorable if n_scorable else None
    info.update(
        beats=int(len(frame)),
        scorable=n_scorable,
        unscorable=int(len(frame) - n_scorable),
        flagged=flagged,
        flagged_share=share,
        tau=tau,
        tau_from=tau_opts["tau"] if tau_opts["tau"] != "run" else "run (validation)",
        run_tau=float(detector.threshold),
        validation_normal_flag_rate=val_rate,
    )
    if tau_opts["tau"] != "run":
        info.update({k: v for k, v in tau_opts.items() if k != "tau"})
    if "class" in frame:
        normal = [str(c) for c in detector.data.get("normal_classes") or ["N"]]
        is_normal = frame["class"].isin(normal).to_numpy() & scorable
        info["annotated_normal_flag_rate"] = (
            float((scores[is_normal] > tau).mean()) if is_normal.any() else None
        )
        info["flagged_by_class"] = {
            str(c): int(((frame["class"] == c) & (frame["prediction"] == 1)).sum())
            for c in sorted(set(frame["class"]) - {""})
        }
    ratio = float(WARN_RATIO)
    if val_rate is not None and share is not None and share > max(ratio * val_rate, WARN_MIN_SHARE):
        info["warning"] = (
            f"record {info['record']}: {100 * share:.1f} % of its beats are flagged, far above "
            f"the {100 * val_rate:.1f} % of validation normals; the run's tau may not transfer "
            "to this record (electrodes, patient, device): tau=mad or tau=quantile calibrate "
            "one on this record without labels"
        )
    return info


def summary_line(s: dict) -> str:
    share = "-" if s["flagged_share"] is None else f"{100 * s['flagged_share']:.1f} %"
    line = (
        f"{s['record']}: {s['beats']} beats ({s['beats_from']}), {s['unscorable']} too close to "
        f"an edge, {s['flagged']} flagged ({share}, tau {s['tau']:.4f} from {s['tau_from']})"
    )
    q = s.get("qrs_vs_annotations")
    if q:
        line += f"; beats vs annotations: sensitivity {q['sensitivity']:.4f}, PPV {q['ppv']:.4f}"
    return line
