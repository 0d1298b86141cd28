"""Score every beat of a recording with a frozen detector: the per-beat table.

The recording is read in chunks of `chunk_s` seconds plus `margin_s` on each side, the
detector's lead resampled to the training rate. Beats come from the annotations, or from a QRS
detector run chunk by chunk (pass 1; a beat belongs to the chunk whose core holds it). Their RR
features are computed from all beats at once, as training did per record. Pass 2 cuts each
chunk's windows with the data config's band-pass and beat cutting (`ganad_cli.data.mitbih`, the
training code itself) and scores the beats of its core. A recording shorter than one chunk is
processed exactly as training processed its records; memory is bounded by the chunk size.

Beats whose window leaves the recording are kept as rows with `scorable` = 0 and no score.
"""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf

from ganad_cli.config.choices import BEAT_SOURCES
from ganad_cli.data.beats import compare_beats, qrs_detect, resample_ratio
from ganad_cli.data.mitbih import MITBIH_FS, _beatgan, _kachuee, bandpass
from ganad_cli.data.recording import Recording, aami_class, choose_channels
from ganad_cli.data.rhythm import CONTEXT_FEATURES, RR_FEATURES, rr_features, template_mse
from ganad_cli.data.scaling import to_unit_interval
from ganad_cli.detector import Detector
from ganad_cli.errors import GanadInputError

log = logging.getLogger("ganad")


@dataclass
class BeatOptions:
    beats: str = "auto"  # auto | annotations | xqrs | gqrs
    lead: str | None = None  # None: the lead the detector was trained on
    qrs: dict = field(default_factory=dict)  # search_radius_s, smooth_window_s, match_window_s
    chunk_s: float = 3600.0
    margin_s: float = 10.0
    batch_size: int = 512
    top_k: int = 6
    envelope_bins: int = 4000  # points of the timeline picture's signal envelope


@dataclass
class ScoredRecording:
    frame: pd.DataFrame
    info: dict
    top: list[tuple[float, int, np.ndarray, np.ndarray]]  # (score, row, x, x_hat), best first
    envelope: tuple[np.ndarray, np.ndarray, np.ndarray]  # (time_s, min, max) of the lead
    recording: Recording | None = None  # to read short stretches again (the report's strips)
    channels: list[int] = field(default_factory=list)  # the recording's channels scored


def training_fs(detector: Detector) -> float:
    """The sampling rate the detector's windows were cut at: the detector's own metadata when
    it carries one, else the MIT-BIH rate (the only recording data set ganad trains on)."""
    for source in (getattr(detector, "fs", None), detector.data.get("fs")):
        if source:
            return float(source)
    return float(MITBIH_FS)


def _check_recording_detector(detector: Detector) -> OmegaConf:
    data = OmegaConf.create(detector.data)
    if data.get("name") != "mitbih":
        raise GanadInputError(
            "ECG recordings need a detector trained on beats cut from records (data=mitbih); "
            f"this one was trained on data={data.get('name')!r} (give it windows as CSV/NPY)"
        )
    return data


def _window_span(data) -> int:
    """Samples at the training rate a window needs around its R peak (margin check)."""
    if data.preprocess == "beatgan":
        return int(data.beatgan_before) + int(data.beatgan_after)
    return int(round(float(data.kachuee_window_s) * MITBIH_FS))


def _cut(data, signal: np.ndarray, fs: float, beats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if data.preprocess == "beatgan":
        x, keep = _beatgan(signal, beats, int(data.beatgan_before), int(data.beatgan_after))
    else:
        x, keep = _kachuee(signal, int(fs), beats, data)
        if data.get("scale") == "ecgan":
            # the splits' per-split map is 2x - 1 whenever a split holds a 0 and a 1 (the
            # windows' min-max and the zero padding); a recording maps from Kachuee's [0, 1]
            return to_unit_interval(x, 0.0, 1.0), keep
    return x.astype(np.float32), keep  # as data.mitbih stores them


class _Scorer:
    """Model components for windows in batches; keeps the top-k windows by score."""

    def __init__(self, detector: Detector, batch_size: int, top_k: int):
        self.detector, self.batch_size, self.top_k = detector, batch_size, top_k
        self.heap: list[tuple[float, int, np.ndarray, np.ndarray]] = []
        self.device = next(detector.model.parameters()).device

    def __call__(
        self, x: np.ndarray, context: np.ndarray, rows: np.ndarray
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Total score and components of windows x (their RR features, their table rows)."""
        scores, comps = [], []
        for lo in range(0, len(x), self.batch_size):
            xb = torch.from_numpy(np.ascontiguousarray(x[lo : lo + self.batch_size]))
            xb = xb.to(self.device)
            inv = self.detector.invert(xb)
            c = self.detector.components(xb, inv, context[lo : lo + self.batch_size])
            s = self.detector.score.total(c)
            scores.append(s)
            comps.append(c)
            x_hat = inv.x_hat.detach().cpu().numpy()
            for i, value in enumerate(s):
                item = (float(value), int(rows[lo + i]), x[lo + i].copy(), x_hat[i])
                if len(self.heap) < self.top_k:
                    heapq.heappush(self.heap, item)
                elif value > self.heap[0][0]:
                    heapq.heapreplace(self.heap, item)
        if not scores:
            return np.zeros(0), {}
        names = list(comps[0])
        return np.concatenate(scores), {n: np.concatenate([c[n] for c in comps]) for n in names}

    def top(self) -> list[tuple[float, int, np.ndarray, np.ndarray]]:
        return sorted(self.heap, key=lambda t: -t[0])


TEMPLATE_CONTEXT_S = 45.0


def _chunks(n: int, fs_in: float, chunk_s: float, down: int) -> list[tuple[int, int]]:
    """Core [start, stop) input-sample ranges; boundaries are multiples of `down` so every
    chunk starts on the training-rate grid."""
    size = max(down, int(chunk_s * fs_in) // down * down)
    return [(s, min(n, s + size)) for s in range(0, n, size)]


def beat_source(rec: Recording, beats: str) -> str:
    if beats not in BEAT_SOURCES:
        raise GanadInputError(
            f"config key 'beats' must be one of {list(BEAT_SOURCES)}, got {beats!r}"
        )
    if beats == "annotations" and rec.ann_samples is None:
        if rec.ann_info and rec.ann_info.get("note"):
            raise GanadInputError(
                f"config key 'beats' is annotations but in record {rec.name} "
                f"{rec.ann_info['note'].replace('; beats come from QRS detection', '')}; "
                "expected beat symbols (N, V, A, ...), or beats=auto|xqrs|gqrs"
            )
        raise GanadInputError(
            f"config key 'beats' is annotations but record {rec.name} has no annotation file "
            "beside it; expected <record>.<annotator> (e.g. 100.atr), or beats=auto|xqrs|gqrs"
        )
    if beats == "auto":
        return "annotations" if rec.ann_samples is not None else "xqrs"
    return beats


def score_recording(
    detector: Detector, rec: Recording, opts: BeatOptions | None = None
) -> ScoredRecording:
    from ganad_cli.progress import bar

    opts = opts or BeatOptions()
    data = _check_recording_detector(detector)
    method = beat_source(rec, opts.beats)
    lead = opts.lead or str(data.lead)
    channels = choose_channels(rec, lead, bool(data.two_leads))
    fs_in, fs_tr = float(rec.fs), training_fs(detector)
    up, down = resample_ratio(fs_in, fs_tr)
    ratio = fs_tr / fs_in
    # the margin also holds the TEMPLATE_HALF_WINDOW neighbours of a chunk's first and last
    # beats, so template_mse equals the whole-record value (TEMPLATE_CONTEXT_S at >= 27 bpm)
    margin_s = max(float(opts.margin_s), 2.0 * _window_span(data) / fs_tr, TEMPLATE_CONTEXT_S)
    margin = int(np.ceil(margin_s * fs_in))
    margin = -(-margin // down) * down
    n = rec.n_samples
    chunks = _chunks(n, fs_in, float(opts.chunk_s), down)
    bins = max(1, int(np.ceil(n / max(1, int(opts.envelope_bins)))))
    env_min: list = []
    env_max: list = []
    cached: dict = {}

    def segment(c0: int, c1: int, envelope: bool) -> tuple[int, np.ndarray]:
        """(start at the training rate, resampled lead(s)) of a chunk and its margins."""
        if (c0, c1) in cached:
            return cached.pop((c0, c1))
        s0, s1 = max(0, c0 - margin), min(n, c1 + margin)
        raw = rec.read(s0, s1, channels)
        if not np.isfinite(raw).all():
            raw = np.nan_to_num(raw, nan=0.0, posinf=0.0, neginf=0.0)
            rec.notes.append(f"NaN/inf samples in [{s0}, {s1}) replaced by 0")
        if envelope:
            _envelope(raw[c0 - s0 : c1 - s0, 0], c0, bins, env_min, env_max)
        return s0 * up // down, _resample_segment(raw, up, down)

    def core(c0: int, c1: int, glob: np.ndarray) -> np.ndarray:
        lo, hi = c0 * up // down, c1 * up // down
        return (glob >= lo) & ((glob < hi) | (c1 == n))  # the last chunk keeps its tail

    two_pass = method != "annotations"
    progress = bar(n * (1 + two_pass), f"beats of {rec.name}", unit="sample")
    with progress:
        if method == "annotations":
            beats = np.round(rec.ann_samples * ratio).astype(np.int64)
            src = np.arange(len(beats))
        else:  # pass 1: beats from the QRS detector, chunk by chunk
            found = []
            for c0, c1 in chunks:
                o, sig = segment(c0, c1, envelope=True)
                glob = qrs_detect(sig[:, 0], fs_tr, method, opts.qrs) + o
                found.append(glob[core(c0, c1, glob)])
                if len(chunks) == 1:
                    cached[(c0, c1)] = (o, sig)
                else:
                    del sig
                    _release_freed_memory()
                progress.update(c1 - c0)
            beats = np.unique(_cat(found, np.int64))
            if len(beats) > 1:
                # a beat near a chunk boundary may be found by both chunks, samples apart
                beats = beats[np.concatenate([[True], np.diff(beats) > int(0.2 * fs_tr)])]
            src = np.full(len(beats), -1)
        # RR features from every beat of the recording, as training computed them per record
        rr = rr_features(beats, fs_tr)
        names = list(detector.score_cfg["components"])
        score = np.full(len(beats), np.nan)
        comps = {k: np.full(len(beats), np.nan) for k in names}
        scorable = np.zeros(len(beats), dtype=bool)
        template = np.full(len(beats), np.nan, dtype=np.float32)
        scorer = _Scorer(detector, int(opts.batch_size), int(opts.top_k))
        for c0, c1 in chunks:  # pass 2: windows and scores
            o, sig = segment(c0, c1, envelope=not two_pass)
            progress.update(c1 - c0)
            lo, hi = np.searchsorted(beats, [o, o + len(sig)])
            idx = np.arange(lo, hi)
            mine = core(c0, c1, beats[idx])
            if len(chunks) > 1:
                _release_freed_memory()  # the previous chunk's arrays
            if not mine.any():
                continue
            if data.bandpass:
                sig = bandpass(sig, int(fs_tr), list(data.bandpass))
            x, keep = _cut(data, sig, fs_tr, beats[idx] - o)
            kept_row = np.cumsum(keep) - 1  # row of x for each kept beat
            ok = mine & keep
            rows = idx[ok]
            # template_mse over the segment's kept beats, as training computes it per record
            tmpl = template_mse(x)[kept_row[ok]]
            template[rows] = tmpl
            s, c = scorer(x[kept_row[ok]], np.column_stack([rr[rows], tmpl]), rows)
            score[rows] = s
            for k, v in c.items():
                comps[k][rows] = v
            scorable[idx[mine]] = keep[mine]
    pos_tr = beats
    top = scorer.top()
    if method == "annotations":
        samples = rec.ann_samples[src]
    else:
        samples = np.round(pos_tr / ratio).astype(np.int64)
    frame = pd.DataFrame({"record": rec.name, "beat": np.arange(len(pos_tr))})
    frame["sample"] = samples
    frame["time_s"] = samples / fs_in
    gaps = np.diff(samples) / fs_in
    frame["rr_before_s"] = np.concatenate([[np.nan], gaps]) if len(gaps) else np.nan
    frame["rr_after_s"] = np.concatenate([gaps, [np.nan]]) if len(gaps) else np.nan
    info: dict = {
        "record": rec.name,
        "source": rec.source,
        "fs": fs_in,
        "fs_model": fs_tr,
        "resampled": fs_in != fs_tr,
        "lead": rec.sig_names[channels[0]],
        "leads": [rec.sig_names[c] for c in channels],
        "samples": int(n),
        "duration_s": n / fs_in,
        "beats_from": method,
        "chunks": len(chunks),
    }
    if rec.ann_info:
        info["annotations"] = dict(rec.ann_info)
    if rec.ann_samples is not None:
        if method == "annotations":
            symbols = rec.ann_symbols[src]
        else:
            cmp = compare_beats(
                rec.ann_samples, samples, fs_in, float(opts.qrs.get("match_window_s", 0.15))
            )
            matches = cmp.pop("matches")
            symbols = np.where(matches >= 0, rec.ann_symbols[np.maximum(matches, 0)], "")
            info["qrs_vs_annotations"] = cmp
        frame["symbol"] = symbols
        frame["class"] = aami_class(symbols)
    frame["scorable"] = scorable.astype(int)
    for i, name in enumerate(RR_FEATURES):
        frame[name] = rr[:, i]
    frame[CONTEXT_FEATURES[len(RR_FEATURES)]] = template
    frame["score"] = score
    for name in names:
        frame[name] = comps[name]
    envelope = _merge_envelope(env_min, env_max, bins, fs_in)
    return ScoredRecording(frame, info, top, envelope, rec, channels)


def _release_freed_memory() -> None:
    """Give the C heap's free pages back to the system after a chunk (glibc's malloc_trim;
    nothing elsewhere). A chunk's signal, windows and model activations are freed at its end,
    but glibc raises its mmap threshold after large frees, so the next chunk's arrays come from
    the heap and the freed pages stay resident: without this, the resident memory of a long
    recording grew by ~10 MB per chunk although Python's own objects did not
    (scripts/bench_detect_holter.py, tracemalloc)."""
    global _LIBC
    if _LIBC is None:
        import ctypes
        import ctypes.util

        try:
            _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


_LIBC = None


def _cat(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def _envelope(core: np.ndarray, c0: int, bins: int, mins: list, maxs: list) -> None:
    """Min and max of the lead per `bins` samples (global bins; a chunk may split one)."""
    if len(core) == 0:
        return
    edges = np.unique(np.concatenate([[0], np.arange((-c0) % bins, len(core), bins)]))
    ids = (c0 + edges) // bins
    mins.append((ids, np.minimum.reduceat(core, edges)))
    maxs.append((ids, np.maximum.reduceat(core, edges)))


def _merge_envelope(mins: list, maxs: list, bins: int, fs: float) -> tuple:
    if not mins:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    ids = np.concatenate([i for i, _ in mins])
    lo = pd.Series(np.concatenate([v for _, v in mins])).groupby(ids).min()
    hi = pd.Series(np.concatenate([v for _, v in maxs])).groupby(ids).max()
    return lo.index.to_numpy() * bins / fs, lo.to_numpy(), hi.to_numpy()


def _resample_segment(raw: np.ndarray, up: int, down: int) -> np.ndarray:
    if up == down:
        return raw
    from scipy.signal import resample_poly

    return resample_poly(raw, up, down, axis=0)
