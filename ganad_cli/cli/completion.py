"""`ganad -sc ...`: Hydra's shell completion for the whole command."""

from __future__ import annotations

import re
from collections.abc import Callable

from ganad_cli.cli.commands import COMMANDS
from ganad_cli.cli.hydra_run import call_app

HYDRA_COMMANDS = ("train", "evaluate", "detect", "bench")
COMPLETION_FLAGS = ("-sc", "--shell-completion")


def _hydra_apps() -> dict[str, Callable[[], object]]:
    from ganad_cli.cli import apps

    return {name: getattr(apps, f"{name}_app") for name in HYDRA_COMMANDS}


def shell_completion(args: list[str]) -> int:
    """Hydra's shell completion for the whole `ganad` command. The installed script (Hydra's
    `-sc install=bash`, also zsh and fish) runs `ganad -sc query=<shell>` with the line typed so
    far in COMP_LINE: the subcommand in it picks that command's Hydra app, which completes the
    rest of the line; before a subcommand is typed, the commands themselves are the choices."""
    import os

    given = [a for a in args if a not in COMPLETION_FLAGS]
    apps = _hydra_apps()
    query = next((a for a in given if a.startswith("query=")), None)
    if query is None:  # install=/uninstall=: one script for the `ganad` executable
        return call_app(apps["train"], "ganad", ["-sc", *given])
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
            code = call_app(apps[words[1]], "ganad", ["-sc", query])
    finally:
        os.environ["COMP_LINE"] = line
    # `schema/...` are the structured-config bases the YAML choices extend, not user choices
    kept = [w for w in buffer.getvalue().split() if not w.startswith("schema/")]
    print(("\n" if query.endswith("fish") else " ").join(kept))
    return code
