"""Loop nests without multipliers: counters with end flags and advance conditions in flip-flops (LoopNest,
Moves, CopiedMoves), and the affine sums over them (nested_sum).

Every address the chunks compute is affine in the counters of a loop nest: value = init + sum_L coef_L * i_L.
Written as products of counters and cfg registers, each term costs a multiplier (a DSP on an FPGA, and a long
combinational path). `nested_sum` keeps the same value with one adder per loop level instead: a register per
level holds the value at the start of that level's current iteration; when level L advances (every level
inside it at its end), it and every level inside it take base_L + coef_L. Constant factors are shifts and adds
(`arith.times`), and a run-time factor with a few possible values (the stride) is a table (`arith.times_small`).
"""
from __future__ import annotations

from functools import reduce
from operator import and_, or_

from amaranth import Const, Mux, Signal

from .arith import count_width
from .pipeline import pipe_reg

CARRY = "carry"  # a level that continues from the innermost level's next value (a linear count)


def registered_lasts(m, cfg, names, bounds: dict) -> dict:
    """{name: cfg[name] - 1, registered}: loop ends compare counters with these (no subtractor in a counter's
    path). Each is count_width(bounds[name]) bits wide, as the counters compared with it (bounds from
    hw_model.mapping.field_bounds, which check_fits enforces). cfg is latched a cycle before start
    (hw_model.timing.TOP_DISPATCH), so they are valid from the cycle after start; the chunks' first comparisons
    come after PRE."""
    lasts = {name: Signal(count_width(bounds[name]), name=f"last_{name}", reset_less=True) for name in names}
    m.d.sync += [r.eq(cfg[name] - 1) for name, r in lasts.items()]   # outside any condition
    return lasts


class Moves:
    """Which level of a loop nest (outer first) steps on its next advance, from the levels' end flags:
    inc[L] (every level inside L at its end, L not: L steps, the levels inside it go back to 0), wrap (every level at
    its end: the nest starts over) and upto[j] = wrap | inc[0] | ... | inc[j] (a nested_sum register of level j
    changes). `Moves.of(ends)` computes them combinationally; `Moves.registered` keeps them in flip-flops, loaded
    with `load(ends)` wherever the caller sets the end flags, so that a nested_sum's clock enables and multiplexer
    selects read registers (the step controller, whose loop-end flags fan out to every step sum)."""

    def __init__(self, inc, wrap, upto):
        self.inc, self.wrap, self.upto = inc, wrap, upto

    @staticmethod
    def _exprs(ends):
        n = len(ends)
        all_end = [reduce(and_, ends[L + 1:], Const(1, 1)) for L in range(n)]   # every level inside L at its end
        inc = [all_end[L] & ~ends[L] for L in range(n)]
        wrap = all_end[0] & ends[0]
        upto = [reduce(or_, inc[:j + 1], wrap) for j in range(n)]
        return inc, wrap, upto

    @classmethod
    def of(cls, ends):
        return cls(*cls._exprs(list(ends)))

    @classmethod
    def registered(cls, n: int, name: str):
        return cls([Signal(name=f"{name}_inc{L}") for L in range(n)], Signal(name=f"{name}_wrap"),
                   [Signal(name=f"{name}_upto{j}") for j in range(n)])

    def load(self, ends):
        """Statements (for m.d.sync) that set registered flags for the end flags `ends` (their next values)."""
        inc, wrap, upto = self._exprs(list(ends))
        return ([r.eq(v) for r, v in zip(self.inc, inc)] + [self.wrap.eq(wrap)]
                + [r.eq(v) for r, v in zip(self.upto, upto)])


def flop(m, name: str, init: int = 0):
    """A one-bit flip-flop q with its next value d as a signal of its own (d follows q unless the caller assigns it,
    combinationally, after this call): (q, d). Copies of q (kept_reg of d) then equal q in every cycle."""
    q, d = Signal(name=name, init=init), Signal(name=f"{name}_d")
    m.d.comb += d.eq(q)
    m.d.sync += q.eq(d)
    return q, d


class CopiedMoves(Moves):
    """Moves in flip-flops (as Moves.registered) whose next values are signals (`d`): `load(ends)` returns
    combinational statements (for m.d.comb), and `flags_d` lists the next values in the order `of_flags` reads
    them back, so that a consumer can take a copy of its own (kept_reg of Cat(*flags_d)): the step controller's
    flags reach every step sum, each a few hundred flip-flops over the chunk."""

    def __init__(self, m, n: int, name: str):
        q = Moves.registered(n, name)
        super().__init__(q.inc, q.wrap, q.upto)
        self.n = n
        self.d = Moves.registered(n, f"{name}_d")          # combinational here: next values
        self.flags_d = self._flat(self.d)
        for r, d in zip(self._flat(self), self.flags_d):
            m.d.comb += d.eq(r)
            m.d.sync += r.eq(d)

    @staticmethod
    def _flat(mv) -> list:
        return [*mv.inc, mv.wrap, *mv.upto]

    def of_flags(self, bits) -> Moves:
        """A Moves read from bits laid out as flags_d (a copy's)."""
        n = self.n
        return Moves([bits[L] for L in range(n)], bits[n], [bits[n + 1 + j] for j in range(n)])

    def load(self, ends):
        return self.d.load(ends)


class LoopNest:
    """The counters of a loop nest (outer first; the innermost steps on each advance) with their end flags and
    advance conditions (Moves) in flip-flops: what reads them (nested_sum's enables and selects, the caller's
    control) reads registers, not counter compares. lasts[L]: level L's last count (count - 1), a register
    stable from before `restart`; a counter is as wide as its last. The end flag of a level that wraps to 0 is
    whether its last is 0; of one that counts up, whether it was at its last less 1 (a register beside it).
    restart: every counter to 0 (takes priority over adv); adv: the nest advances."""

    def __init__(self, m, name: str, lasts, adv, restart):
        n = len(lasts)
        self.count = [Signal(len(last), name=f"{name}_i{L}") for L, last in enumerate(lasts)]
        self.ends = [Signal(name=f"{name}_e{L}") for L in range(n)]
        self.moves = mv = Moves.registered(n, f"{name}_mv")
        ones = [last == 0 for last in lasts]
        pens = [pipe_reg(m, last - 1, f"{name}_pen{L}") for L, last in enumerate(lasts)]
        # a level that changes on this advance (upto[L]): to count + 1 (inc[L]: its end iff at its last less 1)
        # or to 0 (its end iff its last is 0)
        moved_end = [Mux(mv.inc[L], self.count[L] == pens[L][:len(self.count[L])], ones[L]) for L in range(n)]
        with m.If(restart):
            m.d.sync += [c.eq(0) for c in self.count] + [e.eq(o) for e, o in zip(self.ends, ones)]
            m.d.sync += mv.load(ones)
        with m.Elif(adv):
            for L in range(n):
                with m.If(mv.upto[L]):
                    m.d.sync += [self.count[L].eq(Mux(mv.inc[L], self.count[L] + 1, 0)), self.ends[L].eq(moved_end[L])]
            m.d.sync += mv.load(Mux(mv.upto[L], moved_end[L], self.ends[L]) for L in range(n))


def nested_sum(m, name, shape, init, coefs, ends, adv, restart):
    """value = init + sum over levels L (outer first) of coef_L * i_L, where i_L is level L's loop counter.

    coefs[L]: a Value or int (the level's step), None (the level does not move the value: its advance takes
    the value back to its base), or CARRY (the level advances to the innermost stepping level's next value:
    with coefs (CARRY, None, 1) the value counts levels 0 and 2 as one linear index, resetting with level 1).
    ends: the levels' end flags (level L's counter is at its last value), or a Moves computed from them. adv: the
    nest advances this cycle (the innermost level steps). restart: every counter goes back to 0 (takes priority
    over adv).
    Returns (cur, nxt): the value for the current counters, and (combinationally) the value after one advance."""
    n = len(coefs)
    mv = ends if isinstance(ends, Moves) else Moves.of(ends)
    assert len(mv.inc) == n
    steps = [L for L in range(n) if coefs[L] is not None and coefs[L] is not CARRY]
    assert steps, "a nest needs a stepping level"
    inner = steps[-1]
    assert all(c is not CARRY for c in coefs[inner:]), "a CARRY level is outside the innermost stepping level"
    base, regs, prev = [], [], init
    for L, c in enumerate(coefs):
        if c is None:
            base.append(prev)
        else:
            r = Signal(shape, name=f"{name}_b{L}", reset_less=True)   # set by restart before use
            base.append(r)
            regs.append((L, r))
            prev = r
    cur = base[-1]
    nval = []
    for L, c in enumerate(coefs):
        if c is None:
            nval.append(base[L])
        elif c is CARRY:
            nval.append(base[inner] + coefs[inner])
        else:
            nval.append(base[L] + c)
    nxt = Signal(shape, name=f"{name}_next")
    m.d.comb += nxt.eq(Mux(mv.wrap, init, cur))
    for L in range(n):
        with m.If(mv.inc[L]):
            m.d.comb += nxt.eq(nval[L])
    for j, r in regs:
        # register j changes when a level at or outside j steps or the nest wraps: its enable is
        # restart | adv & upto[j] (one LUT when the flags are registers); the inc flags are one-hot
        val = nval[j]
        for L in reversed(range(j)):
            val = Mux(mv.inc[L], nval[L], val)
        with m.If(restart | (adv & mv.upto[j])):
            m.d.sync += r.eq(Mux(restart | mv.wrap, init, val))
    return cur, nxt


def walk_beats(m, rot, gb, last_sub, v_mod, v_div, lanes, last_k, after_pixel, goff, soff, plane, div_plane,
               rotv=None):
    """Advance a walk over the beats of one pixel, a sub-beat a cycle (the walk's LoopNest counts the sub-beats
    and beats; last_sub, last_k: its end flags). Beat k starts at lane rot = (k*V) mod lanes of lane group
    gb = (k*V) div lanes, kept incrementally (no dividers), and so are goff = gb * plane and soff = sub * plane
    (div_plane = v_div * plane). Shared by the input scatter (V_in values into tn lanes) and the output gather
    (tm lanes into V_out values). rotv (for a run-time v_mod): a register kept at rot + v_mod (its owner sets it
    to v_mod with rot = 0), so that whether the next beat wraps is a compare of a register, not an add then a
    compare."""
    m.d.sync += soff.eq(soff + plane)
    with m.If(last_sub):
        m.d.sync += soff.eq(0)
        if rotv is None:
            wrap, nxt = rot + v_mod >= lanes, rot + v_mod
        else:
            wrap, nxt = rotv >= lanes, rotv
        with m.If(wrap):
            m.d.sync += [rot.eq(nxt - lanes), gb.eq(gb + v_div + 1), goff.eq(goff + div_plane + plane)]
            if rotv is not None:
                m.d.sync += rotv.eq(nxt - lanes + v_mod)
        with m.Else():
            m.d.sync += [rot.eq(nxt), gb.eq(gb + v_div), goff.eq(goff + div_plane)]
            if rotv is not None:
                m.d.sync += rotv.eq(nxt + v_mod)
        with m.If(last_k):
            m.d.sync += [rot.eq(0), gb.eq(0), goff.eq(0)]
            if rotv is not None:
                m.d.sync += rotv.eq(v_mod)
            after_pixel()
