"""The MIT-BIH record files: present or downloaded from PhysioNet (wfdb), checked against the
database's SHA256SUMS and their headers, and read as (signal, symbols, fs, samples, ...)."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np

from ganad_cli.data.aami import aami_symbols
from ganad_cli.errors import GanadInputError

log = logging.getLogger("ganad")

# bytes per sample of the WFDB storage formats MIT-BIH and similar databases use
_FMT_BYTES = {"8": 1, "16": 2, "61": 2, "80": 1, "160": 2, "212": 1.5, "24": 3, "32": 4}


def _record_files(root: Path, rec: int) -> list[Path]:
    return [root / f"{rec}.{ext}" for ext in ("hea", "dat", "atr")]


def _download(root: Path, records: list[int]) -> None:
    import wfdb

    root.mkdir(parents=True, exist_ok=True)
    log.info("downloading %d MIT-BIH records from PhysioNet into %s", len(records), root)
    for i, rec in enumerate(records, 1):
        log.info("  [%d/%d] record %d", i, len(records), rec)
        wfdb.dl_database("mitdb", dl_dir=str(root), records=[str(rec)], annotators=["atr"])
    try:
        wfdb.dl_files("mitdb", str(root), ["SHA256SUMS.txt", "RECORDS"])
    except Exception as exc:  # the manifest is optional; the records are what matter
        log.warning("could not download mitdb SHA256SUMS.txt (%s); files not verified", exc)


def ensure_records(root: Path, records: list[int], download: bool) -> None:
    """Every record's .hea/.dat/.atr present in root; download absent ones when allowed."""
    absent, partial = [], []
    for rec in records:
        present = [f.is_file() for f in _record_files(root, rec)]
        if not any(present):
            absent.append(rec)
        elif not all(present):
            missing = [f.name for f, ok in zip(_record_files(root, rec), present) if not ok]
            partial.append((rec, missing))
    if partial:
        rec, missing = partial[0]
        raise GanadInputError(
            f"MIT-BIH record {rec} in {root} is incomplete: missing {', '.join(missing)}; expected "
            f"{rec}.hea, {rec}.dat and {rec}.atr (set data.root to a complete copy of mitdb)"
        )
    if not absent:
        return
    how = (
        f"set data.root=DIR (or GANAD_MITDB) to a local copy of PhysioNet mitdb 1.0.0, "
        f"expected files like {absent[0]}.hea, {absent[0]}.dat, {absent[0]}.atr"
    )
    if not download:
        raise GanadInputError(
            f"MIT-BIH record(s) {absent[:5]}{'...' if len(absent) > 5 else ''} not found in "
            f"{root} and data.download=false; {how}"
        )
    try:
        _download(root, absent)
    except Exception as exc:
        raise GanadInputError(
            f"MIT-BIH records not found in {root} and downloading them from PhysioNet failed "
            f"({type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:120]}); "
            f"{how}"
        ) from exc
    ensure_records(root, records, download=False)


def _fingerprint(root: Path, rec: int) -> list | None:
    """What identifies a record's files for the cache: header and annotation contents, and the
    signal file's size and mtime (hashing 2 MB per record would cost the cached load its speed).
    None if a file is missing."""
    hea, dat, atr = _record_files(root, rec)
    if not (hea.is_file() and dat.is_file() and atr.is_file()):
        return None
    st = dat.stat()
    digest = hashlib.sha256(hea.read_bytes() + b"\0" + atr.read_bytes()).hexdigest()
    return [digest, st.st_size, st.st_mtime_ns]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_checksums(root: Path, rec: int) -> None:
    """Compare a record's files with SHA256SUMS.txt, when the manifest is there."""
    manifest = root / "SHA256SUMS.txt"
    if not manifest.is_file():
        return
    sums = {}
    for line in manifest.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            sums[parts[1].lstrip("*")] = parts[0]
    for f in _record_files(root, rec):
        want = sums.get(f.name)
        if want is not None and _sha256(f) != want:
            raise GanadInputError(
                f"{f} does not match its SHA-256 in {manifest}; the file is damaged or modified "
                "(delete it to download it again, or point data.root at an intact copy)"
            )


# -------------------------------------------------------------------------------- one record


def read_record(root: Path, rec: int) -> tuple[np.ndarray, list[str], int, np.ndarray, np.ndarray]:
    """(signal float64 (n, n_sig), signal names, fs, beat samples, beat symbols), checked."""
    import wfdb

    path = root / str(rec)
    try:
        header = wfdb.rdheader(str(path))
    except Exception as exc:
        raise GanadInputError(f"{path}.hea is not a readable WFDB header: {exc}") from exc
    _check_dat_size(root, rec, header)
    try:
        record = wfdb.rdrecord(str(path), physical=False)
    except Exception as exc:
        raise GanadInputError(f"{path}.dat cannot be read with its header: {exc}") from exc
    digital = record.d_signal.astype(np.int64)
    if record.checksum is not None:
        bad = (digital.sum(axis=0) - np.asarray(record.checksum)) % 65536 != 0
        if bad.any():
            raise GanadInputError(
                f"{path}.dat disagrees with {path}.hea: checksum of signal(s) "
                f"{[record.sig_name[i] for i in np.flatnonzero(bad)]} does not match the header"
            )
    signal = (digital - np.asarray(record.baseline)) / np.asarray(record.adc_gain, dtype=float)
    try:
        ann = wfdb.rdann(str(path), "atr")
    except Exception as exc:
        raise GanadInputError(f"{path}.atr is not a readable WFDB annotation file: {exc}") from exc
    symbols = np.asarray(ann.symbol)
    samples = np.asarray(ann.sample, dtype=np.int64)
    beats = aami_symbols(list(symbols)) & (samples >= 0) & (samples < len(signal))
    return signal, list(record.sig_name), int(record.fs), samples[beats], symbols[beats]


def _check_dat_size(root: Path, rec: int, header) -> None:
    dat = root / f"{rec}.dat"
    if not dat.is_file():
        raise GanadInputError(
            f"{dat} not found: the WFDB record {rec} has a header but no signal file; expected "
            f"{rec}.hea, {rec}.dat and {rec}.atr together"
        )
    fmts = [str(f) for f in header.fmt]
    if any(f not in _FMT_BYTES for f in fmts) or header.sig_len is None:
        return
    offset = max(header.byte_offset or [0], key=lambda b: b or 0) or 0
    expected = offset + int(np.ceil(header.sig_len * sum(_FMT_BYTES[f] for f in fmts)))
    actual = os.path.getsize(dat)
    if actual < expected:
        raise GanadInputError(
            f"{dat} is truncated: {actual} bytes, but its header promises {header.sig_len} samples "
            f"x {header.n_sig} signals = {expected} bytes"
        )
    if actual > expected + 1:  # format 212 may pad one byte
        raise GanadInputError(
            f"{dat} disagrees with {rec}.hea: {actual} bytes, header implies {expected} bytes"
        )
