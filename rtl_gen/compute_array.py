"""The compute array of a conv chunk: the compute nest (mg, r, c, ng, kh, kw), one iteration a cycle, its buffer
addresses by additions, and the MAC datapath: operands out of the input and weight buffers, a tm x tn array of
q-bit multipliers (channel: an adder tree per output lane; depthwise: a lane per channel; pixel: a lane per
output channel and column), the reduction over (ng, kh, kw), and the int32 accumulator's read-modify-write.
Its pipeline is hw_model.timing.COMPUTE_DRAIN cycles deep, checked as it is built."""
from __future__ import annotations

from amaranth import Array, Cat, Const, Mux, Signal, signed, unsigned

from hw_model import timing
from hw_model.config import ACC_BITS
from hw_model.shape import ConvShape

from .arith import times_small
from .cells import dsp_product
from .nest import CARRY, LoopNest, nested_sum
from .pipeline import Stages, pipe_reg


class ComputeArray:
    def __init__(self, parts, cfg, g: ConvShape, ctl, bufs, last_of, tile_count, max_stride: int):
        """ctl: the StepController (c_go, kbank, abank, cn; c_busy is driven here); bufs: the ConvBuffers."""
        self.g, self.ctl, self.bufs = g, ctl, bufs
        self._nest(parts["ctl"], cfg, last_of, tile_count, max_stride)
        self._datapath(parts["mac"], parts, cfg)

    def _nest(self, m, cfg, last_of, tile_count, SMAX):
        g, st, b = self.g, self.ctl, self.bufs
        PX, DW, V_IN, TP = g.pixel, g.depthwise, g.v_in, g.tp
        D_IN, D_W, D_ACC = g.d_in, g.d_w, g.d_acc
        NBK, LOG_NBK, COLSB, ROWS_MAX = g.nbk, g.log_nbk, g.colsb, g.rows_max
        c_go, kbank = st.c_go, st.kbank
        S = cfg["stride"]
        c_bank = Signal()
        c_abank = Signal()
        c_first_n = Signal()
        c_run = Signal()
        c_drain = Signal(range(timing.COMPUTE_DRAIN + 1))
        # the compute nest (mg, r, c, ng, kh, kw), one iteration a cycle: counters, end flags and advance
        # conditions in flip-flops (nest.LoopNest)
        c_nest = LoopNest(m, "c", [last_of(f) for f in ("mg", "trb", "cgs", "ng", "kernel", "kernel")], c_run, c_go)
        i_mg, i_r, i_c, i_ng, i_kh, i_kw = c_nest.count
        e_mg, e_r, e_c, e_ng, e_kh, e_kw = c_nest.ends
        with m.If(c_go):
            m.d.sync += [c_bank.eq(kbank), c_abank.eq(st.abank), c_first_n.eq(st.cn == 0), c_run.eq(1)]
        # pixel: the input channel of the current step, as (beat, slot) of the tile's input beats
        c_jb, c_slot = tile_count("kb_in", "c_jb"), Signal(range(V_IN))
        IW = g.in_word_bits
        c_jboff = Signal(IW)                         # pixel: c_jb * ROWS_MAX * COLSB
        if PX:
            with m.If(c_go):
                m.d.sync += [c_jb.eq(0), c_slot.eq(0), c_jboff.eq(0)]
            with m.If(c_run & e_kw & e_kh):
                with m.If(e_ng):
                    m.d.sync += [c_jb.eq(0), c_slot.eq(0), c_jboff.eq(0)]
                with m.Elif(c_slot == V_IN - 1):
                    m.d.sync += [c_jb.eq(c_jb + 1), c_slot.eq(0), c_jboff.eq(c_jboff + ROWS_MAX * COLSB)]
                with m.Else():
                    m.d.sync += c_slot.eq(c_slot + 1)
        red_first = (i_ng == 0) & (i_kh == 0) & (i_kw == 0)
        red_last = e_ng & e_kh & e_kw
        with m.If(c_run & c_nest.moves.wrap):        # the last iteration
            m.d.sync += [c_run.eq(0), c_drain.eq(timing.COMPUTE_DRAIN)]
        with m.If(~c_run & (c_drain != 0)):
            m.d.sync += c_drain.eq(c_drain - 1)
        # c_busy = c_run | (c_drain != 0), kept in a flip-flop: next cycle it is set by a start or a run (whose end
        # loads the drain), else by a drain not about to reach 0 (the step controller then reads a register)
        m.d.sync += st.c_busy.eq(c_go | c_run | (c_drain > 1))

        # buffer addresses over the compute nest (mg, r, c, ng, kh, kw), by additions (rtl_gen.nest):
        #   input  (g*in_plane + (r*S + kh)*cols_in + c*S + kw, g = mg when depthwise, else ng)
        #   weight ((mg*ng + ng)*K + kh)*K + kw: one linear count, back to the group's start for each (r, c)
        #   accumulator mg*acc_plane + r*cgs + c = (mg*trb + r)*cgs + c: one linear count over (mg, r, c)

        # a buffer address's bank offset is the sum's initial value, not an adder between the sum's register and
        # the block RAMs' address pins: restart (c_go) takes the new step's bank (kbank, latched into c_bank then)
        c_bank_now = Mux(c_go, kbank, c_bank)

        def comp_sum(name, width, coefs, bank_depth=0):
            init = Mux(c_bank_now, bank_depth, 0) if bank_depth else 0
            cur, _ = nested_sum(m, f"c_{name}", unsigned(width), init, coefs, c_nest.moves, c_run, c_go)
            return cur
        in_plane = cfg["in_plane"]
        in_addr = Signal(IW)
        w_addr = Signal(g.w_word_bits)
        acc_addr = Signal(g.acc_word_bits)
        m.d.comb += [
            w_addr.eq(comp_sum("w", len(w_addr), [CARRY, None, None, CARRY, CARRY, 1], D_W)),
            acc_addr.eq(Mux(c_abank, D_ACC, 0) + comp_sum("acc", len(acc_addr), [CARRY, CARRY, 1, None, None, None])),
        ]
        if not PX:
            m.d.comb += in_addr.eq(comp_sum(
                "in", IW, [in_plane if DW else None, cfg["in_row_step"], S, None if DW else in_plane,
                           cfg["cols_in"], 1], D_IN))
        bank_of = []
        if PX:
            # lane p reads column (cg*TP + p)*S + kw of row r*S + kh: bank = column mod NBK, distinct per lane
            plane = Signal(IW)
            m.d.comb += plane.eq(Mux(c_bank, D_IN, 0) + c_jboff + comp_sum(
                "row", IW, [None, times_small(S, COLSB, SMAX), None, None, COLSB, None]))
            CW = (NBK * COLSB + TP * SMAX).bit_length()   # a column the lanes may address
            col0 = comp_sum("col", CW, [None, None, times_small(S, TP, SMAX), None, None, 1])
            for p in range(TP):
                col = Signal(CW, name=f"col{p}")
                m.d.comb += col.eq(col0 + times_small(S, p, SMAX))
                bank_of.append(col[:LOG_NBK] if LOG_NBK else Const(0, 1))
                for bk in range(NBK):
                    with m.If(col[:LOG_NBK] == bk if LOG_NBK else Const(1, 1)):
                        m.d.comb += b.in_rd[bk].addr.eq(plane + (col >> LOG_NBK))
        else:
            for p in b.in_rd:
                m.d.comb += p.addr.eq(in_addr)
        for p in b.w_rd:
            m.d.comb += p.addr.eq(w_addr)
        self.c_run, self.c_slot, self.c_first_n, self.e_mg, self.e_ng = c_run, c_slot, c_first_n, e_mg, e_ng
        self.red_first, self.red_last, self.acc_addr, self.w_addr, self.bank_of = \
            red_first, red_last, acc_addr, w_addr, bank_of

    def _datapath(self, m, parts, cfg):
        g, b = self.g, self.bufs
        PX, DW, Q, BUS, V_IN, TM, TN, TP, LANES, OL = (g.pixel, g.depthwise, g.bits, g.bus, g.v_in, g.tm, g.tn,
                                                        g.tp, g.lanes, g.out_lanes)
        c_slot, acc_addr = self.c_slot, self.acc_addr
        # pipeline tags: stage s holds the tag of the iteration issued s cycles ago; `depth` counts the tag line's
        # stages, from the nest's counters to the accumulator's write port (timing.COMPUTE_DRAIN)
        depth = Stages("compute", timing.COMPUTE_DRAIN)
        t_valid, t_first, t_last, t_accaddr, t_lastgrp = (Signal(name="v"), Signal(name="first"),
                                                          Signal(name="last"), Signal(len(acc_addr), name="acca"),
                                                          Signal(name="lastgrp"))
        m.d.comb += [t_valid.eq(self.c_run), t_first.eq(self.red_first), t_last.eq(self.red_last),
                     t_accaddr.eq(acc_addr), t_lastgrp.eq(self.e_mg if DW else self.e_ng)]
        s1 = depth.stage(m, [t_valid, t_first, t_last, t_accaddr, c_slot] + self.bank_of, "s1")
        # the last input group's lanes past the layer's channels read as zero: a flag of each lane's own, decided
        # with stage 1 (one register driving the zeroing of every lane is a net over the array)
        zero1 = [] if PX else [pipe_reg(m, t_lastgrp & (t >= cfg["ng_last"]), f"zero{t}") for t in range(LANES)]
        # stage 1: operands out of the buffers, into registers (a block RAM's output is slow); stage 2: multiply
        x = []
        if PX:
            # each bank's value of the step's channel, then bank -> column lane
            per_bank = Array([b.in_rd[bk].data.word_select(s1[4], Q) for bk in range(g.nbk)])
            for p in range(TP):
                xv = Signal(unsigned(Q), name=f"x{p}", reset_less=True)
                m.d.sync += xv.eq(per_bank[s1[5 + p]])
                x.append(xv)
        else:
            for t in range(LANES):
                xv = Signal(unsigned(Q), name=f"x{t}", reset_less=True)
                m.d.sync += xv.eq(Mux(zero1[t], 0, b.in_rd[t].data))
                x.append(xv)
        wcat = Signal(len(b.w_rd) * BUS, reset_less=True)
        m.d.sync += wcat.eq(Cat(*[p.data for p in b.w_rd]))
        # products (output lane, input lane, weight slot): a tm x tn block (lane pair (a, t) at slot a*tn + t)
        # summed over t; tm lanes (slot a); or tm x tn lanes (a, p) each its own output (pixel, slot a)
        if PX:
            pairs = [(a * TP + p, p, a) for a in range(TM) for p in range(TP)]
        elif DW:
            pairs = [(a, a, a) for a in range(TM)]
        else:
            pairs = [(a, t, a * TN + t) for a in range(TM) for t in range(TN)]
        prod = [[] for _ in range(OL)]
        for o, t, f in pairs:
            bit = (f // V_IN) * BUS + (f % V_IN) * Q
            prod[o].append(dsp_product(m, wcat[bit:bit + Q].as_signed(), x[t], f"prod{o}_{t}",
                                       parts.run("mac")))
        s2 = depth.stage(m, s1[:4], "s1b")
        for i in range(timing.MULT_STAGES):
            s2 = depth.stage(m, s2, f"s2_{i}")
        # stage 2: adder trees
        tree = [Signal(signed(ACC_BITS), name=f"tree{a}", reset_less=True) for a in range(OL)]
        for a in range(OL):
            terms = list(prod[a])
            while len(terms) > 1:
                terms = [terms[i] + terms[i + 1] if i + 1 < len(terms) else terms[i] for i in range(0, len(terms), 2)]
            m.d.sync += tree[a].eq(terms[0])
        s3 = depth.stage(m, s2, "s3")
        # stage 3: reduction over (ng, kh, kw); read the accumulator on the last term. No enable: a run's terms
        # come one a cycle from its first (the AXI stall holds the whole chunk), each reduction starts with a
        # first term, and a reduction's last value is written (stage 5) before anything after it lands (within a
        # step each reduction has an accumulator word of its own; the next step reads it after the drain)
        red = [Signal(signed(ACC_BITS), name=f"red{a}", reset_less=True) for a in range(OL)]
        for a in range(OL):
            m.d.sync += red[a].eq(Mux(s3[1], tree[a], red[a] + tree[a]))
        for p in b.acc_rd_c:
            m.d.comb += p.addr.eq(s3[3])
        s4 = depth.stage(m, s3, "s4")
        # stage 4: the accumulator's read data and the reduction registered (a block RAM's output is late, and a
        # 32-bit adder after it is a path of its own); stage 5: their sum into the accumulator
        s5 = depth.stage(m, s4, "s5")
        for a in range(OL):
            acc_q, red_q = pipe_reg(m, b.acc_rd_c[a].data, f"acc_q{a}"), pipe_reg(m, red[a], f"red_q{a}")
            m.d.comb += [b.acc_wr[a].addr.eq(s5[3]), b.acc_wr[a].en.eq(s5[0] & s5[2]),
                         b.acc_wr[a].data.eq(red_q + Mux(self.c_first_n, 0, acc_q))]
        depth.check()
