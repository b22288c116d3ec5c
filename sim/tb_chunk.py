"""cocotb test module: runs a job file of layers on the harness (one chunk on the memory model).

It is only a driver: it loads each layer's memory image, programs the cfg word, pulses start, waits for the
done pulse, and records the cycle counter and the output region. The scoreboard (values against the integer
reference, cycles against hw_model) lives in the Python process that wrote the job (sim/run.py).
"""
from __future__ import annotations

import time

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge

from .tb_env import TbEnv


@cocotb.test()
async def run_job(dut):
    env = TbEnv(dut)
    await env.start((dut.start, dut.cfg, dut.load, dut.dump))
    results = []
    for layer in env.job["layers"]:
        await env.load_memory("".join(f"@{addr:x} {beat}\n" for addr, beat in layer["image"]))
        dut.cfg.value = int(layer["cfg"], 16)
        await RisingEdge(dut.clk)
        dut.start.value = 1
        await RisingEdge(dut.clk)
        dut.start.value = 0
        await RisingEdge(dut.clk)  # `finished` was cleared at the start edge; values read there are pre-edge
        t0 = time.perf_counter()
        limit = int(layer.get("cycle_limit", 50_000_000))
        waited = 0
        while not int(dut.finished.value):
            await ClockCycles(dut.clk, 256)
            waited += 256
            assert waited <= limit, f"layer {layer['name']}: no done after {waited} cycles"
        run_s = time.perf_counter() - t0
        out = await env.dump_memory(layer["out_base"], layer["out_base"] + layer["out_beats"] - 1)
        assert not int(dut.mem_oob.value), f"layer {layer['name']}: memory access outside the modelled words"
        results.append({"name": layer["name"], "rtl_cycles": int(dut.cycles.value),
                        "rtl_reads": int(dut.reads.value), "rtl_writes": int(dut.writes.value), "run_seconds": run_s,
                        "out": out})
    env.write_result({"layers": results})
