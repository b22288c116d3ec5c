"""The AXI wrapper's control registers and its memory conventions: the one description that rtl_gen.axi
builds, rtl_gen.regmap documents (Markdown, C header, Python module) and the host driver (driver/) uses.

The wrapper (rtl_gen/axi.py) has an AXI4-Lite slave for these registers, an AXI4 master for memory and an
interrupt line. Memory: the accelerator sees one window of beats (`bus_bits` wide); beat `a` lives at byte
address MEM_BASE + a * bus_bits / 8. A run executes N_LAYERS layer descriptors read from the window at beat
DESC_ADDR, one after another; descriptor i starts at beat DESC_ADDR + i * desc_beats(memory), its 32-bit words
(hw_model.regs.descriptor) packed least significant first into the beats.

The register layout follows the convention of Vitis HLS kernels (PYNQ's DefaultIP drives it as is): CTRL bit 0
starts, bit 1 reports done (cleared when CTRL is read), bit 2 idle; GIE/IER/ISR gate the interrupt.
"""
from __future__ import annotations

from dataclasses import dataclass

from .config import Accelerator, MemoryInterface
from .regs import DESC_WORDS

CTRL_ADDR_BITS = 8            # AXI4-Lite address width (byte addresses 0x00..0xFF)
AXI_ADDR_BITS = 64            # AXI4 master address width
AXI_ID_BITS = 1


@dataclass(frozen=True)
class ControlReg:
    name: str
    offset: int
    access: str               # rw, ro, rc (read clears bits), w1c (write 1 to clear)
    doc: str


CONTROL: tuple[ControlReg, ...] = (
    ControlReg("CTRL", 0x00, "rw", "bit 0 START: write 1 to start a run (reads 1 until the run ends); "
                                   "bit 1 DONE: set when a run ends, cleared when CTRL is read; bit 2 IDLE"),
    ControlReg("GIE", 0x04, "rw", "bit 0: global interrupt enable"),
    ControlReg("IER", 0x08, "rw", "bit 0: interrupt when a run ends"),
    ControlReg("ISR", 0x0C, "w1c", "bit 0: a run ended (write 1 to clear); irq = GIE & IER & ISR"),
    ControlReg("MEM_BASE_LO", 0x10, "rw", "byte address of beat 0 of the memory window, bits 31:0"),
    ControlReg("MEM_BASE_HI", 0x14, "rw", "byte address of beat 0 of the memory window, bits 63:32"),
    ControlReg("DESC_ADDR", 0x18, "rw", "beat address (in the window) of the first layer descriptor"),
    ControlReg("N_LAYERS", 0x1C, "rw", "layer descriptors to run"),
    ControlReg("LAYER", 0x20, "ro", "layers finished in the current (or last) run"),
    ControlReg("CYCLES", 0x24, "ro", "clock cycles of the current (or last) run, START to DONE"),
    ControlReg("BUSY_CYCLES", 0x28, "ro", "cycles the layers' chunks ran, dispatch included, stalls excluded: "
                                          "the cycle model's count"),
    ControlReg("STALL_CYCLES", 0x2C, "ro", "cycles a running chunk was held waiting on the AXI memory"),
    ControlReg("READ_BEATS", 0x30, "ro", "beats the layers' chunks read in the current (or last) run"),
    ControlReg("WRITE_BEATS", 0x34, "ro", "beats the layers' chunks wrote in the current (or last) run"),
    ControlReg("INFO", 0x38, "ro", "bits 7:0 chunks, 15:8 bytes per beat, 23:16 read latency the chunks "
                                   "assume, 31:24 beats per descriptor"),
)

CTRL_START, CTRL_DONE, CTRL_IDLE = 1, 2, 4     # CTRL bits
GIE_ENABLE = 1                                   # GIE bit
IRQ_DONE = 1                                     # IER and ISR bit: a run ended


def reg(name: str) -> ControlReg:
    for r in CONTROL:
        if r.name == name:
            return r
    raise KeyError(name)


def desc_beats(mem: MemoryInterface) -> int:
    """Beats a descriptor occupies in the table (its stride)."""
    return -(-DESC_WORDS * 32 // mem.bus_bits)


def descriptor_beats(words: list[int], mem: MemoryInterface) -> list[int]:
    """A descriptor's 32-bit words packed into beats, least significant word first."""
    per = mem.bus_bits // 32
    out = []
    for b in range(desc_beats(mem)):
        v = 0
        for k, w in enumerate(words[b * per:(b + 1) * per]):
            v |= (w & 0xFFFFFFFF) << (32 * k)
        out.append(v)
    return out


def info_word(acc: Accelerator) -> int:
    m = acc.memory
    return len(acc.chunks) | (m.bus_bits // 8) << 8 | m.read_latency << 16 | desc_beats(m) << 24
