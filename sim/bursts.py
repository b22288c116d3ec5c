"""One chunk bridge (rtl_gen/bridge.py) on its own, driven by a script of reads and writes (sim/tb_bridge.py) and
scored here: every read's data equal to the memory's, every write in memory, and the AXI transactions it made
against the ones expected, computed here from the script alone (`expected_bursts`): the beats of a stream in
consecutive cycles at consecutive addresses, up to burst_beats of them, a new burst at every 4 KB page.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from hw_model.config import AXI_PAGE_BYTES, MemoryInterface
from rtl_gen.bridge import bridge_module_name, bridge_verilog

from .run import _ensure_root_on_path, build_design, run_job
from .tools import ensure_tool_path

BASE = 0x10000              # byte address of beat 0 (on a 4 KB page, as the driver requires)


def expected_bursts(stream: list, burst_beats: int, bytes_per_beat: int, base: int = BASE) -> list[list[int]]:
    """[byte address, AxLEN] of each burst a stream of beats (a beat address or None per cycle) makes when the
    bridge is never held."""
    out, prev = [], None
    for a in stream:
        if a is None:
            prev = None
            continue
        byte = base + a * bytes_per_beat
        if (prev is not None and a == prev + 1 and byte % AXI_PAGE_BYTES != 0 and out[-1][1] + 1 < burst_beats):
            out[-1][1] += 1
        else:
            out.append([byte, 0])
        prev = a
    return out


def build_bridge(mem: MemoryInterface, simulator: str, root: Path = Path("sim_build")) -> Path:
    module = bridge_module_name(mem)
    return build_design(module, bridge_verilog(mem), module, (), {}, {}, simulator, root)


def run_bridge(mem: MemoryInterface, reads: list, writes: list, simulator: str = "icarus", dram: dict | None = None,
               backpressure: bool = False, seed: int = 0, build_root: Path = Path("sim_build")) -> dict:
    """reads: a beat address or None per enabled cycle; writes: (beat address, value) or None per enabled cycle,
    apart from the reads' beats. Returns the report: exactness, transactions, cycles."""
    ensure_tool_path()
    _ensure_root_on_path()
    bb = mem.bus_bits // 8
    rng = np.random.default_rng(seed)
    read_beats = sorted({a for a in reads if a is not None})
    init = {a: int(rng.integers(0, 1 << 62)) * 4 + 3 for a in read_beats}
    wbeats = [w[0] for w in writes if w is not None]
    assert not set(wbeats) & set(read_beats), "the script's reads and writes share beats"
    top = max([0, *read_beats, *wbeats]) + 1
    size = 1 << (BASE + top * bb).bit_length()
    lo, hi = (min(wbeats), max(wbeats) + 1) if wbeats else (0, 0)
    job = {"bus_bits": mem.bus_bits, "read_latency": mem.read_latency, "base": BASE, "size": size,
           "init": [[a, format(v, "x")] for a, v in init.items()], "reads": reads,
           "writes": [None if w is None else [w[0], format(w[1], "x")] for w in writes],
           "dram": dram, "backpressure": backpressure, "seed": seed, "dump_lo": lo, "dump_hi": hi,
           "cycle_limit": 64 * (len(reads) + len(writes)) + 100_000}
    bdir = build_bridge(mem, simulator, build_root)
    with tempfile.TemporaryDirectory(prefix="trips_bridge_") as tmp:
        res = run_job(simulator, bdir, "sim.tb_bridge", bridge_module_name(mem), Path(tmp), job, "bridge bench")
    return _score(mem, reads, writes, init, lo, res)


def _score(mem, reads, writes, init, lo, res) -> dict:
    bb, b = mem.bus_bits // 8, mem.burst_beats
    got = {i: int(v, 16) for i, v in res["reads"]}
    reads_exact = (len(got) == sum(a is not None for a in reads)
                   and all(got.get(i) == init[a] for i, a in enumerate(reads) if a is not None))
    final = {a: v for a, v in (w for w in writes if w is not None)}       # the last write of a beat stands
    dump = [int(v, 16) for v in res["dump"]]
    writes_exact = all(dump[a - lo] == v for a, v in final.items())
    ar, aw = res["ar"], res["aw"]
    lens_w = np.cumsum([n + 1 for _, n in aw]).tolist()
    framing = [i + 1 for i, last in enumerate(res["wlast"]) if last] == lens_w
    legal = all(n + 1 <= b and (a % AXI_PAGE_BYTES) + (n + 1) * bb <= AXI_PAGE_BYTES for a, n in ar + aw)
    unheld = res["held"] == 0
    return {
        "burst_beats": b, "read_latency": mem.read_latency, "cycles": res["cycles"], "held": res["held"],
        "enabled": res["enabled"], "reads_exact": reads_exact, "writes_exact": writes_exact,
        "read_bursts": ar, "write_bursts": aw, "bresp_ok": all(r == 0 for r in res["bresp"]),
        "wlast_framing": framing, "axi_legal": legal,
        # the transactions the script makes where the bridge was never held (else only their beats are claimed)
        "read_bursts_expected": expected_bursts(reads, b, bb) if unheld else None,
        "write_bursts_expected": (expected_bursts([None if w is None else w[0] for w in writes], b, bb)
                                  if unheld else None),
        "read_beats": res["read_beats"], "write_beats": res["write_beats"],
        "beats_exact": (res["read_beats"] == sum(n + 1 for _, n in ar) == sum(a is not None for a in reads)
                        and res["write_beats"] == sum(n + 1 for _, n in aw) == sum(w is not None for w in writes)),
        "read_transactions": res["read_transactions"], "timed_out": res["timed_out"],
    }
