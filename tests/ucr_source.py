"""Where the tests find UCR data sets, and a UCR/UEA archive look-alike on the loopback address.

The tests read `$GANAD_UCR/<NAME>` or `../shared/data/<NAME>` when present (as in CI). On a fresh
machine without either they fetch the data set through ganad's own download path
(ganad_cli.data.ucr_files.ensure_ucr: the archive's per-data-set zip) into a temporary cache.
`loopback_ucr` serves zips laid out as the archive's (<NAME>_TRAIN.ts/.txt, <NAME>_TEST.ts/.txt)
on 127.0.0.1 and points ganad at it, so that path is tested here, where the archive is unreachable.
"""

from __future__ import annotations

import os
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np


def local_ucr(shared: Path, name: str) -> Path | None:
    """$GANAD_UCR/<name>, else <shared>/data/<name>, when it holds <name>_TRAIN.tsv; else None."""
    env = os.environ.get("GANAD_UCR")
    for candidate in (Path(env) / name if env else None, shared / "data" / name):
        if candidate is not None and (candidate / f"{name}_TRAIN.tsv").is_file():
            return candidate
    return None


def fetch_ucr(home: Path, name: str) -> Path:
    """The data set in home/<name>, downloaded through ganad's download path when absent."""
    from ganad_cli.data.ucr_files import ensure_ucr

    ensure_ucr(home / name, name, download=True)
    return home / name


def read_tables(folder: Path, name: str) -> dict[str, np.ndarray]:
    """{part: (n, 1 + length) table} of the .tsv files in a UCR data set folder."""
    return {
        part: np.loadtxt(folder / f"{name}_{part}.tsv", delimiter="\t", ndmin=2)
        for part in ("TRAIN", "TEST")
        if (folder / f"{name}_{part}.tsv").is_file()
    }


def synthetic_tables(length: int = 12) -> dict[str, np.ndarray]:
    """A tiny two-class data set: 6 TRAIN and 4 TEST series, labels -1 and 1."""
    rng = np.random.default_rng(0)

    def table(n: int) -> np.ndarray:
        labels = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
        return np.column_stack([labels, rng.normal(size=(n, length))])

    return {"TRAIN": table(6), "TEST": table(4)}


def _label(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def ts_text(table: np.ndarray, name: str) -> str:
    """The archive's .ts layout: header, @data, then 'v1,v2,...:label' per series."""
    labels = sorted({_label(v) for v in table[:, 0]}, key=float)
    head = [
        f"@problemName {name}",
        "@timeStamps false",
        "@missing false",
        "@univariate true",
        "@equalLength true",
        f"@seriesLength {table.shape[1] - 1}",
        f"@classLabel true {' '.join(labels)}",
        "@data",
    ]
    rows = [",".join(repr(float(v)) for v in r[1:]) + ":" + _label(r[0]) for r in table]
    return "\n".join(head + rows) + "\n"


def txt_text(table: np.ndarray) -> str:
    """The archive's .txt layout: whitespace-separated, label first, scientific notation."""
    return "".join("".join(f"  {v:.7e}" for v in r) + "\n" for r in table)


def write_zip(path: Path, name: str, tables: dict[str, np.ndarray], folder: bool = False) -> Path:
    """A zip laid out as the archive's per-data-set zip (no .tsv members: the archive has .ts,
    .txt and .arff); `folder` puts the members under <name>/."""
    prefix = f"{name}/" if folder else ""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for part, table in tables.items():
            zf.writestr(f"{prefix}{name}_{part}.ts", ts_text(table, name))
            zf.writestr(f"{prefix}{name}_{part}.txt", txt_text(table))
    return path


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass


@contextmanager
def loopback_ucr(folder: Path) -> Iterator[str]:
    """Serve `folder` (holding <NAME>.zip files) on 127.0.0.1 with $GANAD_UCR_URL pointed at it;
    yields the URL template."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/{{name}}.zip"
    old = os.environ.get("GANAD_UCR_URL")
    os.environ["GANAD_UCR_URL"] = url
    try:
        yield url
    finally:
        if old is None:
            os.environ.pop("GANAD_UCR_URL", None)
        else:
            os.environ["GANAD_UCR_URL"] = old
        server.shutdown()
        server.server_close()
