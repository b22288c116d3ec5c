"""The requantizer's narrow shifter (rtl_gen.walk.narrow_shift + round_clamp), simulated with Amaranth, against
hw_model.numerics.requantize: every shift, every output width, values at and around each clamp."""
import numpy as np
import pytest
from amaranth import Module, Signal, signed, unsigned
from amaranth.sim import Simulator

from hw_model.config import MULT_BITS, SHIFT_BITS
from hw_model.numerics import requantize
from rtl_gen.walk import narrow_shift, round_clamp, shift_less_one

YW = 50     # the conv chunk's product width: (acc + bias) * mult


def _requant_dut(t_shape, keep):
    m = Module()
    t, shift, omax = Signal(t_shape), Signal(SHIFT_BITS), Signal(8)
    whole, q = Signal(), Signal(keep - 1)
    z = narrow_shift(m, t, shift_less_one(shift), keep, "z")
    m.d.sync += whole.eq(shift == 0)
    m.d.comb += q.eq(round_clamp(z, whole, omax, keep - 1, signed_in=t_shape.signed))
    return m, t, shift, omax, q


def _cases(rng, signed_in, n, max_ob):
    """(y, shift, out_bits): random products over the whole width, and values within a few units of each clamp
    (0, omax, and the rounding boundaries around them) for every shift."""
    lo, hi = (-(1 << (YW - 1)), 1 << (YW - 1)) if signed_in else (0, 1 << (YW - 2))
    out = []
    for _ in range(n):
        ob = int(rng.integers(4, max_ob + 1))
        s = int(rng.integers(0, 1 << SHIFT_BITS))
        kind = rng.integers(3)
        if kind == 0:
            y = int(rng.integers(lo, hi))
        else:   # around the clamp: r near 0 or near omax, i.e. y near 0 or (omax +- 1/2) << s
            edge = 0 if kind == 1 else ((1 << ob) - 1) * 2 + 1
            y = (edge << s >> 1) + int(rng.integers(-3, 4)) * max(1, (1 << s) >> 2) + int(rng.integers(-2, 3))
            y = min(max(y, lo), hi - 1)
        out.append((y, s, ob))
    return out


def _check(t_shape, keep, signed_in):
    rng = np.random.default_rng(11)
    dut, t, shift, omax, q = _requant_dut(t_shape, keep)
    cases = _cases(rng, signed_in, 1500, keep - 1)
    got = []
    sim = Simulator(dut)
    sim.add_clock(1e-6)

    async def bench(ctx):
        for y, s, ob in cases:
            ctx.set(t, y)
            ctx.set(shift, s)
            ctx.set(omax, (1 << ob) - 1)
            await ctx.tick()
            got.append(ctx.get(q))
    sim.add_testbench(bench)
    sim.run()
    for (y, s, ob), g in zip(cases, got):
        # requantize with acc = y, bias 0, mult 1: round half up, shift, clamp to [0, 2^ob - 1] (Python ints)
        want = int(requantize(np.array([y], dtype=object), np.array([0], dtype=object), np.array([1], dtype=object),
                              np.array([s], dtype=object), ob)[0])
        assert g == want, (y, s, ob, g, want)
    assert len(got) == len(cases) == 1500      # (zip above stops at the shorter)


@pytest.mark.parametrize("keep", [5, 7, 9])     # a chunk's widest requantized output + 1
def test_narrow_shift_requantizes_signed_products_exactly(keep):
    _check(signed(YW), keep, True)


def test_narrow_shift_requantizes_unsigned_sums_exactly():
    _check(unsigned(YW - 2), 9, False)
