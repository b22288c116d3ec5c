"""cocotb test module: the host driver (driver/), unchanged, runs a network on the simulated AXI wrapper.
Its two PYNQ-style objects are backed here by cocotbext-axi: MMIO by an AXI4-Lite master (blocking calls into
the simulation through cocotb's bridge/resume), the buffer by a numpy view of an AXI RAM's bytes."""
from __future__ import annotations

import numpy as np

import cocotb
from cocotb.task import bridge, resume
from cocotb.triggers import RisingEdge

from driver import TripsDriver, load_program

from .tb_env import TbEnv


class SimMMIO:
    def __init__(self, dut, ctl):
        self.dut, self.ctl = dut, ctl

    def read(self, offset: int) -> int:
        return resume(self.ctl.read_dword)(offset)

    def write(self, offset: int, value: int) -> None:
        resume(self.ctl.write_dword)(offset, value)

    def wait_interrupt(self) -> None:
        @resume
        async def wait():
            if not int(self.dut.irq.value):
                await RisingEdge(self.dut.irq)
        wait()


class SimBuffer(np.ndarray):
    """uint64 beats over the RAM's bytes from `base` on, with the buffer's physical address."""

    def __new__(cls, mem: bytearray, base: int, beats: int):
        obj = np.frombuffer(mem, dtype=np.uint64, count=beats, offset=base).view(cls)
        obj.physical_address = base
        return obj


@cocotb.test()
async def run_driver(dut):
    env = TbEnv(dut)
    job = env.job
    prog = load_program(job["program"])
    base = job["base"]
    size = 1 << (base + prog["window_beats"] * 8).bit_length()
    mem = bytearray(size)
    env.start_clock()
    env.axi_ram(size, mem=mem)
    ctl = env.axil_master()
    await env.reset(4, settle=2)
    drv = TripsDriver(SimMMIO(dut, ctl), SimBuffer(mem, base, prog["window_beats"]), prog)

    @bridge
    def host():
        drv.load()
        out = []
        for img in job["images"]:
            logits = drv.infer(np.asarray(img))
            out.append({"logits": [int(v) for v in logits], "counters": drv.last_counters})
        return out

    results = await host()
    env.write_result({"images": results})
