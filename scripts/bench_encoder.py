"""Encoder inversion throughput (samples/s) of every encoder model's default config at batch 512.

Throughput does not depend on the weights, so the models are freshly initialised; windows of
length 128 (the synthetic default) and 320 (MIT-BIH, BeatGAN preset). Every batch shape timed is
warmed up first (untimed); best and median of 5 timed passes over 4096 windows; on CUDA the device
is synchronised before each clock read.

    python scripts/bench_encoder.py [--threads 2] [--device cpu|cuda] [--out ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ganad_cli.config import register_configs  # noqa: E402
from ganad_cli.hardware import machine_line  # noqa: E402
from ganad_cli.inversion.encoder import encoder_invert  # noqa: E402
from ganad_cli.models import MODELS, build_model  # noqa: E402
from ganad_cli.paths import conf_dir  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--models", default=None, help="comma-separated subset of the encoder models")
    ap.add_argument("--out", default=str(REPO / "scripts/results/encoder_throughput.md"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    register_configs()
    device = torch.device(args.device)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    names = sorted(n for n, cls in MODELS.items() if cls.has_encoder)
    if args.models:
        names = [n for n in names if n in args.models.split(",")]
    rows = []
    for name in names:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            cfg = compose("train", overrides=[f"model={name}"])
        for length in (128, 320):
            torch.manual_seed(0)
            model = build_model(cfg.model, (1, length)).eval().to(device)
            x = torch.randn(args.n, 1, length, device=device)
            for size in dict.fromkeys((min(args.batch, args.n), args.n % args.batch)):
                if size:  # warm-up of every batch shape timed (untimed)
                    encoder_invert(model, x[:size], batch_size=args.batch)
            times = []
            for _ in range(5):
                sync()
                t0 = time.perf_counter()
                encoder_invert(model, x, batch_size=args.batch)
                sync()
                times.append(time.perf_counter() - t0)
            rows.append((name, length, args.n / min(times), args.n / statistics.median(times)))
            print(f"{name:12s} length {length}: {rows[-1][2]:9.0f} best, {rows[-1][3]:9.0f} median")
    load = os.getloadavg()
    lines = [
        f"# Encoder inversion throughput (batch {args.batch}, samples/s)",
        "",
        f"`python scripts/bench_encoder.py --threads {args.threads} --device {args.device}`; "
        f"{machine_line(args.threads)}; device {device.type}, load average "
        f"at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}. Warm-up excluded.",
        "",
        "| model | window length | best of 5 | median of 5 |",
        "|---|---|---|---|",
        *[f"| {m} | {n} | {b:,.0f} | {md:,.0f} |" for m, n, b, md in rows],
        "",
    ]
    Path(args.out).write_text("\n".join(lines))
    print("wrote", args.out)


if __name__ == "__main__":
    main()
