"""`python -m sim.lint`: verilator --lint-only -Wall on the hand-written Verilog (the harnesses and the memory
models), with the generated chunk or top present but its own warnings switched off."""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from hw_model.config import Accelerator
from hw_model.defaults import DEFAULT_CONFIG
from hw_model.regs import CFG_BITS
from hw_model.config import Chunk
from rtl_gen.emit import chunk_module_name, chunk_verilog, top_module_name, top_verilog

from .run import HDL
from .tools import ensure_tool_path


def lint(acc: Accelerator | None = None) -> subprocess.CompletedProcess:
    ensure_tool_path()
    acc = acc or Accelerator.load(DEFAULT_CONFIG)
    chunk = acc.chunks[0]
    module = chunk_module_name(acc.name, chunk)
    tmp = Path(tempfile.mkdtemp(prefix="trips_lint_"))
    gen = tmp / f"{module}.v"
    gen.write_text(chunk_verilog(chunk, acc.memory, module))
    vlt = tmp / "waivers.vlt"
    vlt.write_text(f'`verilator_config\nlint_off -file "{gen}"\n')
    cmd = ["verilator", "--lint-only", "-Wall", "--top-module", "harness", f"-DCHUNK={module}",
           f"-GCFG_BITS={CFG_BITS}", f"-GBUS={acc.memory.bus_bits}", f"-GADDR={acc.memory.addr_bits}",
           f"-GLATENCY={acc.memory.read_latency}", str(vlt), str(HDL / "harness.v"), str(HDL / "mem_model.v"),
           str(HDL / "run_counters.v"),
           str(gen)]
    return subprocess.run(cmd, capture_output=True, text=True)


def lint_top() -> subprocess.CompletedProcess:
    """The top's harness and the multi-port memory model, around a small two-chunk top."""
    ensure_tool_path()
    acc = Accelerator(name="lint", chunks=(
        Chunk(name="c8", bits=8, tm=2, tn=2, trb=2, tcb=2, tmb=8, tnb=8, out_bits=(8,)),
        Chunk(name="v8", bits=8, dataflow="vector", tm=1, tn=1, trb=1, tcb=4, tmb=8, tnb=8, out_bits=(8,))))
    module = top_module_name(acc.name)
    tmp = Path(tempfile.mkdtemp(prefix="trips_lint_"))
    gen = tmp / f"{module}.v"
    gen.write_text(top_verilog(acc))
    vlt = tmp / "waivers.vlt"
    vlt.write_text(f'`verilator_config\nlint_off -file "{gen}"\n')
    cmd = ["verilator", "--lint-only", "-Wall", "--top-module", "harness_top", f"-DTOP={module}",
           f"-GNCHUNK={len(acc.chunks)}", f"-GCFG_BITS={CFG_BITS}", f"-GBUS={acc.memory.bus_bits}",
           f"-GADDR={acc.memory.addr_bits}", f"-GLATENCY={acc.memory.read_latency}", str(vlt),
           str(HDL / "harness_top.v"), str(HDL / "mem_model.v"), str(HDL / "run_counters.v"), str(gen)]
    return subprocess.run(cmd, capture_output=True, text=True)


def main() -> int:
    for r in (lint(), lint_top()):
        print(r.stdout + r.stderr or "verilator --lint-only -Wall: clean")
        if r.returncode:
            return r.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
