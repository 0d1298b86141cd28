"""Benchmark `ganad detect` on a 24-hour Holter-length recording: peak memory and beats/s.

Builds a long WFDB record (360 Hz, MLII) by concatenating MIT-BIH records (48 x 30 min = 24 h,
31 M samples) into a scratch folder, with or without the concatenated .atr, then scores it in a
fresh child process with `ganad_cli.evaluation.beatscore.score_recording` (chunked reading) on a
given
number of CPU threads, and prints the child's peak resident memory and its throughput.

    python scripts/bench_detect_holter.py --run <run folder> [--hours 24] [--threads 2]
    python scripts/bench_detect_holter.py --untrained        # an untrained beatgan detector

This is a benchmark script, not a test: a 24-hour run takes minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def make_record(out: Path, hours: float, mitdb: Path, with_atr: bool) -> Path:
    """Concatenate MIT-BIH records' MLII (record order, repeated) up to `hours`."""
    import numpy as np
    import wfdb

    from ganad_cli.data.mitbih import ALL_RECORDS

    target = int(hours * 3600 * 360)
    parts, samples, symbols, total = [], [], [], 0
    i = 0
    while total < target:
        rec = ALL_RECORDS[i % len(ALL_RECORDS)]
        i += 1
        r = wfdb.rdrecord(str(mitdb / str(rec)), physical=False)
        if "MLII" not in r.sig_name:
            continue
        d = r.d_signal[:, r.sig_name.index("MLII")].astype(np.int16)[: target - total]
        parts.append(d)
        if with_atr:
            a = wfdb.rdann(str(mitdb / str(rec)), "atr")
            keep = a.sample < len(d)
            samples.append(a.sample[keep] + total)
            symbols += list(np.asarray(a.symbol)[keep])
        total += len(d)
    signal = np.concatenate(parts)[:, None]
    out.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(
        "holter", fs=360, units=["mV"], sig_name=["MLII"], d_signal=signal, fmt=["16"],
        adc_gain=[200.0], baseline=[1024], write_dir=str(out),
    )  # fmt: skip
    if with_atr:
        wfdb.wrann("holter", "atr", np.concatenate(samples), symbols, write_dir=str(out))
    return out / "holter.hea"


def untrained_run(out: Path) -> Path:
    """A run folder with an untrained beatgan-preset ganomaly detector (cost, not quality)."""
    import torch
    from hydra import compose, initialize_config_dir

    from ganad_cli.config import register_configs, to_plain
    from ganad_cli.detector import Detector
    from ganad_cli.models import build_model
    from ganad_cli.paths import conf_dir
    from ganad_cli.scoring.combine import FittedScore

    register_configs()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose("train", overrides=["data=mitbih", "model=ganomaly", "inversion=encoder"])
    torch.manual_seed(0)
    model = build_model(cfg.model, (1, 320)).eval()
    score = FittedScore(["residual"], [0.0], [1.0], [1.0], combine="single")
    det = Detector(model, to_plain(cfg.inversion), {"components": ["residual"]}, score, 0.1, {})
    det.data = to_plain(cfg.data)
    det.save(out / "detector.pt")
    return out


def peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM: reset by exec, unlike ru_maxrss, which a
    child inherits from the parent it was forked from)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def score_child(args: argparse.Namespace) -> None:
    import torch

    from ganad_cli.data.recording import read_recording
    from ganad_cli.detector import Detector
    from ganad_cli.evaluation.beatscore import BeatOptions, score_recording

    torch.set_num_threads(args.threads)
    det = Detector.load(Path(args.run) / "detector.pt")
    rec = read_recording(Path(args.record), "wfdb")
    opts = BeatOptions(beats=args.beats, chunk_s=args.chunk_s)
    t0 = time.perf_counter()
    out = score_recording(det, rec, opts)
    seconds = time.perf_counter() - t0
    info = {
        "samples": rec.n_samples,
        "hours": rec.n_samples / rec.fs / 3600,
        "beats": len(out.frame),
        "beats_from": out.info["beats_from"],
        "chunks": out.info["chunks"],
        "seconds": seconds,
        "beats_per_s": len(out.frame) / seconds,
        "qrs_vs_annotations": out.info.get("qrs_vs_annotations"),
        "peak_rss_mib": peak_rss_mib(),
    }
    print(json.dumps(info))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", help="run folder with detector.pt (a beatgan-preset MIT-BIH run)")
    p.add_argument("--untrained", action="store_true", help="use an untrained detector")
    p.add_argument("--hours", type=float, default=24.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--beats", default="xqrs", help="auto | annotations | xqrs | gqrs")
    p.add_argument("--chunk-s", dest="chunk_s", type=float, default=3600.0)
    p.add_argument(
        "--mitdb", default=os.environ.get("GANAD_MITDB", REPO.parent / "shared/data/mitdb")
    )
    p.add_argument("--workdir", help="scratch folder (default: a temporary one)")
    p.add_argument("--record", help=argparse.SUPPRESS)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return score_child(args)
    if not args.run and not args.untrained:
        p.error("give --run <run folder> or --untrained")
    work = Path(args.workdir or tempfile.mkdtemp(prefix="ganad-holter-"))
    if args.untrained:
        args.run = str(untrained_run(work / "run"))
    t0 = time.perf_counter()
    record = make_record(work / "rec", args.hours, Path(args.mitdb), args.beats != "xqrs")
    print(f"wrote {record} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, __file__, "--child", "--run", args.run, "--record", str(record)]
    cmd += ["--threads", str(args.threads), "--beats", args.beats, "--chunk-s", str(args.chunk_s)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(done.stderr)
    info = json.loads(done.stdout.strip().splitlines()[-1])
    info["threads"] = args.threads
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()
