"""Paper-table presets (conf/experiment/) and scripts/reproduce.py.

The script reads the arguments; its work lives in ganad_cli.tasks.reproduce* and
ganad_cli.runs.reproduction, imported from there. The full-size presets are checked by
composing them (the published protocol's numbers); every preset's --smoke size is run end to
end on real MIT-BIH records through the `ganad` CLI, and its table must have every cell filled.
About 2-3 minutes in all on 2 cores.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from ganad_cli.errors import ReproduceError
from ganad_cli.runs.reproduction import InvocationClock
from ganad_cli.tasks.reproduce import commands_run, commits_line, wall_time
from ganad_cli.tasks.reproduce_jobs import run_jobs
from ganad_cli.tasks.reproduce_presets import TABLE1_PUBLISHED
from ganad_cli.tasks.reproduce_tables import af_records

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "reproduce.py"
PRESETS = [
    "beatgan_mitbih",
    "beatgan_mitbih_small",
    "ganad_mitbih",
    "ganad_inter_patient",
    "betavaegan_mitbih",
    "table1",
    "contamination",
    "inter_patient",
]


def _load_script():
    spec = importlib.util.spec_from_file_location("reproduce", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["reproduce"] = module
    spec.loader.exec_module(module)
    return module


reproduce = _load_script()


def tables(md: str) -> list[list[list[str]]]:
    """Markdown tables of a document: lists of rows of stripped cells (separator rows dropped)."""
    out: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            if not re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", line.strip()):
                current.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif current:
            out.append(current)
            current = []
    return out


def hydra_cfg(compose_train, preset: str):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from ganad_cli.paths import conf_dir

    compose_train()  # registers the schemas
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose("train", overrides=[f"experiment={preset}"], return_hydra_config=True)
    GlobalHydra.instance().clear()
    return cfg


# ---------------------------------------------------------------- full-size protocols (compose)


def test_beatgan_preset_is_the_published_protocol(compose_train):
    from ganad_cli.config import validate_config

    cfg = compose_train(["experiment=beatgan_mitbih"])
    validate_config(cfg)
    d, m = cfg.data, cfg.model
    assert (d.name, d.preprocess, d.two_leads, list(d.bandpass)) == (
        "mitbih",
        "beatgan",
        False,  # the authors' code trains on channel 0 (MLII) only: nc=1
        [3, 45],
    )
    assert d.exclude_paced is True and list(d.normal_classes) == ["N"]
    assert (d.split, d.folds, d.val_fraction, d.val_anomaly_fraction) == (
        "intra_patient",
        5,
        0.1,
        0.1,
    )
    assert d.batch_size == 64 and d.contamination == 0.0
    assert (m.name, m.latent_dim, m.lr_g, m.lr_d, m.beta1) == ("beatgan", 50, 1e-4, 1e-4, 0.5)
    assert cfg.trainer.max_epochs == 100 and cfg.trainer.select_epoch == "best_val_auroc"
    assert m.d_reset_below == 5e-6
    assert cfg.inversion.name == "encoder"
    assert (cfg.score.name, list(cfg.score.components), cfg.score.residual_norm) == (
        "residual",
        ["residual"],
        "l2",
    )
    # as the authors' code runs: their classes, R-peak filter, network, init and update order
    assert (d.class_mapping, d.normal_r_filter) == ("beatgan", "biosppy")
    assert (m.backbone, m.base_channels, m.bias, m.output_activation, m.init) == (
        "dcgan1d",
        32,
        False,
        "tanh",
        "beatgan",
    )
    assert m.update_order == "d_first"


def test_small_variant_is_the_earlier_beatgan_preset(compose_train):
    """beatgan_mitbih_small = beatgan_mitbih before it followed the authors' code; ganad_mitbih
    builds on it, so a run of ganad_mitbih composes as it did."""
    from omegaconf import OmegaConf

    faithful = compose_train(["experiment=beatgan_mitbih"])
    small = compose_train(["experiment=beatgan_mitbih_small"])
    d, m = small.data, small.model
    assert (d.class_mapping, d.normal_r_filter) == ("aami", None)
    assert (m.backbone, m.bias, m.output_activation, m.init, m.update_order) == (
        "conv1d",
        True,
        "none",
        "default",
        "g_first",
    )
    differ = {
        f"{node}.{k}"
        for node in ("data", "model", "trainer", "score", "inversion", "threshold")
        for k in set(small[node]) | set(faithful[node])
        if small[node].get(k) != faithful[node].get(k)
    }
    assert differ == {
        "data.class_mapping",
        "data.normal_r_filter",
        "data.val_anomaly_per_class",
        "model.backbone",
        "model.bias",
        "model.output_activation",
        "model.init",
        "model.update_order",
        "trainer.val_batchnorm",
    }
    ganad = compose_train(["experiment=ganad_mitbih"])
    assert OmegaConf.to_container(ganad.data) == OmegaConf.to_container(small.data)
    assert OmegaConf.to_container(ganad.model) == OmegaConf.to_container(small.model)
    assert ganad.trainer.max_epochs == 8 and ganad.score.name == "neighbours"


def test_betavaegan_and_table1_presets(compose_train):
    from ganad_cli.config import validate_config

    cfg = compose_train(["experiment=betavaegan_mitbih"])
    validate_config(cfg)
    d = cfg.data
    assert (d.preprocess, d.resample_length, list(d.normal_classes)) == ("kachuee", None, ["N"])
    assert d.scale == "ecgan"  # each split min-max to [-1, 1], as ecgan scales for its tanh G
    assert (d.split, d.train_fraction, d.folds) == ("ecgan", 0.85, 5)
    assert cfg.model.name == "beta_vaegan" and cfg.inversion.name == "encoder"
    assert (cfg.score.name, cfg.score.combine) == ("svm", "svm")
    # ecgan's three: reconstruction, feature ("discrimination") error, latent norm
    assert list(cfg.score.components) == ["residual", "feature_matching", "latent_norm"]

    t1 = compose_train(["experiment=table1"])
    validate_config(t1)
    # the same model and data as betavaegan_mitbih, one fold, a grid-weighted score
    assert t1.model == cfg.model and t1.data == cfg.data and t1.data.fold == 0
    assert t1.score.name == "weighted_all"


def test_sweep_presets(compose_train):
    from ganad_cli.data.mitbih import DS1, DS2

    cont = hydra_cfg(compose_train, "contamination")
    params = cont.hydra.sweeper.params
    assert [float(v) for v in params["data.contamination"].split(",")] == [0.0, 0.01, 0.05, 0.1]
    assert params["data.fold"] == "0,1,2,3,4"
    assert cont.model.name == "beatgan" and cont.model.latent_dim == 50
    assert cont.data.contamination_max == 0.1  # the largest Lambda: one test set for all

    inter = hydra_cfg(compose_train, "inter_patient")
    assert inter.data.split == "inter_patient" and inter.model.name == "beatgan"
    assert sorted(map(int, inter.data.train_groups)) == sorted(DS1)
    assert sorted(map(int, inter.data.test_groups)) == sorted(DS2)
    assert inter.hydra.sweeper.params.seed == "0,1,2,3,4"
    # the split follows the top-level seed; validation must hold S, V and F beats
    seeded = compose_train(["experiment=inter_patient", "seed=3"])
    assert seeded.data.seed == 3 and list(seeded.data.val_required_classes) == ["S", "V", "F"]


def test_full_size_commands(tmp_path):
    # fold presets: one `ganad train` per fold, each into its own run folder
    cmds = reproduce.commands("beatgan_mitbih", False, "/data/mitdb", tmp_path)
    assert len(cmds) == 5
    for k, (kind, argv) in enumerate(cmds):
        assert kind == "train" and argv[1:3] == ["train", "experiment=beatgan_mitbih"]
        assert f"data.fold={k}" in argv and "data.root=/data/mitdb" in argv
        assert f"hydra.run.dir={tmp_path / 'runs' / str(k)}" in argv
        assert not any(a.startswith(("trainer.max_epochs", "data.max_samples")) for a in argv)
    smoke = [argv for _, argv in reproduce.commands("beatgan_mitbih", True, None, tmp_path)]
    assert len(smoke) == 1 and all("trainer.max_epochs=1" in a for a in smoke)
    smoke = [argv for _, argv in reproduce.commands("beatgan_mitbih_small", True, None, tmp_path)]
    assert len(smoke) == 2 and all("trainer.max_epochs=1" in a for a in smoke)
    assert not any(a.startswith("data.root") for a in smoke[0])
    # sweep presets: one Hydra multirun
    ((_, multi),) = reproduce.commands("inter_patient", False, None, tmp_path)
    assert multi[1:4] == ["train", "-m", "experiment=inter_patient"]
    # the dry run prints the same command and runs nothing
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "contamination", "--dry-run", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "experiment=contamination" in proc.stdout and not (tmp_path / "runs").exists()


def test_resume_refuses_folds_of_another_protocol(tmp_path, compose_train):
    """A fold trained when beatgan_mitbih meant today's beatgan_mitbih_small is not kept."""
    from omegaconf import OmegaConf

    cmds = [argv for _, argv in reproduce.commands("beatgan_mitbih", False, None, tmp_path)]
    run0 = tmp_path / "runs" / "0"
    (run0 / ".hydra").mkdir(parents=True)
    (run0 / "metrics.json").write_text("{}")
    old = OmegaConf.to_container(compose_train(["experiment=beatgan_mitbih_small", "data.fold=0"]))
    for key in ("class_mapping", "normal_r_filter"):  # a run older than these keys
        del old["data"][key]
    OmegaConf.save(OmegaConf.create(old), run0 / ".hydra" / "config.yaml")
    with pytest.raises(ReproduceError, match="another protocol") as info:
        run_jobs(cmds[:1], tmp_path / "runs", tmp_path, 1, False)
    assert "model.backbone: 'conv1d' -> 'dcgan1d'" in str(info.value)
    assert "data.class_mapping: 'aami' -> 'beatgan'" in str(info.value)
    # the same protocol: the finished fold is kept and nothing runs
    OmegaConf.save(
        compose_train(["experiment=beatgan_mitbih", "data.fold=0"]), run0 / ".hydra" / "config.yaml"
    )
    run_jobs(cmds[:1], tmp_path / "runs", tmp_path, 1, False)
    assert not (tmp_path / "job0.log").exists()


def test_update_readme_replaces_only_its_block(tmp_path):
    result = tmp_path / "beatgan_mitbih.md"
    result.write_text(
        "# x\n\n| metric | ours | published |\n|---|---|---|\n| AUROC | 0.9 ± 0.01 | 0.9458 |\n\n"
        "- Hardware: CPU z\n- Wall time: 5 s\n"
    )
    readme = tmp_path / "README.md"
    readme.write_text(
        "intro\n<!-- results:beatgan_mitbih -->\nold\n<!-- /results:beatgan_mitbih -->\n"
        "<!-- results:table1 -->\nkeep\n<!-- /results:table1 -->\n"
    )
    assert reproduce.update_readme("beatgan_mitbih", result, readme)
    text = readme.read_text()
    assert "| AUROC | 0.9 ± 0.01 | 0.9458 |" in text and "old" not in text
    assert "Hardware: CPU z" in text and "keep" in text and text.startswith("intro\n")
    assert not reproduce.update_readme("inter_patient", result, readme)


# ------------------------------------------------------------------------- smoke runs (real)


def _smoke(preset: str, tmp_path: Path, mitdb_root: Path, resume: bool = False) -> tuple[str, Path]:
    out = tmp_path / preset
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), preset, "--smoke", "--data-root", str(mitdb_root)]
        + ["--out", str(out), "--results", str(tmp_path)]
        + (["--resume"] if resume else []),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    md = (tmp_path / f"{preset}.md").read_text()
    found = tables(md)
    assert found, md
    for table in found:
        width = len(table[0])
        for row in table:
            assert len(row) == width, row
            for cell in row:
                assert cell and cell.lower() not in ("nan", "none") and "nan ±" not in cell, row
    for key in ("- Commit: ", "- Hardware: CPU ", "- Wall time: ", "- Command: `python"):
        assert key in md, key
    assert "smoke run" in md and f"experiment={preset}" in md
    return md, out


def _summary(md: str) -> list[list[str]]:
    return tables(md)[0]


# the result rows (ganad_cli.runs.label_use): the preset's own variant, its label-free one
BEATGAN_OWN = "score=residual, one component; epoch by validation AUROC; τ by validation F-beta"
LABEL_FREE_TAIL = "last epoch; τ at a quantile of validation normals (label-free)"
BEATGAN_FREE = f"score=residual, equal weights; {LABEL_FREE_TAIL}"
NEIGHBOURS_FITTED = (
    "score=neighbours, λ fitted on validation; epoch by validation AUROC; τ by validation F-beta"
)
NEIGHBOURS_EQUAL = (
    "score=neighbours, equal weights; epoch by validation AUROC; τ by validation F-beta"
)
NEIGHBOURS_FREE = f"score=neighbours, equal weights; {LABEL_FREE_TAIL}"


def _rows(md: str) -> dict[str, list[str]]:
    """The summary table's rows by their variant."""
    return {r[0]: r for r in _summary(md)[1:]}


def needs_biosppy() -> None:
    """Presets with data.normal_r_filter=biosppy (beatgan_mitbih and those built on it)."""
    pytest.importorskip("biosppy.signals.ecg", reason="scripts/setup.sh installs ganad[beatgan]")


def test_smoke_beatgan_mitbih(tmp_path, mitdb_root):
    needs_biosppy()
    md, out = _smoke("beatgan_mitbih", tmp_path, mitdb_root)
    rows = _rows(md)
    assert list(rows) == [BEATGAN_OWN, BEATGAN_FREE]  # the preset's protocol first
    assert "AUROC 0.9458" in rows[BEATGAN_OWN][-1] and "(n=1)" in rows[BEATGAN_OWN][2]
    assert rows[BEATGAN_FREE][-1] == "not published"
    from omegaconf import OmegaConf

    (cfg_file,) = (out / "runs").glob("*/.hydra/config.yaml")
    cfg = OmegaConf.load(cfg_file)
    assert (cfg.model.backbone, cfg.model.update_order) == ("dcgan1d", "d_first")
    assert (cfg.data.normal_r_filter, cfg.data.class_mapping) == ("biosppy", "beatgan")


def test_smoke_beatgan_mitbih_small(tmp_path, mitdb_root):
    md, out = _smoke("beatgan_mitbih_small", tmp_path, mitdb_root)
    rows = _rows(md)
    own = rows[BEATGAN_OWN]
    assert own[-1] == "AUROC 0.9458, AP (AUPRC) 0.9108" and own[1] == rows[BEATGAN_FREE][1] == "2"
    assert "over 2 folds" in _summary(md)[0][2] and "±" in own[2]
    # the mean over folds is the mean of the runs' own metrics.json
    aurocs = [
        json.loads(p.read_text())["test/auroc"] for p in (out / "runs").glob("*/metrics.json")
    ]
    assert len(aurocs) == 2
    assert own[2].startswith(f"{sum(aurocs) / 2:.4f}")
    # the label-free row: each fold's last epoch, tau at a quantile of validation normals
    free = sorted((out / "runs").glob("*/evaluations/*/metrics.json"))
    assert len(free) == 2
    for m in map(json.loads, (f.read_text() for f in free)):
        assert m["model_selection"]["weights"] == "last"
    free_aurocs = [json.loads(f.read_text())["test/auroc"] for f in free]
    assert rows[BEATGAN_FREE][2].startswith(f"{sum(free_aurocs) / 2:.4f}")
    # each anomaly class against the normals, mean over the folds' own per-class AUROC
    per_class, per_run = tables(md)[1], tables(md)[3]  # [2]: the label-free per-class table
    assert per_class[0][0] == "class" and len(per_class) > 1
    metrics = [json.loads(p.read_text()) for p in sorted((out / "runs").glob("*/metrics.json"))]
    for cls, _, auroc in per_class[1:]:
        values = [m["test/per_class"][cls]["auroc_vs_normal"] for m in metrics]
        assert auroc.startswith(f"{sum(values) / len(values):.4f}"), (cls, auroc, values)
        assert f"AUROC {cls} vs normal" in per_run[0]
    assert sorted(r[1] for r in per_run[1:]) == ["0", "0", "1", "1"]  # folds 0, 1, two variants


def test_smoke_ganad_mitbih(tmp_path, mitdb_root):
    md, out = _smoke("ganad_mitbih", tmp_path, mitdb_root)
    rows = _rows(md)
    assert list(rows) == [NEIGHBOURS_FITTED, NEIGHBOURS_EQUAL, NEIGHBOURS_FREE]
    assert {r[1] for r in rows.values()} == {"2"}
    assert "AUROC 0.9458" in rows[NEIGHBOURS_FITTED][-1]
    assert rows[NEIGHBOURS_EQUAL][-1] == rows[NEIGHBOURS_FREE][-1] == "not published"
    evaluations = sorted((out / "runs").glob("*/evaluations/*/metrics.json"))
    assert len(evaluations) == 4
    for p in evaluations:  # the re-scored rows: the same runs, two equal weights
        m = json.loads(p.read_text())
        assert m["test/components"] == ["latent_knn", "rr_density"]
        assert m["test/lambda"] == pytest.approx([1 / 2] * 2)
    assert md.count("Per anomaly class (test), variant ") == 3
    assert md.count("Per record (test, variant ") == 3 and "All records together" in md

    # each finished fold is kept for git, re-scoring included, without weights or plots
    archive = tmp_path / "ganad_mitbih_runs"
    assert sorted(p.parent.name for p in archive.glob("*/metrics.json")) == ["0", "1"]
    assert len(list(archive.glob("*/evaluations/*/metrics.json"))) == 4
    assert len(list(archive.glob("*/scores.csv.gz"))) == 2 and (archive / "0" / "job.log").is_file()
    kept = [p.name for p in archive.rglob("*")]
    assert not [n for n in kept if n.endswith((".ckpt", ".pt", ".png")) or n == "checkpoints"]
    # another machine: the run folders are gone and --resume trains nothing, from the archive
    shutil.rmtree(out)
    again, out = _smoke("ganad_mitbih", tmp_path, mitdb_root, resume=True)
    assert tables(again) == tables(md)
    for k in ("0", "1"):  # one training per fold in its log: the restored one, no second
        log = (out / f"job{k}.log").read_text()
        assert sum(ln.startswith("$ ") for ln in log.splitlines()) == 1
    rerun_log = out / "reproduce.log"  # this call's own commands: no re-scoring either
    assert not rerun_log.is_file() or " evaluate " not in rerun_log.read_text()


def test_smoke_betavaegan_mitbih(tmp_path, mitdb_root):
    md, out = _smoke("betavaegan_mitbih", tmp_path, mitdb_root)
    rows = _rows(md)
    svm = "score=svm, SVM fitted on validation; last epoch; τ by validation F-beta"
    grid = "score=weighted_all, λ fitted on validation; last epoch; τ by validation F-beta"
    free = f"score=weighted_all, equal weights; {LABEL_FREE_TAIL}"
    assert list(rows) == [svm, grid, free] and {r[1] for r in rows.values()} == {"2"}
    assert "F1 0.92" in rows[svm][-1] and rows[free][-1] == "not published"
    assert len(list((out / "runs").glob("*/evaluations/*/metrics.json"))) == 4
    assert md.count(" evaluate run=") == 4  # the fold trainings and the re-scorings are listed


def test_smoke_table1(tmp_path, mitdb_root):
    md, out = _smoke("table1", tmp_path, mitdb_root)
    rows = _summary(md)[1:]
    assert len(rows) == len(TABLE1_PUBLISHED) == 7
    assert [r[0] for r in rows].count("Encoder") == 2
    assert "1139.7 ± 483.3" in rows[0][-1]
    assert (out / "runs" / "0" / "bench.csv").is_file()


def test_smoke_contamination(tmp_path, mitdb_root):
    needs_biosppy()
    md, out = _smoke("contamination", tmp_path, mitdb_root)
    rows = _summary(md)[1:]
    # each Lambda with the preset's variant, then its label-free one
    assert [float(r[0]) for r in rows] == [0.0, 0.0, 0.01, 0.01, 0.05, 0.05, 0.1, 0.1]
    assert [r[1] for r in rows] == [BEATGAN_OWN, BEATGAN_FREE] * 4
    data = [json.loads(p.read_text())["data"] for p in (out / "runs").glob("*/metrics.json")]
    shares = sorted(d["train_contaminated"] for d in data)
    assert shares[0] == 0 and shares[-1] > shares[1] > 0  # Lambda really moved anomalies
    for d in data:  # the survey's Lambda: the anomaly share of the training set
        assert abs(d["train_anomaly_share"] - d["contamination"]) < 0.005
    # the same test set for every Lambda of the fold
    assert len({json.dumps(d["class_counts"]["test"], sort_keys=True) for d in data}) == 1


def test_smoke_ganad_inter_patient(tmp_path, mitdb_root):
    from ganad_cli.data.mitbih import DS1, DS2

    md, out = _smoke("ganad_inter_patient", tmp_path, mitdb_root)
    rows = _rows(md)
    assert list(rows) == [NEIGHBOURS_FITTED, NEIGHBOURS_EQUAL, NEIGHBOURS_FREE]
    assert {r[1] for r in rows.values()} == {"1"}
    (p,) = (out / "runs").glob("*/metrics.json")
    data = json.loads(p.read_text())["data"]
    assert {int(g) for g in data["groups"]["train"] + data["groups"]["val"]} <= set(DS1)
    assert {int(g) for g in data["groups"]["test"]} <= set(DS2)
    assert "Per record (test, variant " in md
    assert (tmp_path / "ganad_inter_patient_runs" / "0" / "metrics.json").is_file()


def test_smoke_inter_patient(tmp_path, mitdb_root):
    from ganad_cli.data.mitbih import DS1, DS2

    needs_biosppy()
    md, out = _smoke("inter_patient", tmp_path, mitdb_root)
    assert "over 2 seeds" in _summary(md)[0][2]
    val_groups = {}
    for p in sorted((out / "runs").glob("*/metrics.json")):
        data = json.loads(p.read_text())["data"]
        groups = data["groups"]
        assert {int(g) for g in groups["train"] + groups["val"]} <= set(DS1)
        assert groups["test"] and {int(g) for g in groups["test"]} <= set(DS2)
        val_groups[data["seed"]] = groups["val"]
    # seeds 0 and 1 split DS1 differently; each run lists its validation records
    assert sorted(val_groups) == [0, 1] and val_groups[0] != val_groups[1]


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_has_a_smoke_test(preset):
    assert preset in reproduce.PRESETS
    assert f"test_smoke_{preset}" in globals()
    assert (REPO / "conf" / "experiment" / f"{preset}.yaml").is_file()


def test_invocation_clock_counts_a_killed_call_to_its_last_heartbeat(tmp_path):
    killed = InvocationClock(tmp_path, ["first"], beat=0.05)
    time.sleep(0.3)
    killed.done.set()  # the process "dies": no stop(), the file keeps the last heartbeat
    killed.thread.join()
    beat_seconds = json.loads((tmp_path / "invocations.json").read_text())[0]["seconds"]
    assert beat_seconds >= 0.2
    second = InvocationClock(tmp_path, ["second"], beat=0.05)
    total = second.stop()
    calls = json.loads((tmp_path / "invocations.json").read_text())
    assert [c["argv"] for c in calls] == [["first"], ["second"]]
    assert calls[0]["finished"] is None and calls[1]["finished"] is not None
    assert second.unfinished_before == 1
    assert total == pytest.approx(beat_seconds + calls[1]["seconds"])


def test_wall_time_says_when_training_began_before_the_first_recorded_call(tmp_path):
    (tmp_path / "job0.log").write_text(
        "$ ganad train data.fold=0\n[2026-01-01 10:00:00,123][ganad][INFO] - data mitbih\n"
    )
    (tmp_path / "job1.log").write_text("$ ganad train data.fold=1\n")  # no log line yet
    clock = InvocationClock(tmp_path, ["beatgan_mitbih"], beat=60)
    clock.stop()
    clock.calls[0].update(started="2026-01-01 12:00:00", finished="2026-01-01 13:30:00")
    text = wall_time(clock, tmp_path)
    assert "summed over the 1 reproduce.py calls" in text
    assert "the first started 2026-01-01 12:00:00)" in text
    assert "Training began earlier, at 2026-01-01 10:00:00" in text
    assert "took 3.50 h of elapsed time" in text
    # training that began inside the recorded calls gets no such sentence
    clock.calls[0]["started"] = "2026-01-01 09:59:59"
    assert "began earlier" not in wall_time(clock, tmp_path)


def test_commands_list_every_evaluation_of_the_runs_not_only_this_calls(tmp_path):
    """A resumed call that only re-aggregates still lists the re-scorings earlier calls made
    (read from the run folders); an evaluation that never finished is not listed."""
    (tmp_path / "job0.log").write_text("$ ganad train data.fold=0\nlog line\n")
    run = tmp_path / "runs" / "0"
    for stamp, overrides, finished in [
        ("2026-01-01_10-00-00", ["run=r0", "+score.combine=equal"], True),
        ("2026-01-01_11-00-00", ["run=r0", "weights=last", "threshold=normal_quantile"], True),
        ("2026-01-01_12-00-00", ["run=r0", "score=weighted_all"], False),
    ]:
        folder = run / "evaluations" / stamp
        (folder / ".hydra").mkdir(parents=True)
        (folder / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
        if finished:
            (folder / "metrics.json").write_text("{}")
    this_call = [["/x/ganad", "evaluate", "run=r0", "+score.combine=equal"]]
    lines = commands_run(tmp_path, this_call, per_job=True, trained=[run])
    assert lines[1:] == [
        "  - `ganad train data.fold=0`",
        "  - `ganad evaluate run=r0 +score.combine=equal`",
        "  - `ganad evaluate run=r0 weights=last threshold=normal_quantile`",
    ]


def test_commit_line_names_the_commits_of_earlier_calls(tmp_path, monkeypatch):
    import ganad_cli.tasks.reproduce as task

    first = InvocationClock(tmp_path, ["a"], beat=60, commit="aaa")
    first.stop()
    second = InvocationClock(tmp_path, ["b"], beat=60, commit="bbb")
    second.stop()
    assert second.commits == ["aaa", "bbb"]
    monkeypatch.setattr(task, "git_commit", lambda repo, outputs=(): "bbb")
    assert commits_line(second) == "bbb (this call); earlier calls ran at aaa"
    monkeypatch.setattr(task, "git_commit", lambda repo, outputs=(): "aaa")
    assert commits_line(first) == "aaa"


FAKE_TRAIN = """
import json, os, sys, time
from pathlib import Path

args = dict(a.split("=", 1) for a in sys.argv[1:])
run = Path(args.get("resume") or args["hydra.run.dir"])
ckpt = run / "checkpoints" / "last.ckpt"
if "resume" in args:
    state = json.loads(ckpt.read_text())
else:
    ckpt.parent.mkdir(parents=True)
    state = {"epoch": 0, "total": int(args["total"]), "fail": args.get("fail") == "1"}
if state["fail"]:
    print("boom: this fold fails")
    sys.exit(3)
while state["epoch"] < state["total"]:
    time.sleep(0.15)
    with (run / "threads.txt").open("a") as f:
        f.write(f"{state['epoch']} {os.environ['OMP_NUM_THREADS']}\\n")
    state["epoch"] += 1
    tmp = ckpt.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    tmp.replace(ckpt)
(run / "metrics.json").write_text("{}")
"""


def _fake_folds(tmp_path: Path, *specs: str) -> tuple[list[list[str]], Path]:
    """Commands of stand-in `ganad train` processes (the scheduler is under test, not training)."""
    fake = tmp_path / "fake_train.py"
    fake.write_text(FAKE_TRAIN)
    runs = tmp_path / "runs"
    cmds = [
        [sys.executable, str(fake), f"hydra.run.dir={runs / str(k)}", *spec.split()]
        for k, spec in enumerate(specs)
    ]
    return cmds, runs


def test_run_jobs_gives_a_lone_last_fold_the_freed_cores(tmp_path, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cmds, runs = _fake_folds(tmp_path, "total=2", "total=14")
    run_jobs(cmds, runs, tmp_path, jobs=2, smoke=False, cores=2, poll=0.03)
    assert (runs / "1" / "metrics.json").is_file()
    lines = [ln.split() for ln in (runs / "1" / "threads.txt").read_text().splitlines()]
    assert {int(epoch) for epoch, _ in lines} == set(range(14))  # no epoch skipped
    assert lines[0][1] == "1" and lines[-1][1] == "2"  # 1 thread beside fold 0, then both cores
    log = (tmp_path / "job1.log").read_text()
    assert "restarting with 2 threads" in log and f"resume={runs / '1'}" in log


def test_run_jobs_hands_each_finished_fold_to_on_done_once(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    cmds, runs = _fake_folds(tmp_path, "total=1", "total=3")
    seen: list[str] = []

    def call() -> None:
        run_jobs(
            cmds,
            runs,
            tmp_path,
            2,
            False,
            cores=2,
            poll=0.03,
            on_done=lambda r: seen.append(r.name),
        )

    call()
    assert sorted(seen) == ["0", "1"]
    seen.clear()  # a second call: both finished before, each handed over again, none rerun
    call()
    assert seen == ["0", "1"]
    assert len((runs / "1" / "threads.txt").read_text().splitlines()) == 3


def test_run_jobs_keeps_threads_the_user_fixed(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    cmds, runs = _fake_folds(tmp_path, "total=1", "total=6")
    run_jobs(cmds, runs, tmp_path, jobs=2, smoke=False, cores=2, poll=0.03)
    threads = {ln.split()[1] for ln in (runs / "1" / "threads.txt").read_text().splitlines()}
    assert threads == {"1"} and "restarting" not in (tmp_path / "job1.log").read_text()


def test_run_jobs_reports_a_failed_fold_after_the_others_finish(tmp_path, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cmds, runs = _fake_folds(tmp_path, "total=3", "total=1 fail=1")
    with pytest.raises(ReproduceError, match="failed with exit code 3(.|\n)*boom"):
        run_jobs(cmds, runs, tmp_path, jobs=2, smoke=False, cores=2, poll=0.03)
    assert (runs / "0" / "metrics.json").is_file()


def test_per_record_rates_count_flagged_normals_per_record(tmp_path):
    from ganad_cli.tasks.report import per_record_rates

    pd.DataFrame(
        {
            "label": [0, 0, 0, 1, 0, 1],
            "group": ["201", "201", "201", "201", "100", "100"],
            "prediction": [1, 0, 0, 1, 0, 0],
        }
    ).to_csv(tmp_path / "scores.csv", index=False)
    rates = per_record_rates(tmp_path).set_index("record")
    assert rates.loc["201", "normals"] == 3 and rates.loc["201", "fp_rate"] == pytest.approx(1 / 3)
    assert rates.loc["201", "sensitivity"] == 1.0 and rates.loc["100", "sensitivity"] == 0.0
    assert per_record_rates(tmp_path / "missing").empty
    assert af_records(None, ["201"]) == set()


def test_a_reproduction_that_cannot_go_on_says_why_and_exits_1(tmp_path, capsys):
    """The task raises ReproduceError (tasks never exit); the script turns it into its message
    on stderr and exit code 1."""
    spec = importlib.util.spec_from_file_location("reproduce_script", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    (tmp_path / "runs" / "0").mkdir(parents=True)
    code = script.main(["beatgan_mitbih", "--smoke", "--out", str(tmp_path)])
    assert code == 1
    assert "is not empty; pass a fresh --out (or --resume)" in capsys.readouterr().err
