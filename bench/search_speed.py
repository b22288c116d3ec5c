"""Search-step time and process peak memory against the number of bit-widths (2, 3, 5): heterogeneous
sampling (one convolution on mixed quantized tensors) against the all-paths baseline (one convolution per
bit-width), measured side by side in one run, each configuration in a fresh process (peak RSS).

`python -m bench.search_speed [--preset default|paper] [--batch 64] [--device cpu|cuda]`; writes
bench/results/search_speed_<preset>[_cuda][_b<batch>].json and .png (GPU runs add the peak GPU memory).
On a GPU every operator runs once at every layer before the timed steps (cuDNN's kernel planning is a one-off
cost per shape) and the GPU peak counts from there.
The method's released code (reference/method.md), paper preset, 3 bit-widths: on this machine kind (CPU) 1.56 s
weight step, 2.48 s architecture step, 6.9 GB peak at batch 64; on an H200 0.27 s and 0.48 s at batch 64, 0.26 s
and 0.42 s at batch 256, architecture-step peak 4.6 GiB (batch 64) and 17.8 GiB (batch 256).
"""
from __future__ import annotations

if __name__ == "__main__":     # the search's process set-up (search/tuning.py), for every configuration alike
    from search.tuning import reexec_with_malloc_tuning
    reexec_with_malloc_tuning("bench.search_speed")

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from search.tuning import malloc_env

OUT = Path(__file__).parent / "results"
BITS = {2: (4, 8), 3: (4, 6, 8), 5: (4, 5, 6, 7, 8)}


def one(preset: str, j: int, mode: str, batch: int, steps: int, device: str = "cpu") -> dict:
    import torch
    import torch.nn.functional as F

    from search.supernet import PRESETS, SuperNet, sample_arch_step, sample_weight_step
    torch.manual_seed(0)
    if device == "cpu":
        torch.set_num_threads(2)
    cuda = device.startswith("cuda")
    p = PRESETS[preset]
    p = type(p)(**{**p.__dict__, "bits": BITS[j]})
    net = SuperNet(p).to(device)
    for m in net.modules():
        if hasattr(m, "all_paths"):
            m.all_paths = mode == "all_paths"
    x = torch.rand(batch, p.in_channels, p.image_size, p.image_size, device=device)
    y = torch.randint(0, p.num_classes, (batch,), device=device)
    g = torch.Generator().manual_seed(0)
    opt_w = torch.optim.SGD(net.weight_parameters(), lr=0.01, momentum=0.9)
    opt_a = torch.optim.Adam(net.arch_parameters(), lr=3e-4)
    if cuda:
        # every operator once at every layer before timing: the first use of each convolution shape plans its
        # cuDNN kernels (~24 s for all candidates of the paper preset on an H200), a one-off cost that thousands
        # of search steps amortize and that 8 sampled steps would otherwise mostly time
        for o in range(len(net.ops)):
            choice = [({o: 1.0}, {o: F.softmax(net.beta[li, o].detach(), -1)}) for li in range(len(net.layers))]
            F.cross_entropy(net(x, choice), y).backward()
        net.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = {"weight": [], "arch": []}
    for i in range(steps + 1):
        for kind in ("weight", "arch"):
            if cuda:
                torch.cuda.synchronize()
            t = time.perf_counter()
            choice = sample_weight_step(net, 5.0, g) if kind == "weight" else sample_arch_step(net, 5.0, g)
            loss = F.cross_entropy(net(x, choice), y)
            (opt_w if kind == "weight" else opt_a).zero_grad()
            loss.backward()
            (opt_w if kind == "weight" else opt_a).step()
            if cuda:
                torch.cuda.synchronize()
            if i:                                   # the first step of each kind warms up
                times[kind].append(time.perf_counter() - t)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # MiB
    gpu = {"device_name": torch.cuda.get_device_name(), "peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20} \
        if cuda else {}
    return {"preset": preset, "bits": j, "mode": mode, "batch": batch, "device": device, **gpu,
            "weight_step_s": sum(times["weight"]) / steps, "arch_step_s": sum(times["arch"]) / steps,
            "steps": steps, "peak_rss_mib": peak}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="default")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=8, help="timed steps of each kind (mean; operators are sampled)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--one", nargs=2, metavar=("BITS", "MODE"))
    a = ap.parse_args(argv)
    if a.one:
        print(json.dumps(one(a.preset, int(a.one[0]), a.one[1], a.batch, a.steps, a.device)))
        return
    rows = []
    for mode in ("heterogeneous", "all_paths"):
        for j in (2, 3, 5):
            r = subprocess.run([sys.executable, "-m", "bench.search_speed", "--preset", a.preset, "--batch",
                                str(a.batch), "--steps", str(a.steps), "--device", a.device, "--one", str(j), mode],
                               capture_output=True, text=True, check=True, env=malloc_env())
            rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
            gpu = f", GPU peak {rows[-1]['peak_gpu_mib']:.0f} MiB" if "peak_gpu_mib" in rows[-1] else ""
            print(f"{mode:<14} J={j}: weight step {rows[-1]['weight_step_s']:.3f} s, arch step "
                  f"{rows[-1]['arch_step_s']:.3f} s, peak {rows[-1]['peak_rss_mib']:.0f} MiB{gpu}", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    tag = a.preset + ("" if a.device == "cpu" else "_cuda") + ("" if a.batch == 64 else f"_b{a.batch}")
    (OUT / f"search_speed_{tag}.json").write_text(json.dumps(rows, indent=2) + "\n")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 3, figsize=(12, 3.4))
    for mode, style in (("heterogeneous", "o-"), ("all_paths", "s--")):
        rs = [r for r in rows if r["mode"] == mode]
        for k, key in enumerate(("weight_step_s", "arch_step_s", "peak_gpu_mib" if a.device != "cpu" else "peak_rss_mib")):
            ax[k].plot([r["bits"] for r in rs], [r[key] for r in rs], style, label=mode)
            ax[k].set_xlabel("bit-width choices")
            ax[k].set_ylabel(key.replace("_", " "))
    ax[0].legend()
    fig.suptitle(f"{a.preset} preset, batch {a.batch}, {rows[0].get('device_name', 'CPU')}")
    fig.tight_layout()
    fig.savefig(OUT / f"search_speed_{tag}.png", dpi=110)


if __name__ == "__main__":
    main()
