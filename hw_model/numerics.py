"""The integer arithmetic the hardware runs, in numpy: the reference the RTL is checked against.

Activations are unsigned `bits`-bit integers (zero point 0, they follow a ReLU); weights are signed
`bits`-bit integers; products accumulate in int32 (they cannot overflow for the supported shapes);
outputs are requantized per output channel:

    y   = (acc + bias) * mult                    (mult: unsigned 16-bit)
    out = clamp((y + ((1 << shift) >> 1)) >> shift, 0, 2**out_bits - 1)     (arithmetic shift, shift < 64)

except for out_bits = 32 (the classifier's logits): out = acc + bias as a signed 32-bit integer.
Vector ops (per-tensor multipliers of 16 bits, rounding half up):

    add:     out = clamp((a * mult_a + b * mult_b + ((1 << shift) >> 1)) >> shift, 0, 2**out_bits - 1)
    avgpool: out = clamp((sum_hw x * mult_a + ((1 << shift) >> 1)) >> shift, 0, 2**out_bits - 1)
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .config import LOGIT_BITS, MULT_BITS, SHIFT_BITS


def conv2d_int(x: np.ndarray, w: np.ndarray, stride: int, padding: int, groups: int = 1) -> np.ndarray:
    """x: [N, H, W] ints, w: [M, N/groups, K, K] ints -> [M, Ho, Wo] int64 accumulators (correlation)."""
    x = np.pad(x.astype(np.int64), ((0, 0), (padding, padding), (padding, padding)))
    k = w.shape[-1]
    win = sliding_window_view(x, (k, k), axis=(1, 2))[:, ::stride, ::stride]  # [N, Ho, Wo, K, K]
    n_g, m_g = x.shape[0] // groups, w.shape[0] // groups
    return np.concatenate([np.einsum("nhwij,mnij->mhw", win[g * n_g:(g + 1) * n_g],
                                     w[g * m_g:(g + 1) * m_g].astype(np.int64), optimize=True)
                           for g in range(groups)], axis=0)


def dense_weights(w: np.ndarray, groups: int) -> np.ndarray:
    """[M, N/groups, K, K] grouped weights -> [M, N, K, K] block-diagonal dense weights."""
    m, n_g = w.shape[:2]
    m_g = m // groups
    out = np.zeros((m, n_g * groups) + w.shape[2:], dtype=w.dtype)
    for g in range(groups):
        out[g * m_g:(g + 1) * m_g, g * n_g:(g + 1) * n_g] = w[g * m_g:(g + 1) * m_g]
    return out


def _int64(a):
    """numpy arrays as int64 (object arrays of Python ints stay as they are); other array types (torch's form in
    the search) are the caller's, already int64."""
    if isinstance(a, np.ndarray) and a.dtype != object:
        return a.astype(np.int64)
    return a


def round_shift_clamp(y, shift, out_bits: int):
    """clamp((y + ((1 << shift) >> 1)) >> shift, 0, 2^out_bits - 1): rounding half up, arithmetic shift. `y` an
    int64 array (numpy or torch alike), `shift` an int or an array broadcast against it."""
    return ((y + ((1 << shift) >> 1)) >> shift).clip(0, (1 << out_bits) - 1)


def requantize(acc, bias, mult, shift, out_bits: int, axis: int = 0):
    """acc: int64 accumulators with the output channels on `axis`; bias/mult/shift: [M]. Returns unsigned
    out_bits integers as int64 (the logits, out_bits = LOGIT_BITS: acc + bias as signed 32-bit). The one
    definition of the requantizer: numpy here, torch tensors in the search's fast form."""
    sh = (slice(None),) + (None,) * (acc.ndim - axis - 1)
    acc, bias = _int64(acc), _int64(bias)
    if out_bits == LOGIT_BITS:
        y = acc + bias[sh]
        return ((y + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)
    y = (acc + bias[sh]) * _int64(mult)[sh]
    return round_shift_clamp(y, _int64(shift)[sh], out_bits)


def random_layer_data(rng: np.random.Generator, layer, *, realistic_scale: bool = True):
    """Random inputs, weights and requantization parameters for a layer (for tests and the sim CLI)."""
    n, m, k = layer.in_channels, layer.out_channels, layer.kernel
    h, w = layer.in_size
    b = layer.bits
    x = rng.integers(0, 1 << b, size=(n, h, w), dtype=np.int64)
    wt = rng.integers(-(1 << (b - 1)), 1 << (b - 1), size=(m, n // layer.groups, k, k), dtype=np.int64)
    bias = rng.integers(-(1 << 12), 1 << 12, size=m, dtype=np.int64)
    mult = rng.integers(1 << 14, 1 << 16, size=m, dtype=np.int64)
    # Scale so that outputs spread over the output range instead of saturating: |acc| ~ sqrt(n k^2) 2^(2b-2).
    spread = np.log2(max(1.0, np.sqrt(n // layer.groups * k * k)) * (1 << (2 * b - 2)) * (1 << 15)) - layer.out_bits + 1
    shift = np.clip(np.round(spread + rng.uniform(-1, 1, size=m)), 0, 63).astype(np.int64) if realistic_scale \
        else rng.integers(0, 1 << SHIFT_BITS, size=m, dtype=np.int64)
    return x, wt, bias, mult, shift


def add_int(a: np.ndarray, b: np.ndarray, mult_a: int, mult_b: int, shift: int, out_bits: int) -> np.ndarray:
    """Residual add of two unsigned tensors of the same shape."""
    return round_shift_clamp(a.astype(np.int64) * mult_a + b.astype(np.int64) * mult_b, shift, out_bits)


def avgpool_int(x: np.ndarray, mult: int, shift: int, out_bits: int) -> np.ndarray:
    """Global average pool of x [C, H, W] -> [C, 1, 1]."""
    return round_shift_clamp(x.astype(np.int64).sum(axis=(1, 2), keepdims=True) * mult, shift, out_bits)


def random_vector_data(rng: np.random.Generator, layer, *, realistic_scale: bool = True):
    """Random inputs and multipliers for an add or an avgpool layer: (a, b or None, (mult_a, mult_b, shift)).
    realistic_scale=False draws the shift from 0..1 and the multipliers over their whole range (shift 0 and 1 are the
    rounding's corners; most outputs saturate, the clamp's corner)."""
    c, (h, w), q = layer.in_channels, layer.in_size, layer.bits
    a = rng.integers(0, 1 << q, size=(c, h, w), dtype=np.int64)
    if not realistic_scale:
        b = None if layer.op == "avgpool" else rng.integers(0, 1 << q, size=(c, h, w), dtype=np.int64)
        ma, mb = (int(v) for v in rng.integers(1, 1 << MULT_BITS, size=2))
        return a, b, (ma, 0 if b is None else mb, int(rng.integers(0, 2)))
    if layer.op == "avgpool":
        # mean of q-bit values rescaled to out_bits: mult / 2^shift ~ 2^(out_bits - q) / (h*w)
        shift = int(rng.integers(12, 20))
        mult = int(min(65535, round((1 << shift) * (1 << layer.out_bits) / (1 << q) / (h * w)
                                    * rng.uniform(0.5, 2.0))))
        return a, None, (max(1, mult), 0, shift)
    b = rng.integers(0, 1 << q, size=(c, h, w), dtype=np.int64)
    shift = int(rng.integers(8, 17))
    scale = (1 << shift) * (1 << layer.out_bits) / (1 << (q + 1))
    ma, mb = (int(min(65535, round(scale * rng.uniform(0.3, 2.5)))) for _ in range(2))
    return a, b, (ma, mb, shift)
