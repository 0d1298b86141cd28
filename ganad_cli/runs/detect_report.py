"""Pictures and a self-contained HTML report for one scored recording.

timeline.png: the lead over time (min/max envelope for long recordings) with flagged beats
marked and the zoomed strips numbered; zoom.png: strips of `zoom_s` seconds of the ECG around
the most anomalous flagged beats (one strip per stretch, read again from the recording), every
beat marked; scores.png: every beat's score over time with tau; top_anomalies.png: the most
anomalous beats beside their reconstructions. report.html embeds the PNGs as base64 and needs
no server or network.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ganad_cli.io import atomic_write_bytes, atomic_write_text  # noqa: E402

PICTURES = ("timeline.png", "zoom.png", "scores.png", "top_anomalies.png")


def _save(fig, path: Path) -> Path:
    from io import BytesIO

    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path


def _flagged(frame) -> np.ndarray:
    return (frame["prediction"] == 1).fillna(False).to_numpy(dtype=bool)


def _clock(seconds: float) -> str:
    """h:mm:ss.s, the way a Holter report gives times."""
    h, rest = divmod(float(seconds), 3600)
    m, sec = divmod(rest, 60)
    return f"{int(h)}:{int(m):02d}:{sec:04.1f}"


def strip_beats(frame, k: int, seconds: float) -> list[int]:
    """Rows of the k most anomalous flagged beats, at most one per `seconds`-long strip."""
    flagged = frame[_flagged(frame)].sort_values("score", ascending=False, kind="stable")
    rows: list[int] = []
    times: list[float] = []
    for row, t in zip(flagged.index, flagged["time_s"]):
        if len(rows) >= k:
            break
        if all(abs(t - u) >= seconds for u in times):
            rows.append(int(row))
            times.append(float(t))
    return rows


def timeline(path: Path, result, summary: dict, strips: list[int] | None = None) -> Path:
    t, lo, hi = result.envelope
    frame = result.frame
    fig, ax = plt.subplots(figsize=(14, 3.2))
    ax.fill_between(t, lo, hi, color="0.35", linewidth=0.4, step="post")
    flagged = _flagged(frame)
    top = np.nanmax(hi) if len(hi) else 1.0
    ax.plot(
        frame["time_s"][flagged],
        np.full(flagged.sum(), top),
        "v",
        color="crimson",
        markersize=4,
        label=f"flagged ({flagged.sum()})",
    )
    unscorable = frame["scorable"].to_numpy() == 0
    if unscorable.any():
        ax.plot(
            frame["time_s"][unscorable],
            np.full(unscorable.sum(), top),
            "x",
            color="orange",
            label=f"not scorable ({unscorable.sum()})",
        )
    for i, row in enumerate(strips or [], start=1):
        ax.annotate(
            str(i),
            (frame["time_s"].iloc[row], top),
            xytext=(0, 6),
            textcoords="offset points",
            ha="center",
            fontsize=8,
            color="crimson",
            fontweight="bold",
        )
    ax.set_xlabel("time (s)")
    ax.set_ylabel(summary.get("lead", "signal"))
    title = f"{summary['record']}: {summary['beats']} beats, {summary['flagged']} flagged"
    if strips:
        title += " (numbers: the zoomed strips below)"
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return _save(fig, path)


def zoom(path: Path, result, summary: dict, rows: list[int], seconds: float) -> Path:
    """One strip of `seconds` of the scored lead per row, centred on that flagged beat; every
    beat in it marked (flagged: red, with its score; others: grey; not scorable: orange)."""
    rec, frame = result.recording, result.frame
    lead = result.channels[0]
    fs, n = float(rec.fs), int(rec.n_samples)
    width = max(1, int(round(seconds * fs)))
    fig, axes = plt.subplots(len(rows), 1, figsize=(14, 2.3 * len(rows)), squeeze=False)
    samples = frame["sample"].to_numpy()
    flagged = _flagged(frame)
    scorable = frame["scorable"].to_numpy() == 1
    for i, (ax, row) in enumerate(zip(axes[:, 0], rows), start=1):
        centre = int(samples[row])
        s0 = max(0, min(n - width, centre - width // 2))
        s1 = min(n, s0 + width)
        y = np.nan_to_num(rec.read(s0, s1, [lead])[:, 0])
        t = np.arange(s0, s1) / fs
        ax.plot(t, y, color="k", lw=0.8)
        inside = np.flatnonzero((samples >= s0) & (samples < s1))
        span = float(np.ptp(y)) if len(y) else 1.0
        for j in inside:
            x_j, y_j = samples[j] / fs, y[samples[j] - s0]
            if flagged[j]:
                ax.plot(x_j, y_j + 0.08 * span, "v", color="crimson", ms=7)
                ax.annotate(
                    f"{frame['score'].iloc[j]:.3f}", (x_j, y_j + 0.08 * span),
                    xytext=(0, 5), textcoords="offset points", ha="center", fontsize=7,
                    color="crimson",
                )  # fmt: skip
            elif not scorable[j]:
                ax.plot(x_j, y_j, "x", color="orange", ms=6)
            else:
                ax.plot(x_j, y_j, "o", color="0.55", ms=3)
            if "symbol" in frame and frame["symbol"].iloc[j]:
                ax.annotate(
                    str(frame["symbol"].iloc[j]), (x_j, float(y.min()) if len(y) else 0.0),
                    xytext=(0, -2), textcoords="offset points", ha="center", va="top",
                    fontsize=7, color="tab:blue",
                )  # fmt: skip
        ax.axvline(centre / fs, color="crimson", lw=0.6, alpha=0.4)
        r = frame.iloc[row]
        label = f", annotated {r['symbol']}" if "symbol" in frame and r["symbol"] else ""
        ax.set_title(
            f"{i}: beat {int(r['beat'])} at {_clock(r['time_s'])} ({r['time_s']:.2f} s), "
            f"score {r['score']:.3f}{label}",
            fontsize=9,
            loc="left",
        )
        ax.set_xlim(s0 / fs, s1 / fs)
        ax.xaxis.set_minor_locator(matplotlib.ticker.MultipleLocator(0.2))
        ax.grid(which="both", axis="x", color="mistyrose", lw=0.6)
        ax.set_ylabel(summary.get("lead", "signal"), fontsize=8)
        ax.tick_params(labelsize=7)
    axes[-1, 0].set_xlabel("time (s)")
    fig.tight_layout()
    return _save(fig, path)


def score_plot(path: Path, result, summary: dict) -> Path:
    frame = result.frame
    fig, ax = plt.subplots(figsize=(14, 3.2))
    flagged = _flagged(frame)
    ax.plot(
        frame["time_s"][~flagged], frame["score"][~flagged], ".", ms=2, color="0.4", label="beat"
    )
    ax.plot(
        frame["time_s"][flagged],
        frame["score"][flagged],
        ".",
        ms=3,
        color="crimson",
        label="flagged",
    )
    ax.axhline(summary["tau"], color="k", ls="--", lw=1, label=f"tau = {summary['tau']:.4g}")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("anomaly score")
    ax.legend(loc="upper right", fontsize=8)
    return _save(fig, path)


def top_anomalies(path: Path, result) -> Path:
    top = result.top
    k = max(1, len(top))
    cols = min(3, k)
    rows = int(np.ceil(k / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.6 * rows), squeeze=False)
    frame = result.frame
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (score, row, x, x_hat) in zip(axes.ravel(), top):
        ax.axis("on")
        ax.plot(x[0], color="k", lw=1, label="beat")
        ax.plot(x_hat[0], color="tab:blue", lw=1, ls="--", label="reconstruction")
        r = frame.iloc[row]
        label = f" {r['symbol']}" if "symbol" in frame and r["symbol"] else ""
        ax.set_title(f"t={r['time_s']:.2f} s{label}  score {score:.3g}", fontsize=9)
        ax.tick_params(labelsize=7)
    axes.ravel()[0].legend(fontsize=7)
    return _save(fig, path)


def _heading(path: Path, zoom_s: float) -> str:
    if path.name == "zoom.png":
        return f"zoomed: {zoom_s:g} s around the most anomalous flagged beats"
    return path.stem.replace("_", " ")


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(path.name)}" src="data:image/png;base64,{data}">'


def _table(rows: list[tuple[str, object]]) -> str:
    cells = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>" for k, v in rows
    )
    return f"<table>{cells}</table>"


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def write_report(
    out_dir: Path, result, summary: dict, zoom_k: int = 6, zoom_s: float = 10.0
) -> Path:
    """The PNGs and report.html (PNG data inline) in out_dir; returns the HTML path. zoom.png
    holds up to `zoom_k` strips of `zoom_s` seconds (none without flagged beats)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    strips = strip_beats(result.frame, zoom_k, zoom_s) if result.recording is not None else []
    pics = [timeline(out_dir / PICTURES[0], result, summary, strips)]
    if strips:
        pics.append(zoom(out_dir / PICTURES[1], result, summary, strips, zoom_s))
    pics.append(score_plot(out_dir / PICTURES[2], result, summary))
    if result.top:
        pics.append(top_anomalies(out_dir / PICTURES[3], result))
    keys = [
        "record", "input", "run", "fs", "fs_model", "lead", "duration_s", "beats_from", "beats",
        "scorable", "unscorable", "flagged", "flagged_share", "tau", "tau_from",
        "validation_normal_flag_rate", "annotated_normal_flag_rate", "flagged_by_class",
    ]  # fmt: skip
    rows = [(k, summary[k]) for k in keys if summary.get(k) is not None]
    qrs = summary.get("qrs_vs_annotations")
    if qrs:
        rows += [(f"beats vs annotations: {k}", v) for k, v in qrs.items()]
    warning = summary.get("warning")
    frame = result.frame
    flagged = frame[_flagged(frame)].sort_values("score", ascending=False).head(50)
    body = [
        f"<h1>ganad detect: {html.escape(str(summary['record']))}</h1>",
        f'<p class="warn">{html.escape(warning)}</p>' if warning else "",
        _table(rows),
        *(f"<h2>{html.escape(_heading(p, zoom_s))}</h2>{_img(p)}" for p in pics),
        "<h2>most anomalous flagged beats (up to 50)</h2>",
        flagged.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0),
    ]
    style = (
        "body{font-family:sans-serif;margin:2em;max-width:1500px}img{max-width:100%}"
        "table{border-collapse:collapse;font-size:13px}th,td{padding:2px 8px;text-align:left;"
        "border-bottom:1px solid #ddd}.warn{background:#fee;border:1px solid #c00;padding:.5em}"
    )
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>ganad detect "
        f"{html.escape(str(summary['record']))}</title><style>{style}</style></head><body>"
        + "\n".join(body)
        + "</body></html>"
    )
    target = out_dir / "report.html"
    atomic_write_text(target, page)
    return target
