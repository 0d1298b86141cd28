"""ganad's UCR download path (the UCR/UEA archive's per-data-set zip) against an archive
look-alike on the loopback address, and the test suite's own fallback on a machine without
../shared."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ganad_cli.cli import main
from tests.ucr_source import (
    fetch_ucr,
    local_ucr,
    loopback_ucr,
    read_tables,
    synthetic_tables,
    write_zip,
)


@pytest.fixture
def ucr_home(tmp_path, monkeypatch) -> Path:
    """$GANAD_UCR at an empty folder: where ganad looks for, and downloads, data sets."""
    home = tmp_path / "ucr"
    monkeypatch.setenv("GANAD_UCR", str(home))
    monkeypatch.delenv("GANAD_UCR_URL", raising=False)
    return home


def _summary(*overrides: str) -> int:
    return main(["data", "summary", "data=ucr", "data.normal_classes=[1]", *overrides])


def _one_error_line(capfd) -> str:
    err = capfd.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("ganad: error:"), err
    return err[-1]


def _no_leftovers(home: Path, name: str) -> None:
    assert not (home / name).exists()
    assert not home.exists() or not any(home.iterdir()), list(home.iterdir())


@pytest.mark.parametrize("in_folder", [False, True])
def test_data_summary_downloads_the_archive_zip_into_the_cache(
    ucr_home, tmp_path, capfd, in_folder
):
    tables = synthetic_tables()
    write_zip(tmp_path / "Tiny.zip", "Tiny", tables, folder=in_folder)
    with loopback_ucr(tmp_path):
        code = _summary("data.dataset=Tiny", "data.download=true")
    assert code == 0, capfd.readouterr().err
    got = read_tables(ucr_home / "Tiny", "Tiny")
    assert set(got) == {"TRAIN", "TEST"}
    for part, table in tables.items():
        assert np.array_equal(got[part], table), part
    assert sorted(p.name for p in ucr_home.iterdir()) == ["Tiny"]  # no staging folder left
    assert "TRAIN" in capfd.readouterr().out
    # the files are found now: no server, no download
    assert _summary("data.dataset=Tiny", "data.download=false") == 0


def test_the_ts_member_is_read_when_the_zip_has_no_txt(ucr_home, tmp_path):
    import zipfile

    from tests.ucr_source import ts_text

    table = synthetic_tables()["TRAIN"]
    with zipfile.ZipFile(tmp_path / "Ts.zip", "w") as zf:
        zf.writestr("Ts_TRAIN.ts", "# a comment\n" + ts_text(table, "Ts"))
    with loopback_ucr(tmp_path):
        root = fetch_ucr(ucr_home, "Ts")
    assert np.array_equal(read_tables(root, "Ts")["TRAIN"], table)


def test_absent_and_download_false_is_one_line_naming_the_url(ucr_home, capfd):
    assert _summary("data.dataset=ECG200", "data.download=false") == 2
    line = _one_error_line(capfd)
    assert "ECG200" in line and "data.download=false" in line
    assert "timeseriesclassification.com/aeon-toolkit/ECG200.zip" in line
    _no_leftovers(ucr_home, "ECG200")


def test_an_unreachable_server_is_one_line_naming_the_way_out(ucr_home, tmp_path, capfd):
    with loopback_ucr(tmp_path) as url:
        pass  # started and stopped: its port is closed now
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANAD_UCR_URL", url)
        assert _summary("data.dataset=Tiny") == 2
    line = _one_error_line(capfd)
    assert url.replace("{name}", "Tiny") in line and "failed" in line and "GANAD_UCR" in line
    _no_leftovers(ucr_home, "Tiny")


def test_a_missing_data_set_on_the_server_is_one_line(ucr_home, tmp_path, capfd):
    with loopback_ucr(tmp_path):
        assert _summary("data.dataset=NoSuchSet") == 2
    line = _one_error_line(capfd)
    assert "NoSuchSet.zip" in line and "HTTPError" in line
    _no_leftovers(ucr_home, "NoSuchSet")


def test_a_damaged_or_wrong_zip_is_refused_and_nothing_is_cached(ucr_home, tmp_path, capfd):
    import zipfile

    (tmp_path / "Junk.zip").write_bytes(b"<html>not found</html>")
    with zipfile.ZipFile(tmp_path / "Other.zip", "w") as zf:
        zf.writestr("Else_TRAIN.ts", "@data\n1,2:1\n")
    table = synthetic_tables()["TRAIN"]
    lines = ["\t".join(repr(float(v)) for v in row) for row in table]
    lines[3] = "\t".join(lines[3].split("\t")[:-2])  # a ragged row
    with zipfile.ZipFile(tmp_path / "Ragged.zip", "w") as zf:
        zf.writestr("Ragged_TRAIN.tsv", "\n".join(lines) + "\n")
    with loopback_ucr(tmp_path):
        assert _summary("data.dataset=Junk") == 2
        line = _one_error_line(capfd)
        assert "Junk.zip is not a zip archive" in line
        assert _summary("data.dataset=Other") == 2
        line = _one_error_line(capfd)
        assert "Other.zip holds no Other_TRAIN" in line and "Else_TRAIN.ts" in line
        assert _summary("data.dataset=Ragged") == 2
        line = _one_error_line(capfd)
        assert "member Ragged_TRAIN.tsv" in line and "equal-length" in line
    for name in ("Junk", "Other", "Ragged"):
        _no_leftovers(ucr_home, name)


def test_data_set_name_and_root_are_checked(ucr_home, capfd):
    assert _summary("data.dataset=../etc") == 2
    assert "'data.dataset'" in _one_error_line(capfd)
    assert _summary() == 2
    line = _one_error_line(capfd)
    assert "'data.root' or 'data.dataset'" in line


def test_suite_fallback_fetches_through_the_download_path_when_nothing_is_local(
    ucr_root, tmp_path, monkeypatch
):
    """What conftest's ucr_root does on a fresh machine: no $GANAD_UCR, no ../shared. The
    served zip is ECG200 (from ucr_root) in the archive's .ts/.txt layout."""
    monkeypatch.delenv("GANAD_UCR", raising=False)
    assert local_ucr(tmp_path / "no-shared", "ECG200") is None
    source = read_tables(ucr_root("ECG200"), "ECG200")
    write_zip(tmp_path / "ECG200.zip", "ECG200", source)
    with loopback_ucr(tmp_path):
        root = fetch_ucr(tmp_path / "cache", "ECG200")
    got = read_tables(root, "ECG200")
    assert got.keys() == source.keys()
    for part in source:
        assert np.array_equal(got[part], source[part]), part
    monkeypatch.setenv("GANAD_UCR", str(tmp_path / "cache"))
    assert local_ucr(tmp_path / "no-shared", "ECG200") == root
    assert fetch_ucr(tmp_path / "cache", "ECG200") == root  # found: no server running now
