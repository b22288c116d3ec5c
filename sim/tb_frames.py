"""cocotb test module: N frames of a network pipelined over the chunks of the frames wrapper (rtl_gen/frames.py).
One cocotbext-axi AXI RAM per chunk master, all on one memory (the board's DRAM behind its interconnect),
optionally with random pauses on every channel; an AXI4-Lite master on the control port. Only a driver: it loads
the memory image, programs the registers (hw_model.control.FRAME_CONTROL), starts the run, waits for the
interrupt, reads the counters, each frame's completion cycle and the activation region. The scoreboard is in the
Python process that wrote the job (sim/frames.py).

Job (JSON): ram_bytes, base, bus_bytes, image (hex file: weights, records, tables, the N inputs), table_addr,
frames, period, last_layer, chunks, backpressure, seed, dump_lo, dump_hi, regs (name -> offset), cycle_limit
(the run is given up after it, and the registers read as they are), result.
"""
from __future__ import annotations

import time

import cocotb
from cocotb.triggers import ClockCycles

from hw_model.control import CTRL_START, GIE_ENABLE, IRQ_DONE, FRAME_LOG

from .tb_axi import _load
from .tb_env import TbEnv, read_hex


@cocotb.test()
async def run_frames(dut):
    env = TbEnv(dut)
    job = env.job
    regs, bb, base = job["regs"], job["bus_bytes"], job["base"]
    env.start_clock()
    rams = []
    for i in range(job["chunks"]):         # one RAM model per master, all on the first one's memory
        rams.append(env.axi_ram(job["ram_bytes"], mem=rams[0].mem if rams else None,
                                backpressure=job["backpressure"], seed=job["seed"] + i, prefix=f"m{i}_axi"))
    ctl = env.axil_master()
    await env.reset(4, settle=2)
    _load(rams[0], read_hex(job["image"]), base, bb)
    for k, v in (("MEM_BASE_LO", base & 0xFFFFFFFF), ("MEM_BASE_HI", base >> 32), ("GIE", GIE_ENABLE),
                 ("IER", IRQ_DONE), ("TABLE_ADDR", job["table_addr"]), ("N_FRAMES", job["frames"]),
                 ("PERIOD", job["period"]), ("LAST_LAYER", job["last_layer"])):
        await ctl.write_dword(regs[k], v)
    t0 = time.time()
    await ctl.write_dword(regs["CTRL"], CTRL_START)
    waited = 0
    while not int(dut.irq.value) and waited < job["cycle_limit"]:
        await ClockCycles(dut.clk, 256)
        waited += 256
    seconds = time.time() - t0
    timed_out = not int(dut.irq.value)
    out = {k: await ctl.read_dword(regs[k]) for k in ("CYCLES", "LOAD_CYCLES", "FRAMES_DONE", "CTRL")}
    await ctl.write_dword(regs["ISR"], IRQ_DONE)
    chunks = []
    for c in range(job["chunks"]):
        await ctl.write_dword(regs["CHUNK_SEL"], c)
        chunks.append({k: await ctl.read_dword(regs[k]) for k in ("CHUNK_BUSY", "CHUNK_STALL", "CHUNK_WAIT",
                                                                  "CHUNK_READS", "CHUNK_WRITES")})
    completions = []
    for f in range(min(job["frames"], FRAME_LOG)):
        await ctl.write_dword(regs["FRAME_SEL"], f)
        completions.append(await ctl.read_dword(regs["FRAME_CYCLE"]))
    lo, hi = job["dump_lo"], job["dump_hi"]
    data = rams[0].read(base + lo * bb, (hi - lo + 1) * bb)
    dump = [format(int.from_bytes(data[k * bb:(k + 1) * bb], "little"), "x") for k in range(hi - lo + 1)]
    env.write_result({"registers": out, "chunks": chunks, "completions": completions, "dump": dump,
                      "run_seconds": seconds, "timed_out": timed_out})
