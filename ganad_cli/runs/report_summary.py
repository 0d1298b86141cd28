"""The picture beside report.md/report.csv: each configuration's test metric as mean with a
std error bar over its runs (report.png), and report.html holding that figure and the table."""

from __future__ import annotations

import base64
import html
import io
import math

import pandas as pd

from ganad_cli.config.keys import REPORT_GROUPS as GROUPS

METRIC = "auroc"


def _labels(table: pd.DataFrame) -> list[str]:
    labels = []
    for _, r in table.iterrows():
        label = "/".join(str(r[g]) for g in GROUPS if str(r[g]))
        if r.get("differs"):
            label += f"\n{r['differs']}"
        labels.append(f"{label} (n={r['runs']})")
    return labels


def summary_points(table: pd.DataFrame, metric: str = METRIC) -> list[tuple[str, float, float]]:
    """(label, mean, std) per configuration: what the figure draws (std 0 for a single run)."""
    means = table[f"{metric}_mean"].astype(float).tolist()
    stds = [0.0 if math.isnan(s) else s for s in table[f"{metric}_std"].astype(float)]
    return list(zip(_labels(table), means, stds))


def figure_png(table: pd.DataFrame, metric: str = METRIC) -> bytes:
    """Horizontal bars: mean test `metric` per configuration, error bars one std."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = summary_points(table, metric)
    labels = [p[0] for p in points]
    means = [p[1] for p in points]
    stds = [p[2] for p in points]
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.55 * len(table)))
    y = list(range(len(table)))
    ax.barh(y, means, xerr=stds, capsize=4, color="#4c72b0")
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"test {metric} (mean ± std over runs)")
    finite = [m for m in means if not math.isnan(m)]
    ax.set_xlim(min([0.0, *finite]), 1.0)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def html_page(title: str, png: bytes, markdown_table: str, table: pd.DataFrame) -> str:
    """One self-contained page: the figure (embedded) and the aggregated table."""
    shown = table.drop(columns=[c for c in table.columns if c.endswith("_std")])
    image = base64.b64encode(png).decode()
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        f"<img alt='test {METRIC} per configuration' src='data:image/png;base64,{image}'>\n"
        f"<h2>Configurations</h2>\n{shown.to_html(index=False, float_format='%.3f')}\n"
        f"<h2>Mean ± std</h2>\n<pre>{html.escape(markdown_table)}</pre>\n</body></html>\n"
    )
