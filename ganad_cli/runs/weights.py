"""Which trained weights `ganad evaluate` re-scores a run with (config key `weights`).

`weights=selected` (the default): the weights the run's detector.pt holds, i.e. the epoch
`trainer.select_epoch` chose (the last one, or the best validation-AUROC one).
`weights=last`: the last training epoch's weights, from `<run>/checkpoints/last.ckpt`, whatever the
run selected: with `score.combine=equal` and `threshold=normal_quantile` that is the fully
label-free detector (no validation label picks the epoch, the weights or tau). Where the run
selected the last epoch anyway the two are one detector, and the record says so.

last.ckpt is untrusted like detector.pt: it is loaded with `torch.load(weights_only=True)`
(runs.safety), so a pickle that would run code is refused, and its weights must be finite and fit
the run's model exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ganad_cli.config.choices import EPOCH_SELECTION
from ganad_cli.errors import GanadInputError

if TYPE_CHECKING:
    from ganad_cli.detector import Detector

WEIGHTS = ("selected", "last")
LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"


def weights_choice(value: Any) -> str:
    """The evaluate config's `weights` value, checked."""
    choice = "selected" if value is None else str(value)
    if choice not in WEIGHTS:
        raise GanadInputError(
            f"config key 'weights': {value!r} is not one of {', '.join(WEIGHTS)}; expected "
            "weights=selected (the epoch the run chose, its detector.pt) or weights=last (the "
            "last epoch, checkpoints/last.ckpt)"
        )
    return choice


def _json(path: Path) -> dict:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _epoch(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def run_selection(run_dir: Path) -> dict:
    """What the run's detector.pt holds: the selection rule and its epoch (1-based), as the
    run's metrics.json and runtime.json recorded them (None where they do not say)."""
    selection = _json(run_dir / "metrics.json").get("model_selection")
    selection = selection if isinstance(selection, dict) else {}
    rule = selection.get("rule") if selection.get("rule") in EPOCH_SELECTION else None
    epoch = _epoch(selection.get("epoch"))
    if rule == "last" and epoch is None:  # the last epoch: the number of epochs trained
        epoch = _epoch(_json(run_dir / "runtime.json").get("epochs"))
    return {"rule": rule, "epoch": epoch}


def use_weights(run_dir: Path, detector: Detector, choice: str) -> dict:
    """Put the chosen weights into `detector.model` (in place); the record for metrics.json's
    `model_selection`: weights, rule, epoch, checkpoint, and whether it is the run's detector."""
    selected = run_selection(run_dir)
    if choice == "selected":
        return {"weights": "selected", **selected, "checkpoint": "detector.pt", "same_as_run": True}
    path = run_dir / LAST_CHECKPOINT
    if not path.is_file():
        raise GanadInputError(
            f"config key 'weights': weights=last reads {path}, which is missing; expected the "
            "last-epoch checkpoint 'ganad train' writes there (a run folder archived without "
            "its checkpoints/ can only be evaluated with weights=selected)"
        )
    from ganad_cli.runs.safety import load_checkpoint_safely

    blob = load_checkpoint_safely(path, "last-epoch checkpoint")
    state = blob["state_dict"]
    epoch = _epoch(blob.get("epoch"))
    if not isinstance(state, dict) or epoch is None:
        raise GanadInputError(
            f"last-epoch checkpoint {path} lacks a state_dict or its epoch; expected a Lightning "
            "checkpoint written by 'ganad train'"
        )
    for key, tensor in state.items():
        if torch.is_tensor(tensor) and tensor.is_floating_point() and not tensor.isfinite().all():
            raise GanadInputError(
                f"last-epoch checkpoint {path} has NaN or inf weights (first in {key!r}); "
                "expected the weights of a trained model"
            )
    before = {k: v.detach().clone() for k, v in detector.model.state_dict().items()}
    try:
        detector.model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:160]
        raise GanadInputError(
            f"last-epoch checkpoint {path} does not fit the run's model ({type(exc).__name__}: "
            f"{first}); expected the checkpoint of the run whose detector.pt is beside it"
        ) from exc
    after = detector.model.state_dict()
    same = before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    return {
        "weights": "last",
        "rule": "last",
        "epoch": epoch + 1,  # 1-based, as the run's model_selection: the number of epochs trained
        "checkpoint": str(LAST_CHECKPOINT),
        "same_as_run": same,
        "run_selection": selected,
    }
