"""One prepared GPU check (issue 21): train, Table-1 bench and encoder throughput on CUDA.

In under five minutes on one GPU:
  1. trains the BeatGAN preset (experiment=beatgan_mitbih, --epochs epochs) on CUDA; without the
     MIT-BIH records ($GANAD_MITDB) it trains model=beatgan on the synthetic ECG instead (and
     says so);
  2. runs `ganad bench` Table-1 rows (AnoGAN at eps 0.005/0.05 x n_max 100/500/1000 x batch
     64/512, and the encoder) on that run, on CUDA;
  3. measures encoder throughput of every encoder model at batch 512 (scripts/bench_encoder.py);
and writes one Markdown file of timings (default scripts/results/gpu_check.md), next to the
survey's 38.27 ms/beat (AnoGAN, batch 64) and 0.08 ms/beat (encoder, batch 512) and our goals
(<= 1 ms/beat for AnoGAN at the reference AUROC, >= 1 M beats/s for the encoder).

Without CUDA the CUDA steps are reported as skipped; --cpu runs the same steps on the CPU instead
(to check the script), --tiny shrinks every step to seconds (smoke data, 1 epoch, tiny grid).
No network is needed. Each step runs as its own process (`python -m ganad_cli.cli ...`).

    python scripts/gpu_check.py [--cpu] [--tiny] [--epochs 3] [--out scripts/results/gpu_check.md]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SURVEY = "survey: AnoGAN 38.27 ms/beat at batch 64; encoder 0.08 ms/beat at batch 512"
GOALS = "goals: AnoGAN <= 1 ms/beat at the reference AUROC; encoder >= 1,000,000 beats/s"


def mitbih_available() -> bool:
    root = os.environ.get("GANAD_MITDB", "")
    return bool(root) and Path(root).is_dir() and any(Path(root).glob("*.hea"))


def run_step(cmd: list[str], timeout: float, env: dict) -> tuple[str, float, str]:
    """(status, seconds, output tail) of one step run as its own process."""
    t0 = time.perf_counter()
    try:
        out = subprocess.run(
            cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return "failed (timeout)", time.perf_counter() - t0, ""
    seconds = time.perf_counter() - t0
    tail = (out.stdout + out.stderr)[-1500:]
    return ("ok" if out.returncode == 0 else f"failed (exit {out.returncode})"), seconds, tail


def plan(args, device: str, run_dir: Path, enc_out: Path) -> list[tuple[str, list[str], float]]:
    ganad = [sys.executable, "-m", "ganad_cli.cli"]
    # not trainer=gpu: the BeatGAN preset overrides the trainer group itself
    trainer = ["trainer.accelerator=gpu", "trainer.deterministic=false"] if device == "cuda" else []
    common = ["quiet=true", "plots=false", "logger=none", f"hydra.run.dir={run_dir}"]
    if args.tiny:
        data = ["experiment=smoke", "model=beatgan", "inversion=encoder", "score=residual"]
        epochs = 1
    elif mitbih_available():
        data = ["experiment=beatgan_mitbih", "trainer.select_epoch=last"]
        epochs = args.epochs
    else:
        data = ["model=beatgan", "inversion=encoder", "score=residual"]
        epochs = args.epochs
    train = [*ganad, "train", *data, *trainer, f"trainer.max_epochs={epochs}", *common]
    if args.tiny:
        grid = ["bench.n=24", "bench.eps=[0.05]", "bench.n_max=[3]", "bench.batch=[8]"]
        grid += ["bench.warmup_steps=1", "bench.min_timings=1"]
        enc = ["--models", "beatgan", "--n", "64", "--batch", "32"]
    else:
        grid = ["bench.n=256", "bench.batch=[64,512]"]
        enc = ["--n", "65536" if device == "cuda" else "4096"]
    bench = [*ganad, "bench", f"run={run_dir}", "bench=table1", f"device={device}", *grid]
    encoder = [
        sys.executable,
        str(REPO / "scripts" / "bench_encoder.py"),
        "--device",
        device,
        "--threads",
        str(os.cpu_count() or 1),
        "--out",
        str(enc_out),
        *enc,
    ]
    # the GPU budget is five minutes in all; a tiny check on a loaded CPU may need far longer
    limits = (240.0, 240.0, 120.0) if args.step_timeout is None else (args.step_timeout,) * 3
    return [
        (f"train ({' '.join(data)}, {epochs} epoch(s))", train, limits[0]),
        ("ganad bench, Table-1 rows", bench, limits[1]),
        ("encoder throughput (scripts/bench_encoder.py)", encoder, limits[2]),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpu", action="store_true", help="run the steps on the CPU if no CUDA")
    ap.add_argument("--tiny", action="store_true", help="seconds-long steps (a script check)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--step-timeout", type=float, default=None, help="seconds per step")
    ap.add_argument("--out", default=str(REPO / "scripts" / "results" / "gpu_check.md"))
    ap.add_argument("--workdir", default=None, help="where the run folder goes (default: temp)")
    args = ap.parse_args()
    import torch

    from ganad_cli.hardware import machine_line

    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else ("cpu" if args.cpu else None)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="ganad_gpu_check_"))
    run_dir, enc_out = work / "run", work / "encoder_throughput.md"
    env = {**os.environ, "PYTHONPATH": str(REPO), "CI": "true"}
    name = torch.cuda.get_device_name(0) if cuda else "no CUDA device"
    lines = [
        "# GPU check (scripts/gpu_check.py)",
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC with "
        f"`python scripts/gpu_check.py{' --cpu' if args.cpu else ''}"
        f"{' --tiny' if args.tiny else ''} --epochs {args.epochs}`.",
        "",
        f"- Device: {name}; CUDA {torch.version.cuda}; {machine_line()}.",
        f"- Steps run on: {device or 'nothing (CUDA not available; --cpu not given)'}.",
        f"- Reference: {SURVEY}; {GOALS}.",
        "",
        "| step | device | status | wall s |",
        "|---|---|---|---|",
    ]
    details: list[str] = []
    total = time.perf_counter()
    failed = False
    steps = plan(args, device or "cuda", run_dir, enc_out)
    for i, (label, cmd, timeout) in enumerate(steps):
        if device is None:
            lines.append(f"| {label} | cuda | skipped: CUDA not available | – |")
            continue
        if failed:
            lines.append(f"| {label} | {device} | skipped: an earlier step failed | – |")
            continue
        print(f"[{i + 1}/{len(steps)}] {label}", flush=True)
        status, seconds, tail = run_step(cmd, timeout, env)
        lines.append(f"| {label} | {device} | {status} | {seconds:.1f} |")
        if status != "ok":
            failed = True
            details += [f"### {label}: {status}", "", "```", tail, "```", ""]
    lines.append(f"| total | | | {time.perf_counter() - total:.1f} |")
    lines.append("")
    if not cuda:
        lines += ["No GPU figures: nothing here was measured on a GPU.", ""]
    if device is not None and not failed:
        runtime = run_dir / "runtime.json"
        if runtime.is_file():
            lines += ["## Training", "", "```json", runtime.read_text().strip(), "```", ""]
        for title, path in (("Table-1 rows", run_dir / "bench.md"), ("Encoder", enc_out)):
            if path.is_file():
                text = path.read_text().strip().splitlines()
                text = [("##" + ln if ln.startswith("#") else ln) for ln in text]
                lines += [f"## {title}", "", *text, ""]
    lines += details
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("wrote", out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
