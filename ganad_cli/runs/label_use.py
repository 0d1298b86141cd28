"""Which validation labels a scored run folder used, read from its config: the epoch (chosen by
validation AUROC, or the last), the score's combination (fitted on validation labels or not) and
tau (fitted on validation labels, or a quantile of validation normals). A result table shows each
variant as its own row and says which ones are free of labels (issue 15: label use, declared).

A variant is four config values: `trainer.select_epoch`, `score.name`, `score.combine`,
`threshold.name`. A `ganad train` folder has them in `.hydra/config.yaml`, a `ganad evaluate`
folder in `effective_config.yaml` (`weights=last` records `trainer.select_epoch: last` there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

# combinations whose weights need no label: one component, or every component weighted alike
LABEL_FREE_COMBINE = ("single", "equal", "fixed")
# thresholds that need no anomaly label
LABEL_FREE_THRESHOLD = ("normal_quantile", "fixed")

EPOCH_TEXT = {"last": "last epoch", "best_val_auroc": "epoch by validation AUROC"}
COMBINE_TEXT = {
    "single": "one component",
    "equal": "equal weights",
    "fixed": "fixed weights",
    "weighted": "λ fitted on validation",
    "svm": "SVM fitted on validation",
}
THRESHOLD_TEXT = {
    "normal_quantile": "τ at a quantile of validation normals",
    "fixed": "fixed τ",
    "val_fbeta": "τ by validation F-beta",
    "val_mcc": "τ by validation MCC",
}


@dataclass(frozen=True)
class Variant:
    select_epoch: str
    score: str
    combine: str
    threshold: str

    @property
    def label_free(self) -> bool:
        return (
            self.select_epoch == "last"
            and self.combine in LABEL_FREE_COMBINE
            and self.threshold in LABEL_FREE_THRESHOLD
        )

    def short(self) -> str:
        """The four values, for headings and the per-run table."""
        return f"{self.select_epoch}/{self.score}/{self.combine}/{self.threshold}"

    def describe(self) -> str:
        """e.g. `score=neighbours, equal weights; last epoch; τ at a quantile of validation
        normals (label-free)`."""
        combine = COMBINE_TEXT.get(self.combine, f"score.combine={self.combine}")
        epoch = EPOCH_TEXT.get(self.select_epoch, f"trainer.select_epoch={self.select_epoch}")
        tau = THRESHOLD_TEXT.get(self.threshold, f"threshold={self.threshold}")
        tail = " (label-free)" if self.label_free else ""
        return f"score={self.score}, {combine}; {epoch}; {tau}{tail}"


def record(cfg: DictConfig) -> dict[str, object]:
    """metrics.json's `label_use`: which validation labels chose the epoch, fitted the score's
    weights and tau. The val/* metrics of a run that fitted any of them on validation are
    in-sample (measured on the labels they were fitted to); test labels are never used."""
    v = variant_of(cfg)
    fitted = [
        name
        for name, uses in (
            ("epoch", v.select_epoch != "last"),
            ("score weights", v.combine not in LABEL_FREE_COMBINE),
            ("tau", v.threshold not in LABEL_FREE_THRESHOLD),
        )
        if uses
    ]
    return {
        "label_free": v.label_free,
        "variant": v.describe(),
        "fitted_on_validation_labels": fitted,
        "val_metrics_in_sample": bool(fitted),
        "test_labels": "metrics only",
    }


def config_of(folder: Path) -> DictConfig:
    """The config a train or evaluate folder was scored with."""
    for name in ("effective_config.yaml", ".hydra/config.yaml"):
        if (folder / name).is_file():
            return OmegaConf.load(folder / name)
    raise FileNotFoundError(f"{folder}: neither effective_config.yaml nor .hydra/config.yaml")


def variant_of(cfg: DictConfig) -> Variant:
    return Variant(
        select_epoch=str(OmegaConf.select(cfg, "trainer.select_epoch", default="last")),
        score=str(cfg.score.name),
        combine=str(OmegaConf.select(cfg, "score.combine", default="single")),
        threshold=str(cfg.threshold.name),
    )


def variant_after(base: Variant, overrides: Sequence[str]) -> Variant:
    """The variant `ganad evaluate` gives a run of variant `base` with these overrides: a new
    score choice brings that score's own combination (read from conf/score/<name>.yaml)."""
    out = base
    for item in overrides:
        key, value = item.lstrip("+").split("=", 1)
        if key == "weights":
            out = replace(out, select_epoch="last") if value == "last" else out
        elif key == "score":
            out = replace(out, score=value, combine=_packaged_combine(value))
        elif key == "score.combine":
            out = replace(out, combine=value)
        elif key == "threshold":
            out = replace(out, threshold=value)
    return out


def _packaged_combine(score: str) -> str:
    from ganad_cli.paths import conf_dir

    node = OmegaConf.load(conf_dir() / "score" / f"{score}.yaml")
    return str(node.get("combine", "single"))


def evaluation_for(run: Path, overrides: Sequence[str]) -> Path | None:
    """A finished `ganad evaluate` folder of `run` that scored the variant `overrides` give, or
    None: a resumed reproduction keeps it rather than scoring that variant twice."""
    want = variant_after(variant_of(config_of(run)), overrides)
    for metrics in sorted((run / "evaluations").glob("*/metrics.json")):
        if variant_of(config_of(metrics.parent)) == want:
            return metrics.parent
    return None
