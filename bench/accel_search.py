"""The accelerator search engine against random search and exhaustive enumeration, side by side in one run.

For each workload: the exact optimum (per-chunk enumeration plus bisection; plain exhaustive enumeration too
where the joint space is small enough), then the best design within budget found after n evaluations by the
differentiable engine and by random search, median over seeds, with wall time. Budget: 900 DSP, 700 BRAM18,
200 MHz (the method's). Writes bench/results/accel_search.json and accel_search.png.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from search.accel_search import decomposed_optimum, differentiable_search, exhaustive, random_search
from search.space import Budget, Workload, score
from search.workloads import resnet18_cifar, vgg_cifar

OUT = Path(__file__).parent / "results"
CHECKPOINTS = (100, 1000, 2000, 10000)
SEEDS = 10


def _at(curve, n):
    best = np.inf
    for k, m in curve:
        if k > n:
            break
        best = m
    return best


def run_workload(name, layers, budget):
    work = Workload(layers)
    space = work.space()
    t = time.perf_counter()
    opt = decomposed_optimum(space, work, budget)
    t_opt = time.perf_counter() - t
    row = {"workload": name, "layers": len(layers), "chunks": [s.name for s in space.slots],
           "designs": space.size(), "optimum_cycles": opt.metric, "optimum_evaluations": opt.evaluations,
           "optimum_seconds": t_opt}
    if space.size() <= 100_000:
        ex = exhaustive(space, work, budget)
        row.update(exhaustive_cycles=ex.metric, exhaustive_evaluations=ex.evaluations, exhaustive_seconds=ex.seconds)
    diff = [differentiable_search(space, work, budget, max(CHECKPOINTS), seed=s) for s in range(SEEDS)]
    rand = [random_search(space, work, budget, max(CHECKPOINTS), seed=s, batch=100) for s in range(SEEDS)]
    rand100k = [random_search(space, work, budget, 100_000, seed=s) for s in range(5)]
    row["differentiable"] = {n: float(np.median([_at(r.curve, n) for r in diff])) / opt.metric for n in CHECKPOINTS}
    row["random"] = {n: float(np.median([_at(r.curve, n) for r in rand])) / opt.metric for n in CHECKPOINTS}
    row["random_100k"] = float(np.median([r.metric for r in rand100k])) / opt.metric
    d2k = [differentiable_search(space, work, budget, 2000, seed=s) for s in range(SEEDS)]
    row["differentiable_2k_worst"] = max(r.metric for r in d2k) / opt.metric
    row["differentiable_2k_within_2pct"] = sum(r.metric <= 1.02 * opt.metric for r in d2k)
    row["seconds"] = {"differentiable_2k": float(np.median([r.seconds for r in d2k])),
                      "random_2k": float(np.median([random_search(space, work, budget, 2000, seed=s).seconds
                                                    for s in range(3)])),
                      "random_100k": float(np.median([r.seconds for r in rand100k]))}
    best = d2k[int(np.argmin([r.metric for r in d2k]))]
    s = score(best.idx[None], space, work, budget)
    row["best_2k_design"] = {"dsp": int(s.dsp[0]), "bram18": int(s.bram18[0]),
                             "fps": budget.clock_mhz * 1e6 / float(s.cycles[0]),
                             "chunks": space.to_accelerator(best.idx).to_dict()["chunks"]}
    row["curves"] = {"differentiable": [[n, float(np.median([_at(r.curve, n) for r in diff])) / opt.metric]
                                        for n in np.unique(np.geomspace(16, max(CHECKPOINTS), 40).astype(int))],
                     "random": [[n, float(np.median([_at(r.curve, n) for r in rand])) / opt.metric]
                                for n in np.unique(np.geomspace(16, max(CHECKPOINTS), 40).astype(int))]}
    return row


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(rows), figsize=(5 * len(rows), 4), squeeze=False)
    for ax, row in zip(axes[0], rows):
        for key, style in (("differentiable", "-"), ("random", "--")):
            xs, ys = zip(*row["curves"][key])
            ax.plot(xs, ys, style, label=f"{key} (median of {SEEDS})")
        ax.axhline(row["random_100k"], color="grey", lw=0.8, label="random, 100k evaluations")
        ax.axhline(1.0, color="black", lw=0.8, label="exact optimum")
        ax.set_xscale("log")
        ax.set_ylim(0.98, min(2.0, max(max(y for _, y in row["curves"]["random"] if np.isfinite(y)), 1.1)))
        ax.set_xlabel("designs evaluated")
        ax.set_ylabel("best latency / optimum")
        n = len(row["chunks"])
        ax.set_title(f"{row['workload']} ({n} chunk{'s' if n > 1 else ''})")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    budget = Budget()
    rows = [run_workload("resnet18 8/6/4-bit", resnet18_cifar(), budget),
            run_workload("vgg 4/8-bit", vgg_cifar(), budget),
            run_workload("resnet18 8-bit", resnet18_cifar((8,)), budget)]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "accel_search.json").write_text(json.dumps(rows, indent=2, default=float) + "\n")
    plot(rows, OUT / "accel_search.png")
    for r in rows:
        d, q = r["differentiable"], r["random"]
        print(f"{r['workload']}: {r['designs']:.3g} designs, optimum {r['optimum_cycles']:.0f} cycles "
              f"({r['optimum_evaluations']} evaluations, {r['optimum_seconds']:.2f} s)")
        print("  evaluations        " + "  ".join(f"{n:>7}" for n in CHECKPOINTS) + "   random 100k")
        print("  differentiable     " + "  ".join(f"{d[n]:7.4f}" for n in CHECKPOINTS))
        print("  random             " + "  ".join(f"{q[n]:7.4f}" for n in CHECKPOINTS) + f"   {r['random_100k']:.4f}")
        print(f"  2k evaluations: worst seed {r['differentiable_2k_worst']:.4f}, "
              f"{r['differentiable_2k_within_2pct']}/{SEEDS} within 2%; times: "
              + ", ".join(f"{k} {v:.3f} s" for k, v in r["seconds"].items())
              + f"; best design uses {r['best_2k_design']['dsp']} DSP, {r['best_2k_design']['bram18']} BRAM18")
    return rows


if __name__ == "__main__":
    main()
