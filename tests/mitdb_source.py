"""Where the tests find MIT-BIH, and a PhysioNet look-alike on the loopback address.

The tests read `$GANAD_MITDB` or `../shared/data/mitdb` when present (as in CI). On a fresh
machine without either they fetch the records through ganad's own download path
(ganad_cli.data.mitbih_files.ensure_records: wfdb from PhysioNet) into ganad's data folder, once.
`loopback_physionet` serves a copy of some records in PhysioNet's URL layout, so that download
path is tested here, where PhysioNet itself is unreachable.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

VERSION = "1.0.0"


def local_mitdb(shared: Path) -> Path | None:
    """$GANAD_MITDB, else <shared>/data/mitdb, when it holds the records; else None."""
    for candidate in (os.environ.get("GANAD_MITDB"), shared / "data" / "mitdb"):
        if candidate and (Path(candidate) / "100.hea").is_file():
            return Path(candidate)
    return None


def fetch_mitdb(target: Path, records: Sequence[int]) -> Path:
    """The records in `target`, downloaded through ganad's download path where absent."""
    from ganad_cli.data.mitbih_files import ensure_records

    ensure_records(target, list(records), download=True)
    return target


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass


@contextmanager
def loopback_physionet(
    source: Path, records: Sequence[int], tmp: Path, damage: int | None = None
) -> Iterator[str]:
    """Serve `records` of `source` as PhysioNet lays mitdb out (content page with its version,
    files/mitdb/1.0.0/...) on 127.0.0.1, with wfdb pointed at it; yields the base URL.
    `damage`: a record whose .dat is served with one byte changed (its SHA-256 then fails)."""
    import wfdb
    from wfdb.io import download

    files = tmp / "files" / "mitdb" / VERSION
    content = tmp / "content" / "mitdb"
    files.mkdir(parents=True)
    (content / VERSION).mkdir(parents=True)
    (content / "index.html").write_text(f"<html><body>Version: {VERSION}</body></html>\n")
    (content / VERSION / "index.html").write_text("<html><body>mitdb</body></html>\n")
    sums = []
    for rec in records:
        for ext in ("hea", "dat", "atr"):
            name = f"{rec}.{ext}"
            shutil.copyfile(source / name, files / name)
            sums.append(f"{hashlib.sha256((files / name).read_bytes()).hexdigest()}  {name}")
    if damage is not None:
        dat = bytearray((files / f"{damage}.dat").read_bytes())
        dat[len(dat) // 2] ^= 0xFF
        (files / f"{damage}.dat").write_bytes(bytes(dat))
    (files / "RECORDS").write_text("".join(f"{r}\n" for r in records))
    (files / "ANNOTATORS").write_text("atr\treference annotations\n")
    (files / "SHA256SUMS.txt").write_text("\n".join(sums) + "\n")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(tmp)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    old_content, old_index = download.PN_CONTENT_URL, download.config.db_index_url
    download.PN_CONTENT_URL = f"{base}/content/"
    wfdb.set_db_index_url(f"{base}/files/")
    try:
        yield base
    finally:
        download.PN_CONTENT_URL = old_content
        wfdb.set_db_index_url(old_index)
        server.shutdown()
        server.server_close()
