"""The job table of a chunk's sequencer: what the host writes for a pipelined run and what rtl_gen's per-chunk
sequencer reads (docs/file_formats.md, "Job tables").

A chunk runs its layers round after round (hw_model.schedule); its table has one entry per layer, in the order of
the schedule's rounds. An entry is a header and the layer's descriptor (hw_model.regs.descriptor: its cfg for
frame 0). Frame f of a tensor lives in copy f mod k; the sequencer adds `(f mod k) * stride` to the address fields
that name a tensor with copies (PATCHED: the input's two fields, the second input of an add, the output), keeping
k is a power of two, so f mod k is the frame's low bits and the product a shift-and-add over FRAME_BITS cycles.

Header words (32 bits each, least significant first in the beats, as a descriptor):
    0       layer (LAYER_BITS) | offset << 8 | n_tokens << 24
    1       phase: the job's release within its round (release = round * period + phase)
    2..5    tokens: chunk | index << 4 | lag << 8 | delta << 16   (n_tokens of MAX_TOKENS used; below)
    6..9    the PATCHED fields' frame-0 values (act_base, act_origin, w_base, out_base)
    10..12  stride (beats) of the groups a, b, out
    13..15  copies of the groups a, b, out

A token (x, lag) of job (l, f) asks that layer x have retired frame g = f - lag. A chunk passes its entries in a
fixed order, round after round (a skipped entry is passed too), so that is "chunk c(x) has passed entry index(x)
of round g + offset(x)", and in the job's round r = f + offset(l) that round is r + delta with
delta = offset(x) - offset(l) - lag (signed). A token with g < 0 (f < lag) is in at once. The sequencers compare
the producer chunk's position (the round and the entries it has passed in it) with that: one pick of a chunk's
position, not of a per-layer frame counter.
"""
from __future__ import annotations

from dataclasses import dataclass

from .config import MemoryInterface
from .regs import DESC_WORDS

LAYER_BITS = 8                # the header's layer fields
MAX_LAYERS = (1 << LAYER_BITS) - 1   # layers a pipelined network may have: the header's layer field
MAX_ENTRIES = 16              # entries a chunk's table may have: its table memory's depth in entries
OFFSET_BITS = 16              # rounds a frame may span
MAX_TOKENS = 4                # tokens an entry may wait for (producers and consumers of its output)
# a token word's fields (lsb, width): chunk, index (the entry in that chunk's table), lag, delta (signed)
TOKEN_FIELDS = {"chunk": (0, 4), "index": (4, 4), "lag": (8, 8), "delta": (16, 16)}
TOKEN_CHUNKS = 1 << TOKEN_FIELDS["chunk"][1]
MAX_LAG = (1 << TOKEN_FIELDS["lag"][1]) - 1
MAX_DELTA = (1 << (TOKEN_FIELDS["delta"][1] - 1)) - 1
assert 1 << TOKEN_FIELDS["index"][1] >= MAX_ENTRIES
FRAME_BITS = 16               # frames a run may have: 2^FRAME_BITS - 1 (FRAMES_DONE, the entries' frame)
MAX_FRAMES = (1 << FRAME_BITS) - 1
# the run's cycle counter (CYCLES, FRAME_CYCLE, the releases). A release is compared as the sign of now - release
# modulo 2^CYCLE_BITS: exact while no job waits for a release more than 2^(CYCLE_BITS-1) cycles ahead or lags one
# by as much; a release is at most two periods ahead, hence MAX_PERIOD (a lag that long is 21 s of stalls at 100 MHz)
CYCLE_BITS = 32
MAX_PERIOD = (1 << (CYCLE_BITS - 2)) - 1
GROUPS = ("a", "b", "out")
PATCHED = (("act_base", "a"), ("act_origin", "a"), ("w_base", "b"), ("out_base", "out"))
HEADER_WORDS = 16
W_TOKENS, W_BASES, W_STRIDES, W_COPIES = 2, 6, 10, 13     # first header word of each part (above)


@dataclass(frozen=True)
class Entry:
    layer: int                                  # index in the network
    offset: int                                 # rounds: in round r the entry works on frame r - offset
    phase: int                                  # cycles after its round's start
    tokens: tuple[tuple[int, int, int, int], ...]   # (chunk, index, lag, delta): the module's doc
    bases: dict                                 # PATCHED field -> frame-0 value
    strides: dict                               # group -> beats between copies
    copies: dict                                # group -> copies (1: no patching)
    descriptor: tuple[int, ...]                 # hw_model.regs.descriptor words

    def words(self) -> list[int]:
        if len(self.tokens) > MAX_TOKENS:
            raise ValueError(f"layer {self.layer}: {len(self.tokens)} tokens, at most {MAX_TOKENS}")
        w = [0] * HEADER_WORDS
        w[0] = self.layer | self.offset << 8 | len(self.tokens) << 24
        w[1] = self.phase
        for i, (c, index, lag, delta) in enumerate(self.tokens):
            if not (0 <= c < TOKEN_CHUNKS and 0 <= index < MAX_ENTRIES and 0 <= lag <= MAX_LAG
                    and -MAX_DELTA <= delta <= MAX_DELTA):
                raise ValueError(f"layer {self.layer}: token {(c, index, lag, delta)} out of its fields")
            w[W_TOKENS + i] = token_word(c, index, lag, delta)
        for i, (name, _) in enumerate(PATCHED):
            w[W_BASES + i] = self.bases[name] & 0xFFFFFFFF
        for i, g in enumerate(GROUPS):
            w[W_STRIDES + i] = self.strides[g]
            w[W_COPIES + i] = self.copies[g]
        return w + list(self.descriptor)


def token_word(chunk: int, index: int, lag: int, delta: int) -> int:
    vals = {"chunk": chunk, "index": index, "lag": lag, "delta": delta}
    return sum((v & ((1 << w) - 1)) << lsb for (lsb, w), v in zip(TOKEN_FIELDS.values(), vals.values()))


def header_beats(mem: MemoryInterface) -> int:
    return -(-HEADER_WORDS * 32 // mem.bus_bits)


def entry_words() -> int:
    return HEADER_WORDS + DESC_WORDS


def entry_beats(mem: MemoryInterface) -> int:
    """Beats an entry occupies in a table (its stride)."""
    return -(-entry_words() * 32 // mem.bus_bits)
