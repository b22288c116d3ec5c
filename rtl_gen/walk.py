"""Address generators without multipliers.

Every address the chunks compute is affine in the counters of a loop nest: value = init + sum_L coef_L * i_L.
Written as products of counters and cfg registers, each term costs a multiplier (a DSP on an FPGA, and a long
combinational path). `nested_sum` keeps the same value with one adder per loop level instead: a register per
level holds the value at the start of that level's current iteration; when level L advances (every level
inside it at its end), it and every level inside it take base_L + coef_L. Constant factors are shifts and adds
(`times`), and a run-time factor with a few possible values (the stride) is a table (`times_small`).
"""
from __future__ import annotations

from functools import reduce
from operator import and_, or_

from amaranth import Array, Cat, ClockSignal, Const, Instance, Module, Mux, ResetSignal, Signal, signed
from amaranth.hdl import EnableInserter

from hw_model import timing
from hw_model.config import MULT_BITS

CARRY = "carry"  # a level that continues from the innermost level's next value (a linear count)


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


def registered_lasts(m, cfg, names, bounds: dict) -> dict:
    """{name: cfg[name] - 1, registered}: loop ends compare counters with these (no subtractor in a counter's
    path). Each is count_width(bounds[name]) bits wide, as the counters compared with it (bounds from
    hw_model.mapping.field_bounds, which check_fits enforces). cfg is latched a cycle before start
    (hw_model.timing.TOP_DISPATCH), so they are valid from the cycle after start; the chunks' first comparisons
    come after PRE."""
    lasts = {name: Signal(count_width(bounds[name]), name=f"last_{name}", reset_less=True) for name in names}
    m.d.sync += [r.eq(cfg[name] - 1) for name, r in lasts.items()]   # outside any condition
    return lasts


class Parts:
    """A chunk's logic built as parts, each a module of its own, so that each can be held (the AXI stall) by a
    copy of the hold register of its own: one copy over a whole chunk drives the enables of thousands of
    flip-flops spread over the chunk, and cannot sit beside all of them. The parts hold together (the copies are
    loaded from one decision in the same cycle), so which part a register is in changes nothing but placement."""

    def __init__(self, names):
        self.modules = {name: Module() for name in names}
        # each part's run (not held): what a cell the enable cannot reach (an Instance) takes as its clock enable
        self.runs = {name: Signal(name=f"run_{name}") for name in names}

    def run(self, name: str) -> Signal:
        return self.runs[name]

    def __getitem__(self, name: str) -> Module:
        return self.modules[name]

    def assemble(self, hold=None) -> Module:
        """One module with the parts as submodules; with `hold` (a signal of len(self) bits), part i runs
        while bit i is low."""
        m = Module()
        for i, (name, part) in enumerate(self.modules.items()):
            m.submodules[name] = part if hold is None else EnableInserter(~hold[i])(part)
            m.d.comb += self.runs[name].eq(1 if hold is None else ~hold[i])
        return m


def pipe_reg(m, value, name: str):
    """value, registered (a cycle later). Flags of one or two bits (valid bits, the tag kind, write enables) keep
    the reset; wider values (addresses, selects, decoded cfg values) are data, without one (docs/architecture.md
    "Resets")."""
    r = Signal(value.shape(), name=name, reset_less=len(value) > 2)
    m.d.sync += r.eq(value)
    return r


def delayed(m, value, n: int, name: str):
    """value registered n times (pipe_reg each; n = 0: value itself)."""
    for i in range(n):
        value = pipe_reg(m, value, f"{name}{i + 1}")
    return value


def read_request(m, en, addr, port):
    """A chunk's read request (strobe en, beat address addr, this cycle) onto its memory port (port.mem_rd_en,
    port.mem_rd_addr) through timing.READ_REQ_STAGES registers: the port is a flip-flop, and so is the stage
    before it, so that the wire from the chunk to the memory (on an FPGA the AXI bridge, across the die) is a
    cycle of its own, away from the chunk's walk and from the bridge's logic. The port's address is 0 when
    its strobe is, so that a bridge serving chunks one at a time takes the OR of their ports (rtl_gen.axi); it
    is zeroed in the last stage, by the stage before's strobe register (the walk's strobe, logic, drives that
    register alone, not the address bits as well)."""
    n = timing.READ_REQ_STAGES
    for i in range(n):
        en, addr = pipe_reg(m, en, f"rd_en_r{i + 1}"), pipe_reg(m, Mux(en, addr, 0) if i == n - 1 else addr,
                                                                 f"rd_addr_r{i + 1}")
    m.d.comb += [port.mem_rd_en.eq(en), port.mem_rd_addr.eq(addr)]


# The multiplier cell: an 18 x 18 signed product with registers on its operands and on its product, clock enable
# `ce` (the hold does not reach into an Instance). Generated designs instantiate it under this placeholder name, and
# rtl_gen.emit.convert names it after the design and appends mul_cell_verilog: behavioural Verilog for simulation
# and for tools that pack registers into their DSP cells themselves (Vivado, synth_xilinx), and with
# TRIPS_ECP5_DSP defined (the ECP5 flow) a MULT18X18D with its own input and output registers, which yosys does
# not pack: nextpnr then times the cell as registers, not as 4-5 ns of logic between two wires.
MUL_CELL = "TRIPS_MUL_CELL"
MUL_PORT = 18
ECP5_DSP_DEFINE = "TRIPS_ECP5_DSP"    # the ECP5 flow's yosys script defines it (fpga.scripts)


def dsp_product(m, a, b, name: str, run):
    """a * b in one multiplier cell (MUL_CELL: a MULT18X18D / DSP48E1), timing.MULT_STAGES registers deep: the
    operands and the product inside the cell, then the product again (MULT_STAGES - 2 times) outside. A
    multiplier's sites are few and fixed on the die, so a placer may put the cell far from both its operands'
    logic and its product's user: the cell's registers split each long wire from its own delay. run: the clock
    enable of the part the product is in (Parts.run). Operands: signed up to 18 bits, unsigned up to 17."""
    assert timing.MULT_STAGES >= 2
    for v in (a, b):
        assert len(v) <= MUL_PORT - (0 if v.shape().signed else 1), f"{name}: a {v.shape()} operand"
    shape = (a * b).shape()
    a18, b18 = Signal(signed(MUL_PORT), name=f"{name}_ax"), Signal(signed(MUL_PORT), name=f"{name}_bx")
    p36 = Signal(signed(2 * MUL_PORT), name=f"{name}_p36")
    m.d.comb += [a18.eq(a), b18.eq(b)]           # sign- or zero-extended as their shapes say
    m.submodules[f"{name}_mul"] = Instance(MUL_CELL, i_clk=ClockSignal(), i_ce=run, i_a=a18, i_b=b18, o_p=p36)
    p = Signal(shape, name=f"{name}_p")
    m.d.comb += p.eq(p36[:shape.width])          # the exact product fits its shape
    return delayed(m, p, timing.MULT_STAGES - 2, f"{name}_p")


def mul_cell_verilog(module: str) -> str:
    """The Verilog of MUL_CELL named `module` (see MUL_CELL)."""
    regs = ", ".join(f'.{k}("{v}")' for r in ("INPUTA", "INPUTB", "OUTPUT")
                     for k, v in ((f"REG_{r}_CLK", "CLK0"), (f"REG_{r}_CE", "CE0"), (f"REG_{r}_RST", "RST0")))
    pins = ", ".join([f".A{i}(a[{i}])" for i in range(MUL_PORT)] + [f".B{i}(b[{i}])" for i in range(MUL_PORT)]
                     + [f".P{i}(p[{i}])" for i in range(2 * MUL_PORT)])
    return f"""
module {module}(input clk, input ce, input [{MUL_PORT - 1}:0] a, input [{MUL_PORT - 1}:0] b,
    output [{2 * MUL_PORT - 1}:0] p);
`ifdef {ECP5_DSP_DEFINE}
  MULT18X18D #({regs}, .GSR("DISABLED"), .RESETMODE("SYNC")) dsp (
    {pins},
    .SIGNEDA(1'b1), .SIGNEDB(1'b1), .SOURCEA(1'b0), .SOURCEB(1'b0), .CLK0(clk), .CE0(ce), .RST0(1'b0));
`else
  reg [{MUL_PORT - 1}:0] a_r = 0, b_r = 0;
  reg [{2 * MUL_PORT - 1}:0] p_r = 0;
  // signed product: the low {2 * MUL_PORT} bits of the sign-extended operands' product
  always @(posedge clk)
    if (ce) begin
      a_r <= a;
      b_r <= b;
      p_r <= {{{{{MUL_PORT}{{a_r[{MUL_PORT - 1}]}}}}, a_r}} * {{{{{MUL_PORT}{{b_r[{MUL_PORT - 1}]}}}}, b_r}};
    end
  assign p = p_r;
`endif
endmodule
"""


# The kept register: a register (clock enable, synchronous reset to its INIT) that synthesis keeps as a module of
# its own. yosys merges registers with the same input and enable (opt_merge) whatever their wires' attributes, so
# copies of one register made to split its fan-out (each copy beside the logic it drives) would be one register
# again. Generated designs instantiate it under this placeholder name; rtl_gen.emit.convert names it after the
# design and appends kept_cell_verilog.
KEPT_CELL = "TRIPS_KEPT_CELL"


def kept_reg(m, d, name: str, run=Const(1, 1), init: int = 0):
    """d registered in a KEPT_CELL (a copy synthesis does not merge), loaded while `run` is high (in a part, the
    part's Parts.run: the hold does not reach into an Instance; outside the parts, every cycle), `init` after reset. A register of the part with the same
    input, enable and reset has the same value in every cycle."""
    q = Signal(len(d), name=name, init=init)
    m.submodules[name] = Instance(KEPT_CELL, p_WIDTH=len(d), p_INIT=Const(init, len(d)), i_clk=ClockSignal(),
                                  i_rst=ResetSignal(), i_en=run, i_d=d, o_q=q)
    return q


def kept_cell_verilog(module: str) -> str:
    """The Verilog of KEPT_CELL named `module` (see KEPT_CELL)."""
    return (f"\n(* keep_hierarchy *)\nmodule {module}(clk, rst, en, d, q);\n"
            "  parameter WIDTH = 1;\n  parameter [WIDTH-1:0] INIT = 0;\n"
            "  input clk, rst, en;\n  input [WIDTH-1:0] d;\n  output reg [WIDTH-1:0] q = INIT;\n"
            "  always @(posedge clk)\n    if (rst) q <= INIT;\n    else if (en) q <= d;\nendmodule\n")


def split_product(m, x, k, name: str, run):
    """x * k for an x wider than a multiplier's port (k at most MULT_BITS wide): two products (dsp_product, each
    MULT_STAGES registers deep), of x's low MULT_BITS bits and of the rest (signed as x); returns their sum, x * k
    exactly, for the next stage to register. Each product fits one MULT18X18D / DSP48E1."""
    lo_x = x[:MULT_BITS]
    hi_x = x[MULT_BITS:].as_signed() if x.shape().signed else x[MULT_BITS:]
    lo, hi = dsp_product(m, lo_x, k, f"{name}_lo", run), dsp_product(m, hi_x, k, f"{name}_hi", run)
    return (hi << MULT_BITS) + lo


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
