"""Search-step time and process peak memory against the number of bit-widths (2, 3, 5): heterogeneous
sampling (one convolution on mixed quantized tensors) against the all-paths baseline (one convolution per
bit-width), measured side by side in one run, each configuration in a fresh process (peak RSS).

`python -m bench.search_speed [--preset default|paper] [--batch 64]`; writes bench/results/search_speed_<preset>.json
and .png. The method's released code on this machine kind (reference/method.md): 1.56 s weight step, 2.48 s
architecture step, 6.9 GB peak at batch 64 with 3 bit-widths (paper preset, CPU).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).parent / "results"
BITS = {2: (4, 8), 3: (4, 6, 8), 5: (4, 5, 6, 7, 8)}


def one(preset: str, j: int, mode: str, batch: int, steps: int) -> dict:
    import torch
    import torch.nn.functional as F

    from search.supernet import PRESETS, SuperNet, sample_arch_step, sample_weight_step
    torch.manual_seed(0)
    torch.set_num_threads(2)
    p = PRESETS[preset]
    p = type(p)(**{**p.__dict__, "bits": BITS[j]})
    net = SuperNet(p)
    for m in net.modules():
        if hasattr(m, "all_paths"):
            m.all_paths = mode == "all_paths"
    x = torch.rand(batch, p.in_channels, p.image_size, p.image_size)
    y = torch.randint(0, p.num_classes, (batch,))
    g = torch.Generator().manual_seed(0)
    opt_w = torch.optim.SGD(net.weight_parameters(), lr=0.01, momentum=0.9)
    opt_a = torch.optim.Adam(net.arch_parameters(), lr=3e-4)
    times = {"weight": [], "arch": []}
    for i in range(steps + 1):
        for kind in ("weight", "arch"):
            t = time.perf_counter()
            choice = sample_weight_step(net, 5.0, g) if kind == "weight" else sample_arch_step(net, 5.0, g)
            loss = F.cross_entropy(net(x, choice), y)
            (opt_w if kind == "weight" else opt_a).zero_grad()
            loss.backward()
            (opt_w if kind == "weight" else opt_a).step()
            if i:                                   # the first step of each kind warms up
                times[kind].append(time.perf_counter() - t)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # MiB
    return {"preset": preset, "bits": j, "mode": mode, "batch": batch,
            "weight_step_s": sorted(times["weight"])[len(times["weight"]) // 2],
            "arch_step_s": sorted(times["arch"])[len(times["arch"]) // 2], "peak_rss_mib": peak}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="default")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--one", nargs=2, metavar=("BITS", "MODE"))
    a = ap.parse_args(argv)
    if a.one:
        print(json.dumps(one(a.preset, int(a.one[0]), a.one[1], a.batch, a.steps)))
        return
    rows = []
    for mode in ("heterogeneous", "all_paths"):
        for j in (2, 3, 5):
            r = subprocess.run([sys.executable, "-m", "bench.search_speed", "--preset", a.preset, "--batch",
                                str(a.batch), "--steps", str(a.steps), "--one", str(j), mode],
                               capture_output=True, text=True, check=True)
            rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
            print(f"{mode:<14} J={j}: weight step {rows[-1]['weight_step_s']:.3f} s, arch step "
                  f"{rows[-1]['arch_step_s']:.3f} s, peak {rows[-1]['peak_rss_mib']:.0f} MiB", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"search_speed_{a.preset}.json").write_text(json.dumps(rows, indent=2) + "\n")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 3, figsize=(12, 3.4))
    for mode, style in (("heterogeneous", "o-"), ("all_paths", "s--")):
        rs = [r for r in rows if r["mode"] == mode]
        for k, key in enumerate(("weight_step_s", "arch_step_s", "peak_rss_mib")):
            ax[k].plot([r["bits"] for r in rs], [r[key] for r in rs], style, label=mode)
            ax[k].set_xlabel("bit-width choices")
            ax[k].set_ylabel(key.replace("_", " "))
    ax[0].legend()
    fig.suptitle(f"{a.preset} preset, batch {a.batch}, CPU")
    fig.tight_layout()
    fig.savefig(OUT / f"search_speed_{a.preset}.png", dpi=110)


if __name__ == "__main__":
    main()
