"""The requantizer's arithmetic in hardware: the shift by max(shift - 1, 0) without a full-width shifter, then the
rounding half up and the clamp (hw_model.numerics.requantize is the definition; tests/test_rtl_blocks.py checks these
against it). Shared by the conv chunk's writer and the vector chunk."""
from __future__ import annotations

from amaranth import Cat, Const, Mux, Signal, signed

from hw_model import timing
from hw_model.config import BIAS_BITS, MULT_BITS, REQ_PRODUCT_BITS, REQ_SUM_BITS, SHIFT_BITS

from .cells import kept_reg, split_product
from .pipeline import delayed


def shift_less_one(shift):
    """max(shift - 1, 0): how far round_clamp's input is shifted (see round_clamp)."""
    return Mux(shift == 0, 0, shift - 1)


def narrow_shift(m, t, s, keep: int, name: str):
    """z = t >> s (arithmetic when t is signed) for a round_clamp of at most keep - 1 output bits, without a
    full-width shifter. Registers (a pipeline stage, like a register of z) the low `keep` bits of z, whether t is
    negative and whether any bit of z above those is set; returns from them a value z' of keep + 2 bits, signed as
    t, that round_clamp maps exactly as it maps z: z itself where 0 <= z < 2^keep, 2^keep when z is larger (past
    the top clamp: round_clamp's omax < 2^(keep - 1)), -2^keep when z is negative (round half up of a negative z
    is <= 0: clamped to 0 whatever its value).
    The shifter keeps, after each of its levels, only the bits that can still end below bit `keep` (keep + the
    largest remaining shift); the rest are OR-ed into the flag (a bit folded ends at or above `keep` in z). On the
    conv chunk's 50-bit product and 6-bit shift that is 111 multiplexers instead of 300."""
    signed_in = t.shape().signed
    sign = t[-1] if signed_in else Const(0, 1)
    folds = []

    def trim(v, rem):
        if len(v) > keep + rem:
            folds.append(v[keep + rem:])
            v = v[:keep + rem]
        return v

    v = trim(t.as_unsigned(), (1 << len(s)) - 1)
    for k in reversed(range(len(s))):
        sh = 1 << k
        v = trim(Mux(s[k], v >> sh, v), sh - 1)     # (v unsigned: a negative t's bits do not matter)
    zl, neg, hi = (Signal(keep, name=f"{name}_lo", reset_less=True), Signal(name=f"{name}_neg", reset_less=True),
                   Signal(name=f"{name}_hi", reset_less=True))
    m.d.sync += [zl.eq(v), neg.eq(sign), hi.eq(Cat(*folds).any() if folds else 0)]
    zero, b0, b1 = Const(0, keep), Const(0, 1), Const(1, 1)
    if signed_in:
        return Mux(neg, Cat(zero, b1, b1), Mux(hi, Cat(zero, b1, b0), Cat(zl, b0, b0))).as_signed()
    return Mux(hi, Cat(zero, b1), Cat(zl, b0))


def round_clamp(z, whole, omax, width: int, signed_in: bool):
    """Round half up, then clamp to [0, omax], without a 2^shift-wide rounding half: for shift >= 1,
    (y + 2^(shift-1)) >> shift == ((y >> (shift-1)) + 1) >> 1 (floor division throughout), so the caller shifts
    y by shift_less_one(shift) into z and this adds 1 and halves; the clamp reads z itself (r < 0 <=> z <= -2,
    r > omax <=> z >= 2 omax + 1). whole (shift == 0) takes z as it is. Returns `width` bits."""
    r = Mux(whole, z[:width], (z[:width + 1] + 1)[1:width + 1])
    over = Mux(whole, z > omax, z > Cat(Const(0, 1), omax))
    q = Mux(over, omax, r)
    return Mux(Mux(whole, z < 0, z < -1), 0, q) if signed_in else q


def requant_lane(m, parts, a: int, acc, rec, decoded, q, width: int, logits: bool):
    """Output lane a of the conv chunk's writer: q <= requantize(acc, the lane's record rec) over the writer's
    stages (bias add, the product in two cells, the narrow shift, the rounding and clamp), or with `logits` and
    the layer's raw flag, acc + bias as it is. decoded: the writer's per-layer values (omax, raw at [4], [5])."""
    # the lane's own copies of the per-layer values it reads (stable while the chunk runs): one register each
    # would reach every lane's requantizer, across the chunk
    omax_a, raw_a = (kept_reg(m, decoded[i], f"{decoded[i].name[:-2]}{a}", parts.run("wr")) for i in (4, 5))
    sacc = Signal(signed(REQ_SUM_BITS), name=f"sacc{a}", reset_less=True)
    mlt = Signal(MULT_BITS, name=f"mlt{a}", reset_less=True)
    sh = Signal(SHIFT_BITS, name=f"sh{a}", reset_less=True)
    m.d.sync += [sacc.eq(acc + rec[0:BIAS_BITS].as_signed()),
                 mlt.eq(Mux(raw_a, 1, rec[BIAS_BITS:BIAS_BITS + MULT_BITS])),
                 sh.eq(Mux(raw_a, 0, rec[BIAS_BITS + MULT_BITS:]))]
    # round half up on the product shifted by max(shift - 1, 0) (round_clamp)
    # the shift travels beside the product, to t: MULT_STAGES + 1 stages after sacc
    sh_t = delayed(m, sh, timing.MULT_STAGES + 1, f"sh_t{a}")
    s1 = delayed(m, shift_less_one(sh), timing.MULT_STAGES + 1, f"s1_{a}")
    t = Signal(signed(REQ_PRODUCT_BITS), name=f"t{a}", reset_less=True)            # (acc + bias) * mult, exactly
    m.d.sync += t.eq(split_product(m, sacc, mlt, f"p{a}", parts.run("wr")))
    z = narrow_shift(m, t, s1, width + 1, f"z{a}")  # t >> s1, as far as round_clamp reads it
    whole = Signal(name=f"whole{a}")                # shift 0: no rounding
    m.d.sync += whole.eq(sh_t == 0)
    q_req = round_clamp(z, whole, omax_a, width, signed_in=True)
    if logits:                                      # raw: shift 0, so t itself
        t_raw = Signal(len(q), name=f"traw{a}", reset_less=True)
        m.d.sync += t_raw.eq(t[:len(q)])
        m.d.sync += q.eq(Mux(raw_a, t_raw, q_req))
    else:
        m.d.sync += q.eq(q_req)
