"""Thread policy under load: a short default `ganad train` before vs after issue 21, side by side.

While a `nice` busy loop runs on every core, the same short default run (wgan_gp on the synthetic
ECG, 1 epoch, short inversion) is timed with the code of git revision --old (extracted into a
temporary folder; idle OpenMP workers spin, libgomp's default) and with this checkout (ganad sets
OMP_WAIT_POLICY=PASSIVE before torch loads), alternately. OMP_NUM_THREADS and OMP_WAIT_POLICY are
removed from the environment, so both use torch's default threads (all cores).

    python scripts/bench_thread_policy.py [--repeats 1] [--timeout 900]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OLD_REV = "f77d14e"
RUN = [
    "trainer.max_epochs=1",
    "inversion.n_max=10",
    "plots=false",
    "logger=none",
    "quiet=true",
]


def extract(rev: str) -> Path:
    blob = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev, "ganad_cli", "conf"],
        capture_output=True,
        check=True,
    ).stdout
    root = Path(tempfile.mkdtemp(prefix="ganad_old_"))
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(root)
    return root


def timed_run(code_root: Path, work: Path, timeout: float) -> float | None:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    env.update(PYTHONPATH=str(code_root), CI="true")
    cmd = [sys.executable, "-m", "ganad_cli.cli", "train", *RUN, f"hydra.run.dir={work}"]
    t0 = time.perf_counter()
    try:
        subprocess.run(
            cmd, cwd=work.parent, env=env, capture_output=True, check=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return None
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--old", default=OLD_REV)
    ap.add_argument("--out", default=str(REPO / "scripts/results/thread_policy.md"))
    args = ap.parse_args()
    old_root = extract(args.old)
    tmp = Path(tempfile.mkdtemp(prefix="ganad_threads_"))
    busy = [
        subprocess.Popen(["nice", "-n", "10", sys.executable, "-c", "while 1: pass"])
        for _ in range(os.cpu_count() or 1)
    ]
    times: dict[str, list[float | None]] = {"before": [], "after": []}
    load = os.getloadavg()
    try:
        for r in range(args.repeats):
            order = ("before", "after") if r % 2 == 0 else ("after", "before")
            for which in order:
                root = old_root if which == "before" else REPO
                s = timed_run(root, tmp / f"{which}{r}", args.timeout)
                times[which].append(s)
                print(which, "timeout" if s is None else f"{s:.1f}s", flush=True)
    finally:
        for p in busy:
            p.kill()
            p.wait()

    def med(v: list[float | None]) -> float | None:
        done = [x for x in v if x is not None]
        return statistics.median(done) if len(done) == len(v) else None

    b, a = med(times["before"]), med(times["after"])
    fmt = lambda v: f"> {args.timeout:.0f} (timed out)" if v is None else f"{v:.1f}"  # noqa: E731
    ratio = f"{b / a:.2f}x" if a and b else (f"> {args.timeout / a:.2f}x" if a else "n/a")
    # imported only now: ganad_cli sets OMP_WAIT_POLICY on import, which the "before" runs
    # above must not inherit
    from ganad_cli.hardware import machine_line

    lines = [
        "# Thread policy under load: short default run, before vs after",
        "",
        f"`python scripts/bench_thread_policy.py --repeats {args.repeats} --timeout "
        f"{args.timeout:.0f}`: `ganad train {' '.join(RUN)}` (default config), while "
        f"{len(busy)} `nice -n 10 python -c 'while 1: pass'` loops run (one per core). Before = "
        f"git `{args.old}` (libgomp default wait policy), after = this checkout (OMP_WAIT_POLICY="
        "PASSIVE set by ganad before torch loads); OMP_NUM_THREADS unset (torch's default "
        "threads).",
        "",
        f"- Hardware: {machine_line()}, "
        f"shared with other jobs (load average before the loops started: "
        f"{' '.join(f'{v:.2f}' for v in load)}).",
        "",
        "| | wall s (median) | runs |",
        "|---|---|---|",
        f"| before | {fmt(b)} | {', '.join(fmt(v) for v in times['before'])} |",
        f"| after | {fmt(a)} | {', '.join(fmt(v) for v in times['after'])} |",
        "",
        f"Speed-up (before / after): {ratio}.",
        "",
    ]
    Path(args.out).write_text("\n".join(lines))
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
