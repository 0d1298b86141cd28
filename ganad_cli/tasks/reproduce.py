"""scripts/reproduce.py's work: run a preset's `ganad` commands (fold presets one job per fold,
re-scored and archived as each finishes), then write <results>/<preset>.md: the tables
(ganad_cli.tasks.reproduce_tables) and the setup (protocol, published source, commit,
hardware, wall time, every command run); and copy its first table into the README."""

from __future__ import annotations

import re
import shlex
import shutil
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from omegaconf import OmegaConf

from ganad_cli.errors import ReproduceError
from ganad_cli.hardware import git_commit, machine_summary
from ganad_cli.runs.archive import archive_run
from ganad_cli.runs.label_use import evaluation_for
from ganad_cli.runs.reproduction import (
    STAMP,
    InvocationClock,
    first_job_log_time,
    fold_archive,
    restore_folds,
    torch_threads,
    train_runs,
    training_summary,
)
from ganad_cli.tasks.reproduce_commands import bench_overrides, child_env, commands, ganad_exe
from ganad_cli.tasks.reproduce_jobs import run_jobs, run_logged
from ganad_cli.tasks.reproduce_presets import PRESETS, RESCORING, checkout, protocol_text
from ganad_cli.tasks.reproduce_tables import results_body

# what a reproduction writes into the checkout itself: not "uncommitted changes" of the code
OUTPUTS = ("scripts/results", "README.md")


def shown_path(path: Path) -> Path:
    """`path` relative to the checkout when inside it, so generated files name no home folder."""
    repo = checkout()
    return path.relative_to(repo) if path.is_relative_to(repo) else path


def evaluations_run(trained: Sequence[Path]) -> list[list[str]]:
    """Every `ganad evaluate` that scored a trained run, over all calls: read back from the
    overrides Hydra recorded in each run's evaluations/<stamp>/ (kept in the fold archive)."""
    found = []
    for run_dir in trained:
        for overrides in sorted((run_dir / "evaluations").glob("*/.hydra/overrides.yaml")):
            if (overrides.parent.parent / "metrics.json").is_file():
                found.append(["ganad", "evaluate", *OmegaConf.load(overrides)])
    return found


def commands_run(
    out: Path, executed: list[list[str]], per_job: bool, trained: Sequence[Path] = ()
) -> list[str]:
    """The md's list of ganad commands. A fold preset's trainings come from every job<k>.log,
    which each call appends to, so a fold trained over several calls lists its start and its
    resumes; its re-scorings from the run folders (`evaluations_run`); `executed` adds this
    call's other commands (bench, multirun)."""
    lines = ["- ganad commands run (folds: over all calls, from `job<k>.log`):"]
    logs = sorted(out.glob("job*.log"), key=lambda f: int(f.stem[3:] or 0)) if per_job else []
    for log in logs:
        cmds = [ln[2:] for ln in log.read_text().splitlines() if ln.startswith("$ ")]
        if cmds:
            resumes = cmds[1:]
            more = f", then {len(resumes)} × `{resumes[-1]}`" if resumes else ""
            lines.append(f"  - `{cmds[0]}`{more}")
    evaluations = evaluations_run(trained)
    if evaluations:
        executed = [c for c in executed if "evaluate" not in c]
    return lines + [f"  - `{shlex.join(c)}`" for c in [*executed, *evaluations]]


def commits_line(clock: InvocationClock) -> str:
    """The commit this md was written at, and those of earlier calls that ran commands."""
    now = git_commit(checkout(), OUTPUTS)
    earlier = [c for c in clock.commits if c != now]
    if not earlier:
        return now
    return f"{now} (this call); earlier calls ran at " + ", ".join(earlier)


def wall_time(clock: InvocationClock, out: Path) -> str:
    """The md's wall-time sentence: the sum over the recorded calls, and, when the job logs show
    training that began before the first recorded call, the elapsed time since then."""
    total = clock.total
    first = clock.calls[0].get("started") or clock.calls[0].get("finished")
    killed = clock.unfinished_before
    text = (
        f"{total:.0f} s ({total / 3600:.2f} h), summed over the {len(clock.calls)} reproduce.py "
        f"calls recorded in `{shown_path(clock.path)}` (the first started {first}"
        + (f"; {killed} killed, counted to the last heartbeat" if killed else "")
        + ")."
    )
    began = first_job_log_time(out)
    if began and first and began < first:
        end = clock.calls[-1].get("finished") or time.strftime(STAMP)
        span = datetime.strptime(end, STAMP) - datetime.strptime(began, STAMP)
        text += (
            f" Training began earlier, at {began} (the first line of the job logs), in calls that"
            f" were not recorded, so the sum misses their time; from then to the end took"
            f" {span.total_seconds() / 3600:.2f} h of elapsed time, pauses included."
        )
    return text


def run_preset(
    name: str,
    smoke: bool,
    data_root: str | None,
    out: Path,
    extra: Sequence[str],
    jobs: int,
    log: Path,
    env: dict[str, str],
    archive: Path | None = None,
) -> tuple[list[list[str]], list[Path]]:
    """Run the preset's ganad commands; return them and the trained run folders. A fold
    preset re-scores each fold (RESCORING) and archives it as soon as it finishes."""
    p = PRESETS[name]
    runs = out / "runs"
    executed: list[list[str]] = []
    cmds = [cmd for _, cmd in commands(name, smoke, data_root, out, extra)]

    def rescore(run_dir: Path) -> None:
        for overrides in RESCORING.get(name, []):
            if evaluation_for(run_dir, overrides) is None:
                cmd = [*ganad_exe(), "evaluate", f"run={run_dir}", *overrides]
                cmd += ["plots=false", "quiet=true"] if smoke else []
                run_logged(cmd, log, env)
                executed.append(cmd)

    def finish_fold(run_dir: Path) -> None:
        rescore(run_dir)
        if archive is not None:
            archive_run(run_dir, archive / run_dir.name, out / f"job{run_dir.name}.log")

    if p.per_job:
        run_jobs(cmds, runs, out, jobs, smoke, on_done=finish_fold)
    else:
        for cmd in cmds:
            run_logged(cmd, log, env)
            executed.append(cmd)
    trained = train_runs(runs)
    if not trained:
        raise ReproduceError(f"reproduce: the sweep wrote no run folders into {runs}; see {log}")
    if not p.per_job:  # a multirun's runs are re-scored once it has finished
        for run_dir in trained:
            rescore(run_dir)
    if name == "table1":
        cmd = [*ganad_exe(), "bench", *bench_overrides(trained[0], smoke)]
        run_logged(cmd, log, env)
        executed.append(cmd)
    return executed, trained


def reproduce(
    name: str,
    smoke: bool,
    data_root: str | None,
    out: Path,
    results: Path,
    argv: list[str],
    extra: Sequence[str] = (),
    jobs: int = 1,
    resume: bool = False,
) -> Path:
    p = PRESETS[name]
    runs = out / "runs"
    if resume and not p.per_job:
        raise ReproduceError(f"reproduce: --resume works for the fold presets only, not {name}")
    if not resume and runs.exists() and any(runs.iterdir()):
        raise ReproduceError(f"reproduce: {runs} is not empty; pass a fresh --out (or --resume)")
    log = out / "reproduce.log"
    env = child_env(smoke)
    archive = fold_archive(results, name) if p.per_job else None
    if resume and archive is not None:
        restore_folds(archive, out)
    elif archive is not None and archive.exists():
        shutil.rmtree(archive)  # a fresh run replaces the folds kept from an earlier one
    clock = InvocationClock(out, argv, commit=git_commit(checkout(), OUTPUTS))
    try:
        executed, trained = run_preset(name, smoke, data_root, out, extra, jobs, log, env, archive)
    finally:
        clock.stop()  # a failed or interrupted call still counts its time
        if archive is not None and archive.is_dir():
            (archive / "invocations.json").write_text(clock.path.read_text())

    body = results_body(name, trained, runs, smoke, data_root)
    size = "smoke run (a few records, 1 epoch; numbers not comparable)" if smoke else "full size"
    lines = [
        f"# {name}: {p.title}",
        "",
        f"Size: **{size}**. Generated by `scripts/reproduce.py`; do not edit by hand.",
        "",
        body,
        "## Setup",
        "",
        f"- Protocol: {protocol_text(name)}",
        f"- Published numbers: {p.source}.",
        f"- Preset: `conf/experiment/{name}.yaml`",
        f"- Commit: {commits_line(clock)}",
        f"- Hardware: {machine_summary(torch_threads(runs))}",
        f"- Wall time: {wall_time(clock, out)} Per run: {training_summary(trained)}",
        f"- Command: `{shlex.join(['python', 'scripts/reproduce.py', *argv])}`",
        *commands_run(out, executed, p.per_job, trained),
        f"- Run folders: `{shown_path(runs)}` (logs: `{shown_path(out)}/*.log`)",
        "",
    ]
    results.mkdir(parents=True, exist_ok=True)
    target = results / f"{name}.md"
    target.write_text("\n".join(lines))
    return target


def update_readme(name: str, result: Path, readme: Path | None = None) -> bool:
    """Put the preset's first table between its markers in the README's Results section."""
    readme = readme or checkout() / "README.md"
    text = readme.read_text()
    start, end = f"<!-- results:{name} -->", f"<!-- /results:{name} -->"
    if start not in text or end not in text:
        return False
    doc = result.read_text()
    first_table = re.search(r"((?:^\|.*\n)+)", doc, flags=re.M)
    setup = [ln[2:] for ln in doc.splitlines() if ln.startswith(("- Hardware", "- Wall time"))]
    rel = shown_path(result)
    block = f"{start}\n{first_table.group(1) if first_table else ''}\n"
    block += "; ".join(setup) + f". Details: [{rel}]({rel}).\n{end}"
    new = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    readme.write_text(new)
    return True
