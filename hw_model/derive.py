"""The integers a (layer, chunk, mapping) implies, written once for Python ints and numpy arrays alike.

LayerGeometry (one layer), the batch evaluator (millions of layer x config pairs), the register program,
the memory layout and the cycle model all read these; nothing else re-derives a tile or a count.
"""
from __future__ import annotations

import numpy as np

from .config import PARAM_RECORD_BITS


def cdiv(a, b):
    return -(-a // b)


def balanced(total, cap):
    """Largest tile <= cap splitting `total` into equal-as-possible tiles: ceil(total / ceil(total / cap))."""
    cap = np.maximum(1, np.minimum(cap, total))
    return cdiv(total, cdiv(total, cap))


def out_size(h, k, s, p):
    return (h + 2 * p - k) // s + 1


def default_tiles(*, N, M, Ho, Wo, bits, out_bits, bus, trb_cap, tcb_cap, tmb_cap, tnb_cap, dw=0):
    """The default mapping: balanced tiles as large as the buffer tiles allow. Channel tiles are whole
    beats. For any layer with K <= max_kernel and S <= max_stride these always fit the chunk's buffers
    (the buffers are sized from the same caps). Depthwise: the input tile is the output tile's channels."""
    v_in, v_out = bus // bits, bus // out_bits
    kb_out = balanced(cdiv(M, v_out), np.maximum(1, tmb_cap // v_out))
    kb_in = np.where(dw, kb_out, balanced(cdiv(N, v_in), np.maximum(1, tnb_cap // v_in)))
    return dict(trb=balanced(Ho, trb_cap), tcb=balanced(Wo, tcb_cap), kb_in=kb_in, kb_out=kb_out)


def next_pow2(x):
    x = np.asarray(x, dtype=np.int64)
    return np.where(x <= 1, 1, np.left_shift(1, np.ceil(np.log2(np.maximum(x, 1))).astype(np.int64)))


def channel_buffers(*, tm, tn, trb, tcb, tmb, tnb, max_kernel, max_stride, dw=0):
    """Buffer geometry of a channel (dw = 0) or depthwise (dw = 1) chunk, per bank (ints or arrays): input lanes
    (tn input channels, or the tm channels themselves) of in_depth words, weight beats, int32 accumulator words
    and requantization records of each of the tm lanes. Chunk's properties and cost.resources_fields read this."""
    lanes_in = np.where(dw, tm, tn)
    rows_in_max = (trb - 1) * max_stride + max_kernel
    cols_in_max = (tcb - 1) * max_stride + max_kernel
    mg_max = cdiv(tmb, tm)
    return dict(lanes_in=lanes_in, rows_in_max=rows_in_max, cols_in_max=cols_in_max,
                in_depth=cdiv(tnb, lanes_in) * rows_in_max * cols_in_max,
                w_depth=mg_max * np.where(dw, 1, cdiv(tnb, tn)) * max_kernel * max_kernel,
                acc_depth=mg_max * trb * tcb, p_depth=mg_max)


def pixel_buffers(*, tm, tn, trb, tcb, tmb, tnb, max_kernel, max_stride, v_in):
    """Buffer geometry of a pixel chunk (tm output channels x tn output columns per cycle). Its input buffer
    holds whole beats in `banks` = next_pow2(tn * max_stride) column banks (column c in bank c mod banks), so
    the tn columns (c0 + p) * S + kw of one cycle always fall in distinct banks; word of (beat jb, row, column)
    = (jb * rows_in_max + row) * colsb + column // banks."""
    banks = next_pow2(tn * max_stride)
    kb_max = np.maximum(1, tnb // v_in)
    cgs_max = cdiv(tcb, tn)
    span = (cgs_max * tn - 1) * max_stride + max_kernel          # columns the tn lanes may address
    colsb = cdiv(span, banks)
    rows_max = (trb - 1) * max_stride + max_kernel
    mg_max = cdiv(tmb, tm)
    return dict(banks=banks, kb_max=kb_max, colsb=colsb, rows_max=rows_max, cgs_max=cgs_max,
                in_depth=kb_max * rows_max * colsb, w_depth=mg_max * kb_max * v_in * max_kernel * max_kernel,
                acc_depth=mg_max * trb * cgs_max, p_depth=mg_max)


def geometry_fields(*, N, M, H, W, K, S, P, bits, out_bits, tm, tn, bus, lat, trb, tcb, kb_in, kb_out, dw=0, px=0):
    """Every derived integer of a layer on a chunk with a mapping (scalars or broadcastable arrays).
    dw = 1 for a depthwise chunk: tm lanes, lane a reads channel a of its own group; no input-channel loop.
    px = 1 for a pixel chunk: tm output channels x tn output columns, one input channel per cycle (ng = tnb
    channel steps, ng = min(tnb, N); cgs = ceil(tcb / tn) column groups), whole beats into column banks
    (sub_in = 1)."""
    Ho, Wo = out_size(H, K, S, P), out_size(W, K, S, P)
    v_in, v_out = bus // bits, bus // out_bits
    in_nb, out_nb = cdiv(N, v_in), cdiv(M, v_out)
    tnb, tmb = kb_in * v_in, kb_out * v_out
    lanes_in = np.where(dw, tm, np.where(px, v_in, tn))
    mg = cdiv(tmb, tm)
    # pixel: one input channel per cycle, over the tile's channels (those of the layer when it has fewer)
    ng = np.where(dw, 1, np.where(px, np.minimum(tnb, N), cdiv(tnb, tn)))
    rows_in, cols_in = (trb - 1) * S + K, (tcb - 1) * S + K
    w_group_beats = cdiv(np.where(dw | px, tm, tm * tn), v_in)
    p_group_beats = cdiv(tm, bus // PARAM_RECORD_BITS)
    return dict(
        N=N, M=M, H=H, W=W, K=K, S=S, P=P, bits=bits, out_bits=out_bits, tm=tm, tn=tn, bus=bus, lat=lat, dw=dw, px=px,
        cgs=np.where(px, cdiv(tcb, tn), tcb),
        trb=trb, tcb=tcb, kb_in=kb_in, kb_out=kb_out, Ho=Ho, Wo=Wo, v_in=v_in, v_out=v_out,
        in_nb=in_nb, out_nb=out_nb, tnb=tnb, tmb=tmb, ng=ng, mg=mg, lanes_in=lanes_in,
        # valid lanes of the last input group: of the tn lanes (channel), of the tm lanes (depthwise)
        ng_last=np.where(dw, tmb - (mg - 1) * tm, np.where(px, tn, tnb - (ng - 1) * tn)),
        macs_per_cycle=np.where(dw, tm, tm * tn),
        rows_in=rows_in, cols_in=cols_in, n_m=cdiv(out_nb, kb_out), n_n=np.where(dw, 1, cdiv(in_nb, kb_in)),
        n_r=cdiv(Ho, trb), n_c=cdiv(Wo, tcb), sub_in=cdiv(v_in, lanes_in), sub_w=cdiv(v_out, tm),
        w_group_beats=w_group_beats, w_tile_beats=mg * ng * K * K * w_group_beats,
        p_group_beats=p_group_beats, p_tile_beats=mg * p_group_beats,
    )


def in_range_total(n_tiles, tile, stride, pad, length, size):
    """Sum over tiles i of the input rows (or columns) of tile i that lie inside the map, where tile i
    spans [i*tile*stride - pad, ... + length). No tile lies wholly outside the map; clip each side."""
    a = tile * stride
    # left clip: sum_{i < q} (pad - i*a), q = number of tiles that start before 0
    q = np.minimum(n_tiles, cdiv(pad, a))
    left = q * pad - a * q * (q - 1) // 2
    # right clip: sum over i of max(0, i*a + e), e = length - pad - size
    e = length - pad - size
    i0 = np.where(e > 0, 0, (-e) // a + 1)
    i0 = np.minimum(i0, n_tiles)
    cnt = n_tiles - i0
    right = cnt * e + a * ((n_tiles - 1) * n_tiles // 2 - (i0 - 1) * i0 // 2)
    return n_tiles * length - left - right


def vector_fields(*, C, H, W, pool, bits, out_bits, bus, lat, tcb):
    """Every derived integer of a vector op (residual add, pool = 0; global average pool, pool = 1) on a vector
    chunk that takes `tcb` pixels per step. A pool takes the whole map in one step (tcb = H*W)."""
    P = H * W
    v_in, v_out = bus // bits, bus // out_bits
    T = np.where(pool, P, tcb)
    return dict(
        vec=1, pool=pool, C=C, N=C, M=C, H=H, W=W, P=P, bits=bits, out_bits=out_bits, bus=bus, lat=lat,
        v_in=v_in, v_out=v_out, in_nb=cdiv(C, v_in), out_nb=cdiv(C, v_out), tcb=T, n_steps=cdiv(P, T),
        srcs=np.where(pool, 1, 2), Ho=np.where(pool, 1, H), Wo=np.where(pool, 1, W),
    )
