"""Data layout in memory: how activations, weights and requantization records are packed into bus beats.

Activations (chunk-independent, so one chunk's output is the next chunk's input):
    beat address = base + (h * W + w) * NB + jb,  NB = ceil(C / V),  V = floor(bus_bits / bits)
    slot i of the beat (bits [i*bits, (i+1)*bits)) holds channel jb*V + i; channels >= C are zero.
Weights and records are static, so they are stored in the order the chunk consumes them (see docs).
"""
from __future__ import annotations

import numpy as np

from .config import LOGIT_BITS, PARAM_RECORD_BITS
from .mapping import LayerGeometry, ceil_div
from .numerics import dense_weights
from .regs import Addresses


def pack_beats(vals: np.ndarray, bits: int) -> np.ndarray:
    """vals [..., V] of integers (two's complement taken mod 2**bits) -> [...] object array of beat ints."""
    mask = (1 << bits) - 1
    v = (np.asarray(vals).astype(np.int64) & mask).astype(object)
    out = np.zeros(v.shape[:-1], dtype=object)
    for i in range(v.shape[-1]):
        out = out + (v[..., i] << (i * bits))
    return out


def unpack_beats(beats, count: int, bits: int, signed: bool = False) -> np.ndarray:
    """[...] beat ints -> [..., count] int64 values."""
    b = np.asarray(beats, dtype=object)
    mask = (1 << bits) - 1
    out = np.empty(b.shape + (count,), dtype=np.int64)
    for i in range(count):
        out[..., i] = ((b >> (i * bits)) & mask).astype(np.int64)
    if signed:
        out = np.where(out >= 1 << (bits - 1), out - (1 << bits), out)
    return out


def pack_activations(x: np.ndarray, bits: int, bus_bits: int) -> np.ndarray:
    """x [C, H, W] unsigned -> flat object array of beats in address order."""
    c, h, w = x.shape
    v = bus_bits // bits
    nb = ceil_div(c, v)
    padded = np.zeros((nb * v, h, w), dtype=np.int64)
    padded[:c] = x
    hwc = padded.transpose(1, 2, 0).reshape(h, w, nb, v)
    return pack_beats(hwc, bits).reshape(-1)


def unpack_activations(beats, channels: int, size: tuple[int, int], bits: int, bus_bits: int) -> np.ndarray:
    h, w = size
    v = bus_bits // bits
    nb = ceil_div(channels, v)
    vals = unpack_beats(np.asarray(beats, dtype=object).reshape(h, w, nb), v, bits, signed=bits == LOGIT_BITS)
    return vals.reshape(h, w, nb * v)[:, :, :channels].transpose(2, 0, 1)


def pack_weights(wt: np.ndarray, g: LayerGeometry) -> np.ndarray:
    """wt [M, N/groups, K, K] signed -> beats in the order the chunk consumes them.
    Channel chunk: block (i_m, i_n) after block, each in the compute order (mg, ng, kh, kw), each tm x tn group
    in w_group_beats beats: value f = a*tn + t at beat f // V slot f % V (grouped weights as block-diagonal
    dense ones). Depthwise chunk: block i_m after block, order (mg, kh, kw), lane a's weight at slot a."""
    if g.chunk.depthwise:
        return _pack_depthwise_weights(wt, g)
    if g.chunk.pixel:
        return _pack_pixel_weights(wt, g)
    if g.layer.groups > 1:
        wt = dense_weights(wt, g.layer.groups)
    M, N = g.layer.out_channels, g.layer.in_channels
    tm, tn, v = g.chunk.tm, g.chunk.tn, g.v_in
    f = np.arange(g.w_group_beats * v)
    a, t = f // tn, f % tn
    valid_f = f < tm * tn
    im, in_, mgi, ngi = np.meshgrid(np.arange(g.n_m), np.arange(g.n_n), np.arange(g.mg), np.arange(g.ng),
                                    indexing="ij")
    ml = mgi[..., None] * tm + a          # local output channel [n_m, n_n, mg, ng, F]
    nl = ngi[..., None] * tn + t
    m = im[..., None] * g.tmb + ml
    n = in_[..., None] * g.tnb + nl
    ok = valid_f & (ml < g.tmb) & (nl < g.tnb) & (m < M) & (n < N)
    mi, ni = np.where(ok, m, 0), np.where(ok, n, 0)
    vals = wt[mi, ni]                     # [n_m, n_n, mg, ng, F, K, K]
    vals = np.where(ok[..., None, None], vals, 0)
    vals = np.moveaxis(vals, 4, -1)       # [n_m, n_n, mg, ng, K, K, F]
    vals = vals.reshape(vals.shape[:-1] + (g.w_group_beats, v))
    return pack_beats(vals, g.layer.bits).reshape(-1)


def _pack_depthwise_weights(wt: np.ndarray, g: LayerGeometry) -> np.ndarray:
    M, tm, v = g.layer.out_channels, g.chunk.tm, g.v_in
    a = np.arange(g.w_group_beats * v)
    im, mgi = np.meshgrid(np.arange(g.n_m), np.arange(g.mg), indexing="ij")
    ml = mgi[..., None] * tm + a                  # [n_m, mg, F]
    m = im[..., None] * g.tmb + ml
    ok = (a < tm) & (ml < g.tmb) & (m < M)
    vals = np.where(ok[..., None, None], wt[np.where(ok, m, 0), 0], 0)   # [n_m, mg, F, K, K]
    vals = np.moveaxis(vals, 2, -1)                                     # [n_m, mg, K, K, F]
    vals = vals.reshape(vals.shape[:-1] + (g.w_group_beats, v))
    return pack_beats(vals, g.layer.bits).reshape(-1)


def _pack_pixel_weights(wt: np.ndarray, g: LayerGeometry) -> np.ndarray:
    """Pixel chunk: block (i_m, i_n) after block, each in the compute order (mg, n, kh, kw); a group is the tm
    output channels' weights for one input channel and tap, lane a at slot a."""
    if g.layer.groups > 1:
        wt = dense_weights(wt, g.layer.groups)
    M, N, tm, v = g.layer.out_channels, g.layer.in_channels, g.chunk.tm, g.v_in
    a = np.arange(g.w_group_beats * v)
    im, in_, mgi, ni = np.meshgrid(np.arange(g.n_m), np.arange(g.n_n), np.arange(g.mg), np.arange(g.ng),
                                   indexing="ij")
    ml = mgi[..., None] * tm + a                  # [n_m, n_n, mg, ng, F]
    m = im[..., None] * g.tmb + ml
    n = (in_ * g.tnb + ni)[..., None]
    ok = (a < tm) & (ml < g.tmb) & (m < M) & (n < N)
    vals = np.where(ok[..., None, None], wt[np.where(ok, m, 0), np.where(ok, n, 0)], 0)   # [.., F, K, K]
    vals = np.moveaxis(vals, 4, -1)                                                       # [.., K, K, F]
    vals = vals.reshape(vals.shape[:-1] + (g.w_group_beats, v))
    return pack_beats(vals, g.layer.bits).reshape(-1)


def param_records(bias: np.ndarray, mult: np.ndarray, shift: np.ndarray) -> np.ndarray:
    b = bias.astype(np.int64) & 0xFFFFFFFF
    return (b.astype(object) | (mult.astype(np.int64).astype(object) << 32)
            | (shift.astype(np.int64).astype(object) << 48))


def pack_params(bias, mult, shift, g: LayerGeometry) -> np.ndarray:
    """Per output-channel tile, per tm group: p_group_beats beats; record r of beat b is lane b*R + r."""
    M, tm, rpb = g.layer.out_channels, g.chunk.tm, g.mem.records_per_beat
    rec = param_records(bias, mult, shift)
    a = np.arange(g.p_group_beats * rpb)
    im, mgi = np.meshgrid(np.arange(g.n_m), np.arange(g.mg), indexing="ij")
    ml = mgi[..., None] * tm + a
    m = im[..., None] * g.tmb + ml
    ok = (a < tm) & (ml < g.tmb) & (m < M)
    vals = np.where(ok, rec[np.where(ok, m, 0)], 0).reshape(g.n_m, g.mg, g.p_group_beats, rpb)
    out = np.zeros(vals.shape[:-1], dtype=object)
    for r in range(rpb):
        out = out + (vals[..., r].astype(object) << (r * PARAM_RECORD_BITS))
    return out.reshape(-1)


def layer_image(g: LayerGeometry, x, wt, bias, mult, shift, base: int = 0):
    """Lay one layer's operands out in memory from `base`. Returns (Addresses, {addr: beat}, end address)."""
    act = pack_activations(x, g.layer.bits, g.mem.bus_bits)
    w = pack_weights(wt, g)
    p = pack_params(bias, mult, shift, g)
    ho, wo = g.layer.out_size
    out_beats = ho * wo * g.out_nb
    a_act = base
    a_w = a_act + len(act)
    a_p = a_w + len(w)
    a_out = a_p + len(p)
    end = a_out + out_beats
    if end > (1 << g.mem.addr_bits):
        from .errors import ConfigError
        raise ConfigError("memory.addr_bits", g.mem.addr_bits,
                          f"enough address bits for {end} beats (layer {g.layer.name!r})")
    image = {}
    for start, arr in ((a_act, act), (a_w, w), (a_p, p)):
        for i, beat in enumerate(arr):
            image[start + i] = int(beat)
    return Addresses(a_act, a_w, a_p, a_out), image, end


def vector_image(g: LayerGeometry, a, b=None, base: int = 0):
    """Lay out a vector op's operands from `base`: a, then b (an add), then the output.
    Returns (Addresses with a at act_base and b at w_base, {addr: beat}, end address)."""
    bus = g.mem.bus_bits
    beats = [pack_activations(a, g.layer.bits, bus)] + ([pack_activations(b, g.layer.bits, bus)] if b is not None
                                                          else [])
    starts, at = [], base
    for arr in beats:
        starts.append(at)
        at += len(arr)
    ho, wo = g.layer.out_size
    end = at + ho * wo * g.out_nb
    if end > (1 << g.mem.addr_bits):
        from .errors import ConfigError
        raise ConfigError("memory.addr_bits", g.mem.addr_bits,
                          f"enough address bits for {end} beats (layer {g.layer.name!r})")
    image = {s + i: int(v) for s, arr in zip(starts, beats) for i, v in enumerate(arr)}
    return Addresses(starts[0], starts[1] if len(starts) > 1 else 0, 0, at), image, end
