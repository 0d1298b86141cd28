"""The paper-table presets of scripts/reproduce.py: what each `experiment=<name>` preset runs,
the published numbers its table is compared with, and what `--smoke` shrinks.

The protocol itself (data, model, training) lives in conf/experiment/<name>.yaml only; its
header comment is the protocol text the results show (protocol_text).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ganad_cli.paths import conf_dir


def checkout() -> Path:
    """The checkout reproduce.py runs in: the folder that holds conf/."""
    return conf_dir().parent


METRIC_NAMES = {"auroc": "AUROC", "auprc": "AP (AUPRC)", "f1": "F1", "mcc": "MCC"}

# smoke size: records with N, S, V and F beats from both DS1 (101, 106, 208) and DS2 (100, 232)
SMOKE_RECORDS = "[100,101,106,208,232]"
SMOKE_COMMON = [
    f"data.records={SMOKE_RECORDS}",
    "data.max_samples=1200",
    "data.batch_size=64",
    "model.base_channels=8",
    "trainer.max_epochs=1",
    "trainer.enable_progress_bar=false",
    "plots=false",
    "quiet=true",
    "logger=none",
]
# table1 smoke: published n_max / SMOKE_NMAX_DIV, on SMOKE_BENCH_N test samples
SMOKE_NMAX_DIV = 100
SMOKE_BENCH_N = 16


def protocol_text(name: str) -> str:
    """The protocol as conf/experiment/<name>.yaml describes it: its header comment's first
    paragraph (the protocol text lives there only)."""
    lines = []
    for line in (conf_dir() / "experiment" / f"{name}.yaml").read_text().splitlines():
        if line.startswith("# @package"):
            continue
        if not line.startswith("#") or not line[1:].strip():
            break
        lines.append(line[1:].strip())
    return " ".join(lines)


@dataclass
class Preset:
    title: str
    source: str
    sweep: list[str]  # full-size sweep overrides (folds, seeds); may be empty (config-defined)
    smoke_sweep: list[str]
    metrics: list[str]
    published: dict[str, str] = field(default_factory=dict)
    group_by: str | None = None  # a config column that makes the table's rows (e.g. Lambda)
    over: str = "folds"
    # True: one `ganad train` per value of `sweep` (parallel, resumable); False: one multirun
    per_job: bool = False


PRESETS: dict[str, Preset] = {
    "beatgan_mitbih": Preset(
        title="BeatGAN on MIT-BIH as the authors' code runs it (N vs S/V/F/Q, 5 folds of normals)",
        source="Zhou et al., BeatGAN, IJCAI 2019 (authors' code re-run)",
        sweep=["data.fold=0,1,2,3,4"],
        smoke_sweep=["data.fold=0"],
        per_job=True,
        metrics=["auroc", "auprc", "f1", "mcc"],
        published={
            "auroc": "0.9458",
            "auprc": "0.9108",
            "f1": "not reported",
            "mcc": "not reported",
        },
    ),
    "beatgan_mitbih_small": Preset(
        title="BeatGAN on MIT-BIH, ganad's small network (N vs S/V/F/Q, 5 folds of normal beats)",
        source="Zhou et al., BeatGAN, IJCAI 2019 (authors' code re-run)",
        sweep=["data.fold=0,1,2,3,4"],
        smoke_sweep=["data.fold=0,1"],
        per_job=True,
        metrics=["auroc", "auprc", "f1", "mcc"],
        published={
            "auroc": "0.9458",
            "auprc": "0.9108",
            "f1": "not reported",
            "mcc": "not reported",
        },
    ),
    "ganad_mitbih": Preset(
        title="ganad's neighbours detector on MIT-BIH, BeatGAN protocol (N vs S/V/F/Q, 5 folds)",
        source=(
            "BeatGAN (Zhou et al., IJCAI 2019, authors' code re-run): AUROC 0.9458, AP 0.9108; "
            "ganad's own beatgan_mitbih_small: see beatgan_mitbih_small.md"
        ),
        sweep=["data.fold=0,1,2,3,4"],
        smoke_sweep=["data.fold=0,1"],
        per_job=True,
        metrics=["auroc", "auprc", "f1", "mcc"],
        published={"auroc": "0.9458", "auprc": "0.9108"},
    ),
    "ganad_inter_patient": Preset(
        title="ganad's neighbours detector, inter-patient: train on DS1, test on DS2 (de Chazal)",
        source=(
            "no published BeatGAN inter-patient numbers; Anobeat reports AUROC 0.894 "
            "inter-patient under its own protocol"
        ),
        sweep=["seed=0,1,2,3,4"],
        smoke_sweep=["seed=0"],
        per_job=True,
        metrics=["auroc", "auprc", "f1", "mcc"],
        over="seeds",
    ),
    "betavaegan_mitbih": Preset(
        title="β-VAEGAN on MIT-BIH Kachuee beats (N vs rest, 85/15 split, 5 folds)",
        source="Lüer et al. 2023 (β-VAEGAN, emundo/ecgan): F1 0.92 (SVM); previous best 0.85",
        sweep=["data.fold=0,1,2,3,4"],
        smoke_sweep=["data.fold=0,1"],
        per_job=True,
        metrics=["f1", "mcc", "auroc"],
        published={"f1": "0.92", "mcc": "not reported", "auroc": "not reported"},
    ),
    "table1": Preset(
        title="Survey Table 1: AnoGAN latent search vs encoder, β-VAEGAN on MIT-BIH Kachuee beats",
        source="Survey Table 1 (consumer GPU, 22427 test samples); encoder on CPU: 2.4 ms (text)",
        sweep=[],
        smoke_sweep=[],
        metrics=[],
        over="rows",
    ),
    "contamination": Preset(
        title="Contaminated training data: BeatGAN protocol, Λ ∈ {0, 0.01, 0.05, 0.1}",
        source="no published numbers (survey section 4.3 discusses the effect qualitatively)",
        sweep=[],  # Lambda x folds come from the preset's hydra.sweeper.params
        smoke_sweep=["data.fold=0"],
        metrics=["auroc", "auprc", "f1", "mcc"],
        group_by="data.contamination",
    ),
    "inter_patient": Preset(
        title="Inter-patient BeatGAN: train on DS1, test on DS2 (de Chazal 2004)",
        source="no published BeatGAN inter-patient numbers",
        sweep=[],  # seeds come from the preset's hydra.sweeper.params
        smoke_sweep=["seed=0,1"],
        metrics=["auroc", "auprc", "f1", "mcc"],
        over="seeds",
    ),
}

# Survey Table 1 rows: (inversion, eps, n_max, batch) -> published runtime (ms per sample)
TABLE1_PUBLISHED: list[tuple[str, float | None, int | None, int, str]] = [
    ("anogan", 0.005, 500, 1, "1139.7 ± 483.3"),
    ("anogan", 0.005, 500, 64, "38.27 ± 2.7"),
    ("anogan", 0.005, 1000, 1, "2254.4 ± 997.6"),
    ("anogan", 0.05, 500, 1, "325.8 ± 560.5"),
    ("anogan", 0.05, 100, 1, "77.9 ± 117.7"),
    ("encoder", None, None, 1, "1.9 ± 0.3 (GPU); 2.4 (CPU)"),
    ("encoder", None, None, 512, "0.08 (GPU)"),
]


# presets on MIT-BIH records: their results show false-positive rates per record
RECORD_PRESETS = ("beatgan_mitbih", "ganad_mitbih", "ganad_inter_patient", "inter_patient")

# the fully label-free detector: the last epoch's weights, equal weights, tau at a quantile of
# validation normals (ganad_cli.runs.label_use says which labels each row used)
LABEL_FREE = ["weights=last", "+score.combine=equal", "threshold=normal_quantile"]

# the grid combination on the protocol's three SVM components (ecgan's, see
# conf/experiment/protocol/betavaegan.yaml), not weighted_all's own four
# (beside a score choice a key is set without `+`: the choice's node already has it)
BETAVAEGAN_GRID = [
    "score=weighted_all",
    "score.components=[residual,feature_matching,latent_norm]",
    "score.residual_norm=l2",
]
BETAVAEGAN_FREE = [
    *BETAVAEGAN_GRID,
    "weights=last",
    "score.combine=equal",
    "threshold=normal_quantile",
]

# fold presets re-scored from the same models (`ganad evaluate`, one call per run and variant):
# each with its label-free variant; ganad_mitbih also with equal weights at the selected epoch,
# betavaegan_mitbih with the grid combination
RESCORING: dict[str, list[list[str]]] = {
    "beatgan_mitbih": [LABEL_FREE],
    "beatgan_mitbih_small": [LABEL_FREE],
    "inter_patient": [LABEL_FREE],
    "contamination": [LABEL_FREE],
    "ganad_mitbih": [["+score.combine=equal"], LABEL_FREE],
    "ganad_inter_patient": [["+score.combine=equal"], LABEL_FREE],
    "betavaegan_mitbih": [BETAVAEGAN_GRID, BETAVAEGAN_FREE],
}
