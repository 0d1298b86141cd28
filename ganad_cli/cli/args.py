"""Reading a Hydra command line: its overrides and flags, and `ensemble=[...]`."""

from __future__ import annotations

from ganad_cli.errors import GanadInputError

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


def ensemble_args(args: list[str]) -> list[str]:
    """`ensemble=[a,b,...]` on the command line: `run` becomes the first member (for Hydra's
    folders) and the output goes to `<first member>/ensembles/<timestamp>/` unless
    hydra.run.dir says otherwise."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    from ganad_cli.tasks.ensemble import OUTPUT_DIR, member_paths

    overrides, multirun, only_prints = split_args(args)
    given = [o for o in overrides if o.startswith("ensemble=")]
    if not given or only_prints:
        return args
    if multirun:
        raise GanadInputError(
            "config key 'ensemble': an ensemble is evaluated once per call; expected no -m "
            "(run one ganad evaluate per ensemble or per choice)"
        )
    if any(o.startswith("run=") for o in overrides):
        raise GanadInputError(
            "config keys 'run' and 'ensemble' are exclusive: expected run=<run> for one run, or "
            "ensemble=[<run>,<run>,...] for an ensemble"
        )
    try:
        value = OverridesParser.create().parse_override(given[-1]).value()
    except HydraException as exc:
        raise GanadInputError(
            f"config key 'ensemble': {given[-1]!r} is not a list; expected "
            "ensemble=[<run>,<run>,...]"
        ) from exc
    members = member_paths(value)
    extra = [f"run={members[0]}"]
    if not any(o.startswith("hydra.run.dir=") for o in overrides):
        extra.append(f"hydra.run.dir={members[0]}/ensembles/{OUTPUT_DIR}")
    return [*args, *extra]
