"""`ganad train resume=<run>`: the run's own overrides replayed into the same folder."""

from __future__ import annotations

from pathlib import Path

from ganad_cli.cli.args import split_args
from ganad_cli.config.compose import compose_variants
from ganad_cli.config.keys import DATA_LOCATION_KEYS, MODEL_IDENTITY_KEYS
from ganad_cli.errors import GanadInputError


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

    The run folder is untrusted (see ganad_cli.runs.untrusted): only ganad's own keys are replayed,
    a
    model or data change is refused, and Hydra writes the resumed config to .hydra-resume/, which
    replaces .hydra/ only once training is under way, so a resume that fails changes nothing."""
    given = [a for a in args if a.startswith("resume=")]
    if not given:
        return args
    from ganad_cli.paths import resolve_path
    from ganad_cli.runs.untrusted import RESUME_SUBDIR, saved_overrides

    run = resolve_path(given[-1].split("=", 1)[1], "resume")
    saved = run / ".hydra" / "overrides.yaml"
    if not saved.is_file():
        raise GanadInputError(f"resume: {saved} not found; expected a run folder of 'ganad train'")
    from ganad_cli.training.interrupts import resume_checkpoint

    checkpoint = resume_checkpoint(run)
    if checkpoint is None:  # neither a whole epoch (last.ckpt) nor a Ctrl-C (interrupted.ckpt)
        raise GanadInputError(
            f"resume: no checkpoint {run / 'checkpoints' / 'last.ckpt'} (nor interrupted.ckpt)"
        )
    from ganad_cli.runs.safety import load_checkpoint_safely

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
