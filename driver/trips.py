"""Host driver for the accelerator (rtl_gen/frames.py), in the style of PYNQ: an MMIO object for the control
registers and a physically contiguous buffer for the memory window. One run is a batch of frames pipelined over
the chunks; the host only writes the inputs and reads the logits.

    from pynq import MMIO, allocate                       # on a board
    from driver import TripsDriver, load_program
    prog = load_program("program.json")                   # written by `make fpga` (hw_model.frame_program)
    buf = allocate(shape=(prog["window_beats"],), dtype=np.uint64)
    drv = TripsDriver(MMIO(base_addr, 0x100), buf, prog)
    drv.load()                                            # weights, records, job tables; the run's registers
    logits = drv.run(images)                              # images [N, C, H, W], N <= prog["frames"]
    drv.last_counters                                     # cycles, each frame's completion, per chunk counters

`mmio` needs read(offset) -> int and write(offset, value) (pynq.MMIO has them); `buf` is a numpy array of
uint64 beats (64-bit buses; the window's beat a is buf[a]) with `physical_address` (pynq's `allocate` gives
that) and, where the platform caches it, flush() / invalidate(). A backend may offer wait_interrupt() (the
simulation does); otherwise the driver polls CTRL.DONE. The registers are hw_model.control's, the job tables
hw_model.frame_program's; nothing here defines its own.

The simulation backend (sim/tb_driver.py) gives the same two objects over cocotbext-axi's AXI4-Lite master and
AXI RAMs, so this exact code runs the frames against the cocotb simulation. It needs numpy and hw_model only (no
torch, Amaranth or cocotb): `make fpga` ships both packages in the bundle, and `pip install .` (no extras)
installs just these on a board.
"""
from __future__ import annotations

import time

import numpy as np

from hw_model.control import CTRL_DONE, CTRL_IDLE, CTRL_START, FRAME_LOG, GIE_ENABLE, IRQ_DONE, reg
from hw_model.frame_program import frame_input_words
from hw_model.layout import unpack_activations

CHUNK_COUNTERS = ("CHUNK_BUSY", "CHUNK_STALL", "CHUNK_WAIT", "CHUNK_READS", "CHUNK_WRITES")


class TripsDriver:
    def __init__(self, mmio, buf, program: dict):
        if program["bus_bits"] != 64:
            raise ValueError(f"bus_bits {program['bus_bits']}: this driver maps beats onto uint64 words (64 only)")
        self.mmio, self.buf, self.prog = mmio, buf, program
        self.frames = 0
        if len(buf) < program["window_beats"]:
            raise ValueError(f"buffer of {len(buf)} beats; the program needs {program['window_beats']}")

    def read(self, name: str) -> int:
        return int(self.mmio.read(reg(name).offset))

    def write(self, name: str, value: int) -> None:
        self.mmio.write(reg(name).offset, int(value) & 0xFFFFFFFF)

    def counters(self) -> dict:
        """The run's counters: its cycles, each frame's completion cycle (the first FRAME_LOG frames) and every
        chunk's busy, stall and wait cycles and beats."""
        out = {k: self.read(k) for k in ("CYCLES", "LOAD_CYCLES", "FRAMES_DONE")}
        completions = []
        for f in range(min(self.frames, FRAME_LOG)):
            self.write("FRAME_SEL", f)
            completions.append(self.read("FRAME_CYCLE"))
        chunks = []
        for c in range(self.prog["chunks"]):
            self.write("CHUNK_SEL", c)
            chunks.append({k: self.read(k) for k in CHUNK_COUNTERS})
        return {**out, "completions": completions, "chunks": chunks}

    def _put(self, words: dict[int, int]) -> None:
        for a, w in words.items():
            self.buf[a] = np.uint64(w)
        if hasattr(self.buf, "flush"):
            self.buf.flush()

    def load(self) -> None:
        """Weights, records and the job tables into the buffer; the window, the tables, the schedule's period and
        the interrupt enables into the registers."""
        p = self.prog
        self._put(p["static"])
        addr = int(getattr(self.buf, "physical_address", getattr(self.buf, "device_address", 0)))
        if addr % 4096:
            raise ValueError(f"buffer at {addr:#x}: the memory window must start on a 4 KB boundary (AXI bursts)")
        for name, v in (("MEM_BASE_LO", addr & 0xFFFFFFFF), ("MEM_BASE_HI", addr >> 32), ("GIE", GIE_ENABLE),
                        ("IER", IRQ_DONE), ("TABLE_ADDR", p["table_addr"]), ("PERIOD", p["period"]),
                        ("LAST_LAYER", p["last_layer"])):
            self.write(name, v)

    def start(self, images) -> None:
        """Write the frames' inputs and start the run; `wait` finishes it."""
        n = len(images)
        if not 1 <= n <= self.prog["frames"]:
            raise ValueError(f"{n} images; this program runs 1 to {self.prog['frames']} frames at once")
        if not self.read("CTRL") & CTRL_IDLE:
            raise RuntimeError("the accelerator is not idle")
        words = {}
        for f, img in enumerate(images):
            words.update(frame_input_words(self.prog, img, f))
        self._put(words)
        self.frames = n
        self.write("N_FRAMES", n)
        self.write("CTRL", CTRL_START)

    def wait(self, timeout_s: float = 10.0) -> dict:
        """Wait for the run's end (the interrupt, else polling DONE); returns the counters."""
        if hasattr(self.mmio, "wait_interrupt"):
            self.mmio.wait_interrupt()
            ctrl = self.read("CTRL")
        else:
            t0 = time.monotonic()
            while not (ctrl := self.read("CTRL")) & CTRL_DONE and time.monotonic() - t0 < timeout_s:
                pass
        if not ctrl & CTRL_DONE:
            raise TimeoutError(f"the run did not end ({self.read('FRAMES_DONE')} of {self.frames} frames done)")
        self.write("ISR", IRQ_DONE)
        self.last_counters = self.counters()
        return self.last_counters

    def logits(self, frame: int) -> np.ndarray:
        """Frame `frame`'s int32 logits, as the last run left them."""
        if hasattr(self.buf, "invalidate"):
            self.buf.invalidate()
        out, bus = self.prog["output"], self.prog["bus_bits"]
        base = out["base"] + frame * out["stride"]           # a copy's beats are the stride between copies
        words = [int(self.buf[base + k]) for k in range(out["stride"])]
        return unpack_activations(words, out["channels"], tuple(out["size"]), out["bits"], bus).reshape(-1)

    def run(self, images) -> np.ndarray:
        """Frames [N, C, H, W] (unsigned integers at the first layer's bits) through the network, pipelined;
        returns their logits [N, classes]."""
        self.start(images)
        self.wait()
        return np.stack([self.logits(f) for f in range(len(images))])

    def infer(self, image: np.ndarray) -> np.ndarray:
        """One image [C, H, W]: a run of one frame."""
        return self.run([image])[0]
