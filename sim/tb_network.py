"""cocotb test module: runs a whole network on the accelerator top (sim/hdl/harness_top.v), image after image.

Only a driver: it loads the memory image (weights, records, then each input), dispatches the layers in order
(sel, cfg, start), waits for each layer's done, records its cycles and beats, and dumps the activation region
after each image. The scoreboard is in the Python process that wrote the job (sim/network.py).
"""
from __future__ import annotations

import time

import cocotb
from cocotb.triggers import RisingEdge

from .tb_env import TbEnv


@cocotb.test()
async def run_network(dut):
    env = TbEnv(dut)
    job = env.job
    await env.start((dut.start, dut.sel, dut.cfg, dut.load, dut.dump))
    images = []
    for img_file in job["images"]:
        await env.load_memory(open(img_file).read())
        t0 = time.perf_counter()
        rows = []
        for layer in job["layers"]:
            dut.sel.value = layer["sel"]
            dut.cfg.value = int(layer["cfg"], 16)
            dut.start.value = 1
            await RisingEdge(dut.clk)
            dut.start.value = 0
            await RisingEdge(dut.clk)
            if not int(dut.finished.value):
                await RisingEdge(dut.finished)
            await RisingEdge(dut.clk)
            rows.append({"name": layer["name"], "cycles": int(dut.cycles.value), "reads": int(dut.reads.value),
                         "writes": int(dut.writes.value)})
        run_s = time.perf_counter() - t0
        dump = await env.dump_memory(job["dump_lo"], job["dump_hi"])
        assert not int(dut.mem_oob.value), "memory access outside the modelled words"
        images.append({"layers": rows, "dump": dump, "run_seconds": run_s})
    env.write_result({"images": images})
