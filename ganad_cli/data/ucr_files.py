"""UCR archive files: where a data set's folder is, and its download from the UCR/UEA archive.

A data set's folder holds <NAME>_TRAIN.tsv and/or <NAME>_TEST.tsv (label in column 0). With
data.root unset it is $GANAD_UCR/<NAME>, else <data home>/ucr/<NAME>; when that folder lacks the
files and data.download=true, the archive's per-data-set zip (the one aeon and sktime fetch) is
downloaded, its TRAIN/TEST members (.tsv, .ts or .txt) are parsed and written as .tsv files in a
temporary folder, and only a complete, parseable set is moved into place.
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from ganad_cli.data.locations import ucr_home
from ganad_cli.errors import GanadInputError
from ganad_cli.paths import resolve_path

log = logging.getLogger("ganad")

# the UCR/UEA archive's per-data-set zip; $GANAD_UCR_URL replaces it (a mirror), {name} is filled in
UCR_URL = "https://www.timeseriesclassification.com/aeon-toolkit/{name}.zip"
PARTS = ("TRAIN", "TEST")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_TIMEOUT_S = 120


def ucr_url(name: str) -> str:
    return os.environ.get("GANAD_UCR_URL", UCR_URL).replace("{name}", name)


def present_files(root: Path, name: str) -> list[tuple[str, Path]]:
    """(part, path) of the <NAME>_TRAIN.tsv / <NAME>_TEST.tsv files in root."""
    return [(p, root / f"{name}_{p}.tsv") for p in PARTS if (root / f"{name}_{p}.tsv").is_file()]


def ucr_folder(cfg: DictConfig) -> tuple[Path, str]:
    """(folder, data set name): data.root as given, or the cache folder of data.dataset, filled
    from the archive when its files are absent and data.download is true."""
    if cfg.root:
        root = resolve_path(cfg.root, "data.root")
        return root, cfg.dataset or root.name
    name = cfg.dataset
    if not name:
        raise GanadInputError(
            "config key 'data.root' or 'data.dataset' must be set for data=ucr: data.root=DIR "
            "(a folder with NAME_TRAIN.tsv / NAME_TEST.tsv) or data.dataset=NAME (e.g. ECG200)"
        )
    if not _NAME.fullmatch(str(name)):
        raise GanadInputError(
            f"config key 'data.dataset' = {name!r} is not a UCR data set name; expected letters, "
            "digits, '_' or '-' (e.g. ECG200)"
        )
    root = ucr_home() / name
    if not present_files(root, name):
        ensure_ucr(root, name, bool(cfg.get("download", False)))
    return root, name


def ensure_ucr(root: Path, name: str, download: bool) -> None:
    """<NAME>_TRAIN.tsv (and _TEST.tsv where the archive has it) in root, downloaded if allowed."""
    if present_files(root, name):
        return
    url = ucr_url(name)
    if not download:
        raise GanadInputError(
            f"UCR data set {name} not found in {root} (no {name}_TRAIN.tsv or {name}_TEST.tsv) "
            f"and data.download=false; set data.download=true to fetch {url}, or data.root=DIR "
            "(or GANAD_UCR) to a local copy"
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    log.info("downloading UCR data set %s from %s into %s", name, url, root)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.part-", dir=root.parent))
    try:
        _unpack(_fetch(url, root, name), url, name, staging)
        _move_into_place(staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _fetch(url: str, root: Path, name: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
            return response.read()
    except Exception as exc:
        raise GanadInputError(
            f"UCR data set {name} not found in {root} and downloading {url} failed "
            f"({type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:120]}); set "
            f"data.root=DIR (or GANAD_UCR) to a folder with {name}_TRAIN.tsv / {name}_TEST.tsv"
        ) from exc


def _unpack(blob: bytes, url: str, name: str, staging: Path) -> None:
    """The zip's TRAIN/TEST members as checked .tsv files in staging."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(blob))
    except zipfile.BadZipFile as exc:
        raise GanadInputError(
            f"{url} is not a zip archive ({len(blob)} bytes); expected the UCR archive's zip of "
            f"{name} (check the data set name, or set GANAD_UCR_URL to a mirror)"
        ) from exc
    members = {Path(m).name: m for m in archive.namelist() if not m.endswith("/")}
    written = []
    for part in PARTS:
        for ext in ("tsv", "ts", "txt"):
            member = members.get(f"{name}_{part}.{ext}")
            if member is None:
                continue
            try:
                text = archive.read(member).decode("utf-8")
            except (UnicodeDecodeError, zipfile.BadZipFile, OSError) as exc:
                raise GanadInputError(
                    f"{url}: member {member} cannot be read as UTF-8 text ({exc}); expected the "
                    f"UCR archive's {name}_{part} file"
                ) from exc
            table = _parse(text, ext, f"{url}: member {member}")
            _write_tsv(table, staging / f"{name}_{part}.tsv")
            written.append(table.shape[1])
            break
    if not written:
        raise GanadInputError(
            f"{url} holds no {name}_TRAIN/_TEST file (.tsv, .ts or .txt); found "
            f"{sorted(members)[:6]}; expected the UCR archive's zip of {name}"
        )
    if len(set(written)) > 1:
        raise GanadInputError(f"{url}: {name} TRAIN and TEST series differ in length")


def _parse(text: str, ext: str, where: str) -> np.ndarray:
    """A (n, 1 + length) float table: label, then the series."""
    try:
        if ext == "ts":
            rows = _ts_rows(text, where)
        else:
            sep = "\t" if ext == "tsv" else None
            rows = [
                [float(v) for v in line.split(sep)] for line in text.splitlines() if line.strip()
            ]
    except ValueError as exc:
        raise GanadInputError(
            f"{where} is not a table of numbers: {str(exc).splitlines()[0]}; expected a label "
            "then the series on each row"
        ) from exc
    if not rows:
        raise GanadInputError(f"{where} has no data rows; expected one series per row")
    lengths = sorted({len(r) for r in rows})
    if len(lengths) > 1 or lengths[0] < 2:
        raise GanadInputError(
            f"{where} has rows of {lengths} values; expected a label then equal-length series"
        )
    return np.asarray(rows, dtype=np.float64)


def _ts_rows(text: str, where: str) -> list[list[float]]:
    """The @data rows of a univariate .ts file ('v1,v2,...:label') as [label, v1, v2, ...]."""
    lines = iter(text.splitlines())
    for line in lines:
        if line.strip().lower() == "@data":
            break
    else:
        raise GanadInputError(f"{where} has no @data line; expected a .ts file")
    rows = []
    for line in lines:
        if not line.strip():
            continue
        *channels, label = line.strip().split(":")
        if len(channels) != 1:
            raise GanadInputError(
                f"{where} has {len(channels)} channels per series; the UCR loader reads "
                "univariate data sets with a class label"
            )
        values = [float("nan") if v == "?" else float(v) for v in channels[0].split(",")]
        rows.append([float(label), *values])
    return rows


def _write_tsv(table: np.ndarray, path: Path) -> None:
    lines = []
    for row in table:
        label = int(row[0]) if float(row[0]).is_integer() else row[0]
        lines.append("\t".join([str(label), *(repr(float(v)) for v in row[1:])]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _move_into_place(staging: Path, root: Path) -> None:
    """The staged files into root: one rename of the folder, or per file into an existing one."""
    if not root.exists():
        os.replace(staging, root)
        return
    for f in sorted(staging.iterdir()):
        os.replace(f, root / f.name)
