"""N frames of a network pipelined over the chunks, on the frames wrapper's RTL (rtl_gen/frames.py), scored
against the model (hw_model.schedule) and the integer network (hw_model.intnet).

Measured from the RTL: each frame's completion cycle (FRAME_CYCLE), the period (the difference between
consecutive completions), the first frame's latency, every chunk's busy, stall and wait cycles and beats. They
must equal the model's exactly (busy: every job's cycles from its begin to its retire; stalls and waits 0 when
the memory keeps up); every frame's logits, and every copy left in memory of every layer's output, must equal
the integer model's bit for bit.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from hw_model.config import Accelerator, Layer
from hw_model.control import FRAME_CONTROL, FRAME_LOG
from hw_model.cost import traffic
from hw_model.frame_program import frame_program
from hw_model.intnet import IntGraph, int_forward
from hw_model.layout import pack_activations, unpack_activations
from hw_model.program import hex_text
from rtl_gen.frames import frames_module_name, frames_verilog

from .axi import RAM_BASE
from .run import _ensure_root_on_path, build_design, run_job
from .tools import ensure_tool_path


def build_frames(acc: Accelerator, simulator: str, root: Path = Path("sim_build")) -> Path:
    module = frames_module_name(acc.name)
    return build_design(module, frames_verilog(acc), module, (), {}, {}, simulator, root)


def run_frames(acc: Accelerator, layers: list[Layer], graph: IntGraph, images: np.ndarray,
               simulator: str = "verilator", backpressure: bool = False, seed: int = 0,
               build_root: Path = Path("sim_build")) -> dict:
    """images: [N, C, H, W], one per frame. Returns the report (see the module's doc)."""
    ensure_tool_path()
    _ensure_root_on_path()
    n = len(images)
    fp = frame_program(acc, layers, graph, n)
    plan, s = fp.plan, fp.schedule
    run = s.run(n)
    bb = acc.memory.bus_bits // 8
    words = dict(fp.words)
    for f, img in enumerate(images):
        beats = pack_activations(np.asarray(img, dtype=np.int64), layers[0].bits, acc.memory.bus_bits)
        words.update({fp.input_base(f) + k: int(b) for k, b in enumerate(beats)})
    bdir = build_frames(acc, simulator, build_root)
    logits, ref = int_forward(graph, images, keep=True)
    with tempfile.TemporaryDirectory(prefix="trips_frames_") as tmp:
        tmp = Path(tmp)
        (tmp / "image.hex").write_text(hex_text(words))
        job = {"ram_bytes": 1 << (RAM_BASE + fp.beats * bb).bit_length(), "base": RAM_BASE, "bus_bytes": bb,
               "image": str(tmp / "image.hex"), "table_addr": fp.table_addr, "frames": n, "period": s.period,
               "last_layer": len(layers) - 1, "chunks": len(acc.chunks), "backpressure": backpressure,
               "seed": seed, "dump_lo": plan.act_lo, "dump_hi": plan.act_hi,
               "regs": {r.name: r.offset for r in FRAME_CONTROL},
               "cycle_limit": 4 * int(run.cycles) + 64 * len(fp.words) + 100_000}
        result = run_job(simulator, bdir, "sim.tb_frames", frames_module_name(acc.name), tmp, job,
                         "pipelined frames simulation")
    return _score(acc, layers, fp, run, result, ref, logits)


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
    measured = [int(c) for c in result["completions"]]
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
              for i, (ch, r) in enumerate(zip(acc.chunks, result["chunks"]))]
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
        "frames_done": result["registers"]["FRAMES_DONE"], "load_cycles": result["registers"]["LOAD_CYCLES"],
        "run_cycles": result["registers"]["CYCLES"],
        "chunks": chunks, "layers_bit_exact": exact,
        "logits_bit_exact": exact[layers[-1].name], "all_bit_exact": all(exact.values()),
        "completions_exact": model == measured and len(measured) == min(n, FRAME_LOG),
        "busy_exact": all(c["model_busy"] == c["rtl_busy"] for c in chunks),
        "beats_exact": all(c["model_reads"] == c["rtl_reads"] and c["model_writes"] == c["rtl_writes"]
                           for c in chunks),
        "stall_cycles": sum(c["stall"] for c in chunks), "wait_cycles": sum(c["wait"] for c in chunks),
        "sim_seconds": result["run_seconds"], "timed_out": result["timed_out"],
        "registers": result["registers"],
    }
