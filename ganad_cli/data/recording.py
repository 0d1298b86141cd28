"""ECG recordings for `ganad detect`: reading, lead choice, resampling, beat positions.

A `Recording` is a signal source (read in pieces, so a 24-hour Holter never sits in memory
whole) plus the reference beat annotations when the input has them. Inputs:
- WFDB, any record name (`patientA.hea` with its signal file; `<name>.<annotator>` beside it, if
  present, gives reference beats);
- EDF / EDF+ / BDF (pyedflib, the `edf` extra: each read opens the file and reads only the
  requested samples); EDF+ annotations whose text is a beat symbol (N, V, A, ...) are the
  reference beats, as a `.atr` is for WFDB (their onsets, in seconds, taken as R-peak times);
- a raw signal as CSV (one column per lead, header = lead names) or NPY ((n,) or (n, leads)),
  with its sampling rate stated (`fs=`).

Beat positions come from the annotations or from a QRS detector (wfdb's XQRS or GQRS) whose
peaks are moved to the R wave with `wfdb.processing.correct_peaks`, as the annotation positions
the training windows were cut around.

Resampling to the training rate uses scipy's polyphase filter (`resample_poly`) rather than
`wfdb.processing.resample_sig` (an FFT over the whole signal): it is local, so a recording read
in chunks resamples to the same values as one read whole, away from the chunk edges.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ganad_cli.data.aami import AAMI, aami_symbols
from ganad_cli.errors import GanadInputError

RECORDING_FORMATS = ("wfdb", "edf", "signal")


@dataclass
class Recording:
    name: str
    fs: float
    n_samples: int
    sig_names: list[str]
    # (start, stop, channel indices) -> float64 (stop - start, len(channels)), physical units
    read: Callable[[int, int, list[int]], np.ndarray]
    ann_samples: np.ndarray | None = None  # reference beats (AAMI beat symbols) at fs
    ann_symbols: np.ndarray | None = None
    source: str = ""
    notes: list[str] = field(default_factory=list)
    # where the reference beats come from (summary.json "annotations"), or why there are none
    ann_info: dict | None = None
    # EDF signals at different rates: each signal's rate and length; `choose_channels` sets
    # fs, n_samples and (from ann_seconds: onsets in s, symbols) ann_samples for the chosen ones
    channel_fs: list[float] | None = None
    channel_len: list[int] | None = None
    ann_seconds: tuple[np.ndarray, np.ndarray] | None = None


# ------------------------------------------------------------------------------------ reading


def _wfdb_annotations(
    base: Path, annotator: str, n: int
) -> tuple[np.ndarray | None, np.ndarray | None]:
    import wfdb

    if not Path(f"{base}.{annotator}").is_file():
        return None, None
    try:
        ann = wfdb.rdann(str(base), annotator)
    except Exception as exc:
        raise GanadInputError(
            f"{base}.{annotator} is not a readable WFDB annotation file: {exc}"
        ) from exc
    symbols = np.asarray(ann.symbol)
    samples = np.asarray(ann.sample, dtype=np.int64)
    keep = aami_symbols(list(symbols)) & (samples >= 0) & (samples < n)
    return samples[keep], symbols[keep].astype("<U1")


def read_wfdb(path: Path, annotator: str = "atr") -> Recording:
    """A WFDB record by its header path, any record name; signals read on demand."""
    import wfdb

    from ganad_cli.data.mitbih_files import _check_dat_size

    base = path.with_suffix("")
    try:
        header = wfdb.rdheader(str(base))
    except Exception as exc:
        raise GanadInputError(f"{path} is not a readable WFDB header: {exc}") from exc
    if not header.sig_name or not header.sig_len:
        raise GanadInputError(f"{path}: the WFDB header names no signals or no samples")
    if header.file_name and all(f == f"{base.name}.dat" for f in header.file_name):
        _check_dat_size(base.parent, base.name, header)
    for f in sorted(set(header.file_name or [])):
        if not (base.parent / f).is_file():
            raise GanadInputError(f"{path}: its signal file {base.parent / f} is missing")

    def read(start: int, stop: int, channels: list[int]) -> np.ndarray:
        try:
            rec = wfdb.rdrecord(
                str(base), sampfrom=start, sampto=stop, channels=channels, physical=False
            )
        except Exception as exc:
            raise GanadInputError(f"{path}: signal cannot be read with its header: {exc}") from exc
        digital = rec.d_signal.astype(np.int64)
        return (digital - np.asarray(rec.baseline)) / np.asarray(rec.adc_gain, dtype=float)

    n = int(header.sig_len)
    samples, symbols = _wfdb_annotations(base, annotator, n)
    rec = Recording(
        base.name, float(header.fs), n, list(header.sig_name), read, samples, symbols, "wfdb"
    )
    if samples is not None:
        rec.ann_info = {"from": f"{base.name}.{annotator}", "beats": int(len(samples))}
    return rec


def _in_memory(name: str, signal: np.ndarray, fs: float, names: list[str], kind: str) -> Recording:
    def read(start: int, stop: int, channels: list[int]) -> np.ndarray:
        return np.asarray(signal[start:stop][:, channels], dtype=np.float64)

    return Recording(name, float(fs), int(signal.shape[0]), names, read, source=kind)


def _pyedflib(path: Path):
    try:
        import pyedflib
    except ImportError as exc:
        raise GanadInputError(
            f"input {path}: reading EDF needs pyedflib; install it with pip install 'ganad[edf]'"
        ) from exc
    return pyedflib


def read_edf(path: Path) -> Recording:
    """An EDF / EDF+ / BDF file by pyedflib; signals read on demand, only the samples asked
    for (the header and the EDF+ annotations are read once, here)."""
    pyedflib = _pyedflib(path)
    try:
        with pyedflib.EdfReader(str(path)) as f:
            names = [str(v).strip() for v in f.getSignalLabels()]
            rates = [float(v) for v in f.getSampleFrequencies()]
            lengths = [int(v) for v in f.getNSamples()]
            onsets, _, texts = f.readAnnotations()
            plus = f.filetype in (pyedflib.FILETYPE_EDFPLUS, pyedflib.FILETYPE_BDFPLUS)
    except Exception as exc:  # pyedflib raises OSError, or others on a damaged header
        raise GanadInputError(f"{path} is not a readable EDF file: {exc}") from exc
    if not names or not max(lengths, default=0) or not all(r > 0 for r in rates):
        raise GanadInputError(f"{path}: the EDF file holds no signal")

    def read(start: int, stop: int, channels: list[int]) -> np.ndarray:
        try:
            with pyedflib.EdfReader(
                str(path), annotations_mode=pyedflib.DO_NOT_READ_ANNOTATIONS
            ) as f:
                cols = [f.readSignal(c, start, stop - start) for c in channels]
        except Exception as exc:
            raise GanadInputError(f"{path}: signal cannot be read: {exc}") from exc
        if any(len(c) != stop - start for c in cols):
            raise GanadInputError(f"{path}: samples [{start}, {stop}) cannot be read")
        return np.column_stack(cols).astype(np.float64, copy=False)

    rec = Recording(path.stem, rates[0], lengths[0], names, read, source="edf")
    if len(set(rates)) > 1 or len(set(lengths)) > 1:
        rec.channel_fs, rec.channel_len = rates, lengths
    texts = np.array([str(t).strip() for t in texts], dtype=object)
    beat = aami_symbols(list(texts)) if len(texts) else np.zeros(0, dtype=bool)
    kind = "EDF+ annotations" if plus else "EDF annotations"
    if beat.any():
        order = np.argsort(np.asarray(onsets)[beat], kind="stable")
        seconds = np.asarray(onsets, dtype=np.float64)[beat][order]
        rec.ann_seconds = (seconds, texts[beat][order].astype("<U1"))
        _annotations_at_rate(rec)
        rec.ann_info = {"from": kind, "beats": int(len(rec.ann_samples))}
        if (~beat).any():
            rec.ann_info["other_annotations"] = int((~beat).sum())
    elif len(texts):
        examples = list(dict.fromkeys(texts.tolist()))[:5]
        rec.ann_info = {
            "from": kind,
            "beats": 0,
            "annotations": int(len(texts)),
            "examples": examples,
            "note": f"the file's {len(texts)} {kind} are not beat labels (e.g. {examples}); "
            "beats come from QRS detection",
        }
        rec.notes.append(rec.ann_info["note"])
    return rec


def _annotations_at_rate(rec: Recording) -> None:
    """EDF annotation onsets (s) as sample indices at rec.fs, within the recording."""
    if rec.ann_seconds is None:
        return
    seconds, symbols = rec.ann_seconds
    samples = np.round(seconds * rec.fs).astype(np.int64)
    keep = (samples >= 0) & (samples < rec.n_samples)
    rec.ann_samples, rec.ann_symbols = samples[keep], symbols[keep]


def read_signal_file(path: Path, fs: float | None, leads: list[str] | None) -> Recording:
    """A raw signal: CSV (header = lead names) or NPY (n,) / (n, leads), at a stated rate."""
    if not fs or float(fs) <= 0:
        raise GanadInputError(
            f"config key 'fs' is required for the raw signal {path}: expected its sampling "
            "rate in Hz, e.g. fs=500"
        )
    if path.suffix.lower() == ".npy":
        try:
            signal = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise GanadInputError(f"input {path} is not a readable .npy array ({exc})") from exc
        if signal.ndim == 1:
            signal = signal[:, None]
        names = [f"signal{i}" for i in range(signal.shape[1])]
    else:
        import pandas as pd

        frame = pd.read_csv(path, sep=None, engine="python")
        if all(_is_number(c) for c in frame.columns):  # no header line
            frame = pd.read_csv(path, sep=None, engine="python", header=None)
            names = [f"signal{i}" for i in range(frame.shape[1])]
        else:
            names = [str(c).strip() for c in frame.columns]
        try:
            signal = frame.to_numpy(dtype=np.float64)
        except ValueError as exc:
            raise GanadInputError(f"input {path} has non-numeric values ({exc})") from exc
    if signal.ndim != 2 or signal.shape[0] == 0 or not np.issubdtype(signal.dtype, np.number):
        raise GanadInputError(f"input {path}: expected a numeric signal (samples x leads)")
    if leads:
        if len(leads) != signal.shape[1]:
            raise GanadInputError(
                f"config key 'leads' names {len(leads)} leads; {path} has {signal.shape[1]}"
            )
        names = [str(v) for v in leads]
    return _in_memory(path.stem, signal, float(fs), names, "signal")


def _is_number(value: object) -> bool:
    try:
        float(str(value))
        return True
    except ValueError:
        return False


def from_array(
    signal: np.ndarray,
    fs: float,
    leads: list[str] | None = None,
    name: str = "recording",
    ann_samples: np.ndarray | None = None,
    ann_symbols: list[str] | np.ndarray | None = None,
) -> Recording:
    """A recording from a numpy signal (n,) or (n, leads) at fs Hz, optionally with reference
    beats (sample indices and their symbols; non-beat symbols are dropped)."""
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim == 1:
        signal = signal[:, None]
    if signal.ndim != 2 or not len(signal) or not fs or fs <= 0:
        raise GanadInputError("expected a signal (samples x leads) and its sampling rate fs > 0")
    names = [str(v) for v in leads] if leads else [f"signal{i}" for i in range(signal.shape[1])]
    if len(names) != signal.shape[1]:
        raise GanadInputError(f"{len(names)} lead names for {signal.shape[1]} signal columns")
    rec = _in_memory(name, signal, float(fs), names, "signal")
    if ann_samples is not None:
        samples = np.asarray(ann_samples, dtype=np.int64)
        symbols = np.asarray(ann_symbols if ann_symbols is not None else ["N"] * len(samples))
        keep = aami_symbols(list(symbols)) & (samples >= 0) & (samples < len(signal))
        order = np.argsort(samples[keep], kind="stable")
        rec.ann_samples = samples[keep][order]
        rec.ann_symbols = symbols[keep][order].astype("<U1")
    return rec


def read_recording(path: Path, fmt: str, annotator: str = "atr", fs=None, leads=None) -> Recording:
    if fmt == "wfdb":
        return read_wfdb(path, annotator)
    if fmt == "edf":
        return read_edf(path)
    return read_signal_file(path, fs, list(leads) if leads else None)


# ------------------------------------------------------------------------------ leads, rate


def choose_channels(rec: Recording, lead: str, two_leads: bool) -> list[int]:
    """The named lead first (as in training), then for two-lead detectors another one."""
    names = rec.sig_names
    if lead not in names:
        if len(names) == 1 and rec.source == "signal" and names[0] == "signal0":
            rec.notes.append(f"the single unnamed signal is taken as lead {lead}")
            return [0]
        raise GanadInputError(
            f"record {rec.name} has no lead {lead!r} (the detector was trained on it); its leads "
            f"are {names}; set lead=<one of them> to score another lead"
        )
    first = names.index(lead)
    if not two_leads:
        return _at_channel_rate(rec, [first])
    rest = [i for i in range(len(names)) if i != first]
    if rec.channel_fs is not None:  # the second lead at the first one's rate
        rest = [i for i in rest if rec.channel_fs[i] == rec.channel_fs[first]]
    if not rest:
        raise GanadInputError(
            f"record {rec.name} has only lead {lead!r} (at its rate); the detector was trained "
            "on two leads"
        )
    return _at_channel_rate(rec, [first, rest[0]])


def _at_channel_rate(rec: Recording, channels: list[int]) -> list[int]:
    """An EDF whose signals have different rates: the recording takes the chosen ones'."""
    if rec.channel_fs is not None and rec.channel_len is not None:
        rec.fs = rec.channel_fs[channels[0]]
        rec.n_samples = min(rec.channel_len[c] for c in channels)
        _annotations_at_rate(rec)
    return channels


def aami_class(symbols: np.ndarray) -> np.ndarray:
    return np.array([AAMI.get(str(s), "") for s in symbols], dtype=object)
