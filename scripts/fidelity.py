#!/usr/bin/env python
"""Fidelity table: a preset's protocol, element by element, against the reference code.

    python scripts/fidelity.py [preset] [--write]

Composes `experiment=<preset>` (default beatgan_mitbih) with Hydra and prints one markdown row per
protocol element: the reference's value with its file and line (BeatGAN presets: hi-bingo/BeatGAN
at commit d7b0e88, under experiments/; betavaegan_mitbih, betavaegan_kachuee and table1:
emundo/ecgan at fefd35c, under ecgan/, rows in scripts/fidelity_ecgan.py), ours as the composed
config keys and their values, and whether they match. An element with config keys matches when
every key has the value that reproduces the reference; the few elements no config key expresses
carry a fixed description of ours, and the match is stated with them. --write puts the table
into scripts/results/README.md between its `<!-- fidelity:<preset> -->` markers.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS_README = REPO / "scripts" / "results" / "README.md"
REFERENCE = "hi-bingo/BeatGAN@d7b0e88"


@dataclass
class Row:
    element: str
    reference: str  # the reference's value, in words
    where: str  # file:line(s) under experiments/ in the reference
    # config key -> the value that reproduces the reference (or, with `match`, ganad's closest)
    expect: dict[str, Any] = field(default_factory=dict)
    ours: str = ""  # for elements no config key expresses
    # the verdict when `expect` holds but ganad still differs (partly/no, and why), or with `ours`;
    # a key with another value than `expect` always reads "no"
    match: str = ""


ROWS = [
    Row(
        "records",
        "44 records: the 48 minus the paced 102, 104, 107, 217",
        "ecg/preprocess.py:24-33",
        {"data.records": None, "data.exclude_paced": True},
    ),
    Row(
        "lead",
        "MLII (column 0; record 114: column 1)",
        "ecg/preprocess.py:77-82",
        {"data.lead": "MLII"},
    ),
    Row(
        "channels trained on",
        "nc = 1: MLII only",
        "ecg/options.py:26, ecg/data.py:39-42",
        {"data.two_leads": False},
    ),
    Row(
        "band-pass",
        "biosppy 0.6.1 `ecg.ecg` filtered signal: FIR 3-45 Hz, order 0.3 fs, zero phase",
        "ecg/preprocess.py:84-87, README.md:35",
        {"data.bandpass": [3, 45]},
    ),
    Row(
        "beat window",
        "[R-140, R+180) around the annotation, 360 Hz; beats leaving the record dropped",
        "ecg/preprocess.py:15-16, 98",
        {"data.preprocess": "beatgan", "data.beatgan_before": 140, "data.beatgan_after": 180},
    ),
    Row(
        "scaling",
        "each beat min-max to [-1, 1]",
        "ecg/data.py:10-16, 38-62",
        {"data.preprocess": "beatgan"},
    ),
    Row(
        "classes",
        "N = N, L, R; S = a, J, A, S, j, e; V = V, E; F; Q = /, f, Q",
        "ecg/preprocess.py:35-41",
        {"data.class_mapping": "beatgan", "data.normal_classes": ["N"]},
    ),
    Row(
        "normal-beat filter",
        "N kept only if the nearest R peak biosppy 0.6.1 detects is < 10 samples away; "
        "anomalies all kept",
        "ecg/preprocess.py:44-65, 99-118",
        {"data.normal_r_filter": "biosppy"},
    ),
    Row(
        "test fold of normals",
        "normals shuffled once, fold k = the k-th fifth (int(n/5) beats) is test",
        "ecg/preprocess.py:159, ecg/data.py:66, 162-178",
        {"data.split": "intra_patient", "data.folds": 5},
        match="yes, up to the shuffle (seeded here) and the n mod 5 normals the reference "
        "never tests",
    ),
    Row(
        "validation normals",
        "10 % of the training normals",
        "ecg/data.py:78, 180-182",
        {"data.val_fraction": 0.1},
    ),
    Row(
        "validation anomalies",
        "10 % of each anomaly class (the rest is test, the same for every fold)",
        "ecg/data.py:71-74, 80-86",
        {"data.val_anomaly_fraction": 0.1, "data.val_anomaly_per_class": True},
        match="yes, up to the draw (seeded by data.seed here, random_state 0 there; the same "
        "for every fold in both)",
    ),
    Row(
        "contamination",
        "none (ANO_RATIO = 0)",
        "ecg/preprocess.py:13",
        {"data.contamination": 0.0},
    ),
    Row("batch size", "64", "ecg/options.py:23", {"data.batch_size": 64}),
    Row("latent size", "nz = 50", "ecg/options.py:27", {"model.latent_dim": 50}),
    Row(
        "network",
        "5 conv(4, 2, 1) stages 32 to 512 channels, BatchNorm but on the first, LeakyReLU 0.2, "
        "final conv kernel 10; decoder mirrored with ReLU; no biases",
        "ecg/network.py:30-110, ecg/options.py:28-29",
        {"model.backbone": "dcgan1d", "model.base_channels": 32, "model.bias": False},
    ),
    Row(
        "generator output",
        "Tanh",
        "ecg/network.py:98-99",
        {"model.output_activation": "tanh"},
    ),
    Row(
        "weight initialisation",
        "conv Xavier-normal, BatchNorm N(1, 0.02) and bias 0 (N(0, 0.02) is commented out)",
        "ecg/network.py:10-27",
        {"model.init": "beatgan"},
    ),
    Row(
        "losses",
        "D: BCE real/fake; G: MSE(x, x') + w_adv x MSE of D features, w_adv = 1",
        "ecg/model.py:21-54, 214-261, ecg/options.py:42",
        {"model.name": "beatgan", "model.w_adv": 1.0},
    ),
    Row(
        "optimiser",
        "Adam, lr 1e-4, betas (0.5, 0.999), for G and D",
        "ecg/model.py:85-86, ecg/options.py:40-41",
        {"model.lr_g": 1e-4, "model.lr_d": 1e-4, "model.beta1": 0.5, "model.beta2": 0.999},
    ),
    Row(
        "update order",
        "D, then G, on each batch",
        "ecg/model.py:205-208",
        {"model.update_order": "d_first"},
    ),
    Row(
        "D reset",
        "D re-initialised (weights_init) when its loss < 5e-6",
        "ecg/model.py:210-212, 239-243",
        {"model.d_reset_below": 5e-6, "model.init": "beatgan"},
    ),
    Row("epochs", "100", "ecg/options.py:39", {"trainer.max_epochs": 100}),
    Row(
        "training batches",
        "shuffled each epoch, the last incomplete batch dropped",
        "ecg/data.py:116-121",
        ours="EpochShuffle sampler, drop_last (ganad_cli/data/datamodule.py)",
        match="yes",
    ),
    Row(
        "epoch kept",
        "the epoch with the best validation AUROC",
        "ecg/model.py:135-143",
        {"trainer.select_epoch": "best_val_auroc"},
    ),
    Row(
        "validation pass",
        "networks left in training mode: BatchNorm on the statistics of shuffled validation "
        "batches of 64, updating its running statistics, which the kept weights carry to test",
        "ecg/model.py:138-142, 159-163, 288-331, ecg/data.py:122-127",
        {"trainer.val_batchnorm": "batch", "data.batch_size": 64},
        match="yes, up to the shuffle (seeded here)",
    ),
    Row(
        "score",
        "mean squared error between x and G(E(x)) per beat",
        "ecg/model.py:315-317",
        {"inversion.name": "encoder", "score.name": "residual", "score.residual_norm": "l2"},
    ),
    Row(
        "test metrics",
        "AUROC and AP over the test normals and all test anomalies",
        "ecg/model.py:385-416, metric.py:10-66",
        ours="test/auroc, test/auprc in metrics.json",
        match="yes",
    ),
    Row(
        "F1 threshold",
        "best F1 over thresholds on the test set itself",
        "metric.py:45-55",
        {"threshold.name": "val_fbeta"},
        match="no: ganad picks τ on validation (F1 is not in the published table)",
    ),
]


def _ecgan_rows():
    path = Path(__file__).resolve().with_name("fidelity_ecgan.py")
    spec = importlib.util.spec_from_file_location("fidelity_ecgan", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_ECGAN = _ecgan_rows()
_BETAVAEGAN = [Row(**r) for r in _ECGAN.BETAVAEGAN]
# preset -> (reference repository@commit, folder the paths are under, rows)
PRESETS: dict[str, tuple[str, str, list[Row]]] = {
    "beatgan_mitbih": (REFERENCE, "experiments/", ROWS),
    "beatgan_mitbih_small": (REFERENCE, "experiments/", ROWS),
    "betavaegan_mitbih": (_ECGAN.REFERENCE, _ECGAN.UNDER, _BETAVAEGAN),
    "betavaegan_kachuee": (_ECGAN.REFERENCE, _ECGAN.UNDER, _BETAVAEGAN),
    "table1": (_ECGAN.REFERENCE, _ECGAN.UNDER, [Row(**r) for r in _ECGAN.TABLE1]),
}


def compose(preset: str):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from ganad_cli.config import register_configs
    from ganad_cli.paths import conf_dir

    register_configs()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = hydra_compose("train", overrides=[f"experiment={preset}"])
    GlobalHydra.instance().clear()
    return cfg


def _value(cfg, key: str) -> Any:
    from omegaconf import OmegaConf

    value = OmegaConf.select(cfg, key)
    return OmegaConf.to_container(value) if OmegaConf.is_config(value) else value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return not isinstance(b, bool) and abs(float(a) - float(b)) <= 1e-12 * max(1, abs(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _shown(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, list):
        return "[" + ", ".join(_shown(x) for x in v) + "]"
    return str(v)


def rows(preset: str) -> list[list[str]]:
    """[element, reference, where, ours, match] per protocol element, from the composed preset."""
    if preset not in PRESETS:
        raise SystemExit(f"no fidelity table for {preset!r}; expected one of {sorted(PRESETS)}")
    cfg = compose(preset)
    out = []
    for r in PRESETS[preset][2]:
        if r.expect:
            values = {k: _value(cfg, k) for k in r.expect}
            ours = ", ".join(f"`{k}={_shown(v)}`" for k, v in values.items())
            ok = all(_same(values[k], want) for k, want in r.expect.items())
            match = ("yes" if ok else "no") if not r.match or not ok else r.match
        else:
            ours, match = r.ours, r.match
        out.append([r.element, r.reference, f"`{r.where}`", ours, match])
    return out


def table(preset: str) -> str:
    reference, under, _ = PRESETS[preset]
    head = ["protocol element", "reference", f"where ({reference}, {under})", "ours", "match"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows(preset)]
    return "\n".join(lines) + "\n"


def write(preset: str, readme: Path = RESULTS_README) -> bool:
    """Replace the table between the preset's markers; False when the markers are absent."""
    text = readme.read_text()
    start, end = f"<!-- fidelity:{preset} -->", f"<!-- /fidelity:{preset} -->"
    if start not in text or end not in text:
        return False
    block = f"{start}\n{table(preset)}{end}"
    pattern = re.escape(start) + r".*?" + re.escape(end)
    readme.write_text(re.sub(pattern, lambda _: block, text, flags=re.S))
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("preset", nargs="?", default="beatgan_mitbih")
    parser.add_argument("--write", action="store_true", help="update scripts/results/README.md")
    ns = parser.parse_args(argv)
    print(table(ns.preset), end="")
    if ns.write and not write(ns.preset):
        print(f"{RESULTS_README} has no <!-- fidelity:{ns.preset} --> markers", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
