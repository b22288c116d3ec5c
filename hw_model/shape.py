"""The shape of a generated conv chunk: its array, lanes, buffers and the widths of their addresses, derived once
from the Chunk and the MemoryInterface (rtl_gen builds from these; cost.py counts the same buffers)."""
from __future__ import annotations

from dataclasses import dataclass

from .config import Chunk, MemoryInterface
from .derive import cdiv


def word_bits(depth: int) -> int:
    """Bits of a word address into a double-banked buffer of `depth` words per bank."""
    return max(1, (2 * depth - 1).bit_length())


@dataclass(frozen=True)
class ConvShape:
    tm: int
    tn: int
    bits: int                 # q, the chunk's bit-width
    bus: int
    latency: int              # the memory's read latency
    addr_bits: int
    depthwise: bool
    pixel: bool
    v_in: int                 # values of `bits` per beat
    records_per_beat: int
    p_group_beats: int        # beats of one tm group's requantization records
    lanes: int                # input-buffer lanes (pixel: column banks of whole beats)
    sub_in: int               # sub-beats a beat takes into the input lanes (pixel: 1)
    tp: int                   # output columns per cycle (pixel: tn; else 1)
    b_w: int                  # weight banks (beats of one weight group)
    d_in: int                 # words per bank: input, weight, accumulator, record buffers
    d_w: int
    d_acc: int
    d_p: int
    nbk: int                  # pixel: column banks, their log2, bank words per row, rows
    log_nbk: int
    colsb: int
    rows_max: int
    out_bits: tuple[int, ...]

    @property
    def out_lanes(self) -> int:
        """Accumulator lanes: one per output channel (and column, pixel)."""
        return self.tm * self.tp

    @property
    def in_word_bits(self) -> int:
        return word_bits(self.d_in)

    @property
    def w_word_bits(self) -> int:
        return word_bits(self.d_w)

    @property
    def acc_word_bits(self) -> int:
        return word_bits(self.d_acc)


def conv_shape(ch: Chunk, mi: MemoryInterface) -> ConvShape:
    bus, q = mi.bus_bits, ch.bits
    v_in = bus // q
    rpb = mi.records_per_beat
    b = ch.buffers(bus)
    if ch.pixel:
        nbk = b["banks"]
        lanes, sub_in, tp, b_w = nbk, 1, ch.tn, cdiv(ch.tm, v_in)
        colsb, rows_max = b["colsb"], b["rows_max"]
    else:
        nbk, colsb, rows_max = 1, 1, ch.rows_in_max
        lanes, sub_in, tp = ch.lanes_in, cdiv(v_in, ch.lanes_in), 1
        b_w = cdiv(ch.tm if ch.depthwise else ch.tm * ch.tn, v_in)
    return ConvShape(tm=ch.tm, tn=ch.tn, bits=q, bus=bus, latency=mi.read_latency, addr_bits=mi.addr_bits,
                     depthwise=ch.depthwise, pixel=ch.pixel, v_in=v_in, records_per_beat=rpb,
                     p_group_beats=cdiv(ch.tm, rpb), lanes=lanes, sub_in=sub_in, tp=tp, b_w=b_w,
                     d_in=b["in_depth"], d_w=b["w_depth"], d_acc=b["acc_depth"], d_p=b["p_depth"], nbk=nbk,
                     log_nbk=nbk.bit_length() - 1, colsb=colsb, rows_max=rows_max, out_bits=tuple(ch.out_bits))
