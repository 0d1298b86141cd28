"""`--version` says ganad's version for every command; Hydra's shell completion works for the
whole `ganad` command (the installed script runs `ganad -sc query=bash` with COMP_LINE set)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ganad_cli import __version__
from ganad_cli.cli import main
from tests.test_cli import GANAD


@pytest.mark.parametrize("command", ["train", "evaluate", "detect", "bench", "report"])
def test_version_is_ganads_for_every_command(command, capsys):
    assert main([command, "--version"]) == 0
    assert capsys.readouterr().out.strip() == f"ganad {__version__}"


def _complete(script: str, line: str, tmp_path: Path) -> list[str]:
    """Run the installed completion function on `line`, as bash does on <TAB>."""
    words = line.split() + ([""] if line.endswith(" ") else [])
    program = (
        f"{script}\n"
        f"COMP_LINE='{line}'; COMP_POINT={len(line)}; COMP_CWORD={len(words) - 1}\n"
        "hydra_bash_completion\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "CI": "true", "PATH": f"{Path(GANAD).parent}:{os.environ['PATH']}"}
    out = subprocess.run(
        ["bash", "-c", program], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Error" not in out.stderr and "unknown command" not in out.stderr, out.stderr
    return [w for w in out.stdout.split() if w]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completion_completes_subcommands_and_their_overrides(tmp_path, capsys):
    assert main(["train", "-sc", "install=bash"]) == 0
    script = capsys.readouterr().out
    # one script for the `ganad` executable, whichever subcommand printed it
    assert script.rstrip().endswith("hydra_bash_completion ganad")
    assert "-sc query=bash" in script
    assert _complete(script, "ganad tr", tmp_path) == ["train"]
    assert set(_complete(script, "ganad train model=b", tmp_path)) == {
        "model=beatgan",
        "model=beta_vaegan",
        "model=bigan",
    }
    evaluate = _complete(script, "ganad evaluate sc", tmp_path)
    assert "score=" in evaluate and not any(w.startswith("schema/") for w in evaluate)
