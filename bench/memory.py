"""The memory side, measured: `python -m bench.memory` (in `make bench`). Writes bench/results/memory.json and
memory.png.

1. Beats per cycle through one chunk's AXI master (rtl_gen/bridge.py on its own, sim/bursts.py): a stream of
   consecutive reads, one a cycle, on sim/dram.py's DRAM with a latency of 4, 40 and 100 cycles that holds
   OUTSTANDING read transactions at once (a board's port: a Zynq HP port accepts 8 reads), single beats against
   bursts of BURST beats. Each design's read latency is the least that covers its DRAM (the contract, timing.
   axi_read_slack), so what stops the stream is the memory's queue: beats / (beats + cycles held).
2. Frame rate against the memory's bandwidth for the default network (out/best.json when a search has run, else
   the reference network on configs/default.json), on a DRAM DRAM_LATENCY cycles away (dram_design): the model's (hw_model.frame_rate: the frames paced to the
   memory where its bandwidth is the slower) over a range of bandwidths, at the config's clock, with the bound that
   sets each point; and at MEASURED_RATES, the frame rate measured on the frames wrapper's RTL (the driver, N
   frames on one start) on sim/dram.py's DRAM, sustaining that bandwidth with the burst allowance
   hw_model.bandwidth gives: the measured period against the model's.
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
from tqdm import tqdm

from hw_model.frame_rate import frame_rate
from hw_model.config import Accelerator, MemoryInterface
from hw_model.defaults import DEFAULT_CONFIG
from hw_model.frame_program import DEFAULT_FRAMES
from hw_model.io import atomic_write_json, load_data
from hw_model.result import has_network, load_network
from hw_model.schedule import network_schedule

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).parent / "results"
LATENCIES = (4, 40, 100)
OUTSTANDING = 8
BURST = 16
BEATS = 2048
DRAM_LATENCY = 40
MEASURED_RATES = (0.25, 0.5, 1.0, 2.0)     # beats a cycle, all masters together
MEASURED_FRAMES = 3


def stream_rate(simulator: str, beats: int = BEATS) -> list[dict]:
    from sim.bursts import run_bridge
    from sim.dram import covering_read_latency
    rows = []
    for latency in tqdm(LATENCIES, desc="beats per cycle"):
        for b in (1, BURST):
            mem = MemoryInterface(bus_bits=64, read_latency=covering_read_latency(latency, b),
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


def _with_bandwidth(acc: Accelerator, bw: float | None) -> Accelerator:
    return dataclasses.replace(acc, memory=dataclasses.replace(acc.memory, bandwidth_gb_s=bw))


def dram_design():
    """default_design with its read latency raised, where it is shorter, to the least that keeps a DRAM
    DRAM_LATENCY cycles away in bursts of BURST: the memory a board has, as `make sim` runs a searched design."""
    from sim.dram import contract_latency, covering_read_latency
    acc, net, source = default_design()
    m = acc.memory
    if contract_latency(m.read_latency, m.burst_beats) < DRAM_LATENCY:
        b = max(m.burst_beats, BURST)
        acc = dataclasses.replace(acc, memory=dataclasses.replace(
            m, burst_beats=b, read_latency=covering_read_latency(DRAM_LATENCY, b)))
        source += f", read_latency {acc.memory.read_latency}, bursts of {b}"
    return acc, net, source


def roofline(points: int = 25) -> dict:
    acc, net, source = dram_design()
    rows = []
    for bw in np.geomspace(0.05, 20, points):
        a = _with_bandwidth(acc, float(bw))
        r = frame_rate(a, net.layers, network_schedule(a, net.layers, net.graph))
        rows.append({"bandwidth_gb_s": float(bw), "fps": r["fps"], "bound": r["bound"],
                     "period_cycles": r["period_cycles"]})
    r = frame_rate(acc, net.layers, network_schedule(acc, net.layers, net.graph))
    return {"source": source, "config": acc.name, "clock_mhz": acc.clock_mhz, "period_cycles": r["period_cycles"],
            "bytes_per_frame": r["bytes_per_frame"], "fps_schedule": r["fps_schedule"],
            "config_bandwidth_gb_s": acc.memory.bandwidth_gb_s, "config_fps": r["fps"], "config_bound": r["bound"],
            "demanded_gb_s": r["demanded_gb_s"], "points": rows}


def measured(simulator: str) -> list[dict]:
    """dram_design's frames on the RTL at MEASURED_RATES."""
    from sim.frames import contract_dram, run_frames
    acc, net, _ = dram_design()
    bb = acc.memory.bus_bits // 8
    rows = []
    for rate in tqdm(MEASURED_RATES, desc="frames on the RTL"):
        a = _with_bandwidth(acc, rate * bb * acc.clock_mhz * 1e6 / 1e9)
        model = frame_rate(a, net.layers, network_schedule(a, net.layers, net.graph))
        dram = contract_dram(a, net.layers, net.graph, MEASURED_FRAMES)
        rep = run_frames(a, net.layers, net.graph, net.images[:MEASURED_FRAMES], simulator, dram=dram)
        rows.append({"bandwidth_gb_s": a.memory.bandwidth_gb_s, "beats_per_cycle": rate,
                     "dram_latency": dram["latency"], "burst_allowance_beats": dram["burst"],
                     "read_latency": a.memory.read_latency, "burst_beats": a.memory.burst_beats, "frames": MEASURED_FRAMES,
                     "model_period": model["period_cycles"], "model_bound": model["bound"], "model_fps": model["fps"],
                     "rtl_period": rep["period_cycles"]["rtl"], "measured_fps": rep["measured_fps"],
                     "measured_bound": rep["measured_bound"], "completions_exact": rep["completions_exact"],
                     "stall_cycles": rep["stall_cycles"], "all_bit_exact": rep["all_bit_exact"]})
    return rows


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
    if res.get("measured"):
        ms = res["measured"]
        b.plot([p["bandwidth_gb_s"] for p in ms], [p["measured_fps"] for p in ms], "kx", ms=8,
               label=f"measured on the RTL (DRAM {ms[0]['dram_latency']} cycles)")
    if rf["config_bandwidth_gb_s"]:
        b.plot([rf["config_bandwidth_gb_s"]], [rf["config_fps"]], "r*", ms=10, label="the config's memory")
    b.set_xlabel("memory bandwidth (GB/s, all masters)")
    b.set_ylabel(f"FPS at {rf['clock_mhz']:g} MHz")
    b.set_title(f"{rf['config']}: {rf['source']}", fontsize=9)
    b.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--simulator", default="verilator", choices=("verilator", "icarus"))
    args = ap.parse_args(argv)
    res = {"stream": stream_rate(args.simulator), "roofline": roofline(), "measured": measured(args.simulator),
           "simulator": args.simulator, "outstanding": OUTSTANDING,
           "note": "stream: measured on the bridge's RTL (cocotb, sim/dram.py); roofline: model "
                   "(hw_model.frame_rate), at the config's clock; measured: the frames wrapper's RTL through the "
                   "host driver, the period between the last two completions, at the config's clock"}
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
    for r in res["measured"]:
        print(f"{r['bandwidth_gb_s']:.3g} GB/s: measured period {r['rtl_period']} cycles (model {r['model_period']}, "
              f"{r['model_bound']}-bound; measured {r['measured_bound']}-bound) = {r['measured_fps']:.0f} FPS at "
              f"{rf['clock_mhz']:g} MHz, stalls {r['stall_cycles']}, "
              f"{'exact' if r['completions_exact'] and r['all_bit_exact'] else 'MISMATCH'}")
    return res


if __name__ == "__main__":
    main()
