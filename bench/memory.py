"""The memory side, measured: `python -m bench.memory` (in `make bench`). Writes bench/results/memory.json and
memory.png.

1. Beats per cycle through one chunk's AXI master (rtl_gen/bridge.py on its own, sim/bursts.py): a stream of
   consecutive reads, one a cycle, on sim/dram.py's DRAM with a latency of 4, 40 and 100 cycles that holds
   OUTSTANDING read transactions at once (a board's port: a Zynq HP port accepts 8 reads), single beats against
   bursts of BURST beats. Each design's read latency is the least that covers its DRAM (the contract, timing.
   axi_read_slack), so what stops the stream is the memory's queue: beats / (beats + cycles held).
2. Frame rate against the memory's bandwidth for the default network (out/best.json when a search has run, else
   the reference network on configs/default.json): the model's roofline (hw_model.bandwidth.frame_rate) over a
   range of bandwidths, at the config's clock, with the bound that sets each point.
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
from tqdm import tqdm

from hw_model.bandwidth import frame_rate
from hw_model.config import Accelerator, MemoryInterface
from hw_model.defaults import DEFAULT_CONFIG
from hw_model.frame_program import DEFAULT_FRAMES
from hw_model.io import atomic_write_json, load_data
from hw_model.result import has_network, load_network
from hw_model.schedule import network_schedule
from hw_model.timing import axi_read_slack

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).parent / "results"
LATENCIES = (4, 40, 100)
OUTSTANDING = 8
BURST = 16
BEATS = 2048


def stream_rate(simulator: str, beats: int = BEATS) -> list[dict]:
    from sim.bursts import run_bridge
    from sim.dram import MODEL_CYCLES
    rows = []
    for latency in tqdm(LATENCIES, desc="beats per cycle"):
        for b in (1, BURST):
            mem = MemoryInterface(bus_bits=64, read_latency=latency + axi_read_slack(b) + MODEL_CYCLES,
                                  addr_bits=24, burst_beats=b)
            rep = run_bridge(mem, list(range(beats)), [], simulator,
                             dram={"latency": latency, "outstanding": OUTSTANDING})
            assert rep["reads_exact"] and rep["axi_legal"], rep
            rows.append({"dram_latency": latency, "burst_beats": b, "read_latency": mem.read_latency,
                         "beats": beats, "held_cycles": rep["held"], "transactions": len(rep["read_bursts"]),
                         "beats_per_cycle": beats / (beats + rep["held"]), "reads_exact": rep["reads_exact"]})
    return rows


def default_design():
    best = ROOT / "out" / "best.json"
    if best.is_file() and has_network(load_data(best)):
        return Accelerator.load(best), load_network(load_data(best), best, DEFAULT_FRAMES), "searched (out/best.json)"
    return Accelerator.load(DEFAULT_CONFIG), load_network(None, None, DEFAULT_FRAMES), "reference network"


def roofline(points: int = 25) -> dict:
    acc, net, source = default_design()
    s = network_schedule(acc, net.layers, net.graph)
    rows = []
    for bw in np.geomspace(0.05, 20, points):
        a = dataclasses.replace(acc, memory=dataclasses.replace(acc.memory, bandwidth_gb_s=float(bw)))
        r = frame_rate(a, net.layers, s)
        rows.append({"bandwidth_gb_s": float(bw), "fps": r["fps"], "bound": r["bound"]})
    r = frame_rate(acc, net.layers, s)
    return {"source": source, "config": acc.name, "clock_mhz": acc.clock_mhz, "period_cycles": s.period,
            "bytes_per_frame": r["bytes_per_frame"], "fps_schedule": r["fps_schedule"],
            "config_bandwidth_gb_s": acc.memory.bandwidth_gb_s, "config_fps": r["fps"], "config_bound": r["bound"],
            "demanded_gb_s": r["demanded_gb_s"], "points": rows}


def plot(res: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    for burst, style in ((1, "o-"), (BURST, "s-")):
        rows = [r for r in res["stream"] if r["burst_beats"] == burst]
        a.plot([r["dram_latency"] for r in rows], [r["beats_per_cycle"] for r in rows], style,
               label="single beats" if burst == 1 else f"bursts of {burst}")
    a.set_xlabel("DRAM latency (cycles, AR to first beat)")
    a.set_ylabel("read beats per cycle (RTL)")
    a.set_title(f"one master, memory holds {OUTSTANDING} reads", fontsize=9)
    a.set_ylim(0, 1.05)
    a.legend(fontsize=8)
    rf = res["roofline"]
    pts = rf["points"]
    b.loglog([p["bandwidth_gb_s"] for p in pts], [p["fps"] for p in pts], "-", label="model: min(schedule, bandwidth)")
    if rf["config_bandwidth_gb_s"]:
        b.plot([rf["config_bandwidth_gb_s"]], [rf["config_fps"]], "r*", ms=10, label="the config's memory")
    b.set_xlabel("memory bandwidth (GB/s, all masters)")
    b.set_ylabel(f"FPS at {rf['clock_mhz']:g} MHz (model)")
    b.set_title(f"{rf['config']}: {rf['source']}", fontsize=9)
    b.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--simulator", default="verilator", choices=("verilator", "icarus"))
    args = ap.parse_args(argv)
    res = {"stream": stream_rate(args.simulator), "roofline": roofline(), "simulator": args.simulator,
           "outstanding": OUTSTANDING,
           "note": "stream: measured on the bridge's RTL (cocotb, sim/dram.py); roofline: model "
                   "(hw_model.bandwidth), at the config's clock"}
    OUT.mkdir(parents=True, exist_ok=True)
    atomic_write_json(OUT / "memory.json", res)
    plot(res, OUT / "memory.png")
    for r in res["stream"]:
        print(f"DRAM {r['dram_latency']:>3} cycles, {'bursts of ' + str(r['burst_beats']) if r['burst_beats'] > 1 else 'single beats':13}"
              f" (read_latency {r['read_latency']:>3}): {r['beats_per_cycle']:.3f} beats/cycle, "
              f"{r['transactions']} transactions")
    rf = res["roofline"]
    print(f"{rf['config']} ({rf['source']}): {rf['bytes_per_frame']:,} bytes a frame; {rf['config_fps']:.0f} FPS at "
          f"{rf['clock_mhz']:g} MHz on {rf['config_bandwidth_gb_s']} GB/s ({rf['config_bound']}-bound; the schedule "
          f"demands {rf['demanded_gb_s']:.2f} GB/s)")
    return res


if __name__ == "__main__":
    main()
