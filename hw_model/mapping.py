"""How a layer is laid on a chunk: its tiles (the mapping) and the run-time registers that program the chunk.

A layer never knows about tiles and a chunk never knows about a network: the Mapping joins them.
Channel tiles are whole bus beats of packed values (tnb = kb_in * V_in, tmb = kb_out * V_out), so tile edges
never split a beat in memory. Every pipeline step of a layer has the same shape; edge tiles that overhang the
layer are padded with zeros, which the cycle model counts and the MAC utilization shows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .config import Accelerator, Chunk, ConfigError, Layer, MemoryInterface


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class Mapping:
    """A layer's tiles on a chunk: output rows/cols per tile and channel tiles in beats."""

    trb: int
    tcb: int
    kb_in: int   # input-channel tile in beats of V_in values: tnb = kb_in * V_in
    kb_out: int  # output-channel tile in beats of V_out values: tmb = kb_out * V_out


@dataclass(frozen=True)
class LayerGeometry:
    """Everything the chunk, the cycle model and the memory layout derive from (layer, chunk, mapping)."""

    layer: Layer
    chunk: Chunk
    mem: MemoryInterface
    mapping: Mapping

    # -- packing
    @property
    def v_in(self) -> int:
        return self.mem.values_per_beat(self.layer.bits)

    @property
    def v_out(self) -> int:
        return self.mem.values_per_beat(self.layer.out_bits)

    @property
    def in_nb(self) -> int:
        return ceil_div(self.layer.in_channels, self.v_in)

    @property
    def out_nb(self) -> int:
        return ceil_div(self.layer.out_channels, self.v_out)

    # -- tiles
    @property
    def tnb(self) -> int:
        return self.mapping.kb_in * self.v_in

    @property
    def tmb(self) -> int:
        return self.mapping.kb_out * self.v_out

    @property
    def rows_in(self) -> int:
        return (self.mapping.trb - 1) * self.layer.stride + self.layer.kernel

    @property
    def cols_in(self) -> int:
        return (self.mapping.tcb - 1) * self.layer.stride + self.layer.kernel

    @property
    def ng(self) -> int:
        return ceil_div(self.tnb, self.chunk.tn)

    @property
    def ng_last(self) -> int:
        return self.tnb - (self.ng - 1) * self.chunk.tn

    @property
    def mg(self) -> int:
        return ceil_div(self.tmb, self.chunk.tm)

    @property
    def n_m(self) -> int:
        return ceil_div(self.out_nb, self.mapping.kb_out)

    @property
    def n_n(self) -> int:
        return ceil_div(self.in_nb, self.mapping.kb_in)

    @property
    def n_r(self) -> int:
        return ceil_div(self.layer.out_size[0], self.mapping.trb)

    @property
    def n_c(self) -> int:
        return ceil_div(self.layer.out_size[1], self.mapping.tcb)

    # -- streams
    @property
    def w_group_beats(self) -> int:
        """Beats holding one tm x tn weight group (one MAC-array cycle's weights)."""
        return ceil_div(self.chunk.tm * self.chunk.tn, self.v_in)

    @property
    def w_tile_beats(self) -> int:
        return self.mg * self.ng * self.layer.kernel ** 2 * self.w_group_beats

    @property
    def p_group_beats(self) -> int:
        return ceil_div(self.chunk.tm, self.mem.records_per_beat)

    @property
    def p_tile_beats(self) -> int:
        return self.mg * self.p_group_beats


def check_fits(layer: Layer, chunk: Chunk, mem: MemoryInterface, mapping: Mapping) -> LayerGeometry:
    """Validate a mapping against the chunk's buffers; return the geometry. Errors name what does not fit."""
    g = LayerGeometry(layer, chunk, mem, mapping)
    w = f"layer[{layer.name!r}]"
    if layer.bits != chunk.bits:
        raise ConfigError(f"{w}.bits", layer.bits, f"{chunk.bits} (chunk {chunk.name!r})")
    if layer.out_bits not in chunk.out_bits:
        raise ConfigError(f"{w}.out_bits", layer.out_bits, f"one of {list(chunk.out_bits)} (chunk {chunk.name!r})")
    if layer.kernel > chunk.max_kernel:
        raise ConfigError(f"{w}.kernel", layer.kernel, f"at most max_kernel = {chunk.max_kernel} of chunk {chunk.name!r}")
    if layer.stride > chunk.max_stride:
        raise ConfigError(f"{w}.stride", layer.stride, f"at most max_stride = {chunk.max_stride} of chunk {chunk.name!r}")
    for name, v in (("trb", mapping.trb), ("tcb", mapping.tcb), ("kb_in", mapping.kb_in), ("kb_out", mapping.kb_out)):
        if not isinstance(v, int) or v < 1:
            raise ConfigError(f"{w}.mapping.{name}", v, "a positive integer")
    checks = (
        ("trb", mapping.trb, g.mg * mapping.trb * mapping.tcb, chunk.acc_depth, "accumulator words mg*trb*tcb"),
        ("kb_in", mapping.kb_in, g.ng * g.rows_in * g.cols_in, chunk.in_depth, "input words ng*rows_in*cols_in"),
        ("kb_out", mapping.kb_out, g.mg * g.ng * layer.kernel ** 2, chunk.w_depth, "weight groups mg*ng*K*K"),
        ("kb_out", mapping.kb_out, g.mg, chunk.p_depth, "parameter groups mg"),
    )
    for name, v, need, have, what in checks:
        if need > have:
            raise ConfigError(f"{w}.mapping.{name}", v, f"tiles whose {what} = {need} fit the chunk's {have}")
    return g


def _balanced(total: int, cap: int) -> int:
    """Largest tile <= cap that splits `total` into equal-as-possible tiles (ceil(total / ceil(total/cap)))."""
    cap = max(1, min(cap, total))
    return ceil_div(total, ceil_div(total, cap))


def default_mapping(layer: Layer, chunk: Chunk, mem: MemoryInterface) -> Mapping:
    """The mapping the toolkit uses unless told otherwise: balanced tiles as large as the buffers allow."""
    v_in, v_out = mem.values_per_beat(layer.bits), mem.values_per_beat(layer.out_bits)
    ho, wo = layer.out_size
    in_nb, out_nb = ceil_div(layer.in_channels, v_in), ceil_div(layer.out_channels, v_out)
    kb_in = _balanced(in_nb, max(1, chunk.tnb // v_in))
    kb_out = _balanced(out_nb, max(1, chunk.tmb // v_out))
    trb = _balanced(ho, chunk.trb)
    tcb = _balanced(wo, chunk.tcb)
    # Shrink until it fits: kernels and strides below the chunk's maxima always fit the buffer tiles, but a
    # channel tile rounded up to whole beats may need one beat less.
    for _ in range(4096):
        m = Mapping(trb, tcb, kb_in, kb_out)
        try:
            return check_fits(layer, chunk, mem, m)  and m
        except ConfigError as exc:
            if not exc.field.endswith(("mapping.trb", "mapping.kb_in", "mapping.kb_out")):
                raise
            if exc.field.endswith("kb_out") and kb_out > 1:
                kb_out -= 1
            elif exc.field.endswith("kb_in") and kb_in > 1:
                kb_in -= 1
            elif trb > 1 and trb >= tcb:
                trb -= 1
            elif tcb > 1:
                tcb -= 1
            else:
                raise
    raise ConfigError(f"layer[{layer.name!r}]", "no mapping", "a layer that fits the chunk's buffers")


def geometry(acc: Accelerator, layer: Layer, mapping: Mapping | None = None) -> LayerGeometry:
    chunk = acc.chunk_for(layer)
    mapping = mapping or default_mapping(layer, chunk, acc.memory)
    return check_fits(layer, chunk, acc.memory, mapping)
