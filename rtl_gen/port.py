"""A chunk's interface: its memory port (one read stream and one write stream at a fixed read latency,
docs/architecture.md "Memory protocol") and its control (start, busy, done, the cfg word, the per-part hold).
Chunks, the top (one port per chunk, side by side) and the harnesses (sim/hdl) use these names."""
from __future__ import annotations

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw_model.config import MemoryInterface
from hw_model.regs import CFG_BITS


def memory_port(mem: MemoryInterface, n: int = 1) -> dict:
    """The members of the memory port of n chunks side by side (chunk i's bits at [i * width, (i + 1) * width))."""
    return {"mem_rd_en": Out(n), "mem_rd_addr": Out(n * mem.addr_bits), "mem_rd_data": In(n * mem.bus_bits),
            "mem_wr_en": Out(n), "mem_wr_addr": Out(n * mem.addr_bits), "mem_wr_data": Out(n * mem.bus_bits)}


def chunk_signature(mem: MemoryInterface, n_parts: int, hold: bool) -> wiring.Signature:
    """A chunk's ports. With `hold`, one bit per part (parts.Parts): while bit i is high, part i holds."""
    return wiring.Signature({
        **({"hold": In(n_parts)} if hold else {}),
        "start": In(1), "busy": Out(1), "done": Out(1), "cfg": In(CFG_BITS),
        **memory_port(mem),
    })
