"""The hand-written cells generated designs instantiate: the multiplier (an 18 x 18 product with its registers)
and the kept register (a copy synthesis does not merge). rtl_gen.emit.convert appends their Verilog."""
from __future__ import annotations

from amaranth import ClockSignal, Const, Instance, ResetSignal, Signal, signed

from hw_model import timing
from hw_model.config import MULT_BITS

from .pipeline import delayed

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
