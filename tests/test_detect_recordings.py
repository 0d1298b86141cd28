"""`ganad detect` on real recordings (issue 19): beats from a QRS detector when there is no
annotation file, any record name, resampling to the training rate, the lead by name, every beat
a row (edge beats marked), the per-record summary and tau, the pictures and the HTML report.

The detector is a real, untrained model with an identity score on the residual: these tests
check the recording path (beats, windows, resampling, table), not detection quality."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import wfdb
from omegaconf import OmegaConf

from ganad_cli.cli import main
from ganad_cli.data.recording import read_recording
from ganad_cli.detector import Detector
from ganad_cli.evaluation.beatscore import BeatOptions, score_recording

SECONDS = 120


@pytest.fixture(scope="module")
def mit_run(tmp_path_factory, compose_train, mitdb_root: Path) -> Path:
    """A run folder holding an untrained beatgan-preset MIT-BIH detector (tau 0.1)."""
    from ganad_cli.config import to_plain
    from ganad_cli.models import build_model
    from ganad_cli.scoring.combine import FittedScore

    overrides = ["data=mitbih", f"data.root={mitdb_root}", "model=ganomaly", "inversion=encoder"]
    cfg = compose_train(overrides)
    torch.manual_seed(0)
    model = build_model(cfg.model, (1, 320)).eval()
    score = FittedScore(["residual"], [0.0], [1.0], [1.0], combine="single")
    run = tmp_path_factory.mktemp("mit") / "run"
    inversion = to_plain(cfg.inversion)
    det = Detector(model, inversion, {"components": ["residual"]}, score, 0.1, to_plain(cfg.data))
    det.save(run / "detector.pt")
    return run


@pytest.fixture(scope="module")
def detector(mit_run: Path) -> Detector:
    return Detector.load(mit_run / "detector.pt")


def _copy(mitdb_root: Path, out: Path, name: str, rec: str = "100", with_atr: bool = False):
    """The first SECONDS of an MIT-BIH record under another name (optionally with its .atr)."""
    r = wfdb.rdrecord(str(mitdb_root / rec), sampto=360 * SECONDS, physical=False)
    out.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(
        name,
        fs=360,
        units=r.units,
        sig_name=r.sig_name,
        d_signal=r.d_signal,
        fmt=r.fmt,
        adc_gain=r.adc_gain,
        baseline=r.baseline,
        write_dir=str(out),
    )
    if with_atr:
        a = wfdb.rdann(str(mitdb_root / rec), "atr", sampto=360 * SECONDS)
        wfdb.wrann(name, "atr", a.sample, a.symbol, write_dir=str(out))
    return out / f"{name}.hea"


def _resampled(mitdb_root: Path, out: Path, name: str, fs: int, rec: str = "100") -> Path:
    """The same SECONDS resampled to fs Hz (wfdb.processing, annotations too), renamed."""
    from wfdb.processing import resample_multichan

    r = wfdb.rdrecord(str(mitdb_root / rec), sampto=360 * SECONDS)
    a = wfdb.rdann(str(mitdb_root / rec), "atr", sampto=360 * SECONDS)
    sig, ann = resample_multichan(r.p_signal, a, 360, fs)
    out.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(
        name, fs=fs, units=r.units, sig_name=r.sig_name, p_signal=sig, fmt=["16", "16"],
        write_dir=str(out),
    )  # fmt: skip
    wfdb.wrann(name, "atr", ann.sample, ann.symbol, write_dir=str(out))
    return out / f"{name}.hea"


def _reference(mitdb_root: Path, rec: str = "100") -> tuple[np.ndarray, np.ndarray]:
    rec_obj = read_recording(mitdb_root / f"{rec}.hea", "wfdb")
    keep = rec_obj.ann_samples < 360 * SECONDS
    return rec_obj.ann_samples[keep], rec_obj.ann_symbols[keep]


# ------------------------------------------------------------------------------- beats, QRS


def test_record_without_atr_gets_beats_from_xqrs_at_the_r_wave(
    detector, mitdb_root: Path, tmp_path: Path
):
    """A renamed copy without .atr: XQRS finds every reference beat, correct_peaks puts it
    within 2 samples of the annotated R peak."""
    rec = read_recording(_copy(mitdb_root, tmp_path, "patientA"), "wfdb")
    assert rec.ann_samples is None and rec.name == "patientA"
    out = score_recording(detector, rec, BeatOptions())
    ref, _ = _reference(mitdb_root)
    got = out.frame["sample"].to_numpy()
    assert out.info["beats_from"] == "xqrs" and "symbol" not in out.frame
    assert len(got) == len(ref)
    assert np.abs(got - ref).max() <= 2 and np.median(np.abs(got - ref)) == 0


@pytest.mark.parametrize("method", ["xqrs", "gqrs"])
def test_qrs_beats_compared_with_annotations_beside_the_record(
    detector, mitdb_root: Path, tmp_path: Path, method: str
):
    rec = read_recording(_copy(mitdb_root, tmp_path, "patientB", "119", with_atr=True), "wfdb")
    out = score_recording(detector, rec, BeatOptions(beats=method))
    q = out.info["qrs_vs_annotations"]
    assert q["reference_beats"] == len(_reference(mitdb_root, "119")[0])
    assert q["sensitivity"] > 0.98 and q["ppv"] > 0.98
    # matched beats carry the reference symbol and AAMI class (record 119 has many PVCs)
    assert set(out.frame["class"]) >= {"N", "V"}
    ref_samples, ref_symbols = _reference(mitdb_root, "119")
    near = np.abs(out.frame["sample"].to_numpy()[:, None] - ref_samples[None, :]).argmin(1)
    matched = out.frame["symbol"] != ""
    assert (out.frame["symbol"][matched] == ref_symbols[near[matched]]).all()


def test_annotated_record_gives_every_beat_a_row_and_the_training_windows(
    detector, mitdb_root: Path
):
    """Record 100 (30 min, .atr): 2,273 beats, the 2 edge beats as unscorable rows, and the
    scored beats' scores equal scoring the training extraction of the same record."""
    from ganad_cli.data.mitbih import extract_record

    out = score_recording(detector, read_recording(mitdb_root / "100.hea", "wfdb"))
    frame = out.frame
    assert len(frame) == 2273 and frame["scorable"].sum() == 2271
    assert out.info["chunks"] == 1 and out.info["beats_from"] == "annotations"
    edge = frame[frame["scorable"] == 0]
    assert list(edge.index) == [0, 2272] and edge["score"].isna().all()
    train = extract_record(mitdb_root, 100, OmegaConf.create(detector.data))
    want, _ = detector.decision_function(torch.from_numpy(train["x"]))
    scored = frame[frame["scorable"] == 1]
    np.testing.assert_allclose(scored["score"], want, rtol=1e-6)
    assert list(scored["class"]) == list(train["cls"])
    np.testing.assert_allclose(scored[["pre_rr", "post_rr"]], train["rr"][:, :2], rtol=1e-6)
    np.testing.assert_allclose(scored["template_mse"], train["rr"][:, 4], rtol=1e-5)
    ann = wfdb.rdann(str(mitdb_root / "100"), "atr")
    first = ann.sample[[s in "NA" for s in ann.symbol]][:3]
    np.testing.assert_array_equal(frame["sample"][:3], first)
    np.testing.assert_allclose(frame["time_s"], frame["sample"] / 360)
    np.testing.assert_allclose(frame["rr_after_s"][:-1], np.diff(frame["sample"]) / 360)
    assert np.isnan(frame["rr_before_s"][0]) and np.isnan(frame["rr_after_s"].iloc[-1])


# ---------------------------------------------------------------------- names, rate, leads

# Resampling 360 -> 500 -> 360 Hz (two polyphase filters) and rounding the R peaks to the
# coarser grid move a window by up to a sample; with the windows min-max scaled per beat, the
# scores of the same beats agree to within this relative tolerance.
RESAMPLED_RTOL = 0.05


def test_record_at_500_hz_is_resampled_and_scores_match_the_original(
    detector, mitdb_root: Path, tmp_path: Path
):
    orig = score_recording(detector, read_recording(mitdb_root / "100.hea", "wfdb"),
                           BeatOptions(chunk_s=SECONDS))  # fmt: skip
    orig = orig.frame[orig.frame["time_s"] < SECONDS - 1]
    path = _resampled(mitdb_root, tmp_path, "holter-patient_7", 500)
    out = score_recording(detector, read_recording(path, "wfdb"))
    assert out.info["fs"] == 500 and out.info["fs_model"] == 360 and out.info["resampled"]
    frame = out.frame[out.frame["time_s"] < SECONDS - 1]
    assert frame["record"].iloc[0] == "holter-patient_7"
    assert len(frame) == len(orig)
    np.testing.assert_allclose(frame["time_s"], orig["time_s"], atol=2 / 500)
    a, b = frame["score"].to_numpy(), orig["score"].to_numpy()
    ok = np.isfinite(a) & np.isfinite(b)
    assert ok.sum() >= len(a) - 2
    np.testing.assert_allclose(a[ok], b[ok], rtol=RESAMPLED_RTOL)
    # and beats from XQRS on the 500 Hz record, reported at 500 Hz sample indices
    q = score_recording(detector, read_recording(path, "wfdb"), BeatOptions(beats="xqrs"))
    assert q.info["qrs_vs_annotations"]["sensitivity"] > 0.99
    assert q.info["qrs_vs_annotations"]["ppv"] > 0.99


def test_raw_signal_csv_and_npy_with_a_stated_rate(detector, mitdb_root: Path, tmp_path: Path):
    path = _resampled(mitdb_root, tmp_path, "r500", 500)
    wf = score_recording(detector, read_recording(path, "wfdb"), BeatOptions(beats="xqrs"))
    sig = wfdb.rdrecord(str(path.with_suffix(""))).p_signal
    pd.DataFrame(sig, columns=["MLII", "V5"]).to_csv(tmp_path / "r500.csv", index=False)
    np.save(tmp_path / "r500.npy", sig[:, :1])
    for rec in (
        read_recording(tmp_path / "r500.csv", "signal", fs=500),
        read_recording(tmp_path / "r500.npy", "signal", fs=500),  # one unnamed column: the lead
    ):
        out = score_recording(detector, rec)
        np.testing.assert_array_equal(out.frame["sample"], wf.frame["sample"])
        np.testing.assert_allclose(out.frame["score"], wf.frame["score"], rtol=1e-3)


def _err_line(capsys) -> str:
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1, err
    return err[0]


def test_missing_lead_is_one_line_listing_the_records_leads(
    mit_run: Path, mitdb_root: Path, tmp_path: Path, capsys
):
    path = _copy(mitdb_root, tmp_path, "patientC")
    assert main(["detect", f"run={mit_run}", f"input={path}", "lead=II"]) == 2
    err = _err_line(capsys)
    assert err.startswith("ganad: error:") and "'II'" in err and "['MLII', 'V5']" in err
    assert main(["detect", f"run={mit_run}", f"input={path}", "beats=annotations"]) == 2
    assert "no annotation file" in _err_line(capsys)
    assert main(["detect", f"run={mit_run}", f"input={tmp_path / 'x.csv'}", "fs=500"]) == 2
    _err_line(capsys)
    np.save(tmp_path / "sig.npy", np.zeros((5000, 2)))
    assert main(["detect", f"run={mit_run}", f"input={tmp_path / 'sig.npy'}", "fs=500"]) == 2
    assert "['signal0', 'signal1']" in _err_line(capsys)
    assert not (mit_run / "detections").exists()
    # the other lead by name works
    out = tmp_path / "v5.csv"
    args = ["detect", f"run={mit_run}", f"input={path}", "lead=V5", "report=false"]
    assert main([*args, f"output={out}"]) == 0
    assert len(pd.read_csv(out)) > 100


# ------------------------------------------------------------------------ summary and tau


def _metrics(run: Path, rate: float) -> None:
    """metrics.json as `ganad train` writes it: validation normals' flagged rate at tau."""
    per_class = {"N": {"n": 500, "flagged_rate": rate}, "V": {"n": 20, "flagged_rate": 0.9}}
    (run / "metrics.json").write_text(json.dumps({"val/per_class": per_class}))


def test_cli_writes_table_summary_pictures_and_a_self_contained_report(
    mit_run: Path, mitdb_root: Path, tmp_path: Path
):
    _metrics(mit_run, 0.02)
    path = _copy(mitdb_root, tmp_path / "rec", "patientD", with_atr=True)
    out_csv = tmp_path / "beats.csv"
    args = [f"run={mit_run}", f"input={path}", "beats=xqrs", f"output={out_csv}"]
    assert main(["detect", *args]) == 0
    frame = pd.read_csv(out_csv, keep_default_na=False, na_values=[""])
    for col in ("record", "sample", "time_s", "rr_before_s", "rr_after_s", "symbol", "class",
                "scorable", "score", "residual", "prediction"):  # fmt: skip
        assert col in frame.columns
    assert (frame["record"] == "patientD").all()
    (folder,) = [
        p.parent
        for p in (mit_run / "detections").rglob("summary.json")
        if json.loads(p.read_text())["record"] == "patientD"
    ]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["beats"] == len(frame) and summary["flagged"] == frame["prediction"].sum()
    assert summary["qrs_vs_annotations"]["sensitivity"] == 1.0
    # tau 0.1 on an untrained model flags every beat: far above the 2 % of validation normals
    assert summary["flagged_share"] == 1.0 and "may not transfer" in summary["warning"]
    assert summary["validation_normal_flag_rate"] == pytest.approx(0.02)
    for png in ("timeline.png", "zoom.png", "scores.png", "top_anomalies.png"):
        assert (folder / png).stat().st_size > 5000
    page = (folder / "report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 4 and all(base64.b64decode(i)[:4] == b"\x89PNG" for i in images)
    assert "may not transfer" in page and not re.search(r'src="(?!data:)', page)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, mitdb_root: Path) -> Path:
    """A tiny detector really trained (autoencoder, experiment=smoke: 900 beats of records
    100, 101, 103 and 113 on MLII, 4 epochs); tau = its validation normals' 95th percentile."""
    run = tmp_path_factory.mktemp("trained") / "run"
    args = ["train", "experiment=smoke", "data=mitbih", f"data.root={mitdb_root}",
            "data.records=[100,101,103,113]", "data.cache=false", "model=autoencoder",
            "trainer.max_epochs=4", "threads=1", f"hydra.run.dir={run}"]  # fmt: skip
    assert main(args) == 0
    return run


def _summary_of(run: Path, record: str) -> dict:
    (summary,) = [
        json.loads(p.read_text())
        for p in (run / "detections").rglob("summary.json")
        if json.loads(p.read_text())["record"] == record
    ]
    return summary


def test_threshold_transfer_warning_on_an_unseen_recording(
    trained_run: Path, mitdb_root: Path, tmp_path: Path
):
    """Record 119 is not in the training records. Its MLII lead, the training lead: about as
    many normals flagged as in validation, no warning. Its V1 lead, as if the electrodes sat
    elsewhere: most normal beats are flagged, far above the validation rate, and summary.json
    warns that tau may not transfer."""
    path = _copy(mitdb_root, tmp_path, "unseen119", "119", with_atr=True)
    for lead, record in (("MLII", "mlii"), ("V1", "v1")):
        args = ["detect", f"run={trained_run}", f"input={path}", f"lead={lead}",
                f"record={record}", "report=false", f"output={tmp_path / record}.csv"]  # fmt: skip
        assert main(args) == 0
    val = _summary_of(trained_run, "mlii")["validation_normal_flag_rate"]
    assert 0 < val < 0.1  # tau is the 95th percentile of validation normals
    mlii, v1 = _summary_of(trained_run, "mlii"), _summary_of(trained_run, "v1")
    assert mlii["annotated_normal_flag_rate"] < 2 * val and "warning" not in mlii
    assert v1["annotated_normal_flag_rate"] > 5 * val and v1["flagged_share"] > 3 * val
    assert "may not transfer" in v1["warning"] and "v1" in v1["warning"]


def test_report_zooms_on_the_most_anomalous_flagged_beats(
    detector, mitdb_root: Path, tmp_path: Path
):
    """zoom.png: one strip of zoom_s seconds per stretch around the highest-scoring flagged
    beats, the ECG read again from the recording in pieces of zoom_s only."""
    from ganad_cli.runs.detect_report import strip_beats, write_report
    from ganad_cli.tasks.detect import summarize, tau_options

    rec = read_recording(_copy(mitdb_root, tmp_path, "patientZ", "119", with_atr=True), "wfdb")
    result = score_recording(detector, rec)
    summary = summarize(result, detector, tau_options(OmegaConf.create({})), None)
    frame = result.frame
    rows = strip_beats(frame, 4, 10.0)
    times = frame["time_s"][rows].to_numpy()
    # the highest score first, then the highest ones at least 10 s from those chosen
    assert rows[0] == frame["score"].idxmax() and len(rows) == 4
    assert (np.abs(times[:, None] - times[None, :]) + 10 * np.eye(4) >= 10).all()
    assert list(frame["score"][rows]) == sorted(frame["score"][rows], reverse=True)
    reads = []
    inner = rec.read
    rec.read = lambda a, b, ch: reads.append(b - a) or inner(a, b, ch)
    page = write_report(tmp_path / "out", result, summary, zoom_k=4, zoom_s=10.0).read_text()
    assert reads == [3600] * 4
    png = tmp_path / "out" / "zoom.png"
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 20000
    assert "zoomed: 10 s around the most anomalous flagged beats" in page
    # nothing flagged: no strips
    summary = summarize(result, detector, tau_options(OmegaConf.create({})), None)
    frame["prediction"] = 0
    write_report(tmp_path / "none", result, summary)
    assert not (tmp_path / "none" / "zoom.png").exists()


def test_label_free_tau_from_the_records_scores(mit_run: Path, mitdb_root: Path, tmp_path):
    from ganad_cli.tasks.detect import record_tau, summarize, tau_options, validation_flag_rate

    _metrics(mit_run, 0.02)
    det = Detector.load(mit_run / "detector.pt")
    rec = read_recording(_copy(mitdb_root, tmp_path, "patientE", "119", with_atr=True), "wfdb")
    result = score_recording(det, rec)
    scores = result.frame["score"].to_numpy()
    cfg = OmegaConf.create({"tau": "mad", "tau_k": 3.0})
    s = summarize(result, det, tau_options(cfg), validation_flag_rate(mit_run, det))
    med = np.nanmedian(scores)
    assert s["tau"] == pytest.approx(med + 3 * 1.4826 * np.nanmedian(np.abs(scores - med)))
    assert s["tau_from"] == "mad" and s["flagged"] == int((scores > s["tau"]).sum())
    assert s["flagged_share"] < 0.2 and s["run_tau"] == 0.1  # the run's tau flags every beat
    cfg = OmegaConf.create({"tau": "quantile", "tau_quantile": 0.9})
    s = summarize(result, det, tau_options(cfg), None)
    assert s["tau"] == pytest.approx(record_tau(scores, "quantile", 0.9, 1.0))
    assert s["tau"] == pytest.approx(np.nanquantile(scores, 0.9))
    assert s["flagged_share"] == pytest.approx(0.1, abs=0.01) and "warning" not in s
    with pytest.raises(Exception, match="tau"):
        tau_options(OmegaConf.create({"tau": "median"}))


def test_python_m_ganad_cli_runs():
    done = subprocess.run(
        [sys.executable, "-m", "ganad_cli", "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "detect" in done.stdout


# ------------------------------------------------------------------------ long recordings


def test_chunked_scoring_reads_bounded_pieces_and_matches_one_pass(
    detector, mitdb_root: Path, tmp_path: Path
):
    """30 s chunks of a 2-minute record (margins: at least TEMPLATE_CONTEXT_S, so the 20
    neighbours of template_mse are inside): no read is longer than a chunk and its margins, and
    every beat gets the same row, template_mse and score as in one pass."""
    from ganad_cli.evaluation.beatscore import TEMPLATE_CONTEXT_S

    path = _copy(mitdb_root, tmp_path, "patientF", "119", with_atr=True)
    whole = score_recording(detector, read_recording(path, "wfdb"))
    rec = read_recording(path, "wfdb")
    reads = []
    inner = rec.read
    rec.read = lambda a, b, ch: reads.append(b - a) or inner(a, b, ch)
    opts = BeatOptions(chunk_s=30, margin_s=10)
    chunked = score_recording(detector, rec, opts)
    assert chunked.info["chunks"] == 4 and max(reads) <= 360 * (30 + 2 * TEMPLATE_CONTEXT_S)
    assert whole.frame["template_mse"].notna().sum() == whole.frame["scorable"].sum()
    pd.testing.assert_frame_equal(chunked.frame, whole.frame)
    assert [t[1] for t in chunked.top] == [t[1] for t in whole.top]
    # beats from XQRS per chunk: the same beats, none doubled at a chunk boundary
    q1 = score_recording(detector, read_recording(path, "wfdb"), BeatOptions(beats="xqrs"))
    q4 = score_recording(
        detector, read_recording(path, "wfdb"), BeatOptions(beats="xqrs", chunk_s=30)
    )
    assert len(q4.frame) == len(q1.frame)
    moved = np.abs(q4.frame["sample"].to_numpy() - q1.frame["sample"].to_numpy())
    # XQRS learns its thresholds per chunk: a peak may land on another sample of its QRS
    assert (moved <= 2).mean() > 0.97 and moved.max() < 0.15 * 360
    assert q4.info["qrs_vs_annotations"]["ppv"] == q1.info["qrs_vs_annotations"]["ppv"]


# ------------------------------------------------------------------------ EDF, Python API


def test_edf_recording_scores_like_its_wfdb_original(detector, mitdb_root: Path, tmp_path):
    from wfdb.io.convert.edf import wfdb_to_edf

    path = _copy(mitdb_root, tmp_path, "patientG")
    edf = tmp_path / "patientG.edf"
    wfdb_to_edf(str(path.with_suffix("")), output_filename=str(edf))
    rec = read_recording(edf, "edf")
    assert rec.source == "edf" and rec.fs == 360 and rec.sig_names == ["MLII", "V5"]
    out = score_recording(detector, rec)
    wf = score_recording(detector, read_recording(path, "wfdb"))
    # the EDF is padded to whole 10 s data records: compare the recording's own span
    got = out.frame[out.frame["sample"] < 360 * (SECONDS - 1)]
    want = wf.frame[wf.frame["sample"] < 360 * (SECONDS - 1)]
    np.testing.assert_array_equal(got["sample"], want["sample"])
    ok = (got["scorable"] == 1).to_numpy() & (want["scorable"] == 1).to_numpy()
    np.testing.assert_allclose(got["score"][ok], want["score"][ok], rtol=0.02)


def _edf_plus(
    mitdb_root: Path,
    path: Path,
    rec: str = "119",
    annotations: list[tuple[float, str]] | None = None,
    extra_signal_fs: int | None = None,
) -> Path:
    """SECONDS of an MIT-BIH record as EDF+ written by pyedflib, with its .atr beats as EDF+
    annotations (onset = R peak, text = symbol) or the given ones; optionally a third signal
    at another rate (a respiration channel, as in polysomnography)."""
    pyedflib = pytest.importorskip("pyedflib")
    r = wfdb.rdrecord(str(mitdb_root / rec), sampto=360 * SECONDS)
    if annotations is None:
        a = wfdb.rdann(str(mitdb_root / rec), "atr", sampto=360 * SECONDS)
        annotations = [(s / 360, sym) for s, sym in zip(a.sample, a.symbol)]
    header = {"dimension": "mV", "physical_min": -10.24, "physical_max": 10.235,
              "digital_min": -2048, "digital_max": 2047}  # fmt: skip
    signals = [r.p_signal[:, i].copy() for i in range(2)]
    headers = [{**header, "label": n, "sample_frequency": 360} for n in r.sig_name]
    if extra_signal_fs:
        t = np.arange(SECONDS * extra_signal_fs) / extra_signal_fs
        signals.append(np.sin(2 * np.pi * 0.25 * t))
        headers.append({**header, "label": "Resp", "sample_frequency": extra_signal_fs})
    f = pyedflib.EdfWriter(str(path), len(signals), file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        f.setSignalHeaders(headers)
        f.set_number_of_annotation_signals(4)  # room for ~2 beats per 1 s data record
        f.writeSamples(signals)
        for onset, text in annotations:
            f.writeAnnotation(onset, -1, text)
    finally:
        f.close()
    return path


def test_edf_is_read_in_bounded_pieces_and_chunks_score_like_one_pass(
    detector, mitdb_root: Path, tmp_path: Path
):
    """An EDF+ file (pyedflib): a read of a few seconds allocates a few seconds of samples,
    not the file; 30 s chunks give the same per-beat table as one pass; the EDF+ beat
    annotations are the reference beats, as a .atr is."""
    import tracemalloc

    path = _edf_plus(mitdb_root, tmp_path / "patientJ.edf")
    tracemalloc.start()
    rec = read_recording(path, "edf")
    piece = rec.read(3600, 3600 + 360 * 5, [0])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # the whole signal as floats is 691 kB; pyedflib's reader takes a fixed ~150 kB buffer
    assert piece.shape == (1800, 1) and peak < 8 * 2 * 360 * SECONDS / 2
    assert rec.sig_names == ["MLII", "V1"] and rec.fs == 360
    ref_samples, ref_symbols = _reference(mitdb_root, "119")
    atr = wfdb.rdann(str(mitdb_root / "119"), "atr", sampto=360 * SECONDS)
    others = len(atr.sample) - len(ref_samples)  # rhythm changes, signal quality
    assert others > 0 and rec.ann_info == {
        "from": "EDF+ annotations", "beats": len(ref_samples), "other_annotations": others
    }  # fmt: skip
    np.testing.assert_array_equal(rec.ann_samples, ref_samples)
    np.testing.assert_array_equal(rec.ann_symbols, ref_symbols)
    whole = score_recording(detector, read_recording(path, "edf"))
    reads = []
    inner = rec.read
    rec.read = lambda a, b, ch: reads.append(b - a) or inner(a, b, ch)
    chunked = score_recording(detector, rec, BeatOptions(chunk_s=30))
    assert whole.info["chunks"] == 1 and chunked.info["chunks"] == 4
    assert max(reads) < 360 * SECONDS and chunked.info["beats_from"] == "annotations"
    assert chunked.info["annotations"]["from"] == "EDF+ annotations"
    pd.testing.assert_frame_equal(chunked.frame, whole.frame)
    assert set(whole.frame["class"]) >= {"N", "V"} and whole.frame["score"].notna().sum() > 125
    # beats from XQRS, compared with the EDF+ beat annotations as with a .atr
    q = score_recording(detector, read_recording(path, "edf"), BeatOptions(beats="xqrs"))
    assert q.info["qrs_vs_annotations"]["reference_beats"] == len(ref_samples)
    assert q.info["qrs_vs_annotations"]["sensitivity"] > 0.98
    assert q.info["qrs_vs_annotations"]["ppv"] > 0.98


def test_edf_annotations_that_are_not_beats_fall_back_to_qrs_detection(
    mit_run: Path, mitdb_root: Path, tmp_path: Path, capsys
):
    """EDF+ events that are not beat labels: beats=auto detects QRS and summary.json says
    why; beats=annotations is one line. A respiration signal at 25 Hz beside the 360 Hz ECG
    does not change the ECG's rate."""
    events = [(0.0, "Lights off"), (30.0, "Sleep stage W"), (60.0, "Sleep stage N1")]
    path = _edf_plus(mitdb_root, tmp_path / "psg.edf", "100", events, extra_signal_fs=25)
    out = tmp_path / "psg.csv"
    args = ["detect", f"run={mit_run}", f"input={path}", "report=false", f"output={out}"]
    assert main(args) == 0
    (summary,) = [
        json.loads(p.read_text())
        for p in (mit_run / "detections").rglob("summary.json")
        if json.loads(p.read_text())["record"] == "psg"
    ]
    assert summary["beats_from"] == "xqrs" and summary["fs"] == 360
    assert "qrs_vs_annotations" not in summary
    note = summary["annotations"]
    assert note["beats"] == 0 and note["annotations"] == 3 and "not beat labels" in note["note"]
    assert summary["beats"] == len(pd.read_csv(out)) == len(_reference(mitdb_root, "100")[0])
    assert main([*args, "beats=annotations"]) == 2
    err = _err_line(capsys)
    assert err.startswith("ganad: error:") and "not beat labels" in err and "psg" in err


def test_python_api_scores_a_numpy_recording_like_the_cli(
    mit_run: Path, mitdb_root: Path, tmp_path: Path
):
    from ganad_cli.tasks.detect import score_signal

    det = Detector.load(mit_run / "detector.pt")
    path = _copy(mitdb_root, tmp_path, "patientH", with_atr=True)
    r = wfdb.rdrecord(str(path.with_suffix("")), physical=False)
    sig = (r.d_signal - np.asarray(r.baseline)) / np.asarray(r.adc_gain)
    samples, symbols = _reference(mitdb_root)
    frame, summary = score_signal(
        det, sig, 360, leads=r.sig_name, name="patientH", ann_samples=samples, ann_symbols=symbols
    )
    out = tmp_path / "cli.csv"
    args = ["detect", f"run={mit_run}", f"input={path}", "report=false", f"output={out}"]
    assert main(args) == 0
    cli = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert list(frame.columns) == list(cli.columns)
    np.testing.assert_array_equal(frame["sample"], cli["sample"])
    np.testing.assert_allclose(frame["score"], cli["score"], rtol=1e-6)
    assert summary["beats"] == len(cli) and summary["beats_from"] == "annotations"
    assert list(frame["prediction"].fillna(-1)) == list(cli["prediction"].fillna(-1))


def test_a_recording_without_beats_gives_an_empty_table_and_a_report(mit_run: Path, tmp_path):
    np.save(tmp_path / "flat.npy", np.zeros((360 * 20, 1)))
    out = tmp_path / "flat.csv"
    args = ["detect", f"run={mit_run}", f"input={tmp_path / 'flat.npy'}", "fs=360"]
    assert main([*args, f"output={out}"]) == 0
    assert len(pd.read_csv(out)) == 0
    (summary,) = [
        json.loads(p.read_text())
        for p in (mit_run / "detections").rglob("summary.json")
        if json.loads(p.read_text())["record"] == "flat"
    ]
    assert (
        summary["beats"] == 0
        and summary["flagged_share"] is None
        and Path(summary["report"]).is_file()
    )
