"""MAC utilization per layer of ResNet-18 and MobileNetV2 (CIFAR 32x32 and ImageNet 224x224 shapes) on a
16 x 16 chunk, from the exact cycle model, with a spot check in RTL simulation; a plot.

Standard convolutions run on a 16 x 16 channel chunk (16 output x 16 input channels per cycle), depthwise ones
on a 16-lane depthwise chunk; each standard convolution is also evaluated on a 16 x 16 pixel chunk (16 output
channels x 16 output columns), which suits the few-channel stems. The buffer tiles are those of the chunk that maximizes the mean utilization of
the standard 3x3 convolutions of ResNet-18 at CIFAR size within 700 BRAM18 (found by enumeration, all
workloads then use it). Utilization = useful MACs / (cycles x multipliers), cycles including every load,
write and pipeline overhead. Writes bench/results/utilization.json and .png.
"""
from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np

from hw_model.batch import arrays_from, evaluate
from hw_model.config import Accelerator, Chunk, MemoryInterface
from hw_model.cost import chunk_resources
from hw_model.cycles import layer_cycles, mac_utilization
from hw_model.mapping import geometry
from search.workloads import mobilenet_v2, resnet18

OUT = Path(__file__).parent / "results"
MEM = MemoryInterface(bus_bits=128, read_latency=4)
WORKLOADS = {"resnet18_cifar": resnet18(32), "resnet18_imagenet": resnet18(224),
             "mobilenetv2_cifar": mobilenet_v2(32), "mobilenetv2_imagenet": mobilenet_v2(224)}


def is_3x3(L) -> bool:
    return L.kernel == 3 and L.groups == 1


def best_chunk() -> Chunk:
    layers = [L for L in WORKLOADS["resnet18_cifar"] if is_3x3(L)]
    best, best_u = None, -1.0
    for trb, tcb, tmb, tnb in itertools.product((4, 8, 16), (4, 8, 16, 32), (32, 64, 128), (32, 64, 128)):
        c = Chunk(name="c8", bits=8, tm=16, tn=16, trb=trb, tcb=tcb, tmb=tmb, tnb=tnb, max_kernel=7, max_stride=2,
                  out_bits=(8,))
        if chunk_resources(c, MEM)["bram18"] > 700:
            continue
        u = evaluate(**arrays_from(layers, c, MEM))["utilization"].mean()
        if u > best_u:
            best, best_u = c, u
    return best


def main(spot_check: bool = True) -> dict:
    ch = best_chunk()
    dw = Chunk(name="d8", bits=8, dataflow="depthwise", tm=16, tn=1, trb=ch.trb, tcb=ch.tcb, tmb=64, tnb=64,
               max_kernel=7, max_stride=2, out_bits=(8,))
    acc = Accelerator(name="util16", chunks=(ch, dw), memory=MEM)
    # the same array as a pixel chunk (16 output channels x 16 output columns), for comparison
    px = Chunk(name="p8", bits=8, dataflow="pixel", tm=16, tn=16, trb=ch.trb, tcb=16, tmb=ch.tmb, tnb=ch.tnb,
               max_kernel=7, max_stride=2, out_bits=(8,))
    acc_px = Accelerator(name="util16px", chunks=(px, dw), memory=MEM)
    res = {"chunk": ch.to_dict(), "depthwise_chunk": dw.to_dict(), "pixel_chunk": px.to_dict(),
           "memory": MEM.__dict__, "workloads": {}}
    for name, layers in WORKLOADS.items():
        rows = []
        for L in layers:
            g = geometry(acc, L)
            gp = geometry(acc_px, L)
            rows.append({"name": L.name, "kind": "dw" if L.depthwise else f"{L.kernel}x{L.kernel}",
                         "cycles": layer_cycles(g), "macs": L.macs, "utilization": mac_utilization(g),
                         "pixel_utilization": None if L.depthwise else mac_utilization(gp)})
        sel = lambda f: [r["utilization"] for r, L in zip(rows, layers) if f(L)]
        res["workloads"][name] = {
            "layers": rows,
            "mean_3x3": float(np.mean(sel(is_3x3))) if sel(is_3x3) else None,
            "mean_standard": float(np.mean(sel(lambda L: not L.depthwise))),
            "mean_depthwise": float(np.mean(sel(lambda L: L.depthwise))) if sel(lambda L: L.depthwise) else None,
            "weighted": sum(L.macs for L in layers) / sum(r["cycles"] * (16 if L.depthwise else 256)
                                                         for r, L in zip(rows, layers)),
            # each standard convolution on whichever of the two 16 x 16 dataflows suits it
            "mean_standard_best_dataflow": float(np.mean([max(r["utilization"], r["pixel_utilization"])
                                                          for r, L in zip(rows, layers) if not L.depthwise])),
        }
    if spot_check:
        res["rtl_spot_check"] = _spot_check(acc)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "utilization.json").write_text(json.dumps(res, indent=2) + "\n")
    _plot(res)
    print(f"chunk: 16 x 16, trb {ch.trb} tcb {ch.tcb} tmb {ch.tmb} tnb {ch.tnb}, bus {MEM.bus_bits}")
    for name, w in res["workloads"].items():
        m3 = f"{w['mean_3x3']:.3f}" if w["mean_3x3"] is not None else "-"
        md = f"{w['mean_depthwise']:.3f}" if w["mean_depthwise"] is not None else "-"
        print(f"{name:<22} 3x3 mean {m3}  standard mean {w['mean_standard']:.3f} (best of channel/pixel "
              f"{w['mean_standard_best_dataflow']:.3f})  depthwise mean {md}  MAC-weighted {w['weighted']:.3f}")
    for r in res.get("rtl_spot_check", []):
        print(f"RTL spot check {r['name']}: model {r['model_cycles']} rtl {r['rtl_cycles']} bit_exact {r['bit_exact']}")
    return res


def _spot_check(acc) -> list[dict]:
    """Two ResNet-18 CIFAR layers and a MobileNetV2 depthwise layer on the 16 x 16 chunks' RTL (Verilator)."""
    from sim.run import make_case, run_cases
    pick = {"s2b1b", "s3b0proj"}
    layers = [L for L in WORKLOADS["resnet18_cifar"] if L.name in pick]
    layers += [L for L in WORKLOADS["mobilenetv2_cifar"] if L.name == "b3_0_dw"]
    rng = np.random.default_rng(0)
    rows = run_cases(acc, [make_case(acc, L, rng) for L in layers], "verilator")
    return [{k: r[k] for k in ("name", "chunk", "model_cycles", "rtl_cycles", "bit_exact", "mac_utilization")}
            for r in rows]


def _plot(res: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(res["workloads"]), 1, figsize=(12, 2.6 * len(res["workloads"])))
    colors = {"3x3": "C0", "1x1": "C1", "dw": "C2", "7x7": "C3"}
    for ax, (name, w) in zip(axes, res["workloads"].items()):
        u = [r["utilization"] for r in w["layers"]]
        ax.bar(range(len(u)), u, color=[colors.get(r["kind"], "C3") for r in w["layers"]])
        pu = [r["pixel_utilization"] if r["pixel_utilization"] is not None else np.nan for r in w["layers"]]
        ax.plot(range(len(pu)), pu, "k_", ms=7, mew=2, label="pixel dataflow")
        ax.axhline(0.85, color="k", lw=0.8, ls="--")
        ax.set_ylim(0, 1), ax.set_ylabel("MAC util.")
        ax.set_title(f"{name}: 3x3 mean {w['mean_3x3'] or 0:.2f}, standard mean {w['mean_standard']:.2f}",
                     fontsize=9)
        ax.set_xticks([])
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colors.values()]
    axes[0].legend(handles + [plt.Line2D([], [], color="k", marker="_", ls="", mew=2)],
                   ["3x3 (channel)", "1x1 (channel)", "depthwise (16 lanes)", "7x7 stem (channel)",
                    "same layer, pixel dataflow"],
                   fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(OUT / "utilization.png", dpi=110)


if __name__ == "__main__":
    main(spot_check="--no-rtl" not in sys.argv)
