"""MIT-BIH through wfdb: beat counts against the annotations, presets, leads, cache, bad files.

Real records from ../shared/data/mitdb (or $GANAD_MITDB); corrupted files are copies in tmp_path.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import wfdb

from ganad_cli.cli import main
from ganad_cli.data import load_samples
from ganad_cli.errors import GanadInputError

# AAMI classes of MIT-BIH beat symbols, written out here independently of the loader.
AAMI = {"N": "NLRej", "S": "AaJS", "V": "VE", "F": "F", "Q": "/fQ"}
SYMBOL_CLASS = {s: c for c, syms in AAMI.items() for s in syms}


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mitbih_cache")


@pytest.fixture
def cfg_for(compose_train, mitdb_root, cache):
    def make(*overrides: str, root: Path | None = None):
        return compose_train(
            [
                "data=mitbih",
                f"data.root={root or mitdb_root}",
                f"data.cache_dir={cache}",
                "data.download=false",
                *overrides,
            ]
        ).data

    return make


def annotated_counts(root: Path, rec: int, fits=lambda s: True) -> dict[str, int]:
    ann = wfdb.rdann(str(root / str(rec)), "atr")
    counts: dict[str, int] = {}
    for sym, s in zip(ann.symbol, ann.sample):
        if sym in SYMBOL_CLASS and fits(s):
            counts[SYMBOL_CLASS[sym]] = counts.get(SYMBOL_CLASS[sym], 0) + 1
    return counts


def counts_of(samples, rec: int) -> dict[str, int]:
    names, n = np.unique(samples.cls[samples.group == str(rec)], return_counts=True)
    return {str(a): int(b) for a, b in zip(names, n)}


RECORDS = [100, 114, 208, 232]


def test_kachuee_counts_match_annotations(cfg_for, mitdb_root):
    s = load_samples(cfg_for("data.preprocess=kachuee", f"data.records={RECORDS}"))
    for rec in RECORDS:
        assert counts_of(s, rec) == annotated_counts(mitdb_root, rec), rec
    assert s.shape == (1, 187)
    assert s.x.min() >= 0.0 and s.x.max() <= 1.0
    # record 100 beats at ~75 bpm: 1.2 * T is about 120 samples at 125 Hz, then zero padding
    x100 = s.x[s.group == "100"][:, 0]
    assert np.all(x100[:, 140:] == 0.0) and np.all(x100[:, :100].max(axis=1) > 0)


def test_beatgan_counts_and_windows(cfg_for, mitdb_root):
    s = load_samples(cfg_for(f"data.records={RECORDS}"))
    n = 650000
    for rec in RECORDS:
        want = annotated_counts(mitdb_root, rec, fits=lambda r: r - 140 >= 0 and r + 180 <= n)
        assert counts_of(s, rec) == want, rec
    assert s.shape == (1, 320)
    assert np.allclose(s.x.min(axis=2), -1.0) and np.allclose(s.x.max(axis=2), 1.0)

    # record 114 stores MLII second: the beat must come from the MLII signal, by name
    rec = wfdb.rdrecord(str(mitdb_root / "114"), channel_names=["MLII"])
    ann = wfdb.rdann(str(mitdb_root / "114"), "atr")
    beats = [r for sym, r in zip(ann.symbol, ann.sample) if sym in SYMBOL_CLASS]
    r = beats[10]
    w = rec.p_signal[r - 140 : r + 180, 0]
    expected = 2 * (w - w.min()) / (w.max() - w.min()) - 1
    got = s.x[s.group == "114"][10, 0]
    assert np.allclose(got, expected, atol=1e-5)


def test_two_leads_and_resample_length(cfg_for):
    s = load_samples(cfg_for("data.records=[114]", "data.two_leads=true"))
    one = load_samples(cfg_for("data.records=[114]"))
    assert s.shape == (2, 320)
    assert np.array_equal(s.x[:, 0], one.x[:, 0])  # channel 0 is MLII, channel 1 the other lead
    k = load_samples(
        cfg_for("data.preprocess=kachuee", "data.records=[100]", "data.resample_length=160")
    )
    assert k.shape == (1, 160)


def test_class_mapping_beatgan_counts_e_and_j_as_s(cfg_for, mitdb_root, cache):
    """223 has 16 `e`, 124 five `j` beats: N under AAMI, S under the BeatGAN authors' lists."""
    recs = "data.records=[124,223]"
    aami, authors = (
        load_samples(cfg_for(recs)),
        load_samples(cfg_for(recs, "data.class_mapping=beatgan")),
    )
    ann = {r: wfdb.rdann(str(mitdb_root / str(r)), "atr") for r in (124, 223)}
    for rec, a in ann.items():
        ej = sum(sym in "ej" and 140 <= s <= 650000 - 180 for sym, s in zip(a.symbol, a.sample))
        assert ej > 0
        want = annotated_counts(mitdb_root, rec, fits=lambda r: r - 140 >= 0 and r + 180 <= 650000)
        assert counts_of(aami, rec) == want, rec
        moved = counts_of(authors, rec)
        assert moved["N"] == want["N"] - ej and moved["S"] == want.get("S", 0) + ej, rec
    assert np.array_equal(aami.x, authors.x)  # the same beats, other labels
    assert len(list((cache / "mitbih").glob("223-*.npz"))) >= 2  # the mapping is in the key
    with pytest.raises(GanadInputError, match="data.class_mapping"):
        load_samples(cfg_for("data.records=[100]", "data.class_mapping=mitbih"))


def test_paced_records_and_missing_lead(cfg_for, mitdb_root):
    s = load_samples(cfg_for("data.records=[100,102,107]"))
    assert set(s.group) == {"100"}  # beatgan drops the paced records
    with pytest.raises(GanadInputError, match="MLII"):
        load_samples(cfg_for("data.preprocess=kachuee", "data.records=[102]"))
    first = load_samples(
        cfg_for("data.preprocess=kachuee", "data.records=[102]", "data.missing_lead=first")
    )
    assert counts_of(first, 102) == annotated_counts(mitdb_root, 102)


def test_cache_round_trip_and_corruption(cfg_for, cache, caplog):
    cfg = cfg_for("data.records=[101]")
    first = load_samples(cfg)
    files = sorted((cache / "mitbih").glob("101-*.npz"))
    assert len(files) == 1
    t0 = time.perf_counter()
    again = load_samples(cfg)
    assert time.perf_counter() - t0 < 2.0
    assert np.array_equal(first.x, again.x) and np.array_equal(first.cls, again.cls)
    # another preprocessing parameter -> another key, another file
    load_samples(cfg_for("data.records=[101]", "data.beatgan_before=100", "data.beatgan_after=100"))
    assert len(sorted((cache / "mitbih").glob("101-*.npz"))) == 2

    raw = bytearray(files[0].read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # flip a byte inside the array data
    files[0].write_bytes(bytes(raw))
    with caplog.at_level("WARNING", logger="ganad"):
        rebuilt = load_samples(cfg)
    assert "rebuilding" in caplog.text
    assert np.array_equal(first.x, rebuilt.x)
    files[0].write_bytes(files[0].read_bytes()[:1000])  # truncated
    assert np.array_equal(first.x, load_samples(cfg).x)


# ------------------------------------------------------------------------------- bad input


@pytest.fixture
def copy100(tmp_path, mitdb_root) -> Path:
    for ext in ("hea", "dat", "atr"):
        shutil.copy(mitdb_root / f"100.{ext}", tmp_path / f"100.{ext}")
    return tmp_path


def _one_line_error(cfg, match: str) -> str:
    with pytest.raises(GanadInputError, match=match) as info:
        load_samples(cfg)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_missing_record(cfg_for, tmp_path):
    msg = _one_line_error(cfg_for("data.records=[100]", root=tmp_path), "not found")
    assert str(tmp_path) in msg and "data.root" in msg


def test_missing_atr(cfg_for, copy100):
    (copy100 / "100.atr").unlink()
    _one_line_error(cfg_for("data.records=[100]", root=copy100), r"missing 100\.atr")


def test_truncated_dat(cfg_for, copy100):
    dat = copy100 / "100.dat"
    dat.write_bytes(dat.read_bytes()[:500_000])
    _one_line_error(cfg_for("data.records=[100]", root=copy100), "truncated")


def test_header_disagrees_with_dat(cfg_for, copy100):
    hea = copy100 / "100.hea"
    lines = hea.read_text().splitlines()
    fields = lines[1].split()
    fields[6] = str(int(fields[6]) + 1)  # the MLII checksum
    lines[1] = " ".join(fields)
    hea.write_text("\n".join(lines) + "\n")
    _one_line_error(cfg_for("data.records=[100]", root=copy100), "checksum")
    # and a header promising more samples than the file holds
    lines[0] = lines[0].replace("650000", "700000")
    hea.write_text("\n".join(lines) + "\n")
    _one_line_error(cfg_for("data.records=[100]", root=copy100), "truncated")


def test_sha256_manifest_mismatch(cfg_for, copy100, mitdb_root):
    shutil.copy(mitdb_root / "SHA256SUMS.txt", copy100 / "SHA256SUMS.txt")
    load_samples(cfg_for("data.records=[100]", root=copy100))  # intact copy passes
    atr = copy100 / "100.atr"
    raw = bytearray(atr.read_bytes())
    raw[100] ^= 0x01
    atr.write_bytes(bytes(raw))
    _one_line_error(cfg_for("data.records=[100]", "data.cache=false", root=copy100), "SHA-256")


def test_cli_bad_record_exits_2(copy100, cache, capsys):
    (copy100 / "100.dat").write_bytes(b"")
    code = main(
        [
            "data",
            "summary",
            "data=mitbih",
            f"data.root={copy100}",
            "data.records=[100]",
            "data.download=false",
            f"data.cache_dir={cache}",
            "--out",
            str(copy100 / "out"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("ganad: error:") and "100.dat" in err[0]


def test_cli_summary_writes_counts(mitdb_root, cache, tmp_path, capsys):
    out = tmp_path / "summary"
    code = main(
        [
            "data",
            "summary",
            "data=mitbih",
            f"data.root={mitdb_root}",
            "data.records=[100,232]",
            f"data.cache_dir={cache}",
            "data.preprocess=kachuee",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    text = (out / "counts.csv").read_text().splitlines()
    assert text[0] == "group,N,S,V,F,Q,total"
    want = {**annotated_counts(mitdb_root, 100)}
    row100 = dict(zip(text[0].split(","), text[1].split(",")))
    assert row100["group"] == "100"
    assert {k: int(row100[k]) for k in want} == want
    assert "TOTAL" in capsys.readouterr().out


def test_env_var_points_at_records(compose_train, mitdb_root, cache, monkeypatch):
    monkeypatch.setenv("GANAD_MITDB", str(mitdb_root))
    cfg = compose_train(
        ["data=mitbih", f"data.cache_dir={cache}", "data.download=false", "data.records=[100]"]
    ).data
    assert cfg.root is None
    assert counts_of(load_samples(cfg), 100)["V"] == 1


def test_bandpass_option(cfg_for, mitdb_root):
    from scipy.signal import filtfilt, firwin

    s = load_samples(cfg_for("data.records=[100]", "data.bandpass=[3,45]"))
    rec = wfdb.rdrecord(str(mitdb_root / "100"), channel_names=["MLII"])
    taps = firwin(108, [3, 45], pass_zero=False, fs=360)
    sig = filtfilt(taps, [1.0], rec.p_signal[:, 0])
    ann = wfdb.rdann(str(mitdb_root / "100"), "atr")
    r = [p for sym, p in zip(ann.symbol, ann.sample) if sym in SYMBOL_CLASS and p >= 140][5]
    w = sig[r - 140 : r + 180]
    assert np.allclose(s.x[5, 0], 2 * (w - w.min()) / (w.max() - w.min()) - 1, atol=1e-5)
    with pytest.raises(GanadInputError, match="data.bandpass"):
        load_samples(cfg_for("data.records=[100]", "data.bandpass=[3,400]", "data.cache=false"))


def test_extract_record_single(cfg_for, mitdb_root):
    """The per-record entry point `ganad detect` uses for .hea inputs."""
    from ganad_cli.data.mitbih import extract_record

    out = extract_record(mitdb_root, 232, cfg_for("data.records=[232]"))
    assert out["x"].shape[1:] == (1, 320) and list(out["channels"]) == ["MLII"]
    assert dict(zip(*np.unique(out["cls"], return_counts=True))) == annotated_counts(
        mitdb_root, 232, fits=lambda r: r - 140 >= 0 and r + 180 <= 650000
    )
    assert extract_record(mitdb_root, 104, cfg_for("data.preprocess=kachuee")) is None


# ---------------------------------------------------------------- BeatGAN's normal-beat filter


def test_near_rpeak_is_the_authors_strict_tolerance():
    from ganad_cli.data.rpeaks import near_rpeak

    peaks = np.array([1000, 100, 2000])  # any order
    beats = np.array([91, 109, 110, 990, 1009, 1500, 2011, 5])
    want = [True, True, False, False, True, False, False, False]
    assert near_rpeak(beats, peaks).tolist() == want
    assert not near_rpeak(beats, np.array([], dtype=int)).any()


def test_normal_r_filter_without_biosppy_is_one_line_error(cfg_for, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "biosppy", None)  # what an absent package looks like
    msg = _one_line_error(
        cfg_for("data.records=[100]", "data.normal_r_filter=biosppy"), "data.normal_r_filter"
    )
    assert "biosppy" in msg and "ganad[beatgan]" in msg
    _one_line_error(cfg_for("data.records=[100]", "data.normal_r_filter=pan"), "one of")


def test_normal_r_filter_drops_only_normals_far_from_a_detected_r_peak(
    cfg_for, mitdb_root, cache, tmp_path, capsys
):
    pytest.importorskip("biosppy.signals.ecg")
    recs = "data.records=[100,108]"
    plain = load_samples(cfg_for(recs))
    kept = load_samples(cfg_for(recs, "data.normal_r_filter=biosppy"))
    before, after = counts_of(plain, 100), counts_of(kept, 100)
    assert after == before  # a clean record loses nothing
    before, after = counts_of(plain, 108), counts_of(kept, 108)
    # 108 (noisy, large P waves): the detector misses many R peaks of normal beats
    assert 0.3 * before["N"] < before["N"] - after["N"] < before["N"]
    assert {c: n for c, n in after.items() if c != "N"} == {
        c: n for c, n in before.items() if c != "N"
    }
    # the kept beats are the unfiltered ones, in order
    rows = {row.tobytes(): i for i, row in enumerate(plain.x[:, 0])}
    idx = np.array([rows[row.tobytes()] for row in kept.x[:, 0]])
    assert np.all(np.diff(idx) > 0) and np.array_equal(plain.cls[idx], kept.cls)
    assert len(list((cache / "mitbih").glob("108-*.npz"))) >= 2  # the filter is in the key

    out = tmp_path / "summary"
    args = ["data", "summary", "data=mitbih", f"data.root={mitdb_root}", recs]
    args += [f"data.cache_dir={cache}", "data.normal_r_filter=biosppy", "--out", str(out)]
    code = main(args)
    assert code == 0
    info = json.loads((out / "summary.json").read_text())["normal_r_filter"]
    assert info["dropped"] == {"108": before["N"] - after["N"]}
    assert "data.normal_r_filter=biosppy" in capsys.readouterr().out
