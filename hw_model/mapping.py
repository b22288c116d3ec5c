"""How a layer is laid on a chunk: its tiles (the mapping) and the run-time registers that program the chunk.

A layer never knows about tiles and a chunk never knows about a network: the Mapping joins them.
Channel tiles are whole bus beats of packed values (tnb = kb_in * V_in, tmb = kb_out * V_out), so tile edges
never split a beat in memory. Every pipeline step of a layer has the same shape; edge tiles that overhang the
layer are padded with zeros, which the cycle model counts and the MAC utilization shows.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .config import Accelerator, Chunk, ConfigError, Layer, MemoryInterface
from .derive import cdiv as ceil_div  # noqa: F401  (re-exported for rtl_gen and layout)
from .derive import balanced, default_tiles, geometry_fields, vector_fields


@dataclass(frozen=True)
class Mapping:
    """A layer's tiles on a chunk: output rows/cols per tile and channel tiles in beats."""

    trb: int
    tcb: int
    kb_in: int   # input-channel tile in beats of V_in values: tnb = kb_in * V_in
    kb_out: int  # output-channel tile in beats of V_out values: tmb = kb_out * V_out


class LayerGeometry:
    """Everything the chunk, the cycle model and the memory layout derive from (layer, chunk, mapping).
    Attribute access reads hw_model.derive.geometry_fields, computed once."""

    def __init__(self, layer: Layer, chunk: Chunk, mem: MemoryInterface, mapping: Mapping):
        self.layer, self.chunk, self.mem, self.mapping = layer, chunk, mem, mapping
        if layer.vector:
            self.fields = {k: int(v) for k, v in vector_fields(
                C=layer.in_channels, H=layer.in_size[0], W=layer.in_size[1], pool=int(layer.op == "avgpool"),
                bits=layer.bits, out_bits=layer.out_bits, bus=mem.bus_bits, lat=mem.read_latency,
                tcb=mapping.tcb).items()}
            return
        self.fields = {k: int(v) for k, v in geometry_fields(
            N=layer.in_channels, M=layer.out_channels, H=layer.in_size[0], W=layer.in_size[1], K=layer.kernel,
            S=layer.stride, P=layer.padding, bits=layer.bits, out_bits=layer.out_bits, tm=chunk.tm, tn=chunk.tn,
            bus=mem.bus_bits, lat=mem.read_latency, trb=mapping.trb, tcb=mapping.tcb, kb_in=mapping.kb_in,
            kb_out=mapping.kb_out, dw=int(chunk.depthwise), px=int(chunk.pixel)).items()}

    def __getattr__(self, name):
        try:
            return self.__dict__["fields"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self):
        return f"LayerGeometry({self.layer.name!r} on {self.chunk.name!r}, {self.mapping})"


def field_bounds(chunk: Chunk, mem: MemoryInterface) -> dict[str, int]:
    """The largest value each per-tile register (hw_model.regs) can hold on this chunk, for any layer and any
    mapping that fits its buffers (and sub_w, the writer's sub-beats per output beat, which the RTL decodes). The RTL sizes its tile counters and loop ends from these (a 16-bit counter
    whose bound is 7 costs 13 bits of adder, multiplexer and compare for nothing), and check_fits enforces them,
    so a counter never wraps early."""
    bus = mem.bus_bits
    v_in = mem.values_per_beat(chunk.bits)
    if chunk.vector:
        return dict(tcb=chunk.tcb, channels=chunk.tmb, in_nb=ceil_div(chunk.tmb, v_in))
    kb_out = max(1, max(chunk.p_depth * chunk.tm // mem.values_per_beat(ob) for ob in chunk.out_bits))
    sub_w = max(ceil_div(mem.values_per_beat(ob), chunk.tm) for ob in chunk.out_bits)
    b = chunk.buffers(bus)
    p_tile = b["p_depth"] * ceil_div(chunk.tm, mem.records_per_beat)
    if chunk.pixel:
        # _check_pixel bounds trb, tcb, kb_in and mg directly; the rest follow from them
        return dict(kernel=chunk.max_kernel, trb=chunk.trb, tcb=chunk.tcb, cgs=b["cgs_max"], mg=b["p_depth"],
                    ng=b["kb_max"] * v_in, kb_in=b["kb_max"], kb_out=kb_out, rows_in=b["rows_max"],
                    cols_in=chunk.cols_in_max, p_tile_beats=p_tile, sub_w=sub_w,
                    w_tile_beats=b["w_depth"] * ceil_div(chunk.tm, v_in))
    # the buffer checks: mg * trb * tcb <= acc_depth, ng * rows_in * cols_in <= in_depth, mg <= p_depth
    # (every factor >= 1), mg * ng * K^2 <= w_depth; ng = ceil(kb_in * V_in / tn), mg = ceil(kb_out * V_out / tm)
    dw = chunk.depthwise
    return dict(kernel=chunk.max_kernel, trb=b["acc_depth"], tcb=b["acc_depth"], cgs=b["acc_depth"],
                mg=b["p_depth"], ng=1 if dw else b["in_depth"],
                kb_in=kb_out if dw else max(1, b["in_depth"] * chunk.tn // v_in), kb_out=kb_out,
                rows_in=b["in_depth"], cols_in=b["in_depth"], p_tile_beats=p_tile, sub_w=sub_w,
                w_tile_beats=b["w_depth"] * ceil_div(chunk.tm if dw else chunk.tm * chunk.tn, v_in))


_GEOMETRY_NAME = {"channels": "C", "kernel": "K"}   # register name -> LayerGeometry field, where they differ


def check_fits(layer: Layer, chunk: Chunk, mem: MemoryInterface, mapping: Mapping) -> LayerGeometry:
    """Validate a mapping against the chunk's buffers; return the geometry. Errors name what does not fit."""
    g = _check_fits(layer, chunk, mem, mapping)
    for name, bound in field_bounds(chunk, mem).items():
        v = g.fields[_GEOMETRY_NAME.get(name, name)]
        if v > bound:     # (the buffer checks imply these: a safety net for the RTL's widths)
            raise ConfigError(f"layer[{layer.name!r}].mapping", dataclasses.asdict(mapping),
                              f"tiles whose {name} = {v} is at most {bound} on chunk {chunk.name!r}")
    return g


def _check_fits(layer: Layer, chunk: Chunk, mem: MemoryInterface, mapping: Mapping) -> LayerGeometry:
    g = LayerGeometry(layer, chunk, mem, mapping)
    w = f"layer[{layer.name!r}]"
    if layer.bits != chunk.bits:
        raise ConfigError(f"{w}.bits", layer.bits, f"{chunk.bits} (chunk {chunk.name!r})")
    if layer.out_bits not in chunk.out_bits:
        raise ConfigError(f"{w}.out_bits", layer.out_bits, f"one of {list(chunk.out_bits)} (chunk {chunk.name!r})")
    if layer.vector != chunk.vector:
        raise ConfigError(f"{w}.op", layer.op, f"a layer of chunk {chunk.name!r}'s dataflow ({chunk.dataflow})")
    if layer.vector:
        return _check_vector(layer, chunk, mem, mapping, g, w)
    if layer.kernel > chunk.max_kernel:
        raise ConfigError(f"{w}.kernel", layer.kernel, f"at most max_kernel = {chunk.max_kernel} of chunk {chunk.name!r}")
    if layer.stride > chunk.max_stride:
        raise ConfigError(f"{w}.stride", layer.stride, f"at most max_stride = {chunk.max_stride} of chunk {chunk.name!r}")
    for name, v in (("trb", mapping.trb), ("tcb", mapping.tcb), ("kb_in", mapping.kb_in), ("kb_out", mapping.kb_out)):
        if not isinstance(v, int) or v < 1:
            raise ConfigError(f"{w}.mapping.{name}", v, "a positive integer")
    if layer.depthwise != chunk.depthwise:
        raise ConfigError(f"{w}.groups", layer.groups, f"a layer of chunk {chunk.name!r}'s dataflow ({chunk.dataflow})")
    if chunk.depthwise and mapping.kb_in != mapping.kb_out:
        raise ConfigError(f"{w}.mapping.kb_in", mapping.kb_in, f"kb_out = {mapping.kb_out} on a depthwise chunk")
    if chunk.pixel:
        return _check_pixel(layer, chunk, mem, mapping, g, w)
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


def _check_pixel(layer, chunk, mem, mapping, g, w) -> LayerGeometry:
    b = chunk.buffers(mem.bus_bits)
    checks = (
        ("trb", mapping.trb, mapping.trb, chunk.trb, "output rows trb"),
        ("tcb", mapping.tcb, mapping.tcb, chunk.tcb, "output columns tcb"),
        ("kb_in", mapping.kb_in, mapping.kb_in, b["kb_max"], "input beats kb_in"),
        ("kb_out", mapping.kb_out, g.mg, b["p_depth"], "output-channel groups mg"),
    )
    for name, v, need, have, what in checks:
        if need > have:
            raise ConfigError(f"{w}.mapping.{name}", v, f"tiles whose {what} = {need} fit the chunk's {have}")
    return g


def _check_vector(layer, chunk, mem, mapping, g, w) -> LayerGeometry:
    if layer.in_channels > chunk.tmb:
        raise ConfigError(f"{w}.in_channels", layer.in_channels, f"at most tmb = {chunk.tmb} of chunk {chunk.name!r}")
    pixels = layer.in_size[0] * layer.in_size[1]
    if layer.op == "avgpool" and pixels > chunk.tcb:
        raise ConfigError(f"{w}.in_size", list(layer.in_size), f"a map of at most tcb = {chunk.tcb} pixels of chunk "
                                                               f"{chunk.name!r} (a pool holds the whole map)")
    if not isinstance(mapping.tcb, int) or not 1 <= mapping.tcb <= chunk.tcb:
        raise ConfigError(f"{w}.mapping.tcb", mapping.tcb, f"an integer in [1, {chunk.tcb}]")
    return g


def default_mapping(layer: Layer, chunk: Chunk, mem: MemoryInterface) -> Mapping:
    """The mapping the toolkit uses unless told otherwise: balanced tiles as large as the buffers allow."""
    if layer.vector:
        pixels = layer.in_size[0] * layer.in_size[1]
        v_in, v_out = mem.bus_bits // layer.bits, mem.bus_bits // layer.out_bits
        return Mapping(trb=1, tcb=int(balanced(pixels, chunk.tcb)), kb_in=ceil_div(layer.in_channels, v_in),
                       kb_out=ceil_div(layer.in_channels, v_out))
    ho, wo = layer.out_size
    t = default_tiles(N=layer.in_channels, M=layer.out_channels, Ho=ho, Wo=wo, bits=layer.bits,
                      out_bits=layer.out_bits, bus=mem.bus_bits, trb_cap=chunk.trb, tcb_cap=chunk.tcb,
                      tmb_cap=chunk.tmb, tnb_cap=chunk.tnb, dw=int(chunk.depthwise))
    # (a pixel chunk takes the channel chunk's tiles: kb_in <= tnb // V_in, its input buffer's beats)
    return Mapping(**{k: int(v) for k, v in t.items()})


def geometry(acc: Accelerator, layer: Layer, mapping: Mapping | None = None) -> LayerGeometry:
    chunk = acc.chunk_for(layer)
    mapping = mapping or default_mapping(layer, chunk, acc.memory)
    return check_fits(layer, chunk, acc.memory, mapping)
