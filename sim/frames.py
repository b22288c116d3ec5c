"""N frames of a network pipelined over the chunks, on the frames wrapper's RTL (rtl_gen/frames.py), run by the
host driver (driver/, through sim/tb_driver.py) on one start, scored against the model (hw_model.schedule) and
the integer network (hw_model.intnet).

Measured from the RTL (the driver's counters): each frame's completion cycle (FRAME_CYCLE), the period (the difference between
consecutive completions), the first frame's latency, every chunk's busy, stall and wait cycles and beats. They
must equal the model's exactly (busy: every job's cycles from its begin to its retire; stalls and waits 0 when
the memory keeps up); every frame's logits, and every copy left in memory of every layer's output, must equal
the integer model's bit for bit.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from hw_model.bandwidth import burst_allowance, bytes_per_cycle, layer_bytes
from hw_model.config import Accelerator, Layer
from hw_model.control import FRAME_LOG
from hw_model.cost import traffic
from hw_model.frame_program import frame_program
from hw_model.intnet import IntGraph, int_forward
from hw_model.layout import unpack_activations
from rtl_gen.frames import frames_module_name, frames_verilog

from .dram import contract_latency
from .run import _ensure_root_on_path, build_design, run_job
from .tools import ensure_tool_path

RAM_BASE = 0x10000          # byte address of beat 0 in the test RAM (not 0: MEM_BASE must be honoured)


def contract_dram(acc: Accelerator, layers: list[Layer] | None = None, graph: IntGraph | None = None,
                  frames: int = 1) -> dict | None:
    """The memory the model's contract describes (sim/dram.py's Dram fields): as slow as the chunks' read latency
    allows and, where the config gives a bandwidth (and the network), sustaining just that bandwidth with the burst
    allowance hw_model.bandwidth says a run of `frames` frames needs, plus the job tables' beats (read before the
    frames, from the same bucket). None (cocotbext-axi's AXI RAM, which answers within the least latency and is not
    metered) where the read latency leaves the model no cycle of its own."""
    latency = contract_latency(acc.memory.read_latency, acc.memory.burst_beats)
    per_cycle = bytes_per_cycle(acc)
    if latency < 0 or per_cycle is None or layers is None:
        return {"latency": latency} if latency >= 1 else None
    fp = frame_program(acc, layers, graph, frames)
    run = fp.schedule.run(frames)
    job_bytes = np.repeat(np.asarray(layer_bytes(acc, layers))[:, None], frames, axis=1)
    bb = acc.memory.bus_bits // 8
    allowance = burst_allowance(run.begin, run.end, job_bytes, per_cycle) / bb
    return {"latency": latency, "rate": per_cycle / bb,
            "burst": float(np.ceil(allowance)) + fp.beats - fp.table_addr}


def build_frames(acc: Accelerator, simulator: str, root: Path = Path("sim_build")) -> Path:
    module = frames_module_name(acc.name)
    return build_design(module, frames_verilog(acc), module, (), {}, {}, simulator, root)


def run_frames(acc: Accelerator, layers: list[Layer], graph: IntGraph, images: np.ndarray,
               simulator: str = "verilator", backpressure: bool = False, seed: int = 0, abort: bool = False,
               build_root: Path = Path("sim_build"), dram: dict | None = None) -> dict:
    """images: [N, C, H, W], one per frame. abort: first start the run and reset the core half-way through the
    first frame, then run as usual. dram: the memory as sim/dram.py's Dram fields (latency, outstanding, rate,
    burst) instead of the plain AXI RAM. Returns the report (see the module's doc)."""
    ensure_tool_path()
    _ensure_root_on_path()
    n = len(images)
    fp = frame_program(acc, layers, graph, n)
    run = fp.schedule.run(n)
    bdir = build_frames(acc, simulator, build_root)
    logits, ref = int_forward(graph, images, keep=True)
    with tempfile.TemporaryDirectory(prefix="trips_frames_") as tmp:
        tmp = Path(tmp)
        (tmp / "program.json").write_text(json.dumps(fp.to_json(acc)))
        job = {"program": str(tmp / "program.json"), "images": np.asarray(images).tolist(), "base": RAM_BASE,
               "backpressure": backpressure, "seed": seed, "dram": dram, "dump_lo": fp.plan.act_lo, "dump_hi": fp.plan.act_hi,
               "abort_cycles": int(run.completion[0]) // 2 if abort else 0,
               "cycle_limit": 4 * int(run.cycles) + 64 * len(fp.words) + 100_000}
        result = run_job(simulator, bdir, "sim.tb_driver", frames_module_name(acc.name), tmp, job,
                         "pipelined frames simulation")
    rep = _score(acc, layers, fp, run, result, ref, logits)
    rep["memory"] = ({"model": "sim/dram.py", **dram} if dram else
                     {"model": "cocotbext-axi AxiRam", "backpressure": backpressure})
    rep.update(measured_bound(acc, rep, dram))
    return rep


def measured_bound(acc: Accelerator, rep: dict, dram: dict | None) -> dict:
    """What the run itself says sets its frame rate: the bytes a frame moved (the bridges' beat counters) over the
    measured period, against what the memory sustains. A period no longer than the whole cycles the memory needs
    for those bytes is the memory's (bandwidth-bound); a longer one is the chunks' (schedule-bound)."""
    period = rep["period_cycles"]["rtl"]
    bb = acc.memory.bus_bits // 8
    moved = sum(c["rtl_reads"] + c["rtl_writes"] for c in rep["chunks"]) * bb // rep["frames"]
    out = {"measured_bytes_per_frame": moved, "measured_gb_s": None, "measured_bound": None}
    if period:
        out["measured_gb_s"] = moved * acc.clock_mhz * 1e6 / period / 1e9
        if dram and dram.get("rate"):
            out["measured_bound"] = "bandwidth" if period <= np.ceil(moved / (dram["rate"] * bb)) else "schedule"
        else:
            out["measured_bound"] = "schedule"      # a memory without a bound of its own
    return out


def _score(acc, layers, fp, run, result, ref, logits) -> dict:
    plan, s, n = fp.plan, fp.schedule, fp.frames
    bus = acc.memory.bus_bits
    dump = result["dump"]
    exact = {}
    for l, L in enumerate(layers):
        k = n if l == len(layers) - 1 else plan.copies[L.name]
        ok = True
        for f in range(max(0, n - k), n):                  # the copies still in memory
            lo = plan.out_base[L.name] + (f % k) * plan.tensor_beats[L.name] - plan.act_lo
            got = unpack_activations([int(w, 16) for w in dump[lo:lo + plan.tensor_beats[L.name]]],
                                     L.out_channels, L.out_size, L.out_bits, bus)
            ok &= bool(np.array_equal(got, ref[L.name][f].reshape(got.shape)))
        exact[L.name] = ok
    cnt = result["counters"]
    driver_ok = result["logits"] == np.asarray(logits).reshape(n, -1).tolist()
    measured = [int(c) for c in cnt["completions"]]
    model = [int(c) for c in run.completion[:len(measured)]]
    busy_model = [0] * len(acc.chunks)
    reads, writes = [0] * len(acc.chunks), [0] * len(acc.chunks)
    for st in plan.steps:
        c = st.sel
        l = s.names.index(st.layer.name)
        busy_model[c] += s.busy[l] * n
        t = traffic(st.geom.fields)
        reads[c] += int(t["read_in_beats"] + t["read_w_beats"] + t["read_p_beats"]) * n
        writes[c] += int(t["write_beats"]) * n
    chunks = [{"chunk": ch.name, "model_busy": busy_model[i], "rtl_busy": r["CHUNK_BUSY"],
               "stall": r["CHUNK_STALL"], "wait": r["CHUNK_WAIT"], "model_reads": reads[i],
               "rtl_reads": r["CHUNK_READS"], "model_writes": writes[i], "rtl_writes": r["CHUNK_WRITES"]}
              for i, (ch, r) in enumerate(zip(acc.chunks, cnt["chunks"]))]
    hz = acc.clock_mhz * 1e6
    m_period = model[-1] - model[-2] if len(model) > 1 else None
    r_period = measured[-1] - measured[-2] if len(measured) > 1 else None
    return {
        "frames": n, "clock_mhz": acc.clock_mhz,
        "completions": {"model": model, "rtl": measured},
        "period_cycles": {"model": m_period, "rtl": r_period, "steady_state_model": s.period},
        "latency_cycles": {"model": model[0], "rtl": measured[0]},
        "measured_fps": None if r_period is None else hz / r_period,
        "fps_source": f"measured on the RTL: the clock ({acc.clock_mhz:g} MHz, the config's) over the difference "
                      "between the last two frames' completion cycles",
        "frames_done": cnt["FRAMES_DONE"], "load_cycles": cnt["LOAD_CYCLES"], "run_cycles": cnt["CYCLES"],
        "chunks": chunks, "layers_bit_exact": exact,
        # the logits twice: as the driver returned them, and in the memory the run left
        "driver_logits_bit_exact": driver_ok,
        "logits_bit_exact": exact[layers[-1].name] and driver_ok,
        "all_bit_exact": all(exact.values()) and driver_ok,
        "completions_exact": model == measured and len(measured) == min(n, FRAME_LOG),
        "busy_exact": all(c["model_busy"] == c["rtl_busy"] for c in chunks),
        "beats_exact": all(c["model_reads"] == c["rtl_reads"] and c["model_writes"] == c["rtl_writes"]
                           for c in chunks),
        "stall_cycles": sum(c["stall"] for c in chunks), "wait_cycles": sum(c["wait"] for c in chunks),
        "sim_seconds": result["run_seconds"], "timed_out": result["timed_out"],
        "aborted": result["aborted"], "read_transactions": result.get("read_transactions"),
    }
