"""Whole networks through the AXI wrapper (rtl_gen/axi.py), on cocotbext-axi's AXI RAM and AXI4-Lite master.

The memory window holds hw_model.program's plan (weights and records, the input, one region per layer output)
and, after it, the descriptor table. Two modes:
- per layer (the cycle check): one run per layer; each run's BUSY_CYCLES must equal hw_model's cycles of the
  layer (chunk cycles + dispatch), READ/WRITE_BEATS the traffic model, STALL_CYCLES 0 when the RAM answers in
  time; and every layer's output must equal the PyTorch integer model bit for bit.
- whole network in one run (the back-pressure check): the RAM pauses every channel at random; outputs must
  still be bit-exact, and BUSY_CYCLES still the model's sum (stalls hold the chunks, they do not change what a
  chunk does in its own cycles).
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from hw_model.config import Accelerator, Layer
from hw_model.control import CONTROL, CTRL_DONE, desc_beats
from hw_model.intnet import IntGraph, int_forward
from hw_model.program import hex_text, input_words, network_program, parse_program, plan_network
from rtl_gen.axi import axi_module_name, axi_verilog

from .network import _score, step_beats, step_model_cycles
from .run import _ensure_root_on_path, build_design, run_job
from .tools import ensure_tool_path

RAM_BASE = 0x10000          # byte address of beat 0 in the test RAM (not 0: MEM_BASE must be honoured)


def build_axi(acc: Accelerator, simulator: str, root: Path = Path("sim_build")) -> Path:
    module = axi_module_name(acc.name)
    return build_design(module, axi_verilog(acc), module, (), {}, {}, simulator, root)


def run_driver_sim(acc: Accelerator, program: dict, images: np.ndarray, simulator: str = "icarus",
                   build_root: Path = Path("sim_build")) -> dict:
    """The host driver (driver/) against the cocotb simulation of the AXI wrapper: returns
    {"logits": [...], "counters": [...]} per image."""
    ensure_tool_path()
    _ensure_root_on_path()
    bdir = build_axi(acc, simulator, build_root)
    with tempfile.TemporaryDirectory(prefix="trips_drv_") as tmp:
        tmp = Path(tmp)
        (tmp / "program.json").write_text(json.dumps(program))
        job = {"program": str(tmp / "program.json"), "images": np.asarray(images).tolist(), "base": RAM_BASE}
        return run_job(simulator, bdir, "sim.tb_driver", axi_module_name(acc.name), tmp, job, "driver simulation")


def run_network_axi(acc: Accelerator, layers: list[Layer], graph: IntGraph, images: np.ndarray,
                    simulator: str = "verilator", per_layer: bool = True, backpressure: bool = False,
                    seed: int = 0, abort: bool = False, build_root: Path = Path("sim_build")) -> dict:
    """abort: first start the whole network on the first image and reset the core half-way through it (its
    data registers keep what the aborted run left there; only control state is reset), then run as usual."""
    ensure_tool_path()
    _ensure_root_on_path()
    plan = plan_network(acc, layers, graph)
    model_total = sum(step_model_cycles(s) for s in plan.steps)
    prog = parse_program(network_program(acc, layers, graph, plan))
    bb = acc.memory.bus_bits // 8
    bdir = build_axi(acc, simulator, build_root)
    _, ref = int_forward(graph, images, keep=True)
    with tempfile.TemporaryDirectory(prefix="trips_axi_") as tmp:
        tmp = Path(tmp)
        static = tmp / "static.hex"
        static.write_text(hex_text(prog["static"]))
        files = []
        for i, img in enumerate(images):
            f = tmp / f"image{i}.hex"
            f.write_text(hex_text(input_words(prog, img)))
            files.append(str(f))
        job = {"ram_bytes": 1 << (RAM_BASE + prog["window_beats"] * bb).bit_length(), "base": RAM_BASE,
               "bus_bytes": bb, "static": str(static), "images": files, "desc_addr": prog["desc_addr"],
               "desc_beats": desc_beats(acc.memory), "n_layers": prog["n_layers"], "names": [s.layer.name for s in plan.steps], "per_layer": per_layer,
               "backpressure": backpressure, "seed": seed, "abort_cycles": model_total // 2 if abort else 0,
               "dump_lo": plan.act_lo, "dump_hi": plan.act_hi,
               "regs": {r.name: r.offset for r in CONTROL}}
        result = run_job(simulator, bdir, "sim.tb_axi", axi_module_name(acc.name), tmp, job, "AXI simulation")
    if not per_layer:   # no per-layer counters: score the outputs, then the run's totals
        for img in result["images"]:
            img["layers"] = [{"name": s.layer.name, "cycles": 1, "reads": 0, "writes": 0} for s in plan.steps]
    rep = _score(acc, plan, result, ref, len(images))
    runs = [r for img in result["images"] for r in img["runs"]]
    rep["axi"] = {
        "per_layer": per_layer, "backpressure": backpressure, "runs": runs, "aborted": result.get("aborted"),
        "stall_cycles": sum(r["STALL_CYCLES"] for r in runs),
        "busy_cycles_per_image": [sum(r["BUSY_CYCLES"] for r in img["runs"]) for img in result["images"]],
        "model_cycles_per_image": model_total,
        "run_cycles_per_image": [sum(r["CYCLES"] for r in img["runs"]) for img in result["images"]],
        "done_and_irq_ok": all(r["ctrl"] & CTRL_DONE and not r["ctrl_after"] & CTRL_DONE and not r["irq_after_clear"]
                               and r["LAYER"] == (1 if per_layer else len(plan.steps)) for r in runs),
        "info": result["info"],
    }
    rep["axi"]["busy_cycles_exact"] = all(b == model_total for b in rep["axi"]["busy_cycles_per_image"])
    if not per_layer:   # drop what the placeholders gave; the totals above are the cycle and beat checks
        for k in ("all_cycle_exact", "all_beats_exact", "layer_at_a_time",
                  "simulated_cycles_per_second"):
            rep.pop(k, None)
        for r in rep["layers"]:
            r.pop("rtl_cycles")
            r.pop("beats_exact")
        reads = sum(t[0] for t in step_beats(plan).values())
        writes = sum(t[1] for t in step_beats(plan).values())
        rep["axi"]["beats_exact"] = all(r["READ_BEATS"] == reads and r["WRITE_BEATS"] == writes for r in runs)
    return rep
