"""Constant and small run-time products without a multiplier cell, and counter widths."""
from __future__ import annotations

from functools import reduce

from amaranth import Array, Const

def times(x, k: int):
    """x * k for a constant k >= 0, as shifts and adds (no multiplier cell)."""
    terms = [x << i for i in range(k.bit_length()) if k >> i & 1]
    return reduce(lambda a, b: a + b, terms) if terms else Const(0, 1)


def times_small(s, k: int, s_max: int):
    """s * k for a run-time s in [0, s_max] and a constant k: a table lookup, no multiplier."""
    width = max(1, (s_max * k).bit_length())
    return Array(Const(i * k, width) for i in range(s_max + 1))[s]


def count_width(bound: int) -> int:
    """Bits of a counter over [0, bound - 1] (at least 1)."""
    return max(1, (bound - 1).bit_length())
