"""Write a configuration's Verilog and its manifest: `python -m rtl_gen --config FILE [--out DIR]`."""
from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import re
from pathlib import Path

from amaranth.back import verilog

from hw_model.config import Accelerator, Chunk, MemoryInterface
from hw_model.cost import accelerator_resources
from hw_model.io import atomic_write_json, atomic_write_text, staged_dir
from hw_model.regs import CFG_BITS, REGISTERS, field_offsets

from .chunk import ConvChunk
from .top import AcceleratorTop
from .vector import VectorChunk
from .cells import KEPT_CELL, MUL_CELL, kept_cell_verilog, mul_cell_verilog


def chunk_module_name(acc_name: str, chunk: Chunk) -> str:
    return f"trips_{acc_name.replace('-', '_')}_{chunk.name}"


_KICK = re.compile(r"  reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+ ) = 0;")
_ZERO_INIT = re.compile(r"  initial begin\n(?:    \S+\[\d+\] = \d+'[dh]0+;\n)+  end\n")


def top_module_name(acc_name: str) -> str:
    return f"trips_{acc_name.replace('-', '_')}_top"


# Amaranth's conversion of the default takes ~50 s for its nine chunks, as long again for the top and a minute for
# the AXI top, and the same design is asked for again and again (`make rtl`, `make sim`, `make fpga`, the tests'
# workers): the Verilog is kept on disk under a hash of what it is generated from, the design's description and
# the source of every package that shapes it, so an edit to hw_model or rtl_gen is a miss. The newest
# CACHE_FILES are kept.
CACHE_FILES = 64


def cache_dir() -> Path:
    """$TRIPS_CACHE/verilog, else ~/.cache/trips/verilog."""
    return Path(os.environ.get("TRIPS_CACHE") or Path.home() / ".cache" / "trips") / "verilog"


@functools.lru_cache(maxsize=1)
def _source_hash() -> str:
    import amaranth
    h = hashlib.sha256(amaranth.__version__.encode())
    root = Path(__file__).resolve().parent.parent
    for pkg in ("hw_model", "rtl_gen"):
        for f in sorted((root / pkg).glob("*.py")):
            h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


def disk_cached(what: dict, make) -> str:
    """make(), or the text it returned before for the same `what` (a JSON-able description) and sources. Parallel
    callers generate it once (a file lock); where the cache cannot be written, it is generated every time."""
    key = hashlib.sha256((_source_hash() + json.dumps(what, sort_keys=True)).encode()).hexdigest()[:24]
    d = cache_dir()
    path = d / f"{key}.v"
    try:
        d.mkdir(parents=True, exist_ok=True)
        lock = open(d / f"{key}.lock", "w")
    except OSError:
        return make()
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            os.utime(path)                      # last use, for the eviction order
            return path.read_text()
        text = make()
        try:
            atomic_write_text(path, text)
        except OSError:
            return text
    _evict(d, keep=path)
    return text


def _evict(d: Path, keep: Path) -> None:
    def used(f: Path) -> int:
        try:
            return f.stat().st_mtime_ns
        except FileNotFoundError:            # evicted by a parallel caller
            return -1
    files = sorted((f for f in d.glob("*.v") if f != keep), key=used, reverse=True)
    for f in files[CACHE_FILES - 1:]:
        for g in (f, f.with_suffix(".lock")):
            g.unlink(missing_ok=True)


def convert(component, name: str) -> str:
    """An Amaranth component as a cleaned Verilog module `name` (the one conversion every generator uses), with
    the cells it instantiates defined in the same text: the multiplier (cells.MUL_CELL) as `<name>_mul`, the kept
    register (cells.KEPT_CELL) as `<name>_kept`."""
    text = _clean(verilog.convert(component, name=name, emit_src=False))
    if MUL_CELL in text:
        text = text.replace(MUL_CELL, f"{name}_mul") + mul_cell_verilog(f"{name}_mul")
    if KEPT_CELL in text:
        text = text.replace(KEPT_CELL, f"{name}_kept") + kept_cell_verilog(f"{name}_kept")
    return text


@functools.lru_cache(maxsize=32)
def chunk_verilog(chunk: Chunk, mem: MemoryInterface, module_name: str) -> str:
    return disk_cached({"chunk": chunk.to_dict(), "memory": mem.__dict__, "module": module_name},
                       lambda: convert(VectorChunk(chunk, mem) if chunk.vector else ConvChunk(chunk, mem), module_name))


@functools.lru_cache(maxsize=8)
def top_verilog(acc: Accelerator) -> str:
    """The whole accelerator (rtl_gen.top.AcceleratorTop) as one Verilog file; its chunks are submodules."""
    return disk_cached({"top": acc.to_dict()}, lambda: convert(AcceleratorTop(acc), top_module_name(acc.name)))


def _clean(text: str) -> str:
    # Amaranth writes an all-zero initial block for every buffer RAM. Buffers are always written before they
    # are read, so drop them: the files shrink ~30x and simulators build faster.
    text = _ZERO_INIT.sub("", text)
    # Yosys wakes every `always @*` block at time 0 through a register declared `= 0`; event-driven
    # simulators such as Icarus may not treat that initializer as an event, leaving combinational regs that
    # depend only on reset-stable state at X. Toggle it once after time 0 (simulation only).
    return _KICK.sub(lambda m: m.group(0) + "\n`ifndef SYNTHESIS\n`ifndef VERILATOR\n  initial #0 "
                     + m.group(1) + " = 1'b1;\n`endif\n`endif", text)


def emit(acc: Accelerator, out_dir: Path) -> dict:
    """Write <out_dir>/<chunk module>.v for every chunk, the top, the register map and manifest.json, all of it or
    nothing (hw_model.io.staged_dir: a folder of the user's own is never replaced). Returns the manifest."""
    with staged_dir(out_dir, "--out", own=("manifest.json",)) as tmp:
        return _write(acc, tmp)


def _write(acc: Accelerator, out_dir: Path) -> dict:
    files = []
    for ch in acc.chunks:
        name = chunk_module_name(acc.name, ch)
        text = chunk_verilog(ch, acc.memory, name)
        atomic_write_text(out_dir / f"{name}.v", text)
        files.append({"chunk": ch.name, "module": name, "file": f"{name}.v",
                      "sha256": hashlib.sha256(text.encode()).hexdigest()})
    top_name = top_module_name(acc.name)
    top_text = top_verilog(acc)
    atomic_write_text(out_dir / f"{top_name}.v", top_text)
    from .frames import frames_module_name, frames_verilog
    sys_name = frames_module_name(acc.name)
    sys_text = frames_verilog(acc)
    atomic_write_text(out_dir / f"{sys_name}.v", sys_text)
    manifest = {
        "config": acc.to_dict(),
        "modules": files,
        "top": {"module": top_name, "file": f"{top_name}.v", "sha256": hashlib.sha256(top_text.encode()).hexdigest(),
                "chunks": [c.name for c in acc.chunks], "sel": {c.name: i for i, c in enumerate(acc.chunks)},
                "doc": "all chunks with per-chunk memory ports and cfg registers; start + sel + cfg dispatch a "
                       "layer (rtl_gen/top.py)"},
        "system": {"module": sys_name, "file": f"{sys_name}.v", "sha256": hashlib.sha256(sys_text.encode()).hexdigest(),
                   "doc": "the top behind AXI: a control slave (hw_model.control), one AXI4 master and a job-table "
                          "sequencer per chunk, running frames pipelined (rtl_gen/frames.py); what the FPGA bundle "
                          "ships"},
        "cfg_bits": CFG_BITS,
        "registers": [{"name": f.name, "lsb": field_offsets()[f.name][0], "width": f.width, "doc": f.doc}
                      for f in REGISTERS],
        "ports": {"start": 1, "busy": 1, "done": 1, "cfg": CFG_BITS, "mem_rd_en": 1,
                  "mem_rd_addr": acc.memory.addr_bits, "mem_rd_data": acc.memory.bus_bits, "mem_wr_en": 1,
                  "mem_wr_addr": acc.memory.addr_bits, "mem_wr_data": acc.memory.bus_bits},
        "resources_estimate": accelerator_resources(acc),
        "buffers": {ch.name: {"in_depth": ch.in_depth, "w_depth": ch.w_depth, "acc_depth": ch.acc_depth,
                              "p_depth": ch.p_depth} for ch in acc.chunks},
    }
    from .regmap import c_header, markdown, python_module
    name = acc.name.replace("-", "_")
    for fname, text in ((f"{name}_regs.md", markdown(acc)), (f"{name}_regs.h", c_header(acc)),
                        (f"{name}_regs.py", python_module(acc))):
        atomic_write_text(out_dir / fname, text)
    manifest["register_map"] = [f"{name}_regs.md", f"{name}_regs.h", f"{name}_regs.py"]
    atomic_write_json(out_dir / "manifest.json", manifest)
    return manifest
