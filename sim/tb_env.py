"""The one testbench environment of the cocotb benches (tb_chunk, tb_network, tb_driver): the job file,
the clock and reset, the AXI models (cocotbext-axi's RAM and AXI4-Lite master, pause generators), the memory
model's load and dump files, and the result file.

A bench is only a driver: the scoreboard lives in the Python process that wrote the job (sim/run.py,
sim/network.py, sim/frames.py), so no bench imports numpy's golden models or torch.
"""
from __future__ import annotations

import json
import os
import random

from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

LOAD_FILE = "trips_mem_load.hex"  # names fixed in sim/hdl/mem_model.v; the simulator runs in the job's folder
DUMP_FILE = "trips_mem_dump.hex"
CLOCK_PERIOD_NS = 10              # the simulation's clock; cycles, not nanoseconds, are what the checks compare


def read_hex(path: str) -> dict[int, int]:
    """`@address word ...` lines ($readmemh style) -> {address: word}."""
    words, addr = {}, 0
    for line in open(path):
        for tok in line.split("//")[0].split():
            if tok.startswith("@"):
                addr = int(tok[1:], 16)
            else:
                words[addr] = int(tok, 16)
                addr += 1
    return words


def parse_dump(text: str) -> list:
    """The memory model's dump: one hex word per line; a word with x or z bits is None."""
    words = []
    for line in text.split("\n"):
        line = line.split("//")[0].strip()
        if not line or line.startswith("@"):
            continue
        words.append(None if any(c in line.lower() for c in "xz") else format(int(line, 16), "x"))
    return words


def pauses(rng: random.Random, p: float):
    """A cocotbext-axi pause generator: each cycle paused with probability p."""
    while True:
        yield rng.random() < p


class TbEnv:
    def __init__(self, dut):
        self.dut = dut
        with open(os.environ["TRIPS_JOB"]) as f:
            self.job = json.load(f)

    # ------------------------------------------------------------------------------ clock and reset
    def start_clock(self) -> None:
        Clock(self.dut.clk, CLOCK_PERIOD_NS, unit="ns").start()

    async def reset(self, cycles: int, settle: int = 0) -> None:
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, cycles)
        self.dut.rst.value = 0
        if settle:
            await ClockCycles(self.dut.clk, settle)

    async def start(self, inputs=(), reset_cycles: int = 3, settle: int = 0) -> None:
        """The clock, the given inputs low, then the reset."""
        self.start_clock()
        for sig in inputs:
            sig.value = 0
        await self.reset(reset_cycles, settle)

    async def pulse(self, sig) -> None:
        """One cycle high, then a cycle low."""
        sig.value = 1
        await RisingEdge(self.dut.clk)
        sig.value = 0
        await RisingEdge(self.dut.clk)

    # ------------------------------------------------------------------------------ the memory model (sim/hdl)
    async def load_memory(self, text: str) -> None:
        with open(LOAD_FILE, "w") as f:
            f.write(text)
        await self.pulse(self.dut.load)

    async def dump_memory(self, lo: int, hi: int) -> list:
        self.dut.dump_lo.value = lo
        self.dut.dump_hi.value = hi
        await self.pulse(self.dut.dump)
        with open(DUMP_FILE) as f:
            return parse_dump(f.read())

    # ------------------------------------------------------------------------------ AXI models
    def axi_ram(self, size: int, mem=None, backpressure: bool = False, seed: int = 0, p: float = 0.3,
                prefix: str = "m_axi"):
        """cocotbext-axi's AXI RAM on the `prefix` port (sharing `mem`, another RAM's memory, when given); with
        backpressure, every channel paused at random."""
        from cocotbext.axi import AxiBus, AxiRam
        ram = AxiRam(AxiBus.from_prefix(self.dut, prefix), self.dut.clk, self.dut.rst, size=size,
                     **({"mem": mem} if mem is not None else {}))
        if backpressure:
            rng = random.Random(seed)
            for ch in (ram.write_if.aw_channel, ram.write_if.w_channel, ram.write_if.b_channel,
                       ram.read_if.ar_channel, ram.read_if.r_channel):
                ch.set_pause_generator(pauses(rng, p))
        return ram

    def axil_master(self):
        from cocotbext.axi import AxiLiteBus, AxiLiteMaster
        return AxiLiteMaster(AxiLiteBus.from_prefix(self.dut, "s_axil"), self.dut.clk, self.dut.rst)

    # ------------------------------------------------------------------------------ the result
    def write_result(self, obj: dict) -> None:
        with open(self.job["result"], "w") as f:
            json.dump(obj, f)
