"""The accelerator's control registers and its memory conventions: the one description that rtl_gen.frames
builds, rtl_gen.regmap documents (Markdown, C header, Python module) and the host driver (driver/) uses.

The wrapper (rtl_gen/frames.py) has an AXI4-Lite slave for these registers, one AXI4 master per chunk for memory
and an interrupt line. Memory: the accelerator sees one window of beats (`bus_bits` wide); beat `a` lives at byte
address MEM_BASE + a * bus_bits / 8, whichever master reads it. A run executes N_FRAMES frames of the network
pipelined over the chunks: each chunk's sequencer reads its job table (hw_model.frame_program, hw_model.jobs)
through its own master from the directory at beat TABLE_ADDR, then runs its jobs.

The register layout follows the convention of Vitis HLS kernels (PYNQ's DefaultIP drives it as is): CTRL bit 0
starts, bit 1 reports done (cleared when CTRL is read), bit 2 idle; GIE/IER/ISR gate the interrupt.
"""
from __future__ import annotations

from dataclasses import dataclass

from .config import Accelerator, MemoryInterface
from .jobs import entry_beats
from .regs import DESC_WORDS

CTRL_ADDR_BITS = 8            # AXI4-Lite address width (byte addresses 0x00..0xFF)
AXI_ADDR_BITS = 64            # AXI4 master address width
AXI_ID_BITS = 1
FRAME_LOG = 16                # frames whose completion cycle the wrapper keeps (frame f in FRAME_CYCLE[f mod 16])


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
    ControlReg("MEM_BASE_LO", 0x10, "rw", "byte address of beat 0 of the memory window, bits 31:0 (on a 4 KB boundary)"),
    ControlReg("MEM_BASE_HI", 0x14, "rw", "byte address of beat 0 of the memory window, bits 63:32"),
    ControlReg("TABLE_ADDR", 0x18, "rw", "beat address (in the window) of the job tables' directory"),
    ControlReg("N_FRAMES", 0x1C, "rw", "frames to run"),
    ControlReg("PERIOD", 0x20, "rw", "the schedule's period in cycles: the step of the jobs' releases"),
    ControlReg("LAST_LAYER", 0x24, "rw", "the layer whose retired frames are the run's completed frames"),
    ControlReg("FRAMES_DONE", 0x28, "ro", "frames completed in the current (or last) run"),
    ControlReg("CYCLES", 0x2C, "ro", "cycles since the frames started (the tables loaded) of the current "
                                     "(or last) run, to its end"),
    ControlReg("LOAD_CYCLES", 0x30, "ro", "cycles the sequencers took to load their job tables"),
    ControlReg("CHUNK_SEL", 0x34, "rw", "the chunk whose counters CHUNK_* read"),
    ControlReg("CHUNK_BUSY", 0x38, "ro", "cycles the chunk's jobs ran (dispatch to retire), stalls excluded"),
    ControlReg("CHUNK_STALL", 0x3C, "ro", "cycles the chunk was held waiting on its AXI memory"),
    ControlReg("CHUNK_WAIT", 0x40, "ro", "cycles the chunk's next job was released but waited for its tokens"),
    ControlReg("CHUNK_READS", 0x44, "ro", "beats the chunk read (its jobs)"),
    ControlReg("CHUNK_WRITES", 0x48, "ro", "beats the chunk wrote"),
    ControlReg("FRAME_SEL", 0x4C, "rw", "the frame whose completion cycle FRAME_CYCLE reads (mod FRAME_LOG)"),
    ControlReg("FRAME_CYCLE", 0x50, "ro", "the cycle (since the frames started) in which the frame's logits "
                                          "were retired"),
    ControlReg("INFO", 0x54, "ro", "bits 7:0 chunks, 15:8 bytes per beat, 23:16 read latency the chunks "
                                   "assume, 31:24 beats per job-table entry"),
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
    """Beats a layer's descriptor (hw_model.regs.descriptor) occupies: a job-table entry's descriptor part, which the
    sequencer writes into the chunk beat by beat."""
    return -(-DESC_WORDS * 32 // mem.bus_bits)


def descriptor_beats(words: list[int], mem: MemoryInterface, beats: int | None = None) -> list[int]:
    """32-bit words (a descriptor's, by default desc_beats of them) packed into beats, least significant first."""
    per = mem.bus_bits // 32
    out = []
    for b in range(desc_beats(mem) if beats is None else beats):
        v = 0
        for k, w in enumerate(words[b * per:(b + 1) * per]):
            v |= (w & 0xFFFFFFFF) << (32 * k)
        out.append(v)
    return out


def info_word(acc: Accelerator) -> int:
    """What INFO reads (CONTROL)."""
    m = acc.memory
    return len(acc.chunks) | (m.bus_bits // 8) << 8 | m.read_latency << 16 | entry_beats(m) << 24
