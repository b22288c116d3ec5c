"""Quantization that is the hardware's integer arithmetic (hw_model.numerics), with straight-through gradients.

Conventions (the RTL's): activations unsigned `b`-bit with a per-tensor scale (they follow a ReLU, zero point 0);
weights signed `b`-bit, symmetric per output channel (levels -(2^(b-1)-1) .. 2^(b-1)-1); int32 accumulation;
per-output-channel requantization (acc + bias) * mult >> shift with rounding, clamped to [0, 2^ob - 1]
(hw_model.numerics.requantize, the one definition, which takes torch tensors as well).

Two uses:
- search (weight steps): fake quantization of inputs and weights, mixed over bit-widths by heterogeneous
  sampling: the layer's input and weight are each replaced by the weighted sum of their J quantized copies and
  ONE convolution runs (memory does not grow with J);
- fine-tuning and export: the forward value is computed exactly as the hardware computes it (integers in
  float64, which holds every int32 accumulator exactly), the gradient flows through the real-valued path.
"""
from __future__ import annotations

import torch

from hw_model.config import MULT_BITS, SHIFT_BITS

# the record holds shifts up to 2^SHIFT_BITS - 1; one less keeps 1 << shift inside int64 arithmetic
MAX_SHIFT = (1 << SHIFT_BITS) - 2


def ste_round(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.round(x) - x).detach()


def act_levels(bits: int) -> int:
    return (1 << bits) - 1


def weight_levels(bits: int) -> int:
    return (1 << (bits - 1)) - 1


def fake_quant_act(x: torch.Tensor, scale: torch.Tensor, bits: int) -> torch.Tensor:
    """Unsigned activations: scale * clamp(round(x / scale), 0, 2^b - 1), straight-through."""
    q = torch.clamp(ste_round(x / scale), 0, act_levels(bits))
    return q * scale


def weight_scale(w: torch.Tensor, bits: int, per_channel: bool = True) -> torch.Tensor:
    """Symmetric scale max |w| / (2^(b-1) - 1), per output channel (or one for the tensor), shape [M, 1, 1, 1]."""
    m = w.detach().abs().flatten(1).amax(dim=1).clamp_min(1e-8)
    if not per_channel:
        m = m.max().expand_as(m)
    return (m / weight_levels(bits)).view(-1, *([1] * (w.dim() - 1)))


def fake_quant_weight(w: torch.Tensor, bits: int) -> torch.Tensor:
    s = weight_scale(w, bits)
    lv = weight_levels(bits)
    return torch.clamp(ste_round(w / s), -lv, lv) * s


def int_weight(w: torch.Tensor, bits: int, per_channel: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """(integer weights, scale per output channel [M]), as QConv quantizes them: round(w / max|w| * L)."""
    w = w.detach().double()
    m = w.abs().flatten(1).amax(dim=1).clamp_min(1e-8)
    if not per_channel:
        m = m.max().expand_as(m)
    lv = weight_levels(bits)
    return torch.clamp(torch.round(w / m.view(-1, *([1] * (w.dim() - 1))) * lv), -lv, lv), m / lv


def mult_shift(m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Real multipliers m > 0 -> (mult, shift) with mult < 2^16 and m ~ mult / 2^shift, as precise as the
    MULT_BITS allow (0 <= shift <= MAX_SHIFT)."""
    m = m.double().clamp_min(1e-30)
    e = torch.floor(torch.log2(m))                       # m in [2^e, 2^(e+1))
    shift = torch.clamp(MULT_BITS - 1 - e, 0, MAX_SHIFT)
    mult = torch.round(m * torch.pow(2.0, shift))
    over = mult >= (1 << MULT_BITS)
    shift = torch.where(over, shift - 1, shift)
    mult = torch.where(over, torch.round(m * torch.pow(2.0, shift)), mult)
    return mult.clamp(1, (1 << MULT_BITS) - 1).long(), shift.long()
