"""`python -m sim.lint`: verilator --lint-only -Wall on the hand-written Verilog (the harness and the memory
model), with the generated chunk present but its own warnings switched off."""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from hw_model.config import Accelerator
from hw_model.defaults import DEFAULT_CONFIG
from hw_model.regs import CFG_BITS
from rtl_gen.emit import chunk_module_name, chunk_verilog

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
           str(gen)]
    return subprocess.run(cmd, capture_output=True, text=True)


def main() -> int:
    r = lint()
    print(r.stdout + r.stderr or "verilator --lint-only -Wall: clean")
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
