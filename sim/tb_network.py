"""cocotb test module: runs a whole network on the accelerator top (sim/hdl/harness_top.v), image after image.

Only a driver: it loads the memory image (weights, records, then each input), dispatches the layers in order
(sel, cfg, start), waits for each layer's done, records its cycles and beats, and dumps the activation region
after each image. The scoreboard is in the Python process that wrote the job (sim/network.py).
"""
from __future__ import annotations

import json
import os
import time

import cocotb
from cocotb.triggers import RisingEdge

from .tb_chunk import DUMP_FILE, LOAD_FILE, _parse_dump, _pulse, start_clock_and_reset


@cocotb.test()
async def run_network(dut):
    with open(os.environ["TRIPS_JOB"]) as f:
        job = json.load(f)
    await start_clock_and_reset(dut, (dut.start, dut.sel, dut.cfg, dut.load, dut.dump))
    images = []
    for img_file in job["images"]:
        with open(LOAD_FILE, "w") as f:
            f.write(open(img_file).read())
        await _pulse(dut, dut.load)
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
        dut.dump_lo.value = job["dump_lo"]
        dut.dump_hi.value = job["dump_hi"]
        await _pulse(dut, dut.dump)
        with open(DUMP_FILE) as f:
            dump = _parse_dump(f.read())
        assert not int(dut.mem_oob.value), "memory access outside the modelled words"
        images.append({"layers": rows, "dump": dump, "run_seconds": run_s})
    with open(job["result"], "w") as f:
        json.dump({"images": images}, f)
