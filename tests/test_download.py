"""ganad's MIT-BIH download path (wfdb from PhysioNet) against a PhysioNet look-alike on the
loopback address, and the test suite's own fallback on a machine without ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganad_cli.cli import main
from tests.mitdb_source import fetch_mitdb, local_mitdb, loopback_physionet


def test_data_summary_downloads_absent_records_and_verifies_them(mitdb_root, tmp_path, capfd):
    root = tmp_path / "mitdb"
    with loopback_physionet(mitdb_root, [100, 101], tmp_path / "server"):
        code = main(
            ["data", "summary", "data=mitbih", "data.records=[100,101]", f"data.root={root}"]
            + ["data.download=true", f"data.cache_dir={tmp_path / 'cache'}"]
        )
    assert code == 0, capfd.readouterr().err
    for rec in (100, 101):
        for ext in ("hea", "dat", "atr"):
            got, want = root / f"{rec}.{ext}", mitdb_root / f"{rec}.{ext}"
            assert got.read_bytes() == want.read_bytes(), got
    assert (root / "SHA256SUMS.txt").is_file()  # the manifest came along: files are verified
    out = capfd.readouterr().out
    assert "100" in out and "101" in out


def test_a_damaged_download_is_refused_in_one_line(mitdb_root, tmp_path, capfd):
    root = tmp_path / "mitdb"
    with loopback_physionet(mitdb_root, [100], tmp_path / "server", damage=100):
        code = main(
            ["data", "summary", "data=mitbih", "data.records=[100]", f"data.root={root}"]
            + ["data.download=true", "data.cache=false"]
        )
    err = capfd.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith("ganad: error:")
    assert "100.dat" in err[-1] and "SHA-256" in err[-1]


def test_an_unreachable_server_is_one_line_naming_the_way_out(mitdb_root, tmp_path, capfd):
    with loopback_physionet(mitdb_root, [100], tmp_path / "server"):
        pass  # started and stopped: wfdb still points at its (now closed) port
    from wfdb.io import download

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(download, "PN_CONTENT_URL", "http://127.0.0.1:9/content/")
        code = main(
            ["data", "summary", "data=mitbih", "data.records=[100]"]
            + [f"data.root={tmp_path / 'empty'}", "data.download=true"]
        )
    err = capfd.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith("ganad: error:")
    assert "downloading them from PhysioNet failed" in err[-1] and "data.root" in err[-1]


def test_suite_fallback_fetches_through_the_download_path_when_nothing_is_local(
    mitdb_root, tmp_path, monkeypatch
):
    """What conftest's mitdb_root does on a fresh machine: no $GANAD_MITDB, no ../shared."""
    monkeypatch.delenv("GANAD_MITDB", raising=False)
    assert local_mitdb(tmp_path / "no-shared") is None
    with loopback_physionet(mitdb_root, [100, 232], tmp_path / "server"):
        root = fetch_mitdb(tmp_path / "home" / "mitdb", [100, 232])
    assert (root / "232.dat").read_bytes() == (mitdb_root / "232.dat").read_bytes()
    monkeypatch.setenv("GANAD_MITDB", str(root))
    assert local_mitdb(tmp_path / "no-shared") == root
    # a second call finds the records and downloads nothing (no server is running now)
    assert fetch_mitdb(root, [100, 232]) == root
    assert Path(root, "100.hea").is_file()
