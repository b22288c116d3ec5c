"""Simulated cycles per second of the generated chunk on Verilator and Icarus (cocotb), one run side by side.

Builds are done first and not timed; each timing covers one simulator launch running the same layers
(memory load, programming, run, dump). Writes bench/results/sim_speed.json.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from hw_model.config import Accelerator, Layer
from hw_model.defaults import DEFAULT_CONFIG
from sim.run import make_case, run_cases
from sim.tools import available

OUT = Path(__file__).parent / "results" / "sim_speed.json"
LAYERS = [Layer(name="c3x3_64_64_28", in_channels=64, out_channels=64, in_size=(28, 28), kernel=3, padding=1,
                bits=8),
          Layer(name="c1x1_64_128_28", in_channels=64, out_channels=128, in_size=(28, 28), kernel=1, bits=8)]


def main() -> dict:
    acc = Accelerator.load(DEFAULT_CONFIG)
    res = {"config": acc.name, "layers": [L.name for L in LAYERS], "simulators": {}}
    for sim in ("verilator", "icarus"):
        if not available(sim):
            continue
        cases = [make_case(acc, L, np.random.default_rng(0)) for L in LAYERS]
        run_cases(acc, cases[:1], sim)  # build (untimed)
        t = time.perf_counter()
        rows = run_cases(acc, cases, sim)
        dt = time.perf_counter() - t
        cycles = sum(r["rtl_cycles"] for r in rows)
        core = sum(r["sim_seconds"] for r in rows)
        assert all(r["bit_exact"] and r["rtl_cycles"] == r["model_cycles"] for r in rows)
        res["simulators"][sim] = {"cycles": cycles, "seconds": dt, "cycles_per_s": cycles / dt,
                                  "run_seconds": core, "run_cycles_per_s": cycles / core}
    res["whole_network"] = _whole_network(acc)
    s = res["simulators"]
    if "verilator" in s and "icarus" in s:
        res["verilator_over_icarus"] = s["verilator"]["run_cycles_per_s"] / s["icarus"]["run_cycles_per_s"]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=2) + "\n")
    for name, v in s.items():
        print(f"{name:<10} {v['cycles']:>10,} cycles: {v['cycles_per_s']:>9,.0f} cycles/s end to end "
              f"({v['seconds']:.2f} s with launch, load and checks), {v['run_cycles_per_s']:>9,.0f} cycles/s "
              f"while running ({v['run_seconds']:.2f} s)")
    if "verilator_over_icarus" in res:
        print(f"verilator / icarus while running: {res['verilator_over_icarus']:.1f}x")
    for name, v in res["whole_network"].items():
        print(f"whole network ({v['layers']} layers x {v['images']} images) on {name}: {v['cycles']:,} cycles, "
              f"{v['run_cycles_per_s']:,.0f} cycles/s while running, {v['seconds']:.1f} s end to end, "
              f"logits bit-exact {v['logits_bit_exact']}")
    return res


def _whole_network(acc, images: int = 8) -> dict:
    """The reference network (every layer type) on the accelerator top, images one after another; the build
    is done first and not timed."""
    from sim.network import run_network
    from hw_model.refnet import reference_images, reference_network
    layers, graph = reference_network()
    out = {}
    for sim in ("verilator", "icarus"):
        if not available(sim):
            continue
        run_network(acc, layers, graph, reference_images(1), sim)   # build (untimed)
        t = time.perf_counter()
        rep = run_network(acc, layers, graph, reference_images(images), sim)
        dt = time.perf_counter() - t
        cycles = rep["layer_at_a_time"]["rtl_cycles"] * images
        out[sim] = {"layers": len(layers), "images": images, "cycles": cycles, "seconds": dt,
                    "cycles_per_s": cycles / dt, "run_cycles_per_s": rep["simulated_cycles_per_second"],
                    "logits_bit_exact": rep["logits_bit_exact"]}
    return out


if __name__ == "__main__":
    main()
