"""Pipeline registers: a value a cycle later, n cycles later, and a read request through the chunk's request
stages; `Stages` counts the registers a pipeline builds, so that its drain is checked against hw_model.timing at
elaboration."""
from __future__ import annotations

from amaranth import Mux, Signal

from hw_model import timing


def pipe_reg(m, value, name: str):
    """value, registered (a cycle later). Flags of one or two bits (valid bits, the tag kind, write enables) keep
    the reset; wider values (addresses, selects, decoded cfg values) are data, without one (docs/architecture.md
    "Resets")."""
    r = Signal(value.shape(), name=name, reset_less=len(value) > 2)
    m.d.sync += r.eq(value)
    return r


def delayed(m, value, n: int, name: str):
    """value registered n times (pipe_reg each; n = 0: value itself)."""
    for i in range(n):
        value = pipe_reg(m, value, f"{name}{i + 1}")
    return value


def read_request(m, en, addr, port):
    """A chunk's read request (strobe en, beat address addr, this cycle) onto its memory port (port.mem_rd_en,
    port.mem_rd_addr) through timing.READ_REQ_STAGES registers: the port is a flip-flop, and so is the stage
    before it, so that the wire from the chunk to the memory (on an FPGA the AXI bridge, across the die) is a
    cycle of its own, away from the chunk's walk and from the bridge's logic. The port's address is 0 when
    its strobe is, so that a bridge serving chunks one at a time takes the OR of their ports (rtl_gen.axi); it
    is zeroed in the last stage, by the stage before's strobe register (the walk's strobe, logic, drives that
    register alone, not the address bits as well)."""
    n = timing.READ_REQ_STAGES
    for i in range(n):
        en, addr = pipe_reg(m, en, f"rd_en_r{i + 1}"), pipe_reg(m, Mux(en, addr, 0) if i == n - 1 else addr,
                                                                 f"rd_addr_r{i + 1}")
    m.d.comb += [port.mem_rd_en.eq(en), port.mem_rd_addr.eq(addr)]


def stage(m, sigs, name: str) -> list:
    """A pipeline stage of a tag line: each signal registered, named <name>_<its name>."""
    return [pipe_reg(m, s, f"{name}_{getattr(s, 'name', i)}") for i, s in enumerate(sigs)]


class Stages:
    """Counts the stages a pipeline builds, so that elaboration checks them against the drain hw_model.timing
    gives it (the cycle model adds that drain; the RTL's pipeline is what it is)."""

    def __init__(self, name: str, expected: int):
        self.name, self.expected, self.count = name, expected, 0

    def stage(self, m, sigs, name: str) -> list:
        self.count += 1
        return stage(m, sigs, name)

    def add(self, n: int = 1) -> None:
        """Registers on the path that are not a stage of the tag line (a port register)."""
        self.count += n

    def check(self) -> None:
        if self.count != self.expected:
            raise AssertionError(f"the {self.name} pipeline builds {self.count} stages; hw_model.timing gives it "
                                 f"{self.expected}")
