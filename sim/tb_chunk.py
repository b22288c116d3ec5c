"""cocotb test module: runs a job file of layers on the harness (one chunk on the memory model).

It is only a driver: it loads each layer's memory image, programs the cfg word, pulses start, waits for the
done pulse, and records the cycle counter and the output region. The scoreboard (values against the integer
reference, cycles against hw_model) lives in the Python process that wrote the job (sim/run.py), so this
module imports neither numpy nor torch.
"""
from __future__ import annotations

import json
import os
import time

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge


LOAD_FILE = "trips_mem_load.hex"  # names fixed in sim/hdl/mem_model.v; the simulator runs in the job's folder
DUMP_FILE = "trips_mem_dump.hex"


async def _pulse(dut, sig):
    sig.value = 1
    await RisingEdge(dut.clk)
    sig.value = 0
    await RisingEdge(dut.clk)


async def start_clock_and_reset(dut, inputs) -> None:
    """A 100 MHz clock, the given inputs low, three cycles of reset."""
    Clock(dut.clk, 10, unit="ns").start()
    for sig in inputs:
        sig.value = 0
    dut.rst.value = 1
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0


def _parse_dump(text: str) -> list:
    words = []
    for line in text.split("\n"):
        line = line.split("//")[0].strip()
        if not line or line.startswith("@"):
            continue
        words.append(None if any(c in line.lower() for c in "xz") else format(int(line, 16), "x"))
    return words


@cocotb.test()
async def run_job(dut):
    with open(os.environ["TRIPS_JOB"]) as f:
        job = json.load(f)
    await start_clock_and_reset(dut, (dut.start, dut.cfg, dut.load, dut.dump))
    results = []
    for layer in job["layers"]:
        with open(LOAD_FILE, "w") as f:
            f.write("".join(f"@{addr:x} {beat}\n" for addr, beat in layer["image"]))
        await _pulse(dut, dut.load)
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
        dut.dump_lo.value = layer["out_base"]
        dut.dump_hi.value = layer["out_base"] + layer["out_beats"] - 1
        await _pulse(dut, dut.dump)
        with open(DUMP_FILE) as f:
            out = _parse_dump(f.read())
        assert not int(dut.mem_oob.value), f"layer {layer['name']}: memory access outside the modelled words"
        results.append({"name": layer["name"], "rtl_cycles": int(dut.cycles.value),
                        "rtl_reads": int(dut.reads.value), "rtl_writes": int(dut.writes.value), "run_seconds": run_s,
                        "out": out})
    with open(job["result"], "w") as f:
        json.dump({"layers": results}, f)
