"""`ganad <command> [hydra overrides]`: dispatch to Hydra apps.

Before Hydra creates a run folder, the overrides are composed once with Hydra's compose API and
checked (unknown choice or key, wrong type, out-of-range value). Bad input ends with one line
on stderr and exit code 2, and leaves no run folder behind.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from ganad_cli.errors import GanadInputError

USAGE = """usage: ganad <command> [overrides...]

commands:
  train      train a GAN on normal data, fit the detector on validation, test it
             (Hydra app: `ganad train --help` lists config groups; `-m` runs a sweep)
  data       `ganad data summary data=mitbih ...`: samples per class, record and split
  evaluate   re-score a trained run with other inversion/score/threshold choices, no retraining
             (ganad evaluate run=<run> [score=svm threshold=val_mcc ...]; `-m` sweeps choices)
             ganad evaluate ensemble=[<run>,<run>,...]: runs of other seeds as one detector
  detect     score every beat of a recording (or windows) with a run's frozen detector
             (ganad detect run=<run> input=<rec.hea|.edf|.csv|.npy> [fs=..] [output=<file.csv>])
  report     aggregate the run folders under a directory: mean +- std per configuration
             (ganad report <dir> [--out <dir>]; writes report.md, .csv, .png, .html)
  bench      time inversion settings (eps x n_max x batch, encoder) on a run's test samples
             (ganad bench run=<run> [bench=table1 device=cuda]; writes bench.csv and bench.md)

examples:
  ganad train                                   # embedded synthetic ECG, WGAN-GP, AnoGAN
  ganad train trainer.max_epochs=1 inversion.n_max=20
  ganad train -m seed=0,1,2
"""

# Hydra flags that take a value, and flags that make the run print instead of train.
_VALUE_FLAGS = {
    "--cfg",
    "-c",
    "--package",
    "-p",
    "--config-path",
    "-cp",
    "--config-name",
    "-cn",
    "--config-dir",
    "-cd",
    "--experimental-rerun",
    "--info",
    "-i",
}
_NO_RUN_FLAGS = {
    "-h",
    "--help",
    "--hydra-help",
    "--version",
    "--info",
    "-i",
    "--shell-completion",
    "-sc",
}


def debug() -> bool:
    """GANAD_DEBUG=1: show the traceback behind a `ganad: error:` line (and Hydra's in full)."""
    import os

    return os.environ.get("GANAD_DEBUG", "").lower() not in ("", "0", "false", "no")


def error(message: str, code: int = 2) -> int:
    if debug() and sys.exc_info()[0] is not None:
        import traceback

        traceback.print_exc()
    print(f"ganad: error: {message}", file=sys.stderr)
    return code


def split_args(args: list[str]) -> tuple[list[str], bool, bool]:
    """(overrides, is_multirun, only_prints) from a Hydra command line."""
    overrides: list[str] = []
    multirun = only_prints = False
    skip = False
    for i, a in enumerate(args):
        if skip:
            skip = False
            continue
        if a in ("-m", "--multirun"):
            multirun = True
        elif a in _NO_RUN_FLAGS:
            only_prints = True
            skip = a in _VALUE_FLAGS and i + 1 < len(args) and not args[i + 1].startswith("-")
        elif a in _VALUE_FLAGS:
            skip = True
        elif a.startswith("-"):
            continue
        else:
            overrides.append(a)
    return overrides, multirun, only_prints


def _variants(overrides: list[str]) -> list[list[str]]:
    """Sweep overrides expanded one value at a time (others at their first value)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    base: list[str] = []
    sweeps: list[tuple[int, list[str]]] = []
    for o in parsed:
        if o.is_sweep_override():
            values = [f"{o.get_key_element()}={v}" for v in o.sweep_string_iterator()]
            sweeps.append((len(base), values))
            base.append(values[0])
        else:
            base.append(o.input_line)
    variants = [base]
    for pos, values in sweeps:
        for v in values[1:]:
            variants.append(base[:pos] + [v] + base[pos + 1 :])
    return variants


def compose_variants(config_name: str, overrides: list[str], multirun: bool) -> list:
    """The composed config of every job the command line would launch (compose API only)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from ganad_cli.config import register_configs
    from ganad_cli.paths import conf_dir

    register_configs()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            return [
                compose(config_name, overrides=variant)
                for variant in (_variants(overrides) if multirun else [overrides])
            ]
    finally:
        GlobalHydra.instance().clear()


def check_objective(cfg) -> None:
    """An Optuna sweep maximises `optimized_metric` on validation: a ranking metric there needs
    validation anomalies, else every trial returns NaN."""
    choices = cfg.hydra.runtime.choices if "hydra" in cfg else {}
    if choices.get("hparams_search") is None:
        return
    metric = str(cfg.optimized_metric)
    if metric.startswith("val/") and cfg.data.val_anomaly_fraction <= 0:
        raise GanadInputError(
            f"config key 'data.val_anomaly_fraction' must be > 0 for hparams_search: the objective "
            f"{metric!r} is computed on validation, which has no anomalies (got "
            f"{cfg.data.val_anomaly_fraction})"
        )


def preflight(config_name: str, overrides: list[str], multirun: bool) -> list:
    """Compose and validate; raise GanadInputError with one clear line on bad input. Returns the
    composed config of every job."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException, MissingConfigException
    from omegaconf.errors import OmegaConfBaseException

    from ganad_cli.applied import check_applied_keys
    from ganad_cli.config import register_configs, validate_config
    from ganad_cli.extras import check_extras, missing_plugin
    from ganad_cli.hardware import check_hardware
    from ganad_cli.paths import conf_dir

    register_configs()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        try:
            variants = _variants(overrides) if multirun else [overrides]
            configs = []
            for variant in variants:
                if config_name == "train":
                    cfg = compose(config_name, overrides=variant, return_hydra_config=True)
                    validate_config(cfg)
                    check_applied_keys(cfg)
                    check_objective(cfg)
                    check_hardware(cfg.trainer)
                    check_extras(cfg)
                else:
                    cfg = compose(config_name, overrides=variant)
                configs.append(cfg)
            return configs
        except MissingConfigException as exc:
            m = re.search(r"Could not find '([^']+)/([^'/]+)'", str(exc))
            if not m:
                raise GanadInputError(str(exc).splitlines()[0]) from exc
            group, choice = m.groups()
            plugin = missing_plugin(group, choice)  # a Hydra plugin of an extra, not installed
            if plugin is not None:
                raise plugin from exc
            loader = GlobalHydra.instance().config_loader()
            options = [o for o in loader.get_group_options(group) if o]
            raise GanadInputError(
                f"unknown choice '{choice}' for config group '{group}'; valid choices: "
                f"{', '.join(options)}"
            ) from exc
        except OmegaConfBaseException as exc:  # bad type, failing interpolation: name the key
            from ganad_cli.boundary import config_error

            raise config_error(exc) from exc
        except HydraException as exc:
            cause = exc.__cause__
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
            detail = lines[0] if lines else type(exc).__name__
            if detail.endswith(":") and len(lines) > 1:  # "... raised while composing config:"
                detail += " " + lines[1]
            if cause is not None:
                detail += ": " + str(cause).splitlines()[0]
            raise GanadInputError(detail) from exc
        finally:
            GlobalHydra.instance().clear()


def _call_app(app: Callable[[], object], prog: str, args: list[str]) -> int:
    """Run a @hydra.main app on `args` as if `prog` were the script; its exit code."""
    saved = sys.argv
    sys.argv = [prog, *args]
    try:
        app()
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else error(exc.code, 1)
    finally:
        sys.argv = saved
    return 0


def _filtered_help(app: Callable[[], object], prog: str, args: list[str]) -> int:
    """Hydra's --help without the `schema/...` groups: those are the structured-config bases the
    YAML choices extend (ConfigStore), not choices a user picks."""
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = _call_app(app, prog, args)
    kept = [ln for ln in buffer.getvalue().splitlines() if not ln.startswith("schema/")]
    try:
        print("\n".join(kept))
        sys.stdout.flush()
    except BrokenPipeError:  # `ganad train --help | head`: the reader left; not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return code


def _locked_train_args(args: list[str], key: str, folder: str) -> tuple[list[str], Path]:
    """Pin the run (or sweep) folder Hydra will use (`${now:}` resolved once, by preflight), so
    the lock taken before Hydra starts is on that very folder; a new run into a folder that
    already holds one is refused."""
    overrides, multirun, _ = split_args(args)
    path = Path(folder).expanduser().absolute()
    resuming = any(o.startswith("resume=") for o in overrides)
    if not resuming and not multirun and (path / ".hydra" / "config.yaml").is_file():
        raise GanadInputError(
            f"config key '{key}': {path} already holds a run; expected a new folder (or "
            f"continue that run with: ganad train resume={path})"
        )
    if not any(o.startswith(f"{key}=") for o in overrides):
        args = [*args, f"{key}={path}"]
    return args, path


def _run_hydra_app(
    app: Callable[[], object],
    prog: str,
    args: list[str],
    config_name: str,
    lock: Path | None = None,
) -> int:
    """Preflight, then the Hydra app; `lock` (or, for train, the run folder) is held throughout."""
    from contextlib import nullcontext

    from ganad_cli.runlock import run_folder_lock

    overrides, multirun, only_prints = split_args(args)
    if not only_prints:
        from ganad_cli.safety import check_output_dirs

        try:
            preflight(config_name, overrides, multirun)
            dirs = check_output_dirs(config_name, overrides, multirun)
            if config_name == "train" and dirs and not ({"--cfg", "-c"} & set(args)):
                args, lock = _locked_train_args(args, *dirs[0])
        except GanadInputError as exc:
            return error(str(exc))
    if config_name in ("train", "bench") and not only_prints:  # after the torch-free checks
        from ganad_cli.threads import pin_default_threads

        pin_default_threads()  # threads=null: this process's default in every launcher
    if "--help" in args or "-h" in args:
        return _filtered_help(app, prog, args)
    sweep_errors = getattr(sys.modules.get("ganad_cli.apps"), "SWEEP_INPUT_ERRORS", [])
    sweep_errors.clear()
    try:
        with run_folder_lock(lock, f"{prog} {' '.join(args)}") if lock else nullcontext():
            code = _call_app(app, prog, args)
    except GanadInputError as exc:  # the folder is locked by another process
        return error(str(exc))
    except ValueError as exc:  # Hydra's own flag check, e.g. `-m ... --cfg job`
        if str(exc).startswith("Only one of"):
            return error(str(exc))
        raise
    return 2 if code == 1 and sweep_errors else code  # a sweep job's bad input: exit 2


# data keys that say where the data lives, not which data: a resume may change them
DATA_LOCATION_KEYS = ("root", "download", "cache", "cache_dir", "num_workers")
# model keys that fix the networks' shapes or the method: a resume may not change them
MODEL_IDENTITY_KEYS = (
    "name",
    "backbone",
    "latent_dim",
    "base_channels",
    "prior",
    "loss",
    "spectral_norm",
    "d_hidden",
)


def check_resume_keeps_model_and_data(run: Path, original: list[str], extra: list[str]) -> None:
    """A resume continues the same model on the same data: compare the composed configs."""
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    overrides, _, _ = split_args(extra)
    if not overrides:
        return
    try:
        before = compose_variants("train", original, False)[0]
        after = compose_variants("train", [*original, *overrides], False)[0]
    except (HydraException, OmegaConfBaseException, ValueError):
        return  # preflight reports the bad override itself
    a, b = OmegaConf.to_container(before), OmegaConf.to_container(after)
    data_keys = sorted((set(a["data"]) | set(b["data"])) - set(DATA_LOCATION_KEYS))
    pairs = {"seed": (a.get("seed"), b.get("seed"))}
    pairs.update({f"data.{k}": (a["data"].get(k), b["data"].get(k)) for k in data_keys})
    pairs.update(
        {f"model.{k}": (a["model"].get(k), b["model"].get(k)) for k in MODEL_IDENTITY_KEYS}
    )
    changed = [k for k, (was, now) in pairs.items() if was != now]
    if changed:
        first = changed[0]
        was, now = pairs[first]
        raise GanadInputError(
            f"resume: config key '{first}' would change from {was!r} to {now!r} "
            f"({len(changed)} key(s) differ: {', '.join(changed[:6])}); expected the model and "
            f"data of {run} unchanged (start a new run for another model or data)"
        )


def resume_args(args: list[str]) -> list[str]:
    """`resume=<run>`: replay the run's own overrides into the same folder, plus any new ones.

    The run folder is untrusted (see ganad_cli.untrusted): only ganad's own keys are replayed, a
    model or data change is refused, and Hydra writes the resumed config to .hydra-resume/, which
    replaces .hydra/ only once training is under way, so a resume that fails changes nothing."""
    given = [a for a in args if a.startswith("resume=")]
    if not given:
        return args
    from ganad_cli.paths import resolve_path
    from ganad_cli.untrusted import RESUME_SUBDIR, saved_overrides

    run = resolve_path(given[-1].split("=", 1)[1], "resume")
    saved = run / ".hydra" / "overrides.yaml"
    if not saved.is_file():
        raise GanadInputError(f"resume: {saved} not found; expected a run folder of 'ganad train'")
    from ganad_cli.interrupts import resume_checkpoint

    checkpoint = resume_checkpoint(run)
    if checkpoint is None:  # neither a whole epoch (last.ckpt) nor a Ctrl-C (interrupted.ckpt)
        raise GanadInputError(
            f"resume: no checkpoint {run / 'checkpoints' / 'last.ckpt'} (nor interrupted.ckpt)"
        )
    from ganad_cli.safety import load_checkpoint_safely

    original = saved_overrides(saved)
    # Lightning unpickles ckpt_path itself: refuse a damaged or code-running file first
    load_checkpoint_safely(checkpoint, "resume: checkpoint")
    extra = [a for a in args if not a.startswith("resume=")]
    check_resume_keeps_model_and_data(run, original, extra)
    return [
        *original,
        *extra,
        f"resume={run}",
        f"hydra.run.dir={run}",
        f"hydra.output_subdir={RESUME_SUBDIR}",
    ]


def cmd_train(args: list[str]) -> int:
    from ganad_cli.apps import train_app

    try:
        args = resume_args(args)
    except GanadInputError as exc:
        return error(str(exc))
    return _run_hydra_app(train_app, "ganad train", args, "train")


def _precheck_then_run(
    args: list[str], config_name: str, precheck, app, lock: Path | None = None
) -> int:
    """Compose-level checks, then a command-specific precheck, before Hydra makes a folder."""
    overrides, multirun, only_prints = split_args(args)
    if not only_prints:
        try:
            preflight(config_name, overrides, multirun)
            precheck(overrides, multirun)
        except GanadInputError as exc:
            return error(str(exc))
    return _run_hydra_app(app, f"ganad {config_name}", args, config_name, lock)


def cmd_evaluate(args: list[str]) -> int:
    from ganad_cli.apps import evaluate_app
    from ganad_cli.ensemble import ensemble_args
    from ganad_cli.evaluate import precheck

    try:
        args = ensemble_args(args)
    except GanadInputError as exc:
        return error(str(exc))
    return _precheck_then_run(args, "evaluate", precheck, evaluate_app)


def cmd_detect(args: list[str]) -> int:
    from ganad_cli.apps import detect_app
    from ganad_cli.detect import precheck

    return _precheck_then_run(args, "detect", precheck, detect_app)


def cmd_report(args: list[str]) -> int:
    from ganad_cli.report import main as report_main

    return report_main(args)


COMMANDS: dict[str, Callable[[list[str]], int]] = {"train": cmd_train}
COMMANDS.update(evaluate=cmd_evaluate, detect=cmd_detect, report=cmd_report)


def cmd_data(args: list[str]) -> int:
    from ganad_cli.data.summary import cmd_data as data_main

    return data_main(args)


COMMANDS.update(data=cmd_data)


def cmd_bench(args: list[str]) -> int:
    from ganad_cli.apps import bench_app
    from ganad_cli.bench import precheck

    # bench writes bench.csv/bench.md into the run folder itself: one writer at a time
    runs = [a.split("=", 1)[1] for a in split_args(args)[0] if a.startswith("run=")]
    lock = Path(runs[-1]).expanduser().absolute() if runs and Path(runs[-1]).is_dir() else None
    return _precheck_then_run(args, "bench", precheck, bench_app, lock)


COMMANDS.update(bench=cmd_bench)


HYDRA_COMMANDS = ("train", "evaluate", "detect", "bench")
_COMPLETION_FLAGS = ("-sc", "--shell-completion")


def _hydra_apps() -> dict[str, Callable[[], object]]:
    from ganad_cli import apps

    return {name: getattr(apps, f"{name}_app") for name in HYDRA_COMMANDS}


def shell_completion(args: list[str]) -> int:
    """Hydra's shell completion for the whole `ganad` command. The installed script (Hydra's
    `-sc install=bash`, also zsh and fish) runs `ganad -sc query=<shell>` with the line typed so
    far in COMP_LINE: the subcommand in it picks that command's Hydra app, which completes the
    rest of the line; before a subcommand is typed, the commands themselves are the choices."""
    import os

    given = [a for a in args if a not in _COMPLETION_FLAGS]
    apps = _hydra_apps()
    query = next((a for a in given if a.startswith("query=")), None)
    if query is None:  # install=/uninstall=: one script for the `ganad` executable
        return _call_app(apps["train"], "ganad", ["-sc", *given])
    line = os.environ.get("COMP_LINE", "")
    words = line.split()
    typing_command = len(words) < 2 or (len(words) == 2 and not line.endswith(" "))
    if typing_command:
        current = words[1] if len(words) == 2 else ""
        sep = "\n" if query.endswith("fish") else " "
        print(sep.join(c for c in COMMANDS if c.startswith(current)))
        return 0
    if words[1] not in apps:  # report, data: no Hydra app; the shell completes file names
        return 0
    # the line as the app sees it: `ganad <overrides>`, without the subcommand
    import contextlib
    import io

    os.environ["COMP_LINE"] = re.sub(r"^(\s*\S+)\s+\S+", r"\1", line, count=1)
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            code = _call_app(apps[words[1]], "ganad", ["-sc", query])
    finally:
        os.environ["COMP_LINE"] = line
    # `schema/...` are the structured-config bases the YAML choices extend, not user choices
    kept = [w for w in buffer.getvalue().split() if not w.startswith("schema/")]
    print(("\n" if query.endswith("fish") else " ").join(kept))
    return code


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if argv[0] in ("--version", "-V") or (argv[0] in COMMANDS and "--version" in argv[1:]):
        from ganad_cli import __version__

        print(f"ganad {__version__}")  # `ganad train --version` too (Hydra's own says Hydra's)
        return 0
    if argv[0] in _COMPLETION_FLAGS or (
        argv[0] in HYDRA_COMMANDS and set(_COMPLETION_FLAGS) & set(argv[1:])
    ):
        return shell_completion(argv[1:])
    command, rest = argv[0], argv[1:]
    if debug():
        import os

        os.environ.setdefault("HYDRA_FULL_ERROR", "1")
    if command not in COMMANDS:
        return error(f"unknown command '{command}'; valid commands: {', '.join(COMMANDS)}")
    try:
        return COMMANDS[command](rest)
    except KeyboardInterrupt:  # Ctrl-C during start-up (composing, loading): nothing was made
        print("ganad: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the boundary outside the Hydra apps (ganad_cli.boundary)
        from ganad_cli.boundary import as_input_error

        err = as_input_error(exc)
        if err is None:
            raise
        return error(str(err))


if __name__ == "__main__":
    sys.exit(main())
