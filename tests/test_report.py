"""`ganad report`: grouping run folders by configuration, mean ± std over seeds/folds."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ganad_cli.cli import main
from ganad_cli.tasks.report import build_report, collect


def _cfg(model: str = "wgan_gp", score: str = "combined", seed: int = 0, fold: int = 0) -> dict:
    return {
        "seed": seed,
        "data": {"name": "synthetic_ecg", "seed": seed, "fold": fold, "n_normal": 600},
        "model": {"name": model, "latent_dim": 32},
        "inversion": {"name": "anogan", "n_max": 20, "seed": 0},
        "score": {"name": score, "components": ["residual", "discriminator"]},
        "threshold": {"name": "val_fbeta", "beta": 1.0},
        "trainer": {"max_epochs": 2},
    }


def _run(root: Path, name: str, cfg: dict, auroc: float, mcc: float, rate_v: float) -> Path:
    run = root / name
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "config.yaml").write_text(yaml.safe_dump(cfg))
    metrics = {
        "test/auroc": auroc,
        "test/auprc": auroc - 0.1,
        "test/f1": 0.5,
        "test/mcc": mcc,
        "test/per_class": {"N": {"flagged_rate": 0.1}, "V": {"flagged_rate": rate_v}},
        "val/auroc": 0.99,  # never shown: the report is about test metrics
    }
    (run / "metrics.json").write_text(json.dumps(metrics))
    return run


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    for seed, auroc, mcc, rate in ((0, 0.80, 0.4, 0.6), (1, 0.90, 0.5, 0.8), (2, 0.85, 0.6, 1.0)):
        _run(tmp_path, f"{seed}", _cfg(seed=seed, fold=seed), auroc, mcc, rate)
    _run(tmp_path, "3", _cfg(model="gan"), 0.70, 0.1, 0.2)
    _run(tmp_path, "4", _cfg(model="gan", score="svm"), 0.75, 0.2, 0.3)
    # a different inversion setting with the same names: its own row, shown in "differs"
    other = _cfg()
    other["inversion"]["n_max"] = 100
    _run(tmp_path, "5", other, 0.95, 0.7, 0.9)
    (tmp_path / "not_a_run").mkdir()
    (tmp_path / "not_a_run" / "metrics.json").write_text("{}")  # no config: ignored
    return tmp_path


def test_report_groups_by_configuration_and_averages_over_seeds(sweep: Path):
    table, text = build_report(sweep)
    assert len(collect(sweep)) == 6
    assert len(table) == 4
    row = table[(table["model"] == "wgan_gp") & (table["runs"] == 3)].iloc[0]
    assert row["auroc_mean"] == pytest.approx(0.85)
    assert row["auroc_std"] == pytest.approx(0.05)  # sample std of 0.80, 0.90, 0.85
    assert row["mcc_mean"] == pytest.approx(0.5) and row["mcc_std"] == pytest.approx(0.1)
    assert row["rate[V]_mean"] == pytest.approx(0.8)
    assert "0.850 ± 0.050" in text and "| 3 |" in text
    assert "inversion.n_max=100" in text and "inversion.n_max=20" in text
    single = table[table["score"] == "svm"].iloc[0]
    assert single["runs"] == 1 and single["auroc_mean"] == pytest.approx(0.75)
    csv = pd.read_csv(sweep / "report.csv")
    assert len(csv) == 4 and {"auroc_mean", "auroc_std", "runs"} <= set(csv.columns)
    assert (sweep / "report.md").read_text() == text


def test_report_cli(sweep: Path, tmp_path_factory, capsys):
    out = tmp_path_factory.mktemp("out")
    assert main(["report", str(sweep), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "0.850 ± 0.050" in printed and (out / "report.csv").is_file()


def test_report_bad_input(tmp_path: Path, capsys):
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ganad: error: no run folders") and "\n" not in err


def test_report_tells_trainer_settings_apart(tmp_path: Path):
    """2-epoch and 6-epoch runs are two configurations, named by what differs; where a run ran
    (accelerator, devices, progress bar) is not a configuration."""
    for seed, epochs, auroc in ((0, 2, 0.70), (1, 2, 0.72), (0, 6, 0.90), (1, 6, 0.92)):
        cfg = _cfg(seed=seed)
        cfg["trainer"] = {"max_epochs": epochs, "accelerator": "cpu", "devices": 1}
        cfg["trainer"]["enable_progress_bar"] = bool(seed)
        _run(tmp_path, f"e{epochs}s{seed}", cfg, auroc, 0.5, 0.5)
    table, text = build_report(tmp_path)
    assert len(table) == 2 and list(table["runs"]) == [2, 2]
    six = table[table["differs"] == "trainer.max_epochs=6"].iloc[0]
    assert six["auroc_mean"] == pytest.approx(0.91)
    assert "trainer.max_epochs=2" in text and "enable_progress_bar" not in text


def test_report_png_and_html_summary_with_error_bars(sweep: Path):
    import matplotlib.image as mpimg

    from ganad_cli.runs.report_summary import summary_points

    table, _ = build_report(sweep)
    points = summary_points(table)
    assert len(points) == len(table) == 4
    label, mean, std = next(p for p in points if "(n=3)" in p[0])
    assert mean == pytest.approx(0.85) and std == pytest.approx(0.05)  # error bar: one std
    assert next(p for p in points if "svm" in p[0])[2] == 0.0  # a single run: no bar
    image = mpimg.imread(sweep / "report.png")
    assert image.ndim == 3 and image.shape[0] > 200 and image[..., :3].std() > 0
    page = (sweep / "report.html").read_text()
    assert page.count("</tr>") == 1 + len(table) and "data:image/png;base64," in page
    assert "0.850 ± 0.050" in page
