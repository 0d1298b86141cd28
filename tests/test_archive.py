"""A run folder's small files survive a change of machine (ganad_cli.runs.archive)."""

from __future__ import annotations

import gzip
from pathlib import Path

from ganad_cli.runs.archive import archive_run, restore_run


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_archive_keeps_what_tables_read_and_restores_it(tmp_path: Path) -> None:
    run = tmp_path / "run"
    small = {
        "metrics.json": b'{"test/auroc": 0.9}',
        "runtime.json": b'{"epochs": 3}',
        ".hydra/config.yaml": b"seed: 0\n",
        "logs/metrics.csv": b"epoch,val/epoch_auroc\n0,0.8\n",
        "scores.csv": b"index,label,score\n" + b"0,0,0.1\n" * 500,
        "evaluations/equal/scores.csv": b"index,label,score\n1,1,0.9\n",
        "evaluations/equal/metrics.json": b"{}",
    }
    heavy = ["checkpoints/last.ckpt", "detector.pt", "plots/roc.png", ".ganad.lock"]
    for name, data in small.items():
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_bytes(data)
    for name in heavy:
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_bytes(b"weights")
    log = tmp_path / "job0.log"
    log.write_text("$ ganad train data.fold=0\n")

    kept = archive_run(run, tmp_path / "archive" / "0", log)
    names = set(_files(kept))
    assert "scores.csv.gz" in names and "scores.csv" not in names and "job.log" in names
    assert not names & set(heavy) and not any(n.startswith("checkpoints") for n in names)
    assert gzip.decompress((kept / "scores.csv.gz").read_bytes()) == small["scores.csv"]
    assert len((kept / "scores.csv.gz").read_bytes()) < len(small["scores.csv"])

    # another machine: a partial run folder of the same fold is replaced by the finished one
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "runs" / "0" / "checkpoints").mkdir(parents=True)
    (elsewhere / "runs" / "0" / "checkpoints" / "last.ckpt").write_bytes(b"old")
    restore_run(kept, elsewhere / "runs" / "0", elsewhere / "job0.log")
    assert _files(elsewhere / "runs" / "0") == small
    assert (elsewhere / "job0.log").read_text() == log.read_text()


def test_archiving_again_replaces_the_previous_copy(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text("1")
    dest = archive_run(run, tmp_path / "a" / "0")
    (run / "metrics.json").write_text("2")
    (run / "extra.json").write_text("{}")
    archive_run(run, dest)
    assert _files(dest) == {"metrics.json": b"2", "extra.json": b"{}"}
    assert not (tmp_path / "a" / "0.partial").exists()


def test_archiving_the_same_scores_again_gives_the_same_bytes(tmp_path: Path, monkeypatch) -> None:
    """A resumed reproduction re-archives finished folds: git must see no change."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "scores.csv").write_bytes(b"index,label,score\n" + b"0,0,0.1\n" * 50)
    monkeypatch.setattr(gzip.time, "time", lambda: 1_000_000.0)
    first = archive_run(run, tmp_path / "a" / "0")
    packed = (first / "scores.csv.gz").read_bytes()
    monkeypatch.setattr(gzip.time, "time", lambda: 2_000_000.0)  # archived a day later
    again = archive_run(run, first)
    assert (again / "scores.csv.gz").read_bytes() == packed
