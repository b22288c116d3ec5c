"""cocotb test module: runs a whole network on the AXI wrapper (rtl_gen/axi.py) with cocotbext-axi models: an
AXI RAM on the master port (optionally with random back-pressure on all five channels) and an AXI4-Lite master
on the control port. Only a driver: it loads the memory image into the RAM, programs the control registers
(hw_model.control), starts runs, waits for the interrupt and reads the counters and the activation region back.
The scoreboard is in the Python process that wrote the job (sim/axi.py).

Job (JSON): ram_bytes, base (byte address of beat 0), bus_bytes, static (hex file: weights, records,
descriptors), images (hex files: the input beats), desc_addr, desc_beats, n_layers, names, per_layer (one run
per layer, for per-layer counters; else one run for the whole network), backpressure, seed, dump_lo, dump_hi,
regs (name -> offset), result (path to write).
"""
from __future__ import annotations

import time

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge

from hw_model.control import CTRL_IDLE, CTRL_START, GIE_ENABLE, IRQ_DONE

from .tb_env import TbEnv, read_hex


def _load(ram, words: dict[int, int], base: int, bb: int) -> None:
    """Write beats into the RAM, runs of consecutive addresses at once."""
    run_start, run = None, []
    for a in sorted(words) + [None]:
        if run and (a is None or a != run_start + len(run)):
            ram.write(base + run_start * bb, b"".join(w.to_bytes(bb, "little") for w in run))
            run = []
        if a is not None:
            if not run:
                run_start = a
            run.append(words[a])


@cocotb.test()
async def run_axi(dut):
    env = TbEnv(dut)
    job = env.job
    regs, bb, base = job["regs"], job["bus_bytes"], job["base"]
    env.start_clock()
    ram = env.axi_ram(job["ram_bytes"], backpressure=job["backpressure"], seed=job["seed"])
    ctl = env.axil_master()
    await env.reset(4, settle=2)

    async def run(desc_addr: int, n: int) -> dict:
        await ctl.write_dword(regs["DESC_ADDR"], desc_addr)
        await ctl.write_dword(regs["N_LAYERS"], n)
        await ctl.write_dword(regs["CTRL"], CTRL_START)
        if not int(dut.irq.value):
            await RisingEdge(dut.irq)
        out = {k: await ctl.read_dword(regs[k]) for k in ("CYCLES", "BUSY_CYCLES", "STALL_CYCLES", "READ_BEATS",
                                                          "WRITE_BEATS", "LAYER")}
        out["ctrl"] = await ctl.read_dword(regs["CTRL"])          # DONE set, cleared by this read
        out["ctrl_after"] = await ctl.read_dword(regs["CTRL"])
        await ctl.write_dword(regs["ISR"], IRQ_DONE)
        await ClockCycles(dut.clk, 1)
        out["irq_after_clear"] = int(dut.irq.value)
        return out

    async def setup():
        await ctl.write_dword(regs["MEM_BASE_LO"], base & 0xFFFFFFFF)
        await ctl.write_dword(regs["MEM_BASE_HI"], base >> 32)
        await ctl.write_dword(regs["GIE"], GIE_ENABLE)
        await ctl.write_dword(regs["IER"], IRQ_DONE)

    await setup()
    info = await ctl.read_dword(regs["INFO"])
    static = read_hex(job["static"])
    images = []
    aborted = None
    for i, img_file in enumerate(job["images"]):
        _load(ram, {**(static if i == 0 else {}), **read_hex(img_file)}, base, bb)
        if i == 0 and job["abort_cycles"]:
            # start the whole network, reset the core half-way (reset clears control state only: the data
            # registers keep what this run left in them), then run as usual: the results must not change
            await ctl.write_dword(regs["DESC_ADDR"], job["desc_addr"])
            await ctl.write_dword(regs["N_LAYERS"], job["n_layers"])
            await ctl.write_dword(regs["CTRL"], CTRL_START)
            await ClockCycles(dut.clk, job["abort_cycles"])
            aborted = {"LAYER": await ctl.read_dword(regs["LAYER"]), "CTRL": await ctl.read_dword(regs["CTRL"])}
            await env.reset(4, settle=2)
            aborted["CTRL_after_reset"] = await ctl.read_dword(regs["CTRL"])
            assert aborted["CTRL_after_reset"] == CTRL_IDLE, f"not idle after the reset: {aborted}"
            await setup()
        t0 = time.perf_counter()
        rows, runs = [], []
        if job["per_layer"]:
            for k, name in enumerate(job["names"]):
                r = await run(job["desc_addr"] + k * job["desc_beats"], 1)
                runs.append(r)
                rows.append({"name": name, "cycles": r["BUSY_CYCLES"], "reads": r["READ_BEATS"],
                             "writes": r["WRITE_BEATS"], "stall": r["STALL_CYCLES"]})
        else:
            runs.append(await run(job["desc_addr"], job["n_layers"]))
        run_s = time.perf_counter() - t0
        lo, hi = job["dump_lo"], job["dump_hi"]
        data = ram.read(base + lo * bb, (hi - lo + 1) * bb)
        dump = [format(int.from_bytes(data[k * bb:(k + 1) * bb], "little"), "x") for k in range(hi - lo + 1)]
        images.append({"layers": rows, "runs": runs, "dump": dump, "run_seconds": run_s})
    env.write_result({"images": images, "info": info, "aborted": aborted})
