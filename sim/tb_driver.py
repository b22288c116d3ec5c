"""cocotb test module: the host driver (driver/), unchanged, runs N frames pipelined over the chunks of the frames
wrapper (rtl_gen/frames.py). Its two PYNQ-style objects are backed here by cocotbext-axi: MMIO by an AXI4-Lite
master (blocking calls into the simulation through cocotb's bridge/resume), the buffer by a numpy view of the
memory that one AXI RAM per chunk master shares (the board's DRAM behind its interconnect), each optionally
pausing every channel at random. Only a driver: the scoreboard is in the Python process that wrote the job
(sim/frames.py).

Job (JSON): program (the frames program's file), images ([N, C, H, W]), base (byte address of beat 0),
backpressure, seed, dram (optional: sim/dram.py's latency, outstanding, rate and burst), cycle_limit (the run is given up after it, and the counters read as they are), abort_cycles
(first start the run and reset the core that many cycles in: only control state is reset), dump_lo, dump_hi
(the activation region read back), result.
"""
from __future__ import annotations

import time

import numpy as np

import cocotb
from cocotb.task import bridge, resume
from cocotb.triggers import ClockCycles

from driver import TripsDriver, load_program
from hw_model.control import CTRL_IDLE, reg

from .dram import Bandwidth, Cycles, Dram, dram_ram
from .tb_env import TbEnv


class SimMMIO:
    def __init__(self, dut, ctl, cycle_limit: int):
        self.dut, self.ctl, self.cycle_limit = dut, ctl, cycle_limit

    def read(self, offset: int) -> int:
        return resume(self.ctl.read_dword)(offset)

    def write(self, offset: int, value: int) -> None:
        resume(self.ctl.write_dword)(offset, value)

    def wait_interrupt(self) -> None:
        """Until the interrupt, or the cycle limit (the driver then finds no DONE)."""
        @resume
        async def wait():
            waited = 0
            while not int(self.dut.irq.value) and waited < self.cycle_limit:
                await ClockCycles(self.dut.clk, 64)
                waited += 64
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
    bb = prog["bus_bits"] // 8
    size = 1 << (base + prog["window_beats"] * bb).bit_length()
    mem = bytearray(size)
    env.start_clock()
    dram = Dram.from_job(job.get("dram"))
    if dram is None:
        rams = [env.axi_ram(size, mem=mem, backpressure=job["backpressure"], seed=job["seed"] + i,
                            prefix=f"m{i}_axi") for i in range(prog["chunks"])]
    else:                   # one DRAM behind every master: its latency, its queue, the bandwidth they share
        cycles = Cycles(dut.clk)
        bw = Bandwidth(dram.rate, dram.burst) if dram.rate else None
        rams = [dram_ram(dut, f"m{i}_axi", dut.clk, dut.rst, mem, dram, bw, cycles) for i in range(prog["chunks"])]
    ctl = env.axil_master()
    await env.reset(4, settle=2)
    drv = TripsDriver(SimMMIO(dut, ctl, job["cycle_limit"]), SimBuffer(mem, base, prog["window_beats"]), prog)
    images = np.asarray(job["images"])

    @bridge
    def load_and_start():
        drv.load()
        drv.start(images)

    @bridge
    def finish():
        try:
            drv.wait()
        except TimeoutError:
            drv.last_counters = drv.counters()
            return None, True
        return [drv.logits(f).tolist() for f in range(len(images))], False

    aborted = None
    if job["abort_cycles"]:
        # start, reset the core part-way (reset clears control state only: the data registers keep what this run
        # left in them), then run as usual: the results must not change
        await load_and_start()
        await ClockCycles(dut.clk, job["abort_cycles"])
        aborted = {k: await ctl.read_dword(reg(k).offset) for k in ("FRAMES_DONE", "CTRL")}
        await env.reset(4, settle=2)
        aborted["CTRL_after_reset"] = await ctl.read_dword(reg("CTRL").offset)
        assert aborted["CTRL_after_reset"] == CTRL_IDLE, f"not idle after the reset: {aborted}"
    t0 = time.time()
    await load_and_start()
    logits, timed_out = await finish()
    seconds = time.time() - t0
    lo, hi = job["dump_lo"], job["dump_hi"]
    data = mem[base + lo * bb:base + (hi + 1) * bb]
    dump = [format(int.from_bytes(data[k * bb:(k + 1) * bb], "little"), "x") for k in range(hi - lo + 1)]
    env.write_result({"counters": drv.last_counters, "logits": logits, "dump": dump, "run_seconds": seconds,
                      "timed_out": timed_out, "aborted": aborted,
                      "read_transactions": [getattr(r.read_if, "transactions", None) for r in rams]})
