"""Everything else the search and the reports need besides cycles, from the same derived integers:
memory traffic, buffer accesses, energy, and FPGA resources. Works on ints and numpy arrays alike.

Energy per operation: M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014,
45 nm at 0.9 V: 8-bit integer multiply 0.2 pJ, 8-bit add 0.03 pJ, 32-bit add 0.1 pJ, 64-bit read of an
8 KB SRAM 10 pJ, 64-bit DRAM access 1.3-2.6 nJ (we take 2.0 nJ). Multiplier energy is scaled with the square
of the operand width, adder energy linearly, SRAM and DRAM energy per bit.
"""
from __future__ import annotations

import numpy as np

from .config import ACC_BITS, RECORD_FIELD_BITS, REQ_PRODUCT_BITS, Chunk, MemoryInterface
from .derive import cdiv, channel_buffers, in_range_total, pixel_buffers

E_MUL8_PJ = 0.2
E_ADD8_PJ = 0.03
E_ADD32_PJ = 0.1
E_SRAM_PJ_PER_BIT = 10.0 / 64
E_DRAM_PJ_PER_BIT = 2000.0 / 64
ENERGY_SOURCE = "Horowitz, ISSCC 2014, 45 nm 0.9 V (see hw_model/cost.py)"


def _vector_traffic(f: dict) -> dict:
    read_in = f["srcs"] * f["P"] * f["in_nb"]
    write_out = f["Ho"] * f["Wo"] * f["out_nb"]
    beats = read_in + write_out
    return dict(read_in_beats=read_in, read_w_beats=0 * read_in, read_p_beats=0 * read_in, write_beats=write_out,
                beats=beats, bytes=beats * f["bus"] // 8)


def traffic(f: dict) -> dict:
    """Exact beats moved on the memory port for one layer (the chunk skips reads outside the map)."""
    if "vec" in f:
        return _vector_traffic(f)
    rows = in_range_total(f["n_r"], f["trb"], f["S"], f["P"], f["rows_in"], f["H"])
    cols = in_range_total(f["n_c"], f["tcb"], f["S"], f["P"], f["cols_in"], f["W"])
    steps = f["n_m"] * f["n_r"] * f["n_c"] * f["n_n"]
    tiles = f["n_m"] * f["n_r"] * f["n_c"]
    # every output-channel tile reads all input channels (channel), or just its own (depthwise)
    read_in = np.where(f["dw"], 1, f["n_m"]) * rows * cols * f["in_nb"]
    read_w = steps * f["w_tile_beats"]
    read_p = tiles * f["p_tile_beats"]
    write_out = f["Ho"] * f["Wo"] * f["out_nb"]
    beats = read_in + read_w + read_p + write_out
    return dict(read_in_beats=read_in, read_w_beats=read_w, read_p_beats=read_p, write_beats=write_out,
                beats=beats, bytes=beats * f["bus"] // 8)


def buffer_bits(f: dict) -> dict:
    """Bits read from and written to the on-chip buffers for one layer."""
    steps = f["n_m"] * f["n_r"] * f["n_c"] * f["n_n"]
    tiles = f["n_m"] * f["n_r"] * f["n_c"]
    iters = f["mg"] * f["trb"] * f["cgs"] * f["ng"] * f["K"] * f["K"]
    pixels = f["mg"] * f["trb"] * f["tcb"]
    rec = RECORD_FIELD_BITS
    writer_slots = f["trb"] * f["tcb"] * f["kb_out"] * f["sub_w"]
    # values read from the input buffer per iteration: the lanes, or a whole beat per column lane (pixel)
    per_iter = np.where(f.get("px", 0), f["tn"] * f["v_in"], f["lanes_in"])
    return dict(
        input=steps * (f["rows_in"] * f["cols_in"] * f["kb_in"] * f["v_in"] * f["bits"]
                       + iters * per_iter * f["bits"]),
        weight=steps * (f["w_tile_beats"] + iters * f["w_group_beats"]) * f["bus"],
        acc=steps * pixels * f["tm"] * ACC_BITS * 2 + tiles * writer_slots * f["tm"] * ACC_BITS,
        params=tiles * (f["p_tile_beats"] * f["bus"] + writer_slots * f["tm"] * rec),
    )


def _vector_energy(f: dict) -> dict:
    iters = f["n_steps"] * f["tcb"] * f["C"]
    mac = iters * (2 * E_MUL8_PJ * (16 * f["bits"]) / 64 + 2 * E_ADD32_PJ)
    sram = (f["srcs"] * f["P"] * f["in_nb"] * f["bus"] + iters * f["srcs"] * f["bus"]) * E_SRAM_PJ_PER_BIT
    dram = _vector_traffic(f)["beats"] * f["bus"] * E_DRAM_PJ_PER_BIT
    return dict(mac=mac, sram=sram, dram=dram, total=mac + sram + dram)


def energy_pj(f: dict) -> dict:
    """Energy of one layer in pJ, split by where it is spent."""
    if "vec" in f:
        return _vector_energy(f)
    steps = f["n_m"] * f["n_r"] * f["n_c"] * f["n_n"]
    lanes = f["macs_per_cycle"]
    iters = f["mg"] * f["trb"] * f["cgs"] * f["ng"] * f["K"] * f["K"]
    q = f["bits"]
    e_mac = E_MUL8_PJ * (q / 8) ** 2 + E_ADD8_PJ * (2 * q) / 8   # multiply + one adder-tree add
    mac = steps * iters * lanes * e_mac + steps * f["mg"] * f["trb"] * f["tcb"] * f["tm"] * E_ADD32_PJ
    bb = buffer_bits(f)
    sram = (bb["input"] + bb["weight"] + bb["acc"] + bb["params"]) * E_SRAM_PJ_PER_BIT
    dram = traffic(f)["beats"] * f["bus"] * E_DRAM_PJ_PER_BIT
    return dict(mac=mac, sram=sram, dram=dram, total=mac + sram + dram)


# ----------------------------------------------------------------------------------------------- resources
BRAM18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))
LUTRAM_MAX_BITS = 1024  # smaller memories are left to LUTs


def bram18(depth, width):
    """BRAM18 blocks for a depth x width RAM at its best aspect ratio; RAMs of up to 1 Kbit go to LUTs.
    Ints or numpy arrays."""
    best = None
    for d, w in BRAM18_SHAPES:
        n = cdiv(depth, d) * cdiv(width, w)
        best = n if best is None else np.minimum(best, n)
    return np.where(depth * width <= LUTRAM_MAX_BITS, 0, best)


def resources_fields(*, bits, tm, tn, trb, tcb, tmb, tnb, max_kernel, max_stride, bus, dw=0, px=0):
    """FPGA resources of one chunk from its parameters (ints or broadcastable arrays)."""
    v_in = bus // bits
    mults = np.where(dw, tm, tm * tn)
    b_w = cdiv(np.where(dw | px, tm, tm * tn), v_in)
    rec = RECORD_FIELD_BITS
    cb = channel_buffers(tm=tm, tn=tn, trb=trb, tcb=tcb, tmb=tmb, tnb=tnb, max_kernel=max_kernel,
                         max_stride=max_stride, dw=dw)
    lanes_in, in_depth, w_depth, acc_depth, p_depth = (cb[k] for k in ("lanes_in", "in_depth", "w_depth", "acc_depth",
                                                                       "p_depth"))
    # an accumulator lane has two read ports (the MAC array's read-modify-write and the writer's drain) and one
    # write port: a dual-port block RAM holds it twice
    brams = (lanes_in * bram18(2 * in_depth, bits) + b_w * bram18(2 * w_depth, bus)
             + tm * 2 * bram18(2 * acc_depth, ACC_BITS) + tm * bram18(p_depth, rec))
    # pixel chunk: column banks of whole beats, tm x tn accumulator lanes
    pb = pixel_buffers(tm=tm, tn=tn, trb=trb, tcb=tcb, tmb=tmb, tnb=tnb, max_kernel=max_kernel,
                       max_stride=max_stride, v_in=v_in)
    brams_px = (pb["banks"] * bram18(2 * pb["in_depth"], bus) + b_w * bram18(2 * pb["w_depth"], bus)
                + tm * tn * 2 * bram18(2 * pb["acc_depth"], ACC_BITS) + tm * bram18(p_depth, rec))
    brams = np.where(px, brams_px, brams)
    # one DSP per q x q multiplier of the array; the requantizer's 33 x 16 multiply is two 17 x 16 products
    dsp = mults + 2 * tm
    tree_bits = np.where(dw | px, 0,
                         tm * (tn - 1) * (2 * bits + 1 + np.ceil(np.log2(np.maximum(tn, 2))).astype(np.int64)))
    # pixel chunk: a bank-to-lane crossbar of q-bit values and tm x tn reduction registers instead of trees
    xbar = np.where(px, tn * pb["banks"] * bits + tm * tn * ACC_BITS, 0)
    lut = tree_bits + xbar + tm * ACC_BITS * 2 + tm * (REQ_PRODUCT_BITS + 64) + 2500
    return dict(dsp=dsp, bram18=brams, lut=lut)


def vector_resources(chunk: Chunk, mem: MemoryInterface) -> dict:
    """A vector chunk: two double-banked pixel buffers of bus-wide beats, the multipliers of a and b (the
    pool's 16 x 32-bit product takes two DSPs), one channel per cycle."""
    depth = chunk.vec_depth(mem.bus_bits)
    return dict(dsp=3, bram18=int(2 * bram18(2 * depth, mem.bus_bits)), lut=600 + 4 * mem.bus_bits)


def chunk_resources(chunk: Chunk, mem: MemoryInterface) -> dict:
    """FPGA resources of one generated chunk (estimate; docs/architecture.md says what each term counts)."""
    if chunk.vector:
        return vector_resources(chunk, mem)
    r = resources_fields(bits=chunk.bits, tm=chunk.tm, tn=chunk.tn, trb=chunk.trb, tcb=chunk.tcb, tmb=chunk.tmb,
                         tnb=chunk.tnb, max_kernel=chunk.max_kernel, max_stride=chunk.max_stride, bus=mem.bus_bits,
                         dw=int(chunk.depthwise), px=int(chunk.pixel))
    return {k: int(v) for k, v in r.items()}


def accelerator_resources(acc) -> dict:
    per = {c.name: chunk_resources(c, acc.memory) for c in acc.chunks}
    total = {k: sum(r[k] for r in per.values()) for k in ("dsp", "bram18", "lut")}
    return dict(chunks=per, total=total)
