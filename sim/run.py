"""Run layers on the generated RTL and check them: values bit for bit against the integer reference
(hw_model.numerics, numpy), cycles exactly against the cycle model (hw_model.cycles)."""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hw_model import cycles as cycle_model
from hw_model.config import Accelerator, Chunk, Layer
from hw_model.cost import energy_pj, traffic
from hw_model.layout import layer_image, unpack_activations, vector_image
from hw_model.mapping import LayerGeometry, Mapping, geometry
from hw_model.numerics import add_int, avgpool_int, conv2d_int, random_layer_data, random_vector_data, requantize
from hw_model.regs import CFG_BITS, pack_cfg, program
from rtl_gen.emit import chunk_module_name, chunk_verilog

from .tools import ensure_tool_path

HDL = Path(__file__).parent / "hdl"
SIMULATORS = ("verilator", "icarus")


def _mem_depth(words: int) -> int:
    return max(1 << 12, 1 << (max(words, 1) - 1).bit_length())


def build(acc: Accelerator, chunk: Chunk, simulator: str, depth: int, root: Path = Path("sim_build")) -> Path:
    """Build the harness for one chunk once; reuse it while the Verilog and parameters are unchanged."""
    module = chunk_module_name(acc.name, chunk)
    params = {"BUS": acc.memory.bus_bits, "ADDR": acc.memory.addr_bits, "DEPTH": depth,
              "LATENCY": acc.memory.read_latency, "CFG_BITS": CFG_BITS}
    text = chunk_verilog(chunk, acc.memory, module)        # cached on disk (rtl_gen.emit.disk_cached)
    return build_design(module, text, "harness", ("harness.v", "mem_model.v", "run_counters.v"), params,
                        {"CHUNK": module}, simulator, root)


def build_design(module: str, text: str, toplevel: str, hdl_files: tuple[str, ...], params: dict, defines: dict,
                 simulator: str, root: Path = Path("sim_build")) -> Path:
    """Build generated Verilog `text` (module `module`) with the hand-written harness files once, cached by a
    hash of everything that goes in; parallel test workers build it once (a file lock)."""
    ensure_tool_path()
    hdl = "".join((HDL / f).read_text() for f in hdl_files)
    key = hashlib.sha256((text + hdl + json.dumps(params, sort_keys=True) + json.dumps(defines, sort_keys=True)
                          + simulator).encode()).hexdigest()[:16]
    bdir = (root / simulator / f"{module}_{key}").resolve()
    stamp = bdir / "built.stamp"
    if stamp.exists():
        os.utime(stamp)                 # last use, for the cache's eviction order
        return bdir
    bdir.mkdir(parents=True, exist_ok=True)
    with open(bdir.parent / f"{bdir.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stamp.exists():
            from cocotb_tools.runner import get_runner

            (bdir / f"{module}.v").write_text(text)
            build_args = ["-Wno-fatal", "-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC", "-O2"] if simulator == "verilator" \
                else []
            get_runner(simulator).build(
                sources=[HDL / f for f in hdl_files] + [bdir / f"{module}.v"], hdl_toplevel=toplevel,
                parameters=params, defines=defines, build_args=build_args, build_dir=bdir,
                timescale=("1ns", "1ps"), log_file=bdir / "build.log")
            _drop_intermediates(bdir)
            stamp.write_text(key)
            _evict(bdir.parent, keep=bdir)
    return bdir


# A Verilator build leaves ~200 MB of precompiled headers, objects and archives beside its ~5 MB executable; only
# the executable is run. Content-keyed builds pile up as the RTL changes, so the cache keeps the most recently
# used CACHE_KEEP builds per simulator and never drops one used within CACHE_MIN_AGE_S (a parallel worker may be
# running it).
CACHE_KEEP = 48
CACHE_MIN_AGE_S = 3 * 3600
_INTERMEDIATES = ("*.gch", "*.o", "*.a", "*.d")


def _drop_intermediates(bdir: Path) -> None:
    for pattern in _INTERMEDIATES:
        for f in bdir.glob(pattern):
            f.unlink(missing_ok=True)


def _evict(sim_root: Path, keep: Path, now: float | None = None) -> list[Path]:
    """Remove the least recently used builds under `sim_root` beyond CACHE_KEEP, sparing `keep` and any build
    used within CACHE_MIN_AGE_S; return what was removed."""
    now = time.time() if now is None else now
    built = []
    for stamp in sim_root.glob("*/built.stamp"):
        try:
            built.append((stamp.stat().st_mtime, stamp.parent))
        except FileNotFoundError:       # another worker evicted it meanwhile
            continue
    built.sort(reverse=True)
    gone = []
    for used, bdir in built[CACHE_KEEP:]:
        if bdir == keep or now - used < CACHE_MIN_AGE_S:
            continue
        shutil.rmtree(bdir, ignore_errors=True)
        (sim_root / f"{bdir.name}.lock").unlink(missing_ok=True)
        gone.append(bdir)
    return gone


def run_job(simulator: str, bdir: Path, test_module: str, toplevel: str, tmp: Path, job: dict, what: str) -> dict:
    """Write `job` (with its "result" path set here) to <tmp>/job.json, run the cocotb test module on the built
    design, and return the result it wrote; raise with the log's tail when it wrote none."""
    from cocotb_tools.runner import get_runner
    job = {**job, "result": str(tmp / "result.json")}
    (tmp / "job.json").write_text(json.dumps(job))
    get_runner(simulator).test(test_module=test_module, hdl_toplevel=toplevel, hdl_toplevel_lang="verilog",
                               build_dir=bdir, test_dir=tmp, extra_env={"TRIPS_JOB": str(tmp / "job.json")},
                               log_file=tmp / "sim.log", timescale=("1ns", "1ps") if simulator == "icarus" else None)
    res = tmp / "result.json"
    if not res.exists():
        raise RuntimeError(f"{what} on {simulator} produced no result:\n" + (tmp / "sim.log").read_text()[-3000:])
    return json.loads(res.read_text())


@dataclass
class LayerCase:
    layer: Layer
    geom: LayerGeometry
    x: np.ndarray
    wt: np.ndarray | None = None
    bias: np.ndarray | None = None
    mult: np.ndarray | None = None
    shift: np.ndarray | None = None
    x2: np.ndarray | None = None                    # an add's second input
    vparams: tuple[int, int, int] | None = None     # a vector op's (mult_a, mult_b, shift)

    def image(self, base: int):
        if self.layer.vector:
            return vector_image(self.geom, self.x, self.x2, base=base)
        return layer_image(self.geom, self.x, self.wt, self.bias, self.mult, self.shift, base=base)


def make_case(acc: Accelerator, layer: Layer, rng: np.random.Generator, mapping: Mapping | None = None,
              realistic_scale: bool = True) -> LayerCase:
    """Random data for a layer; realistic_scale=False draws every requantization shift from 0..63 for a
    convolution, from {0, 1} for a vector layer (most outputs saturate; the corners of the rounding and the clamp
    are what it exercises)."""
    g = geometry(acc, layer, mapping)
    if layer.vector:
        a, b, vp = random_vector_data(rng, layer, realistic_scale=realistic_scale)
        return LayerCase(layer, g, a, x2=b, vparams=vp)
    return LayerCase(layer, g, *random_layer_data(rng, layer, realistic_scale=realistic_scale))


def reference_output(case: LayerCase) -> np.ndarray:
    """The integer reference: numpy convolution and requantization, independent of layout and RTL."""
    L = case.layer
    if L.op == "add":
        return add_int(case.x, case.x2, *case.vparams, L.out_bits)
    if L.op == "avgpool":
        return avgpool_int(case.x, case.vparams[0], case.vparams[2], L.out_bits)
    acc = conv2d_int(case.x, case.wt, L.stride, L.padding, L.groups)
    return requantize(acc, case.bias, case.mult, case.shift, L.out_bits)


def run_cases(acc: Accelerator, cases: list[LayerCase], simulator: str = "verilator",
              build_root: Path = Path("sim_build")) -> list[dict]:
    """Simulate the cases (grouped by chunk, one build each) and return one report row per case."""
    from cocotb_tools.runner import get_runner

    ensure_tool_path()
    _ensure_root_on_path()
    rows: dict[str, dict] = {}
    by_chunk: dict[str, list[LayerCase]] = {}
    for c in cases:
        by_chunk.setdefault(c.geom.chunk.name, []).append(c)
    for chunk_name, group in by_chunk.items():
        chunk = acc.chunk(chunk_name)
        jobs, base = [], 0
        for c in group:
            addrs, image, end = c.image(base)
            ho, wo = c.layer.out_size
            model = cycle_model.layer_cycles(c.geom)
            jobs.append({"name": c.layer.name, "cfg": format(pack_cfg(program(c.geom, addrs, c.vparams)), "x"),
                         "image": [[a, format(b, "x")] for a, b in image.items()],
                         "out_base": addrs.out_base, "out_beats": ho * wo * c.geom.out_nb,
                         "cycle_limit": 4 * model + 10_000})
            base = end
        depth = _mem_depth(base)
        bdir = build(acc, chunk, simulator, depth, build_root)
        with tempfile.TemporaryDirectory(prefix="trips_job_") as tmp:
            job_path, res_path = Path(tmp) / "job.json", Path(tmp) / "result.json"
            job_path.write_text(json.dumps({"layers": jobs, "result": str(res_path)}))
            runner = get_runner(simulator)
            runner.test(test_module="sim.tb_chunk", hdl_toplevel="harness", hdl_toplevel_lang="verilog", build_dir=bdir, test_dir=Path(tmp),
                        extra_env={"TRIPS_JOB": str(job_path)},
                        log_file=Path(tmp) / "sim.log", timescale=("1ns", "1ps") if simulator == "icarus" else None)
            if not res_path.exists():
                log = (Path(tmp) / "sim.log").read_text()[-3000:]
                raise RuntimeError(f"simulation of chunk {chunk_name} on {simulator} produced no result:\n{log}")
            result = json.loads(res_path.read_text())
        for c, r in zip(group, result["layers"]):
            rows[c.layer.name] = _score(c, r)
    return [rows[c.layer.name] for c in cases]


def _ensure_root_on_path() -> None:
    """The runner hands sys.path to the simulator's Python as PYTHONPATH: make the repository root absolute."""
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)


def _score(case: LayerCase, r: dict) -> dict:
    g, L = case.geom, case.layer
    model = cycle_model.layer_cycles(g)
    words = r["out"]
    if any(w is None for w in words):
        exact = False
    else:
        got = unpack_activations([int(w, 16) for w in words], L.out_channels, L.out_size, L.out_bits,
                                 g.mem.bus_bits)
        exact = bool(np.array_equal(got, reference_output(case)))
    t = traffic(g.fields)
    e = energy_pj(g.fields)
    return {"name": L.name, "chunk": g.chunk.name, "model_cycles": int(model), "rtl_cycles": int(r["rtl_cycles"]),
            "model_read_beats": int(t["read_in_beats"] + t["read_w_beats"] + t["read_p_beats"]),
            "rtl_read_beats": int(r["rtl_reads"]), "model_write_beats": int(t["write_beats"]),
            "rtl_write_beats": int(r["rtl_writes"]), "sim_seconds": float(r["run_seconds"]),
            "bit_exact": exact, "mac_utilization": float(cycle_model.mac_utilization(g)),
            "energy_uj": float(e["total"]) * 1e-6, "memory_bytes": int(t["bytes"]),
            "mapping": {"trb": g.mapping.trb, "tcb": g.mapping.tcb, "kb_in": g.mapping.kb_in,
                        "kb_out": g.mapping.kb_out}}
