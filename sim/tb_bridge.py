"""cocotb test module: one chunk bridge (rtl_gen/bridge.py) on its own, driven as a chunk drives it. Each enabled
cycle e (one the bridge does not hold) the port shows the script's read e and write e (null: none), and in a held
cycle the ones it will issue next; a read issued in enabled cycle e has its data on rd_data in enabled cycle
e + read_latency, where they are taken. The memory is cocotbext-axi's AXI RAM or sim/dram.py's DRAM. Every AR, AW
W and B handshake is recorded. Only a driver: sim/bursts.py scores the result.

Job (JSON): bus_bits, read_latency, base (byte address of beat 0), size (bytes of memory), init ([beat, hex]),
reads ([beat or null] per enabled cycle), writes ([[beat, hex] or null] per enabled cycle), dram (optional,
sim/dram.py's fields), backpressure, seed, dump_lo, dump_hi (beats read back after the writes), cycle_limit,
result.
"""
from __future__ import annotations

import cocotb
from cocotb.triggers import FallingEdge, RisingEdge

from .dram import Bandwidth, Cycles, Dram, dram_ram
from .tb_env import TbEnv


def _handshakes(dut, log: dict):
    """Every AR, AW, W and B handshake, sampled at the clock edge that completes it (as cocotbext-axi does: the
    script's inputs change at the falling edge)."""
    async def watch():
        while True:
            await RisingEdge(dut.clk)
            if int(dut.m_axi_arvalid.value) and int(dut.m_axi_arready.value):
                log["ar"].append([int(dut.m_axi_araddr.value), int(dut.m_axi_arlen.value)])
            if int(dut.m_axi_awvalid.value) and int(dut.m_axi_awready.value):
                log["aw"].append([int(dut.m_axi_awaddr.value), int(dut.m_axi_awlen.value)])
            if int(dut.m_axi_wvalid.value) and int(dut.m_axi_wready.value):
                log["wlast"].append(int(dut.m_axi_wlast.value))
            if int(dut.m_axi_bvalid.value) and int(dut.m_axi_bready.value):
                log["bresp"].append(int(dut.m_axi_bresp.value))
    cocotb.start_soon(watch())


@cocotb.test()
async def run_bridge(dut):
    env = TbEnv(dut)
    job = env.job
    bb, base, L = job["bus_bits"] // 8, job["base"], job["read_latency"]
    mem = bytearray(job["size"])
    for a, w in job["init"]:
        mem[base + a * bb:base + (a + 1) * bb] = int(w, 16).to_bytes(bb, "little")
    dram = Dram.from_job(job.get("dram"))
    if dram is None:
        ram = env.axi_ram(job["size"], mem=mem, backpressure=job["backpressure"], seed=job["seed"])
    else:
        cycles = Cycles(dut.clk)
        ram = dram_ram(dut, "m_axi", dut.clk, dut.rst, mem, dram,
                       Bandwidth(dram.rate, dram.burst) if dram.rate else None, cycles)
    await env.start((dut.rd_en, dut.wr_en, dut.running, dut.clear, dut.loading, dut.ld_arvalid), settle=2)
    dut.base.value = base
    log = {"ar": [], "aw": [], "wlast": [], "bresp": []}
    _handshakes(dut, log)
    reads, writes = job["reads"], job["writes"]
    n = max(len(reads), len(writes))
    due, got = {}, []
    e = cycles_run = held = 0
    dut.running.value = 1
    while e < n + L + 1 and cycles_run < job["cycle_limit"]:
        await FallingEdge(dut.clk)
        cycles_run += 1
        r = reads[e] if e < len(reads) else None
        w = writes[e] if e < len(writes) else None
        dut.rd_en.value, dut.rd_addr.value = int(r is not None), r or 0
        dut.wr_en.value = int(w is not None)
        if w is not None:
            dut.wr_addr.value, dut.wr_data.value = w[0], int(w[1], 16)
        if int(dut.stall.value):
            held += 1
            continue
        if e in due:
            got.append([due.pop(e), format(int(dut.rd_data.value), "x")])
        if r is not None:
            due[e + L] = e
        e += 1
    dut.rd_en.value = dut.wr_en.value = dut.running.value = 0
    waited = 0
    while not int(dut.writes_idle.value) and waited < job["cycle_limit"]:
        await RisingEdge(dut.clk)
        waited += 1
    await RisingEdge(dut.clk)
    lo, hi = job["dump_lo"], job["dump_hi"]
    dump = [format(int.from_bytes(mem[base + a * bb:base + (a + 1) * bb], "little"), "x") for a in range(lo, hi)]
    env.write_result({"reads": got, "cycles": cycles_run, "held": held, "enabled": e, **log, "dump": dump,
                      "read_beats": int(dut.read_beats.value), "write_beats": int(dut.write_beats.value),
                      "timed_out": cycles_run >= job["cycle_limit"],
                      "read_transactions": getattr(ram.read_if, "transactions", None)})
