"""cocotb test module: runs a job file of layers on the harness (one chunk on the memory model).

It is only a driver: it loads each layer's memory image, programs the cfg word, pulses start, waits for the
done pulse, and records the cycle counter and the output region. The scoreboard (values against the integer
reference, cycles against hw_model) lives in the Python process that wrote the job (sim/run.py), so this
module imports neither numpy nor torch.
"""
from __future__ import annotations

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge


def _read_word(handle):
    v = handle.value
    return v.to_unsigned() if v.is_resolvable else None


@cocotb.test()
async def run_job(dut):
    job = json.loads(open(os.environ["TRIPS_JOB"]).read())
    Clock(dut.clk, 10, unit="ns").start()
    dut.start.value = 0
    dut.cfg.value = 0
    dut.rst.value = 1
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    mem = dut.mem.mem
    results = []
    for layer in job["layers"]:
        for addr, beat in layer["image"]:
            mem[addr].value = int(beat, 16)
        dut.cfg.value = int(layer["cfg"], 16)
        await RisingEdge(dut.clk)
        dut.start.value = 1
        await RisingEdge(dut.clk)
        dut.start.value = 0
        limit = int(layer.get("cycle_limit", 50_000_000))
        waited = 0
        while not int(dut.finished.value):
            await ClockCycles(dut.clk, 256)
            waited += 256
            assert waited <= limit, f"layer {layer['name']}: no done after {waited} cycles"
        out = [_read_word(mem[a]) for a in range(layer["out_base"], layer["out_base"] + layer["out_beats"])]
        results.append({"name": layer["name"], "rtl_cycles": int(dut.cycles.value),
                        "out": [None if w is None else format(w, "x") for w in out]})
    with open(job["result"], "w") as f:
        json.dump({"layers": results}, f)
