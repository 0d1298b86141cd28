"""RR density alone (no network) on one fold of the BeatGAN protocol: AUROC, AP and per class.

    python scripts/rr_density_alone.py [fold] [data_root]

Fits ganad_cli.scoring.rhythm.RhythmDensity on the training split of experiment=beatgan_mitbih
with 1, 2, 4 and 8 mixture components and scores the test split. Test labels are only read to
compute the metrics printed.
"""

import sys
import time
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir
from sklearn.metrics import average_precision_score, roc_auc_score

from ganad_cli.config import register_configs
from ganad_cli.data import load_samples
from ganad_cli.data.splits import make_splits
from ganad_cli.paths import conf_dir
from ganad_cli.scoring.rhythm import RhythmDensity

register_configs()
fold = int(sys.argv[1]) if len(sys.argv) > 1 else 0
root = (
    sys.argv[2]
    if len(sys.argv) > 2
    else str(Path(__file__).resolve().parents[1].parent / "shared/data/mitdb")
)
with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
    cfg = compose(
        "train", overrides=["experiment=beatgan_mitbih", f"data.root={root}", f"data.fold={fold}"]
    )
t = time.time()
splits = make_splits(load_samples(cfg.data), cfg.data)
print("load", time.time() - t)
for k in (1, 2, 4, 8):
    d = RhythmDensity.fit(splits.train.context, n_components=k)
    s = d.score(splits.test.context)
    y = splits.test.label
    per = {
        c: round(
            roc_auc_score(
                np.r_[
                    np.zeros((splits.test.cls == "N").sum()), np.ones((splits.test.cls == c).sum())
                ],
                np.r_[s[splits.test.cls == "N"], s[splits.test.cls == c]],
            ),
            4,
        )
        for c in "SVFQ"
    }
    print(
        k,
        "AUROC",
        round(roc_auc_score(y, s), 4),
        "AP",
        round(average_precision_score(y, s), 4),
        per,
    )
