"""Issue 21 on the CPU: AnoGAN search and training throughput before and after, side by side.

"Before" is the code of git revision --old (default: the commit before issue 21), loaded from git
into a temporary module: the shrinking-batch search (ganad_cli/inversion/anogan.py) and, for
training, GanadModule.sample_z / loss_is_finite and BeatGAN's D-reset test as they were (bound
onto the model). "After" is this checkout. Old and new alternate within every repeat (so a load
change on a shared machine hits both), and the figures are medians over repeats.

Search problem: the BeatGAN preset's generator (experiment=beatgan_mitbih, windows 1 x 320,
freshly initialised: the cost of a step does not depend on the weights) and targets G(z*) + noise
with starts at growing distances from z*, so rows stop at different steps (mixed), plus the same
rows with an eps nothing reaches (every row runs n_max steps). Per-sample results of old and new
are compared (steps and convergence exactly, z and dissimilarity to 1e-5).

    python scripts/bench_gpu_path.py [--threads 2] [--repeats 5] [--out ...gpu_path_cpu.md]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ganad_cli.hardware import machine_line  # noqa: E402
from ganad_cli.inversion.anogan import anogan_invert  # noqa: E402

OLD_REV = "f77d14e"  # the last commit before issue 21's changes


def old_module(rev: str, path: str, name: str) -> types.ModuleType:
    cmd = ["git", "-C", str(REPO), "show", f"{rev}:{path}"]
    src = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    tmp = Path(tempfile.mkdtemp()) / f"{name}.py"
    tmp.write_text(src)
    spec = importlib.util.spec_from_file_location(name, tmp)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def compose(overrides: list[str]):
    from hydra import compose as hcompose
    from hydra import initialize_config_dir

    from ganad_cli.config import register_configs
    from ganad_cli.paths import conf_dir

    register_configs()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        return hcompose("train", overrides=overrides)


def build(overrides: list[str], shape: tuple[int, int]):
    from ganad_cli.models import build_model

    torch.manual_seed(0)
    return build_model(compose(overrides).model, shape)


def timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def search_problem(model, n: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    z_true = torch.randn(n, model.latent_dim, generator=gen)
    with torch.no_grad():
        noise = torch.randn(n, model.channels, model.length, generator=gen)
        x = model.decode(z_true) + 0.01 * noise
    spread = torch.linspace(0.05, 1.0, n).unsqueeze(1)
    return x, z_true + spread * torch.randn(n, model.latent_dim, generator=gen)


def same_results(a, b) -> bool:
    return (
        torch.equal(a.steps, b.steps)
        and torch.equal(a.converged, b.converged)
        and torch.allclose(a.z, b.z, atol=1e-5, rtol=1e-4)
        and torch.allclose(a.similarity, b.similarity, atol=1e-5, rtol=1e-4)
    )


def bind_old_training(model, old_base, old_ae) -> None:
    """The per-step host reads of the old code: sample_z drawn on the CPU then copied, isfinite
    read back per loss, BeatGAN's float(loss_d) every step."""
    model.sample_z = types.MethodType(old_base.GanadModule.sample_z, model)
    model.loss_is_finite = types.MethodType(old_base.GanadModule.loss_is_finite, model)
    if hasattr(old_ae, "BeatGAN") and hasattr(model, "after_discriminator_step"):
        model.after_discriminator_step = types.MethodType(
            old_ae.BeatGAN.after_discriminator_step, model
        )


def train_seconds(model, x: torch.Tensor, batch: int, steps: int, precision: str) -> float:
    import pytorch_lightning as pl
    from torch.utils.data import DataLoader, TensorDataset

    trainer = pl.Trainer(
        max_epochs=1,
        limit_train_batches=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        precision=precision,
        accelerator="cpu",
    )
    loader = DataLoader(TensorDataset(x), batch_size=batch, shuffle=False, drop_last=True)
    t0 = time.perf_counter()
    trainer.fit(model, loader)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--n", type=int, default=256, help="search rows (one batch)")
    ap.add_argument("--n-max", type=int, default=100)
    ap.add_argument("--eps", type=float, default=None, help="mixed-case eps (default: fitted)")
    ap.add_argument("--train-steps", type=int, default=20)
    ap.add_argument("--single", type=int, default=8, help="rows also searched at batch 1")
    ap.add_argument("--old", default=OLD_REV, help="git revision of the 'before' code")
    ap.add_argument("--out", default=str(REPO / "scripts/results/gpu_path_cpu.md"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    import logging

    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    load_start = os.getloadavg()
    old = old_module(args.old, "ganad_cli/inversion/anogan.py", "anogan_before")
    old_base = old_module(args.old, "ganad_cli/models/base.py", "base_before")
    old_ae = old_module(args.old, "ganad_cli/models/autoencoding.py", "autoencoding_before")

    preset = ["experiment=beatgan_mitbih"]
    model = build(preset, (1, 320)).eval()
    x, z0 = search_problem(model, args.n)
    kw = dict(n_max=args.n_max, lr=0.01, batch_size=args.n, z_init=z0)
    eps = args.eps
    if eps is None:  # the median dissimilarity reached after n_max/2 steps: a mixed stop profile
        probe = anogan_invert(model, x, eps=float("-inf"), **{**kw, "n_max": args.n_max // 2})
        eps = float(probe.similarity.median())
    cases = {"mixed": eps, "none stop": float("-inf")}
    search_rows = []
    variants = {
        "old": (old.anogan_invert, {}),
        "new": (anogan_invert, {}),
        "masked": (anogan_invert, {"compact_below": 0.0}),
    }
    for case, e in cases.items():
        for fn, extra in variants.values():  # warm-up of every path at this shape (untimed)
            fn(model, x, eps=e, **{**kw, "n_max": 3}, **extra)
        times: dict[str, list[float]] = {k: [] for k in variants}
        res = {}
        for r in range(args.repeats):
            names = list(variants) if r % 2 == 0 else list(variants)[::-1]
            for name in names:
                fn, extra = variants[name]
                res[name], s = timed(fn, model, x, eps=e, **kw, **extra)
                times[name].append(s)
        res_bf16, t_bf16 = timed(anogan_invert, model, x, eps=e, amp="bf16", **kw)
        # the contract: each sample as if searched alone (batch size 1), on a few rows
        k = min(args.single, len(x))
        single = [
            anogan_invert(model, x[i : i + 1], eps=e, **{**kw, "z_init": z0[i : i + 1]})
            for i in range(k)
        ]
        row = {
            "case": case,
            "eps": e,
            "mean_steps": float(res["new"].steps.float().mean()),
            "converged": float(res["new"].converged.float().mean()),
            **{name: statistics.median(v) for name, v in times.items()},
            "bf16": t_bf16,
            "same": same_results(res["old"], res["new"]),
            "steps_differ": int((res["old"].steps != res["new"].steps).sum()),
            "max_dz": float((res["old"].z - res["new"].z).abs().max()),
            "single_k": k,
            "single_ok": {
                name: sum(
                    int(one.steps.item() == res[name].steps[i].item())
                    for i, one in enumerate(single)
                )
                for name in variants
            },
            "bf16_dsim": float((res_bf16.similarity - res["new"].similarity).abs().mean()),
        }
        search_rows.append(row)
        print(
            f"search {case}: old {row['old']:.3f}s new {row['new']:.3f}s "
            f"(x{row['old'] / row['new']:.2f}) masked {row['masked']:.3f}s, bf16 {t_bf16:.3f}s, "
            f"same {row['same']}, batch-1 steps agree {row['single_ok']} of {k}",
            flush=True,
        )

    train_rows = []
    for label, overrides, shape in (
        ("default (wgan_gp, synthetic_ecg)", [], (1, 128)),
        ("BeatGAN preset (beatgan_mitbih)", preset, (1, 320)),
    ):
        cfg = compose(overrides)
        batch = int(cfg.data.batch_size)
        data = torch.randn(batch * args.train_steps, *shape)
        t_old, t_new, t_bf16 = [], [], []
        warm = build(overrides, shape)
        train_seconds(warm, data, batch, 2, "32-true")
        for r in range(args.repeats):
            order = ("old", "new") if r % 2 == 0 else ("new", "old")
            for which in order:
                m = build(overrides, shape)
                if which == "old":
                    bind_old_training(m, old_base, old_ae)
                    t_old.append(train_seconds(m, data, batch, args.train_steps, "32-true"))
                else:
                    t_new.append(train_seconds(m, data, batch, args.train_steps, "32-true"))
            if r == 0:  # one bf16-mixed run (slow on CPUs without bf16 instructions)
                m = build(overrides, shape)
                t_bf16.append(train_seconds(m, data, batch, args.train_steps, "bf16-mixed"))
        row = {
            "label": label,
            "batch": batch,
            "old": statistics.median(t_old),
            "new": statistics.median(t_new),
            "bf16": statistics.median(t_bf16),
        }
        train_rows.append(row)
        print(
            f"train {label}: old {row['old']:.3f}s new {row['new']:.3f}s "
            f"(x{row['old'] / row['new']:.2f}), bf16 {row['bf16']:.3f}s",
            flush=True,
        )

    load_end = os.getloadavg()
    s = args.train_steps
    lines = [
        "# Issue 21 on the CPU: AnoGAN search and training, before vs after",
        "",
        f"`python scripts/bench_gpu_path.py --threads {args.threads} --repeats {args.repeats}"
        f" --n {args.n} --n-max {args.n_max}`; before = git `{args.old}` (loaded from git into a "
        "temporary module), after = this checkout; the two alternate in every repeat; medians.",
        "",
        f"- Hardware: {machine_line(args.threads)} (shared with other jobs; load average "
        f"{' '.join(f'{v:.2f}' for v in load_start)} at the start, "
        f"{' '.join(f'{v:.2f}' for v in load_end)} at the end).",
        f"- Search: BeatGAN preset generator (latent {model.latent_dim}, windows 1 x 320, fresh "
        f"weights), {args.n} rows in one batch, Adam lr 0.01, L1, n_max {args.n_max}; targets "
        "G(z*) + noise, starts at growing distance from z*. 'mixed': eps = the median "
        "dissimilarity after n_max/2 steps, so rows stop at many different steps; 'none stop': "
        "eps = -inf, every row runs n_max steps.",
        "",
        "| search case | eps | mean steps | converged | before s | after s | after/before "
        "throughput | after, never cut (compact_below=0) s | bf16 autocast s (1 run) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in search_rows:
        lines.append(
            f"| {r['case']} | {r['eps']:.4g} | {r['mean_steps']:.1f} | {r['converged']:.3f} | "
            f"{r['old']:.3f} | {r['new']:.3f} | {r['old'] / r['new']:.2f}x | {r['masked']:.3f} "
            f"({r['old'] / r['masked']:.2f}x) | {r['bf16']:.3f} ({r['new'] / r['bf16']:.2f}x) |"
        )
    lines += [
        "",
        "Per-sample results:",
        "",
        "| search case | before vs after: steps differ (rows) | max abs z difference | "
        "steps equal to batch size 1 (before / after / never cut) | bf16: mean abs "
        "dissimilarity difference |",
        "|---|---|---|---|---|",
    ]
    for r in search_rows:
        ok = r["single_ok"]
        lines.append(
            f"| {r['case']} | {r['steps_differ']} of {args.n} | {r['max_dz']:.2e} | "
            f"{ok['old']} / {ok['new']} / {ok['masked']} of {r['single_k']} | "
            f"{r['bf16_dsim']:.2e} |"
        )
    lines += [
        "",
        f"Training: {s} steps of Lightning `fit` on random windows (batch = the config's "
        "data.batch_size), fresh model each time, after a 2-step warm-up.",
        "",
        "| training | batch | before s | after s | after/before throughput "
        "| bf16-mixed s (1 run) | "
        "bf16 speed-up |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in train_rows:
        lines.append(
            f"| {r['label']} | {r['batch']} | {r['old']:.3f} | {r['new']:.3f} | "
            f"{r['old'] / r['new']:.2f}x | {r['bf16']:.3f} | {r['new'] / r['bf16']:.2f}x |"
        )
    lines += [""]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    print("wrote", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
