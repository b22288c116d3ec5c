"""Host driver for the AXI accelerator (rtl_gen/axi.py), in the style of PYNQ: an MMIO object for the control
registers and a physically contiguous buffer for the memory window.

    from pynq import MMIO, allocate                       # on a board
    from driver import TripsDriver, load_program
    prog = load_program("program.json")                   # written by `make fpga` (hw_model.program)
    buf = allocate(shape=(prog["window_beats"],), dtype=np.uint64)
    drv = TripsDriver(MMIO(base_addr, 0x100), buf, prog)
    drv.load()                                            # weights, requantization records, descriptors
    logits = drv.infer(image)                             # image [C, H, W] unsigned at the input bits

`mmio` needs read(offset) -> int and write(offset, value) (pynq.MMIO has them); `buf` is a numpy array of
uint64 beats (64-bit buses; the window's beat a is buf[a]) with `physical_address` (pynq's `allocate` gives
that) and, where the platform caches it, flush() / invalidate(). A backend may offer wait_interrupt() (the
simulation does); otherwise the driver polls CTRL.DONE. The registers are hw_model.control's, the descriptor
layout hw_model.regs'; nothing here defines its own.

The simulation backend (sim/tb_driver.py) gives the same two objects over cocotbext-axi's AXI4-Lite master and
AXI RAM, so this exact code runs a network end to end against the cocotb simulation. It needs numpy and hw_model
only (no torch, Amaranth or cocotb): `make fpga` ships both packages in the bundle, and `pip install .` (no
extras) installs just these on a board.
"""
from __future__ import annotations

import time

import numpy as np

from hw_model.control import CTRL_DONE, CTRL_IDLE, CTRL_START, GIE_ENABLE, IRQ_DONE, reg
from hw_model.layout import unpack_activations
from hw_model.program import input_words, output_beats


class TripsDriver:
    def __init__(self, mmio, buf, program: dict):
        if program["bus_bits"] != 64:
            raise ValueError(f"bus_bits {program['bus_bits']}: this driver maps beats onto uint64 words (64 only)")
        self.mmio, self.buf, self.prog = mmio, buf, program
        if len(buf) < program["window_beats"]:
            raise ValueError(f"buffer of {len(buf)} beats; the program needs {program['window_beats']}")

    # ------------------------------------------------------------------------------------------ registers
    def read(self, name: str) -> int:
        return int(self.mmio.read(reg(name).offset))

    def write(self, name: str, value: int) -> None:
        self.mmio.write(reg(name).offset, int(value) & 0xFFFFFFFF)

    def counters(self) -> dict:
        return {k: self.read(k) for k in ("LAYER", "CYCLES", "BUSY_CYCLES", "STALL_CYCLES", "READ_BEATS",
                                          "WRITE_BEATS")}

    # ------------------------------------------------------------------------------------------ memory
    def _flush(self):
        if hasattr(self.buf, "flush"):
            self.buf.flush()

    def _invalidate(self):
        if hasattr(self.buf, "invalidate"):
            self.buf.invalidate()

    def _put(self, words: dict[int, int]) -> None:
        for a, w in words.items():
            self.buf[a] = np.uint64(w)

    def load(self) -> None:
        """Weights, requantization records and the descriptor table into the buffer; the window and the
        interrupt enables into the registers."""
        self._put(self.prog["static"])
        self._flush()
        addr = int(getattr(self.buf, "physical_address", getattr(self.buf, "device_address", 0)))
        self.write("MEM_BASE_LO", addr & 0xFFFFFFFF)
        self.write("MEM_BASE_HI", addr >> 32)
        self.write("GIE", GIE_ENABLE)
        self.write("IER", IRQ_DONE)

    def run(self, timeout_s: float = 10.0) -> dict:
        """Run every layer of the program; returns the counters."""
        if not self.read("CTRL") & CTRL_IDLE:
            raise RuntimeError("the accelerator is not idle")
        self.write("DESC_ADDR", self.prog["desc_addr"])
        self.write("N_LAYERS", self.prog["n_layers"])
        self.write("CTRL", CTRL_START)
        if hasattr(self.mmio, "wait_interrupt"):
            self.mmio.wait_interrupt()
            ctrl = self.read("CTRL")
        else:
            t0 = time.monotonic()
            while not (ctrl := self.read("CTRL")) & CTRL_DONE:
                if time.monotonic() - t0 > timeout_s:
                    raise TimeoutError(f"no DONE after {timeout_s} s (layer {self.read('LAYER')})")
        if not ctrl & CTRL_DONE:
            raise RuntimeError("interrupt without DONE")
        self.write("ISR", IRQ_DONE)
        return self.counters()

    def infer(self, image: np.ndarray) -> np.ndarray:
        """One image [C, H, W] (unsigned integers at the first layer's bits) through the network; returns the
        classifier's int32 logits."""
        out, bus = self.prog["output"], self.prog["bus_bits"]
        self._put(input_words(self.prog, image))
        self._flush()
        self.last_counters = self.run()
        self._invalidate()
        words = [int(self.buf[out["base"] + k]) for k in range(output_beats(self.prog))]
        return unpack_activations(words, out["channels"], tuple(out["size"]), out["bits"], bus).reshape(-1)
