"""A memory like a board's for the cocotb benches: cocotbext-axi's AXI RAM with what a DRAM behind an
interconnect has and the RAM lacks.

- latency: cycles from a read transaction's acceptance (its AR handshake, +-1: the model drains the AR channel
  once a cycle) to its first R beat; a DRAM's round trip is 40-100 cycles at an FPGA's clock.
- outstanding: how many read transactions it holds at once (a controller's or a port's queue), and 4 more in
  the AR channel's queue; AR waits (arready low) while they are all taken. A master that keeps n transactions of
  b beats in flight gets at most n * b / latency beats a cycle: single beats at latency 40 and 8 outstanding, 0.2.
- bandwidth: beats a cycle that every port sharing the memory gets together, reads and writes alike (a token
  bucket refilled by `rate` a cycle up to `burst`); a beat moves only with a token.
Reads come from the memory as it is when the beat is sent, writes land as their beats arrive (the RAM's own).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cocotb
from cocotb.triggers import RisingEdge
from cocotbext.axi import AxiBus
from cocotbext.axi.axi_ram import AxiRamRead, AxiRamWrite
from cocotbext.axi.memory import Memory

from hw_model.timing import axi_read_slack


# cycles this model adds to its `latency` before a beat is on the bus: the AR channel's drain (up to one) and the
# R channel's queue (two)
MODEL_CYCLES = 3


@dataclass
class Dram:
    """What the benches are told (a job's "dram"): latency, outstanding, and rate/burst (None: no cap)."""
    latency: int = 0
    outstanding: int = 64
    rate: float | None = None         # beats a cycle, all ports together
    burst: float = 4.0                # tokens the bucket holds at most

    @classmethod
    def from_job(cls, d: dict | None) -> "Dram | None":
        return cls(**d) if d else None


def contract_latency(read_latency: int, burst_beats: int = 1) -> int:
    """The longest latency this model may have and still keep the chunks' contract (hw_model.timing)."""
    return read_latency - axi_read_slack(burst_beats) - MODEL_CYCLES


def covering_read_latency(dram_latency: int, burst_beats: int = 1) -> int:
    """The least read latency of the chunks that this model `dram_latency` cycles away keeps (contract_latency's
    inverse)."""
    return dram_latency + axi_read_slack(burst_beats) + MODEL_CYCLES


class Bandwidth:
    """The token bucket the ports share; `take` in the cycle a beat would move."""

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, max(burst, 1.0)
        self.level, self.cycle = self.burst, 0

    def take(self, cycle: int) -> bool:
        if cycle != self.cycle:
            self.level = min(self.burst, self.level + self.rate * (cycle - self.cycle))
            self.cycle = cycle
        if self.level >= 1.0:
            self.level -= 1.0
            return True
        return False


class Cycles:
    """The cycle count of a clock, for the models' time stamps."""

    def __init__(self, clock):
        self.now = 0
        cocotb.start_soon(self._run(clock))

    async def _run(self, clock):
        while True:
            await RisingEdge(clock)
            self.now += 1


class LatencyRead(AxiRamRead):
    """AxiRamRead whose transactions wait `latency` cycles and of which it holds `outstanding` at once."""

    def __init__(self, bus, clock, reset, mem, latency: int, outstanding: int, cycles: Cycles):
        self.latency, self.outstanding, self.cycles = latency, outstanding, cycles
        super().__init__(bus, clock, reset, reset_active_level=True, mem=mem)
        self.ar_channel.queue_occupancy_limit = 4    # AR accepted a beat a cycle while the model drains it
        self.transactions = 0

    async def _process_read(self):
        pending = deque()           # (cycle from which its beats may go, [beats to send])
        while True:
            await RisingEdge(self.clock)
            while len(pending) < self.outstanding and not self.ar_channel.empty():
                pending.append((self.cycles.now + self.latency, self._beats(self.ar_channel.recv_nowait())))
                self.transactions += 1
            # a beat a cycle into the R channel's queue (2 deep: its pause generator meters the bus itself)
            if pending and self.cycles.now >= pending[0][0] and not self.r_channel.full():
                beats = pending[0][1]
                self.r_channel.send_nowait(beats.popleft()())
                if not beats:
                    pending.popleft()

    def _beats(self, ar) -> deque:
        """The transaction's R beats, each read from memory when it is sent (INCR bursts only, as the masters
        issue them; a burst that crosses 4 KB is refused)."""
        arid, addr, n = int(getattr(ar, "arid", 0)), int(ar.araddr), int(getattr(ar, "arlen", 0)) + 1
        size = 1 << int(getattr(ar, "arsize", self.max_burst_size))
        assert 0x1000 - (addr & 0xfff) >= size * n, f"a read burst across 4 KB: addr {addr:#x}, {n} beats"

        def beat(k):
            def make():
                r = self.r_channel._transaction_obj()
                a = (addr + k * size) // self.byte_lanes * self.byte_lanes
                r.rid, r.rlast, r.rresp = arid, k == n - 1, 0
                r.rdata = int.from_bytes(self.read(a % self.size, self.byte_lanes), "little")
                return r
            return make
        return deque(beat(k) for k in range(n))


def _metered(bw: Bandwidth, cycles: Cycles, busy):
    """A pause generator that lets a beat through only with a token, and takes one only when a beat waits."""
    while True:
        yield not (busy() and bw.take(cycles.now))


class DramRam(Memory):
    """AxiRam's memory and write side, with LatencyRead for its read side."""

    def __init__(self, bus, clock, reset, mem, dram: Dram, cycles: Cycles):
        super().__init__(len(mem), mem)
        self.write_if = AxiRamWrite(bus.write, clock, reset, True, mem=self.mem)
        self.read_if = LatencyRead(bus.read, clock, reset, self.mem, dram.latency, dram.outstanding, cycles)


def dram_ram(dut, prefix: str, clock, reset, mem, dram: Dram, bw: Bandwidth | None, cycles: Cycles) -> DramRam:
    """The DRAM on the `prefix` port, over `mem` (the bytes every port shares), metered by `bw` when given."""
    ram = DramRam(AxiBus.from_prefix(dut, prefix), clock, reset, mem, dram, cycles)
    if bw is not None:
        wvalid = getattr(dut, f"{prefix}_wvalid")
        r = ram.read_if.r_channel
        r.set_pause_generator(_metered(bw, cycles, lambda: not r.empty()))
        ram.write_if.w_channel.set_pause_generator(_metered(bw, cycles, lambda: bool(wvalid.value)))
    return ram
