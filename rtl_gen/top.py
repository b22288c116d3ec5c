"""AcceleratorTop: every chunk of an accelerator, each with its own memory port and its own cfg register.

A layer is dispatched with `start` high for one cycle, `sel` naming the chunk (its index in the config) and
`cfg` its packed registers (hw_model.regs): the top starts that chunk the next cycle
(hw_model.timing.TOP_DISPATCH). A chunk's cfg register follows the cfg input while the chunk is idle and holds
from its start to its end, so the dispatch cycle's cfg is the one it runs (the register's enable is the chunk's
own idle state, not the dispatch decode from the sequencer).

With `desc_beats` (the pipelined wrapper's form, rtl_gen/frames.py) every chunk has its own `start`, descriptor
inputs and `patch` input, and no parallel cfg port: a sequencer of its own writes the layer's descriptor into
the idle chunk beat by beat, as it is fetched (`desc_we`, `desc_beat`, `desc_data`: a memory-bus-wide beat of the
descriptor of hw_model.regs), and the chunk's cfg is the descriptor's cfg field (from bit DESC_CFG_BIT), with the
address fields of hw_model.jobs PATCHED (32 bits each, in that order) from `patch`, the sequencer's
frame-dependent copy addresses. On a die, a 972-bit cfg bus to every chunk is the design's largest bundle of long
wires; the beats are as wide as the memory bus. Each chunk registers the beat first (a stage of its own), so a
beat written two cycles before `start` is in the chunk's cfg when it starts.

With `hold`, each chunk has hold inputs (`hold[lo:hi]` with (lo, hi) = `hold_bits[i]`): while they are high the
chunk, its dispatch register and its descriptor registers keep their state (a clock enable). Bit lo holds the
dispatch and descriptor registers, the others the chunk's parts (ConvChunk.PARTS, VectorChunk.PARTS). The
wrapper drives each bit from its own copy of the chunk's stall register: one register driving the enables of
every flip-flop of a chunk is a net across the chunk.

Chunks run independently, so frames can be pipelined across them (each chunk works on a different frame); `busy`
and `done` are per chunk. Memory ports are flattened: chunk i's read address is mem_rd_addr[i*ADDR +: ADDR], and
so on.
"""
from __future__ import annotations

from amaranth import Cat, Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw_model.config import Accelerator
from hw_model.jobs import PATCHED
from hw_model.regs import CFG_BITS, DESC_CFG_BIT, field_offsets

from .chunk import ConvChunk
from .port import memory_port
from .vector import VectorChunk


class AcceleratorTop(wiring.Component):
    def __init__(self, acc: Accelerator, desc_beats: int = 0, hold: bool = False):
        self.acc, self.desc_beats, self.has_hold = acc, desc_beats, hold
        self.per_chunk = bool(desc_beats)
        n, mem = len(acc.chunks), acc.memory
        self.sel_bits = max(1, (n - 1).bit_length())
        self.units = [VectorChunk(ch, mem, hold=hold) if ch.vector else ConvChunk(ch, mem, hold=hold)
                      for ch in acc.chunks]
        self.hold_bits, lo = [], 0          # per chunk: the dispatch's bit, then a bit per part
        for u in self.units:
            bits = 1 + len(u.PARTS)
            self.hold_bits.append((lo, lo + bits))
            lo += bits
        self.beat_bits = max(1, (desc_beats - 1).bit_length())
        if desc_beats:
            assert desc_beats * mem.bus_bits >= DESC_CFG_BIT + CFG_BITS
            cfg_in = {"desc_we": In(n), "desc_beat": In(n * self.beat_bits), "desc_data": In(n * mem.bus_bits),
                      "patch": In(n * 32 * len(PATCHED))}
            ctl = {"start": In(n)}
        else:
            cfg_in = {"cfg": In(CFG_BITS)}
            ctl = {"start": In(1), "sel": In(self.sel_bits)}
        super().__init__({
            **ctl, **cfg_in, **({"hold": In(lo)} if hold else {}),
            "busy": Out(n), "done": Out(n), **memory_port(mem, n),
        })

    def elaborate(self, platform):
        m = Module()
        A, B = self.acc.memory.addr_bits, self.acc.memory.bus_bits
        for i, (ch, unit) in enumerate(zip(self.acc.chunks, self.units)):
            m.submodules[ch.name] = unit
            if self.has_hold:
                lo, hi = self.hold_bits[i]
                m.d.comb += unit.hold.eq(self.hold[lo + 1:hi])
                run = ~self.hold[lo]
            else:
                run = Const(1, 1)
            go = Signal(name=f"{ch.name}_go")
            hit = self.start[i] if self.per_chunk else self.start & (self.sel == i)
            if self.per_chunk:
                cfg = self._chunk_cfg(m, i, ch, run)
            else:
                cfg = Signal(CFG_BITS, name=f"{ch.name}_cfg", reset_less=True)   # data: follows cfg while idle
                with m.If(~self.busy[i]):
                    m.d.sync += cfg.eq(self.cfg)
            with m.If(run):
                m.d.sync += go.eq(hit)
            m.d.comb += [
                unit.start.eq(go), unit.cfg.eq(cfg),
                self.busy[i].eq(unit.busy | go), self.done[i].eq(unit.done),
                self.mem_rd_en[i].eq(unit.mem_rd_en), self.mem_rd_addr[i * A:(i + 1) * A].eq(unit.mem_rd_addr),
                unit.mem_rd_data.eq(self.mem_rd_data[i * B:(i + 1) * B]),
                self.mem_wr_en[i].eq(unit.mem_wr_en), self.mem_wr_addr[i * A:(i + 1) * A].eq(unit.mem_wr_addr),
                self.mem_wr_data[i * B:(i + 1) * B].eq(unit.mem_wr_data),
            ]
        return m

    def _chunk_cfg(self, m, i: int, ch, run):
        """Chunk i's cfg in the per-chunk form: its own descriptor beats (first into a register of the chunk's own,
        a stage that splits the wire), the PATCHED fields from `patch`."""
        B, nb, bb = self.acc.memory.bus_bits, self.desc_beats, self.beat_bits
        we, bt = Signal(name=f"{ch.name}_dwe"), Signal(bb, name=f"{ch.name}_dbeat")
        dt = Signal(B, name=f"{ch.name}_ddata", reset_less=True)
        with m.If(run):
            m.d.sync += [we.eq(self.desc_we[i]), bt.eq(self.desc_beat[i * bb:(i + 1) * bb]),
                         dt.eq(self.desc_data[i * B:(i + 1) * B])]
        words = [Signal(B, name=f"{ch.name}_desc{k}", reset_less=True) for k in range(nb)]
        for k, w in enumerate(words):
            with m.If(run & ~self.busy[i] & we & (bt == k)):
                m.d.sync += w.eq(dt)
        raw = Cat(*words)[DESC_CFG_BIT:DESC_CFG_BIT + CFG_BITS]
        offs = field_offsets()
        spans = sorted((offs[f][0], offs[f][1], j) for j, (f, _) in enumerate(PATCHED))
        pw = 32 * len(PATCHED)
        parts, at = [], 0
        for off, width, j in spans:
            parts += [raw[at:off], self.patch[i * pw + 32 * j:i * pw + 32 * j + width]]
            at = off + width
        parts.append(raw[at:])
        return Cat(*parts)
