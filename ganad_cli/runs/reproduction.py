"""A reproduction's output folder (scripts/reproduce.py --out): its fold run folders under
runs/<k>, their states, the fold archive kept for git (ganad_cli.runs.archive), the calls'
wall time (invocations.json) and what each run's runtime.json says about its training.

    <out>/runs/<k>/        one `ganad train` per fold (or a multirun's jobs)
    <out>/job<k>.log       each fold's commands and output, over all calls
    <out>/invocations.json every reproduce.py call on this folder, with its wall time
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

from ganad_cli.io import atomic_write_json
from ganad_cli.runs.archive import restore_run


def job_state(run_dir: Path) -> str:
    """done (metrics.json), partial (a checkpoint to resume from) or new."""
    if (run_dir / "metrics.json").is_file():
        return "done"
    if (run_dir / "checkpoints" / "last.ckpt").is_file():
        return "partial"
    return "new"


def train_runs(runs: Path) -> list[Path]:
    """Run folders of `ganad train` under runs/ (not evaluations), in job order."""
    found = [p.parent for p in runs.glob("*/metrics.json")]
    return sorted(found, key=lambda p: int(p.name) if p.name.isdigit() else p.name)


def fold_archive(results: Path, name: str) -> Path:
    """Where finished folds are kept for git (ganad_cli.runs.archive): <results>/<preset>_runs."""
    return results / f"{name}_runs"


def restore_folds(archive: Path, out: Path) -> list[str]:
    """Folds finished on another machine (in the archive, not under <out>/runs): their run
    folders are rebuilt from the archive, so --resume counts them as done."""
    restored = []
    for metrics in sorted(archive.glob("*/metrics.json")):
        k = metrics.parent.name
        run_dir = out / "runs" / k
        if not (run_dir / "metrics.json").is_file():
            restore_run(metrics.parent, run_dir, out / f"job{k}.log")
            restored.append(k)
    calls = archive / "invocations.json"
    if calls.is_file() and not (out / "invocations.json").is_file():
        out.mkdir(parents=True, exist_ok=True)
        (out / "invocations.json").write_text(calls.read_text())
    return restored


def training_summary(trained: list[Path]) -> str:
    """Epochs, selected epochs and training seconds per run, from their runtime.json."""
    parts = []
    for r in trained:
        rt_file = r / "runtime.json"
        if not rt_file.is_file():
            continue
        rt = json.loads(rt_file.read_text())
        sel = rt.get("model_selection") or {}
        chosen = f", kept epoch {sel['epoch']}" if sel.get("epoch") else ""
        resumed = " (resumed)" if rt.get("resumed_from") else ""
        total = rt.get("train_epoch_seconds_total")
        timed = rt.get("train_epochs_timed")
        over = f" ({timed} epochs timed)" if timed is not None and timed != rt.get("epochs") else ""
        spent = (
            f", {total / 3600:.2f} h in training epochs{over}"
            if total
            else ", epoch time not recorded (trained before ganad timed epochs)"
        )
        parts.append(f"{r.name}: {rt.get('epochs')} epochs{chosen}{spent}{resumed}")
    return "; ".join(parts) if parts else "no runtime.json found"


def torch_threads(runs_root: Path) -> list[int]:
    """The torch thread counts the runs under runs_root recorded (runtime.json), sorted."""
    return sorted(
        {
            json.loads(p.read_text()).get("hardware", {}).get("torch_threads")
            for p in runs_root.rglob("runtime.json")
        }
        - {None}
    )


STAMP = "%Y-%m-%d %H:%M:%S"  # invocations.json times, comparable as strings


class InvocationClock:
    """This call's wall time in <out>/invocations.json, rewritten every `beat` seconds while
    it runs, so a call that is killed (a reboot, the end of a session) still counts up to its
    last heartbeat; `stop()` writes the final time and returns the total over all calls."""

    def __init__(
        self, out: Path, argv: list[str], beat: float = 30.0, commit: str | None = None
    ) -> None:
        self.path = out / "invocations.json"
        out.mkdir(parents=True, exist_ok=True)
        self.calls = json.loads(self.path.read_text()) if self.path.is_file() else []
        self.entry = {
            "started": time.strftime(STAMP),
            "finished": None,
            "seconds": 0.0,
            "argv": argv,
            "commit": commit,
        }
        self.calls.append(self.entry)
        self.t0 = time.perf_counter()
        self.lock = threading.Lock()
        self.done = threading.Event()
        self._write()
        self.thread = threading.Thread(target=self._beat, args=(beat,), daemon=True)
        self.thread.start()

    def _write(self) -> None:
        with self.lock:
            self.entry["seconds"] = round(time.perf_counter() - self.t0, 1)
            atomic_write_json(self.path, self.calls)  # a kill mid-write keeps the previous file

    def _beat(self, beat: float) -> None:
        while not self.done.wait(beat):
            self._write()

    def stop(self) -> float:
        self.done.set()
        self.thread.join()
        self.entry["finished"] = time.strftime(STAMP)
        self._write()
        return self.total

    @property
    def total(self) -> float:
        """Seconds over all recorded calls (killed ones up to their last heartbeat)."""
        return sum(c["seconds"] for c in self.calls)

    @property
    def commits(self) -> list[str]:
        """The distinct git commits the recorded calls ran, oldest first (older invocations.json
        files did not record one)."""
        seen = [c["commit"] for c in self.calls if c.get("commit")]
        return list(dict.fromkeys(seen))

    @property
    def unfinished_before(self) -> int:
        """Earlier calls that were killed: their time counts up to their last heartbeat."""
        return sum(1 for c in self.calls[:-1] if c.get("finished") is None)


def first_job_log_time(out: Path) -> str | None:
    """The earliest log timestamp in the fold job logs (`[YYYY-MM-DD HH:MM:SS,ms]`, written by
    ganad's Hydra logging): when training into this output folder began."""
    stamps = []
    for log in out.glob("job*.log"):
        found = re.search(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", log.read_text(), flags=re.M)
        if found:
            stamps.append(found.group(1))
    return min(stamps) if stamps else None
