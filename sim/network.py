"""Whole-network simulation: every layer of a network on the accelerator top's RTL, image after image.

The memory plan is hw_model.program's (weights and records, the input, one region per layer output); the layers
are dispatched in order on their chunks. Checks: every layer's output against the integer model
(hw_model.intnet.int_forward) bit for bit, the logits included; every layer's cycles against hw_model (layer
cycles + TOP_DISPATCH); beats on the ports against the traffic model.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from hw_model import timing
from hw_model.frame_rate import frame_rate
from hw_model.config import LOGIT_BITS, Accelerator, Layer
from hw_model.cost import energy_pj, traffic
from hw_model.cycles import layer_cycles, mac_utilization
from hw_model.intnet import IntGraph, int_forward
from hw_model.layout import pack_activations, unpack_activations
from hw_model.program import Plan, Step, hex_text, plan_network
from hw_model.regs import CFG_BITS
from hw_model.schedule import network_schedule
from rtl_gen.emit import top_module_name, top_verilog

from .budget import check_network_fits
from .run import _ensure_root_on_path, _mem_depth, build_design, run_job
from .tools import ensure_tool_path


def build_top(acc: Accelerator, simulator: str, depth: int, root: Path = Path("sim_build")) -> Path:
    module = top_module_name(acc.name)
    sel_bits = max(1, (len(acc.chunks) - 1).bit_length())
    params = {"NCHUNK": len(acc.chunks), "SEL_BITS": sel_bits, "BUS": acc.memory.bus_bits,
              "ADDR": acc.memory.addr_bits, "DEPTH": depth, "LATENCY": acc.memory.read_latency,
              "CFG_BITS": CFG_BITS}
    return build_design(module, top_verilog(acc), "harness_top", ("harness_top.v", "mem_model.v", "run_counters.v"), params,
                        {"TOP": module}, simulator, root)


def step_beats(plan: Plan) -> dict[str, tuple[int, int]]:
    """Layer name -> (beats read, beats written) on its memory port, from the traffic model."""
    out = {}
    for s in plan.steps:
        t = traffic(s.geom.fields)
        out[s.layer.name] = (int(t["read_in_beats"] + t["read_w_beats"] + t["read_p_beats"]), int(t["write_beats"]))
    return out


def step_model_cycles(s: Step) -> int:
    """A layer on the top: its chunk's cycles plus the dispatch."""
    return layer_cycles(s.geom) + timing.TOP_DISPATCH


def run_network(acc: Accelerator, layers: list[Layer], graph: IntGraph, images: np.ndarray,
                simulator: str = "verilator", build_root: Path = Path("sim_build"), golden: IntGraph | None = None,
                labels=None, other_goldens: tuple[IntGraph, ...] = ()) -> dict:
    """images: [N, C, H, W] unsigned integers at the graph's input bits. Returns the report (see sim/__main__).
    The golden outputs come from int_forward on `golden` (default: the graph the hardware runs); with labels,
    the report adds the accuracy of the (bit-exact) logits on these images. The same hardware run is also
    scored against each of `other_goldens` (the report's "other_goldens": one report each), so a test can show
    that the check fails without simulating again."""
    ensure_tool_path()
    _ensure_root_on_path()
    plan = plan_network(acc, layers, graph)
    check_network_fits(plan.beats, plan.act_hi - plan.act_lo, len(images))
    bus = acc.memory.bus_bits
    bdir = build_top(acc, simulator, _mem_depth(plan.beats), build_root)
    logits, ref = int_forward(golden or graph, images, keep=True)
    first = layers[0]
    with tempfile.TemporaryDirectory(prefix="trips_net_") as tmp:
        tmp = Path(tmp)
        files = []
        for i, img in enumerate(images):
            beats = pack_activations(np.asarray(img, dtype=np.int64), first.bits, bus)
            words = {plan.input_base + k: int(b) for k, b in enumerate(beats)}
            if i == 0:
                words = {**plan.static, **words}
            f = tmp / f"image{i}.hex"
            f.write_text(hex_text(words))
            files.append(str(f))
        job = {"images": files, "dump_lo": plan.act_lo, "dump_hi": plan.act_hi,
               "layers": [{"name": s.layer.name, "sel": s.sel, "cfg": format(s.cfg, "x")} for s in plan.steps]}
        result = run_job(simulator, bdir, "sim.tb_network", "harness_top", tmp, job, "whole-network simulation")
    rep = _score(acc, plan, result, ref, len(images))
    rep["model"] = frame_rate(acc, layers, network_schedule(acc, layers, graph))
    if other_goldens:
        rep["other_goldens"] = [_score(acc, plan, result, int_forward(g, images, keep=True)[1], len(images))
                                for g in other_goldens]
    if labels is not None:
        rep["accuracy_on_images"] = float((logits.argmax(1) == np.asarray(labels)).mean())
    return rep


def _score(acc: Accelerator, plan: Plan, result: dict, ref: dict, n_images: int) -> dict:
    bus = acc.memory.bus_bits
    rows = []
    exact = {s.layer.name: True for s in plan.steps}
    rtl_cycles = {s.layer.name: set() for s in plan.steps}
    beats_ok = {s.layer.name: True for s in plan.steps}
    seconds = 0.0
    beats = step_beats(plan)
    for i, img in enumerate(result["images"]):
        seconds += img["run_seconds"]
        dump = img["dump"]
        for s, r in zip(plan.steps, img["layers"]):
            L = s.layer
            lo = plan.out_base[L.name] - plan.act_lo
            ho, wo = L.out_size
            words = dump[lo:lo + ho * wo * s.geom.out_nb]
            if any(w is None for w in words):
                exact[L.name] = False
            else:
                got = unpack_activations([int(w, 16) for w in words], L.out_channels, L.out_size, L.out_bits, bus)
                want = ref[L.name][i].reshape(L.out_channels, ho, wo)
                exact[L.name] &= bool(np.array_equal(got, want))
            rtl_cycles[L.name].add(int(r["cycles"]))
            beats_ok[L.name] &= (r["reads"], r["writes"]) == beats[L.name]
    for s in plan.steps:
        L, g = s.layer, s.geom
        model = step_model_cycles(s)
        measured = sorted(rtl_cycles[L.name])
        rows.append({"name": L.name, "op": L.op if not (L.op == "conv" and L.out_bits == LOGIT_BITS) else "fc",
                     "chunk": g.chunk.name, "model_cycles": model,
                     "rtl_cycles": measured[0] if len(measured) == 1 else measured, "bit_exact": exact[L.name],
                     "beats_exact": beats_ok[L.name],
                     "mac_utilization": float(mac_utilization(g)),
                     "energy_uj": float(energy_pj(g.fields)["total"]) * 1e-6,
                     "memory_bytes": int(traffic(g.fields)["bytes"])})
    last = plan.steps[-1].layer.name
    total_cycles = sum(r["model_cycles"] for r in rows)
    sim_cycles = sum((r["rtl_cycles"] if isinstance(r["rtl_cycles"], int) else max(r["rtl_cycles"])) for r in rows)
    return {
        "layers": rows, "images": n_images,
        "logits_bit_exact": exact[last],
        "all_bit_exact": all(exact.values()),
        "all_cycle_exact": all(r["model_cycles"] == r["rtl_cycles"] for r in rows),
        "all_beats_exact": all(beats_ok.values()),
        "layer_at_a_time": {
            "clock_mhz": acc.clock_mhz, "model_cycles": total_cycles, "rtl_cycles": sim_cycles,
            "fps_of_rtl_cycles": acc.clock_mhz * 1e6 / sim_cycles,
            "source": "the RTL top runs one layer at a time: every layer's cycles measured on it (its dispatch "
                      "included), added up; the testbench's own cycles between layers not counted"},
        "sim_seconds": seconds, "simulated_cycles_per_second": sim_cycles * n_images / max(seconds, 1e-9),
    }
