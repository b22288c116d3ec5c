"""Write a configuration's Verilog and its manifest: `python -m rtl_gen --config FILE [--out DIR]`."""
from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path

from amaranth.back import verilog

from hw_model.config import Accelerator, Chunk, MemoryInterface
from hw_model.cost import accelerator_resources
from hw_model.io import atomic_write_json, atomic_write_text
from hw_model.regs import CFG_BITS, REGISTERS, field_offsets

from .chunk import ConvChunk
from .top import AcceleratorTop
from .vector import VectorChunk


def chunk_module_name(acc_name: str, chunk: Chunk) -> str:
    return f"trips_{acc_name.replace('-', '_')}_{chunk.name}"


_KICK = re.compile(r"  reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+ ) = 0;")
_ZERO_INIT = re.compile(r"  initial begin\n(?:    \S+\[\d+\] = \d+'[dh]0+;\n)+  end\n")


def top_module_name(acc_name: str) -> str:
    return f"trips_{acc_name.replace('-', '_')}_top"


@functools.lru_cache(maxsize=32)
def chunk_verilog(chunk: Chunk, mem: MemoryInterface, module_name: str) -> str:
    return _clean(verilog.convert(VectorChunk(chunk, mem) if chunk.vector else ConvChunk(chunk, mem),
                                  name=module_name, emit_src=False))


@functools.lru_cache(maxsize=8)
def top_verilog(acc: Accelerator) -> str:
    """The whole accelerator (rtl_gen.top.AcceleratorTop) as one Verilog file; its chunks are submodules."""
    return _clean(verilog.convert(AcceleratorTop(acc), name=top_module_name(acc.name), emit_src=False))


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
    """Write <out_dir>/<chunk module>.v for every chunk and manifest.json. Returns the manifest."""
    out_dir = Path(out_dir)
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
    manifest = {
        "config": acc.to_dict(),
        "modules": files,
        "top": {"module": top_name, "file": f"{top_name}.v", "sha256": hashlib.sha256(top_text.encode()).hexdigest(),
                "chunks": [c.name for c in acc.chunks], "sel": {c.name: i for i, c in enumerate(acc.chunks)},
                "doc": "all chunks with per-chunk memory ports and cfg registers; start + sel + cfg dispatch a "
                       "layer (rtl_gen/top.py)"},
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
