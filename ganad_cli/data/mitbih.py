"""MIT-BIH Arrhythmia Database beats via wfdb, labelled with AAMI classes.

Presets (`data.preprocess`):
- beatgan (BeatGAN, IJCAI 2019): 360 Hz, window [R-140, R+180) around each beat annotation, each
  beat min-max scaled to [-1, 1]; paced records 102, 104, 107, 217 excluded; beats whose window
  leaves the record are dropped.
- kachuee (Kachuee et al., ICHI 2018): resample to 125 Hz, cut 10 s windows, min-max each window
  to [0, 1], T = median R-R interval in the window, each beat = 1.2*T samples from its R peak,
  zero-padded to 187 samples; `data.resample_length` (e.g. 160, beta-VAEGAN) then interpolates.
R peaks are the annotation positions (the reference beat labels), not a detector's. Every beat
also carries its RR features (ganad_cli.data.rhythm) as `Samples.context`.
`data.class_mapping`: aami (default, AAMI EC57) or beatgan (the BeatGAN authors' lists: `e` and
`j` count as S, not N).
`data.normal_r_filter`: null (default) or biosppy / biosppy_ecg: keep an N beat only if a detected
R peak lies fewer than 10 samples from its annotation, as the BeatGAN authors' code does
(ganad_cli.data.rpeaks; other classes are kept). Detection (`ganad detect`) never filters.
BeatGAN's own code also band-passes (biosppy FIR 3-45 Hz): add `data.bandpass=[3,45]`. It stores
both leads but trains on MLII only by default (nc=1); `data.two_leads=true` feeds both. Its
validation set holds 10 % of every anomaly class: `data.val_anomaly_fraction=0.1`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from ganad_cli.config.choices import MITBIH_PRESETS, R_FILTERS
from ganad_cli.data import cache
from ganad_cli.data.aami import CLASS_MAPPINGS
from ganad_cli.data.base import Samples
from ganad_cli.data.locations import cache_dir, mitdb_root
from ganad_cli.data.mitbih_files import _fingerprint, ensure_records, read_record, verify_checksums
from ganad_cli.data.rhythm import beat_context
from ganad_cli.data.rpeaks import R_TOLERANCE, biosppy_version, detect_rpeaks, near_rpeak
from ganad_cli.errors import GanadInputError

log = logging.getLogger("ganad")

ALL_RECORDS = (
    [100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 111, 112, 113, 114, 115, 116, 117, 118, 119]
    + [121, 122, 123, 124, 200, 201, 202, 203, 205, 207, 208, 209, 210, 212, 213, 214, 215, 217]
    + [219, 220, 221, 222, 223, 228, 230, 231, 232, 233, 234]
)
PACED_RECORDS = (102, 104, 107, 217)
# de Chazal et al. 2004 inter-patient division (paced records excluded from both).
DS1 = [101, 106, 108, 109, 112, 114, 115, 116, 118, 119, 122, 124, 201, 203, 205, 207, 208, 209]
DS1 += [215, 220, 223, 230]
DS2 = [100, 103, 105, 111, 113, 117, 121, 123, 200, 202, 210, 212, 213, 214, 219, 221, 222, 228]
DS2 += [231, 232, 233, 234]

# sampling rate of every MIT-BIH record: the rate the beatgan windows are cut at
MITBIH_FS = 360


def _channels(names: list[str], lead: str, two_leads: bool) -> list[int]:
    """Indices of the channels to keep: the requested lead (else the first signal) first."""
    first = names.index(lead) if lead in names else 0
    if not two_leads:
        return [first]
    return [first] + [i for i in range(len(names)) if i != first][:1]


def bandpass(signal: np.ndarray, fs: int, band: list[float]) -> np.ndarray:
    """Zero-phase FIR band-pass (order 0.3 * fs), as biosppy's ecg filter used by BeatGAN."""
    from scipy.signal import filtfilt, firwin

    if len(band) != 2 or not 0 < band[0] < band[1] < fs / 2:
        raise GanadInputError(
            f"config key 'data.bandpass' must be [low, high] Hz with 0 < low < high < {fs / 2}, "
            f"got {band}"
        )
    taps = firwin(int(0.3 * fs), band, pass_zero=False, fs=fs)
    return filtfilt(taps, [1.0], signal, axis=0)


def _beatgan(signal: np.ndarray, beats: np.ndarray, before: int, after: int) -> tuple:
    keep = (beats - before >= 0) & (beats + after <= len(signal))
    idx = beats[keep][:, None] + np.arange(-before, after)[None, :]
    x = signal[idx].transpose(0, 2, 1)  # (n, channels, length)
    lo, hi = x.min(axis=2, keepdims=True), x.max(axis=2, keepdims=True)
    span = np.where(hi > lo, hi - lo, 1.0)
    return 2.0 * (x - lo) / span - 1.0, keep


def _kachuee(
    signal: np.ndarray, fs: int, beats: np.ndarray, cfg: DictConfig
) -> tuple[np.ndarray, np.ndarray]:
    from scipy.signal import resample_poly

    target = int(cfg.kachuee_fs)
    g = np.gcd(target, fs)
    sig = resample_poly(signal, target // g, fs // g, axis=0)
    r = np.clip(np.round(beats * target / fs).astype(np.int64), 0, len(sig) - 1)
    win = int(round(cfg.kachuee_window_s * target))
    length = int(cfg.kachuee_length)
    rr_all = np.diff(r)
    t_record = float(np.median(rr_all)) if len(rr_all) else float(target)
    out = np.zeros((len(r), sig.shape[1], length))
    for start in range(0, len(sig), win):
        seg = sig[start : start + win]
        lo, hi = seg.min(axis=0), seg.max(axis=0)
        seg = (seg - lo) / np.where(hi > lo, hi - lo, 1.0)
        inside = np.flatnonzero((r >= start) & (r < start + len(seg)))
        if len(inside) == 0:
            continue
        rr = np.diff(r[inside])
        period = float(np.median(rr)) if len(rr) else t_record
        n = min(int(round(1.2 * period)), length)
        for i in inside:
            piece = seg[r[i] - start : r[i] - start + n]
            out[i, :, : len(piece)] = piece.T
    if cfg.resample_length:
        grid = np.linspace(0.0, 1.0, int(cfg.resample_length))
        src = np.linspace(0.0, 1.0, length)
        out = np.apply_along_axis(lambda v: np.interp(grid, src, v), 2, out)
    return out, np.ones(len(r), dtype=bool)


def preprocess_params(cfg: DictConfig) -> dict:
    """Every parameter that changes the arrays of one record (the cache key)."""
    p = {
        "preprocess": cfg.preprocess,
        "lead": cfg.lead,
        "two_leads": bool(cfg.two_leads),
        "bandpass": list(cfg.bandpass) if cfg.bandpass else None,
        "context": 2,  # version of ganad_cli.data.rhythm's features stored with the beats
    }
    # options added later enter the key only when set, so earlier caches stay valid
    if cfg.get("class_mapping", "aami") != "aami":
        p["class_mapping"] = cfg.class_mapping
    if cfg.get("normal_r_filter"):
        p["normal_r_filter"] = {
            "method": cfg.normal_r_filter,
            "tolerance": R_TOLERANCE,
            "biosppy": biosppy_version(),  # another detector version may find other peaks
        }
    if cfg.preprocess == "beatgan":
        p.update(before=int(cfg.beatgan_before), after=int(cfg.beatgan_after))
    else:
        p.update(
            fs=int(cfg.kachuee_fs),
            window_s=float(cfg.kachuee_window_s),
            length=int(cfg.kachuee_length),
            resample_length=cfg.resample_length,
        )
    return p


def extract_record(root: Path, rec: int, cfg: DictConfig) -> dict[str, np.ndarray] | None:
    """Beats of one record (arrays x, cls, sym, channels, lead_missing), not cached; None if the
    record lacks the requested lead and data.missing_lead is not 'first'. Every annotated beat:
    data.normal_r_filter, which uses the labels, does not apply."""
    out = _extract(root, rec, cfg, r_filter=False)
    if bool(out["lead_missing"]) and cfg.missing_lead != "first":
        return None
    return out


def _extract(root: Path, rec: int, cfg: DictConfig, r_filter: bool = True) -> dict:
    """A record without the requested lead is extracted from its first signal and flagged, so
    one cache file serves both data.missing_lead=skip and =first. `r_dropped`: the N beats
    data.normal_r_filter dropped."""
    verify_checksums(root, rec)
    signal, names, fs, beats, symbols = read_record(root, rec)
    chans = _channels(names, cfg.lead, bool(cfg.two_leads))
    signal = signal[:, chans]
    raw_lead = signal[:, 0]
    if cfg.bandpass:
        signal = bandpass(signal, fs, list(cfg.bandpass))
    if cfg.preprocess == "beatgan":
        x, keep = _beatgan(signal, beats, int(cfg.beatgan_before), int(cfg.beatgan_after))
    else:
        x, keep = _kachuee(signal, fs, beats, cfg)
    mapping = CLASS_MAPPINGS[cfg.get("class_mapping", "aami")]
    dropped = 0
    method = cfg.get("normal_r_filter") if r_filter else None
    if method:
        normal = np.array([mapping[s] == "N" for s in symbols], dtype=bool)
        ok = ~normal | near_rpeak(beats, detect_rpeaks(raw_lead, fs, method))
        dropped = int((keep & ~ok).sum())
        x, keep = x[ok[keep]], keep & ok
    sym = symbols[keep]
    return {
        "x": x.astype(np.float32),
        "rr": beat_context(beats, fs, x, keep),
        "cls": np.array([mapping[s] for s in sym], dtype="<U1"),
        "sym": sym.astype("<U1"),
        "channels": np.array([names[c] for c in chans]),
        "lead_missing": np.array(cfg.lead not in names),
        "r_dropped": np.array(dropped),
    }


# ------------------------------------------------------------------------------------ loader


def selected_records(cfg: DictConfig) -> tuple[list[int], bool]:
    """(records to read, whether the user listed them explicitly)."""
    explicit = cfg.records is not None and len(cfg.records) > 0
    records = [int(r) for r in cfg.records] if explicit else list(ALL_RECORDS)
    unknown = sorted(set(records) - set(ALL_RECORDS))
    if unknown:
        raise GanadInputError(
            f"config key 'data.records' names {unknown}, which are not MIT-BIH records; "
            f"expected some of {ALL_RECORDS}"
        )
    exclude = cfg.exclude_paced if cfg.exclude_paced is not None else cfg.preprocess == "beatgan"
    if exclude:
        dropped = sorted(set(records) & set(PACED_RECORDS))
        if dropped and explicit:
            log.info("data.exclude_paced: dropping paced record(s) %s", dropped)
        records = [r for r in records if r not in PACED_RECORDS]
    if not records:
        raise GanadInputError("config key 'data.records' leaves no record after exclusions")
    return records, explicit


def tqdm_records(todo: list) -> list:
    """Progress over records when some must be extracted (cached ones load in well under 2 s)."""
    from ganad_cli.progress import bar

    n_new = sum(a is None for _, _, a in todo)
    if n_new == 0:
        return todo
    progress = bar(len(todo), "MIT-BIH beats", unit="record")

    def _iter():
        with progress:
            for item in todo:
                yield item
                progress.update(1)

    return _iter()


def load_mitbih(cfg: DictConfig) -> Samples:
    if cfg.preprocess not in MITBIH_PRESETS:
        raise GanadInputError(
            f"config key 'data.preprocess' must be one of {list(MITBIH_PRESETS)}, "
            f"got {cfg.preprocess!r}"
        )
    mapping = cfg.get("class_mapping", "aami")
    if mapping not in CLASS_MAPPINGS:
        raise GanadInputError(
            f"config key 'data.class_mapping' must be one of {list(CLASS_MAPPINGS)}, "
            f"got {mapping!r}"
        )
    r_filter = cfg.get("normal_r_filter")
    if r_filter is not None and r_filter not in R_FILTERS:
        raise GanadInputError(
            f"config key 'data.normal_r_filter' must be null or one of {list(R_FILTERS)}, "
            f"got {r_filter!r}"
        )
    if cfg.missing_lead not in ("skip", "first", "error"):
        raise GanadInputError(
            "config key 'data.missing_lead' must be one of ['skip', 'first', 'error'], "
            f"got {cfg.missing_lead!r}"
        )
    root = mitdb_root(cfg.root)
    records, _ = selected_records(cfg)
    params = preprocess_params(cfg)
    folder = cache_dir(cfg.cache_dir) / "mitbih"
    parts, skipped, todo = [], [], []
    for rec in records:
        stamp = _fingerprint(root, rec)
        key = cache.cache_key({**params, "record": rec, "files": stamp})
        path = folder / f"{rec}-{key}.npz"
        arrays = cache.load(path, key) if cfg.cache and stamp is not None else None
        todo.append((rec, path, arrays))
    if any(a is None for _, _, a in todo):
        ensure_records(root, [rec for rec, _, a in todo if a is None], bool(cfg.download))
    for rec, path, arrays in tqdm_records(todo):
        if arrays is None:
            arrays = _extract(root, rec, cfg)
            if cfg.cache:
                key = cache.cache_key({**params, "record": rec, "files": _fingerprint(root, rec)})
                try:
                    cache.save(path.with_name(f"{rec}-{key}.npz"), key, arrays)
                except OSError as exc:  # the cache only saves time; say so and go on
                    log.warning("cannot write the data cache in %s (%s)", folder, exc)
        if bool(arrays["lead_missing"]) and cfg.missing_lead != "first":
            if cfg.missing_lead == "error":
                raise GanadInputError(
                    f"MIT-BIH record {rec} has no {cfg.lead} lead; set data.missing_lead=first "
                    "to use its first signal, or leave the record out of data.records"
                )
            skipped.append(rec)
            continue
        parts.append((rec, arrays))
    if skipped:
        log.warning("MIT-BIH record(s) %s have no %s lead and are skipped", skipped, cfg.lead)
    if r_filter:
        dropped = {rec: int(a["r_dropped"]) for rec, a in parts if int(a["r_dropped"])}
        log.info(
            "data.normal_r_filter=%s: dropped %d N beats with no detected R peak fewer than %d "
            "samples from their annotation (most: %s)",
            r_filter,
            sum(dropped.values()),
            R_TOLERANCE,
            ", ".join(f"{r}: {n}" for r, n in sorted(dropped.items(), key=lambda t: -t[1])[:5]),
        )
    if not parts:
        raise GanadInputError(f"no MIT-BIH record in {root} has the {cfg.lead} lead")
    return Samples(
        x=np.concatenate([a["x"] for _, a in parts]),
        cls=np.concatenate([a["cls"] for _, a in parts]),
        group=np.concatenate([np.full(len(a["x"]), str(rec)) for rec, a in parts]),
        context=np.concatenate([a["rr"] for _, a in parts]),
    )
