"""ConvChunk: one sub-accelerator of the template, generated from hw_model's Chunk and MemoryInterface.

Blocks (see docs/architecture.md for the diagram and the cycle formula):
  - StepController: walks the tile loops (m, r, c, n) and starts the two engines once per step;
  - ComputeEngine: a tm x tn MAC array (q-bit signed x unsigned multipliers, one adder tree per output lane,
    int32 accumulation) reading the input and weight buffers of the current bank;
  - MemoryEngine: per step, first the pending output tile (requantization records in, requantized beats out),
    then the next step's inputs and weights (one read stream), into the other bank.
All shapes are run-time registers (the packed `cfg` word, laid out by hw_model.regs), so one build runs every
layer its chunk serves. Latencies come from hw_model.timing.
"""
from __future__ import annotations

from amaranth import Array, Cat, Const, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hw_model import timing
from hw_model.config import BIAS_BITS, LOGIT_BITS, MULT_BITS, PARAM_RECORD_BITS, SHIFT_BITS, Chunk, MemoryInterface
from hw_model.mapping import ceil_div, field_bounds
from hw_model.regs import CFG_BITS, field_offsets

from .walk import (CARRY, CopiedMoves, LoopNest, Parts, count_width, delayed, dsp_product, flop, kept_reg,
                   narrow_shift, nested_sum, pipe_reg, read_request, registered_lasts, round_clamp, shift_less_one,
                   split_product, times, times_small)

CNT = 16  # width of the layer-level counters (steps, map coordinates); tile counters take field_bounds


class ConvChunk(wiring.Component):
    # the parts (walk.Parts): controllers, walks and addresses; the buffers; the MAC datapath; the read data's
    # scatter into the buffers; the writer's datapath
    PARTS = ("ctl", "buf", "mac", "scatter", "wr")

    def __init__(self, chunk: Chunk, mem: MemoryInterface, hold: bool = False):
        """With `hold`, a `hold` input of one bit per part: while bit i is high, part i holds (all its
        registers and buffer ports keep their values). The bits are copies of one decision (the AXI stall)."""
        self.chunk, self.mem, self.has_hold = chunk, mem, hold
        super().__init__({
            **({"hold": In(len(self.PARTS))} if hold else {}),
            "start": In(1),
            "busy": Out(1),
            "done": Out(1),
            "cfg": In(CFG_BITS),
            "mem_rd_en": Out(1),
            "mem_rd_addr": Out(mem.addr_bits),
            "mem_rd_data": In(mem.bus_bits),
            "mem_wr_en": Out(1),
            "mem_wr_addr": Out(mem.addr_bits),
            "mem_wr_data": Out(mem.bus_bits),
        })

    # ------------------------------------------------------------------ helpers
    def _cfg(self):
        return {name: self.cfg[off:off + w] for name, (off, w) in field_offsets().items()}

    def elaborate(self, platform):
        ch, mi = self.chunk, self.mem
        # `m` is the part being built: each section below starts by naming its part
        parts = Parts(self.PARTS)
        m = parts["ctl"]
        cfg = self._cfg()
        TM, TN, Q, BUS, LAT = ch.tm, ch.tn, ch.bits, mi.bus_bits, mi.read_latency
        MA = mi.addr_bits            # memory addresses: computed modulo 2^addr_bits, the port's width
        DW = ch.depthwise            # depthwise: lane a multiplies channel a by its own weight, no adder tree
        PX = ch.pixel                # pixel: lane (a, p) multiplies output channel a's weight by column p's input
        V_IN = BUS // Q
        R_P = mi.records_per_beat
        P_GB = ceil_div(TM, R_P)
        if PX:
            pb = ch.buffers(BUS)
            NBK, COLSB, ROWS_MAX = pb["banks"], pb["colsb"], pb["rows_max"]
            LOG_NBK = NBK.bit_length() - 1
            LANES, SUB_IN, TP = NBK, 1, TN   # input memories: column banks of whole beats
            B_W = ceil_div(TM, V_IN)
            D_IN, D_W, D_ACC, D_P = pb["in_depth"], pb["w_depth"], pb["acc_depth"], pb["p_depth"]
        else:
            LANES = ch.lanes_in          # input-buffer lanes: tn, or tm when depthwise
            SUB_IN, TP = ceil_div(V_IN, LANES), 1
            B_W = ceil_div(TM if DW else TM * TN, V_IN)
            D_IN, D_W, D_ACC, D_P = ch.in_depth, ch.w_depth, ch.acc_depth, ch.p_depth
        OL = TM * TP                 # accumulator lanes: one per output channel (and column, pixel)
        OUTS = ch.out_bits  # supported output bit-widths, selected at run time by cfg.ob_sel

        # ------------------------------------------------------------ buffers
        in_mem = [Memory(shape=unsigned(BUS if PX else Q), depth=2 * D_IN, init=[]) for _ in range(LANES)]
        w_mem = [Memory(shape=unsigned(BUS), depth=2 * D_W, init=[]) for _ in range(B_W)]
        acc_mem = [Memory(shape=signed(32), depth=2 * D_ACC, init=[]) for _ in range(OL)]
        p_mem = [Memory(shape=unsigned(BIAS_BITS + MULT_BITS + SHIFT_BITS), depth=D_P, init=[]) for _ in range(TM)]
        for i, mm in enumerate(in_mem):
            parts["buf"].submodules[f"in_buf{i}"] = mm
        for i, mm in enumerate(w_mem):
            parts["buf"].submodules[f"w_buf{i}"] = mm
        for i, mm in enumerate(acc_mem):
            parts["buf"].submodules[f"acc_buf{i}"] = mm
        for i, mm in enumerate(p_mem):
            parts["buf"].submodules[f"p_buf{i}"] = mm
        in_rd = [mm.read_port() for mm in in_mem]
        in_wr = [mm.write_port() for mm in in_mem]
        w_rd = [mm.read_port() for mm in w_mem]
        w_wr = [mm.write_port() for mm in w_mem]
        acc_rd_c = [mm.read_port() for mm in acc_mem]   # compute: read-modify-write
        acc_rd_w = [mm.read_port() for mm in acc_mem]   # writer: drain the finished tile
        acc_wr = [mm.write_port() for mm in acc_mem]
        p_rd = [mm.read_port() for mm in p_mem]
        p_wr = [mm.write_port() for mm in p_mem]

        # loop ends compare counters with registered cfg - 1 values (walk.registered_lasts)
        BND = field_bounds(ch, mi)

        def tile_count(name, label):
            """A counter over [0, cfg[name] - 1], as wide as the field's bound on this chunk."""
            return Signal(count_width(BND[name]), name=label)
        last_of = registered_lasts(m, cfg, ("kernel", "ng", "cgs", "trb", "tcb", "mg", "rows_in", "cols_in", "kb_in",
                                            "kb_out", "p_tile_beats", "w_tile_beats"), BND).__getitem__

        # ------------------------------------------------------------ step controller
        cm, cr, cc, cn = (Signal(CNT, name=f"step_{x}") for x in "mrcn")  # step being computed
        kbank = Signal()        # input/weight bank read by compute this step
        abank = Signal()        # accumulator bank of the tile being computed
        pend_w = Signal()       # an output tile waits to be written
        wbank = Signal()

        # loop-end flags (cm == n_m - 1, ...) kept in flip-flops: the step sums' enables and the controller read
        # registers, not counter compares. Set in PRE (the registered cfg values are first valid there; the
        # counters are 0) and at each step advance for the next counters: a level that wraps is at its end again
        # iff its count is 1; one that counts up is at its end iff it was at its count - 2.
        ends = {x: Signal(name=f"last_{x}") for x in "mrcn"}
        last_m, last_r, last_c, last_n = (ends[x] for x in "mrcn")
        # the step sums' advance conditions (walk.Moves), kept in flip-flops beside the flags they derive from
        # (each step sum takes a copy of its own, see step_sum); the last step is the one where every level is at
        # its end (wrap)
        st_moves = CopiedMoves(m, 4, "st_mv")
        last_step = st_moves.wrap
        ones = {x: Signal(name=f"one_{x}") for x in "mrcn"}
        pens = {x: Signal(len(cfg[f"n_{x}"]), name=f"pen_{x}") for x in "mrcn"}
        m.d.sync += [r.eq(cfg[f"n_{x}"] == 1) for x, r in ones.items()]
        m.d.sync += [r.eq(cfg[f"n_{x}"] - 2) for x, r in pens.items()]
        # the step after (cm, cr, cc, cn), n innermost
        nm, nr, nc, nn = (Signal(CNT, name=f"next_{x}") for x in "mrcn")
        m.d.comb += [nm.eq(cm), nr.eq(cr), nc.eq(cc), nn.eq(cn + 1)]
        with m.If(last_n):
            m.d.comb += [nn.eq(0), nc.eq(cc + 1)]
            with m.If(last_c):
                m.d.comb += [nc.eq(0), nr.eq(cr + 1)]
                with m.If(last_r):
                    m.d.comb += [nr.eq(0), nm.eq(cm + 1)]

        # the flags for (nm, nr, nc, nn): a level moves when every level inside it is at its end
        counts = {"m": cm, "r": cr, "c": cc, "n": cn}
        next_end = {x: Signal(name=f"next_last_{x}") for x in "mrcn"}
        moves = {"n": Const(1, 1), "c": last_n, "r": last_n & last_c, "m": last_n & last_c & last_r}
        # count == its end less 1, registered: the counters hold from one advance to the next, and the next
        # advance is at least three cycles later (STEP, then STEP_WAIT, whose first cycle sees c_busy set)
        at_pen = {x: Signal(name=f"at_pen_{x}") for x in "mrcn"}
        m.d.sync += [at_pen[x].eq(counts[x] == pens[x]) for x in "mrcn"]
        for x in "mrcn":
            m.d.comb += next_end[x].eq(Mux(moves[x], Mux(ends[x], ones[x], at_pen[x]), ends[x]))

        # engine start strobes and their job
        c_go = Signal()
        g_go = Signal()
        g_do_w = Signal()
        g_do_l = Signal()
        g_lbank = Signal()
        in_step = Signal()                    # flip-flop, set for the STEP cycle
        done = Signal()                       # flip-flop, set for the DONE cycle
        st_fin = Signal()                     # flip-flop, set for the ADV cycle: a step ends
        st_adv, st_adv_d = flop(m, "st_adv")  # flip-flop, set for the ADV cycle: a step ends and is not the last
        # idle: the IDLE state, as a flip-flop. The step sums restart in every idle cycle (their initial values
        # follow the cfg, which no one reads until the start; the start cycle is one of them), so their enables
        # and selects read flip-flops, not a decode of the state and the start strobe
        idle, idle_d = flop(m, "idle", init=1)
        c_busy = Signal()
        g_busy = Signal()

        with m.FSM(name="ctrl"):
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [cm.eq(0), cr.eq(0), cc.eq(0), cn.eq(0), kbank.eq(0), abank.eq(0), pend_w.eq(0)]
                    m.d.comb += idle_d.eq(0)
                    m.next = "PRE"
            with m.State("PRE"):
                m.d.comb += [g_go.eq(1), g_do_l.eq(1), g_lbank.eq(0)]
                m.d.sync += [ends[x].eq(ones[x]) for x in "mrcn"]
                m.d.comb += st_moves.load(ones[x] for x in "mrcn")
                m.next = "PRE_WAIT"
            with m.State("PRE_WAIT"):
                with m.If(~g_busy):
                    m.d.sync += in_step.eq(1)
                    m.next = "STEP"
            with m.State("STEP"):
                m.d.sync += in_step.eq(0)
                m.next = "STEP_WAIT"
            with m.State("STEP_WAIT"):
                with m.If(~c_busy & ~g_busy):
                    m.d.sync += st_fin.eq(1)
                    m.d.comb += st_adv_d.eq(~last_step)
                    m.next = "ADV"
            with m.State("ADV"):
                with m.If(last_step):
                    m.next = "FINAL"
                with m.Else():
                    m.d.sync += in_step.eq(1)
                    m.next = "STEP"
            with m.State("FINAL"):
                m.d.comb += [g_go.eq(1), g_do_w.eq(1)]
                m.next = "FINAL_WAIT"
            with m.State("FINAL_WAIT"):
                with m.If(~g_busy):
                    m.d.sync += done.eq(1)
                    m.next = "DONE"
            with m.State("DONE"):
                m.d.sync += done.eq(0)
                m.d.comb += idle_d.eq(1)
                m.next = "IDLE"
        m.d.comb += self.done.eq(done)
        m.d.comb += self.busy.eq(~idle)
        with m.If(in_step):   # the STEP state, as a flip-flop: the engines' start strobes and their job
            m.d.comb += [c_go.eq(1), g_go.eq(1), g_do_w.eq(pend_w), g_do_l.eq(~last_step), g_lbank.eq(~kbank)]
        # the step's end (the ADV cycle), decided in STEP_WAIT: the enables are flip-flops (st_fin, st_adv) and
        # the step flags, not the engines' busy flags nor the state register (timing.STEP_OVERHEAD)
        with m.If(st_fin):
            m.d.sync += [st_fin.eq(0), pend_w.eq(last_n)]
            m.d.comb += st_adv_d.eq(0)
            with m.If(last_n):
                m.d.sync += [wbank.eq(abank), abank.eq(~abank)]
        with m.If(st_adv):
            m.d.sync += [cm.eq(nm), cr.eq(nr), cc.eq(nc), cn.eq(nn), kbank.eq(~kbank)]
            m.d.sync += [ends[x].eq(next_end[x]) for x in "mrcn"]
            m.d.comb += st_moves.load(next_end[x] for x in "mrcn")

        # per-step addresses and coordinates, kept by additions over the step nest (m, r, c, n): the loader
        # takes the next step's (the first step's in PRE), the writer the finished output tile's
        S = cfg["stride"]
        dw_lvl = (lambda v: [v, None, None, None]) if DW else (lambda v: [None, None, None, v])

        def step_sum(name, shape, init, coefs):
            # the sum's own copy of the controller's flags (restart = idle, advance = st_adv, the moves): one
            # register each would drive the enables and selects of every step sum (~300 flip-flops over the chunk)
            ctl = kept_reg(m, Cat(idle_d, st_adv_d, *st_moves.flags_d), f"st_{name}_ctl", parts.run("ctl"), init=1)
            return nested_sum(m, f"st_{name}", shape, init, coefs, st_moves.of_flags(ctl[2:]), ctl[1], ctl[0])
        load_sums = dict(
            wblk=step_sum("wblk", unsigned(MA), cfg["w_base"], [CARRY, None, None, cfg["w_tile_beats"]]),
            h0=step_sum("h0", signed(CNT + 2), -cfg["pad"], [None, cfg["h_step"], None, None]),
            w0=step_sum("w0", signed(CNT + 2), -cfg["pad"], [None, None, cfg["w_step"], None]),
            jb0=step_sum("jb0", unsigned(CNT), 0, dw_lvl(cfg["kb_in"])),
            ibase=step_sum("ibase", unsigned(MA), cfg["act_origin"],
                           [cfg["kb_in"] if DW else None, cfg["in_tile_row"], cfg["in_tile_col"],
                            None if DW else cfg["kb_in"]]))
        write_sums = dict(
            pbase=step_sum("pbase", unsigned(MA), cfg["p_base"], [cfg["p_tile_beats"], None, None, None]),
            or0=step_sum("or0", unsigned(CNT), 0, [None, cfg["trb"], None, None]),
            oc0=step_sum("oc0", unsigned(CNT), 0, [None, None, cfg["tcb"], None]),
            ojb0=step_sum("ojb0", unsigned(CNT), 0, [cfg["kb_out"], None, None, None]),
            obase=step_sum("obase", unsigned(MA), cfg["out_base"],
                           [cfg["kb_out"], cfg["out_tile_row"], cfg["out_tile_col"], None]))
        # the finished output tile's values, held until its write job starts
        wtile = {k: Signal(cur.shape(), name=f"wtile_{k}", reset_less=True) for k, (cur, _) in write_sums.items()}
        with m.If(st_fin & last_n):
            m.d.sync += [wtile[k].eq(cur) for k, (cur, _) in write_sums.items()]

        # ------------------------------------------------------------ compute engine
        c_bank = Signal()
        c_abank = Signal()
        c_first_n = Signal()
        c_run = Signal()
        c_drain = Signal(range(timing.COMPUTE_DRAIN + 1))
        # the compute nest (mg, r, c, ng, kh, kw), one iteration a cycle: counters, end flags and advance
        # conditions in flip-flops (walk.LoopNest)
        c_nest = LoopNest(m, "c", [last_of(f) for f in ("mg", "trb", "cgs", "ng", "kernel", "kernel")], c_run, c_go)
        i_mg, i_r, i_c, i_ng, i_kh, i_kw = c_nest.count
        e_mg, e_r, e_c, e_ng, e_kh, e_kw = c_nest.ends
        with m.If(c_go):
            m.d.sync += [c_bank.eq(kbank), c_abank.eq(abank), c_first_n.eq(cn == 0), c_run.eq(1)]
        # pixel: the input channel of the current step, as (beat, slot) of the tile's input beats
        c_jb, c_slot = tile_count("kb_in", "c_jb"), Signal(range(V_IN))
        IW = max(1, (2 * D_IN - 1).bit_length())   # width of an input-buffer word address
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
        m.d.sync += c_busy.eq(c_go | c_run | (c_drain > 1))

        # buffer addresses over the compute nest (mg, r, c, ng, kh, kw), by additions (rtl_gen.walk):
        #   input  (g*in_plane + (r*S + kh)*cols_in + c*S + kw, g = mg when depthwise, else ng)
        #   weight ((mg*ng + ng)*K + kh)*K + kw: one linear count, back to the group's start for each (r, c)
        #   accumulator mg*acc_plane + r*cgs + c = (mg*trb + r)*cgs + c: one linear count over (mg, r, c)
        SMAX = ch.max_stride

        # a buffer address's bank offset is the sum's initial value, not an adder between the sum's register and
        # the block RAMs' address pins: restart (c_go) takes the new step's bank (kbank, latched into c_bank then)
        c_bank_now = Mux(c_go, kbank, c_bank)

        def comp_sum(name, width, coefs, bank_depth=0):
            init = Mux(c_bank_now, bank_depth, 0) if bank_depth else 0
            cur, _ = nested_sum(m, f"c_{name}", unsigned(width), init, coefs, c_nest.moves, c_run, c_go)
            return cur
        in_plane = cfg["in_plane"]
        in_addr = Signal(IW)
        w_addr = Signal(max(1, (2 * D_W - 1).bit_length()))
        acc_addr = Signal(max(1, (2 * D_ACC - 1).bit_length()))
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
                for b in range(NBK):
                    with m.If(col[:LOG_NBK] == b if LOG_NBK else Const(1, 1)):
                        m.d.comb += in_rd[b].addr.eq(plane + (col >> LOG_NBK))
        else:
            for p in in_rd:
                m.d.comb += p.addr.eq(in_addr)
        for p in w_rd:
            m.d.comb += p.addr.eq(w_addr)

        def reg(value, name):
            return pipe_reg(m, value, name)

        # pipeline tags: stage s holds the tag of the iteration issued s cycles ago
        def stage(sig_list, name):
            return [reg(s, f"{name}_{getattr(s, 'name', i)}") for i, s in enumerate(sig_list)]

        m = parts["mac"]
        t_valid, t_first, t_last, t_accaddr, t_lastgrp = (Signal(name="v"), Signal(name="first"),
                                                          Signal(name="last"), Signal(len(acc_addr), name="acca"),
                                                          Signal(name="lastgrp"))
        m.d.comb += [t_valid.eq(c_run), t_first.eq(red_first), t_last.eq(red_last), t_accaddr.eq(acc_addr),
                     t_lastgrp.eq(e_mg if DW else e_ng)]
        s1 = stage([t_valid, t_first, t_last, t_accaddr, c_slot] + bank_of, "s1")
        # the last input group's lanes past the layer's channels read as zero: a flag of each lane's own, decided
        # with stage 1 (one register driving the zeroing of every lane is a net over the array)
        zero1 = [] if PX else [reg(t_lastgrp & (t >= cfg["ng_last"]), f"zero{t}") for t in range(LANES)]
        # stage 1: operands out of the buffers, into registers (a block RAM's output is slow); stage 2: multiply
        x = []
        if PX:
            # each bank's value of the step's channel, then bank -> column lane
            per_bank = Array([in_rd[b].data.word_select(s1[4], Q) for b in range(NBK)])
            for p in range(TP):
                xv = Signal(unsigned(Q), name=f"x{p}", reset_less=True)
                m.d.sync += xv.eq(per_bank[s1[5 + p]])
                x.append(xv)
        else:
            for t in range(LANES):
                xv = Signal(unsigned(Q), name=f"x{t}", reset_less=True)
                m.d.sync += xv.eq(Mux(zero1[t], 0, in_rd[t].data))
                x.append(xv)
        wcat = Signal(len(w_rd) * BUS, reset_less=True)
        m.d.sync += wcat.eq(Cat(*[p.data for p in w_rd]))
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
        s2 = stage(s1[:4], "s1b")
        for i in range(timing.MULT_STAGES):
            s2 = stage(s2, f"s2_{i}")
        # stage 2: adder trees
        tree = [Signal(signed(32), name=f"tree{a}", reset_less=True) for a in range(OL)]
        for a in range(OL):
            terms = list(prod[a])
            while len(terms) > 1:
                terms = [terms[i] + terms[i + 1] if i + 1 < len(terms) else terms[i] for i in range(0, len(terms), 2)]
            m.d.sync += tree[a].eq(terms[0])
        s3 = stage(s2, "s3")
        # stage 3: reduction over (ng, kh, kw); read the accumulator on the last term. No enable: a run's terms
        # come one a cycle from its first (the AXI stall holds the whole chunk), each reduction starts with a
        # first term, and a reduction's last value is written (stage 5) before anything after it lands (within a
        # step each reduction has an accumulator word of its own; the next step reads it after the drain)
        red = [Signal(signed(32), name=f"red{a}", reset_less=True) for a in range(OL)]
        for a in range(OL):
            m.d.sync += red[a].eq(Mux(s3[1], tree[a], red[a] + tree[a]))
        for p in acc_rd_c:
            m.d.comb += p.addr.eq(s3[3])
        s4 = stage(s3, "s4")
        # stage 4: the accumulator's read data and the reduction registered (a block RAM's output is late, and a
        # 32-bit adder after it is a path of its own); stage 5: their sum into the accumulator
        s5 = stage(s4, "s5")
        for a in range(OL):
            acc_q, red_q = reg(acc_rd_c[a].data, f"acc_q{a}"), reg(red[a], f"red_q{a}")
            m.d.comb += [acc_wr[a].addr.eq(s5[3]), acc_wr[a].en.eq(s5[0] & s5[2]),
                         acc_wr[a].data.eq(red_q + Mux(c_first_n, 0, acc_q))]

        # ------------------------------------------------------------ memory engine
        m = parts["ctl"]
        g_wbank = Signal()
        g_lb = Signal()
        job_w = Signal()
        job_l = Signal()
        # the job's step values: the next step's for the loader, the pending tile's for the writer
        gl = {k: Signal(cur.shape(), name=f"g_l{k}", reset_less=True) for k, (cur, _) in load_sums.items()}
        gw = {k: Signal(v.shape(), name=f"g_w{k}", reset_less=True) for k, v in wtile.items()}
        with m.If(g_go):
            m.d.sync += [job_w.eq(g_do_w), job_l.eq(g_do_l), g_lb.eq(g_lbank), g_wbank.eq(wbank)]
            m.d.sync += [gl[k].eq(Mux(in_step, nxt, cur)) for k, (cur, nxt) in load_sums.items()]
            m.d.sync += [gw[k].eq(v) for k, v in wtile.items()]

        # read request port (timing.READ_REQ_STAGES registers) and the tag delay line aligned with read data
        rq_en = Signal()
        rq_addr = Signal(MA)
        read_request(m, rq_en, rq_addr, self)
        # tag: kind (0 none, 1 params, 2 inputs, 3 weights), inr, sub, and destination info
        TAG_KIND, TAG_INR, TAG_SUB = Signal(2), Signal(), Signal(range(max(SUB_IN, 1) + 1))
        TAG_A, TAG_B, TAG_C = Signal(max(IW, len(w_addr))), Signal(count_width(max(LANES, B_W, P_GB))), Signal(IW)
        tag_now = [TAG_KIND, TAG_INR, TAG_SUB, TAG_A, TAG_B, TAG_C]
        # read data are registered as they arrive and again (timing.READ_DATA_STAGES: the memory is across the die
        # from the port, the port from the buffers): the tag travels LAT + READ_DRAIN_EXTRA cycles, the request's
        # registers (READ_REQ_STAGES), the memory's latency and these
        m = parts["scatter"]
        rd_data = delayed(m, self.mem_rd_data, timing.READ_DATA_STAGES, "rd_data_r")
        line = [tag_now]
        for d in range(LAT + timing.READ_DRAIN_EXTRA):
            line.append(stage(line[-1], f"dl{d}"))
        k_, inr_, sub_, ta, _, _ = line[-1]
        hold = Signal(BUS, reset_less=True)
        data_now = Signal(BUS)
        m.d.comb += data_now.eq(Mux(sub_ == 0, Mux(inr_, rd_data, 0), hold))
        with m.If(k_ != 0):
            m.d.sync += hold.eq(data_now)
        # scatter into the buffers. Each write port's enable, address and lane select are computed from the tag
        # one stage before the data arrive and registered (line[-1] is line[-2] registered: the same values a cycle
        # later), so the buffers' write ports see flip-flops, not the tag arithmetic
        k_p, _, sub_p, ta_p, tb_p, tc_p = line[-2]
        # inputs: ta = pixel word base (with bank), tb = rot, tc_ = (group base + sub) * in_plane; pixel: ta =
        # word, tb = bank
        SEL = max(1, (SUB_IN * LANES - 1).bit_length())
        for t in range(LANES if not PX else 0):
            d = Mux(t >= tb_p, t - tb_p, t - tb_p + LANES)  # position of lane t within this sub-beat
            v = sub_p * LANES + d
            m.d.comb += [
                in_wr[t].en.eq(reg((k_p == 2) & (v < V_IN), f"in_en{t}")),
                in_wr[t].addr.eq(reg(ta_p + tc_p + Mux(t < tb_p, in_plane, 0), f"in_addr{t}")),
                in_wr[t].data.eq(data_now.word_select(reg(v[:SEL], f"in_sel{t}"), Q)),
            ]
        for b in range(LANES if PX else 0):
            m.d.comb += [in_wr[b].en.eq(reg((k_p == 2) & (tb_p == b), f"in_en{b}")), in_wr[b].addr.eq(ta),
                         in_wr[b].data.eq(data_now)]
        # weights: tb = bank index, ta = word (with bank)
        for b in range(B_W):
            m.d.comb += [w_wr[b].en.eq(reg((k_p == 3) & (tb_p == b), f"w_en{b}")), w_wr[b].addr.eq(ta),
                         w_wr[b].data.eq(data_now)]
        # params: ta = group, tb = beat within group
        for a in range(TM):
            r = a % R_P
            m.d.comb += [p_wr[a].en.eq(reg((k_p == 1) & (tb_p == a // R_P), f"p_en{a}")), p_wr[a].addr.eq(ta),
                         p_wr[a].data.eq(data_now[r * PARAM_RECORD_BITS:r * PARAM_RECORD_BITS
                                                  + BIAS_BITS + MULT_BITS + SHIFT_BITS])]

        # phase sequencer
        m = parts["ctl"]
        ph_drain = Signal(range(max(LAT + timing.READ_DRAIN_EXTRA, timing.WRITE_DRAIN) + 2))
        # input-stream counters
        l_rot, l_gb = Signal(count_width(LANES)), Signal(CNT)
        # weight-stream counters
        lw_i, lw_b, lw_word = tile_count("w_tile_beats", "lw_i"), Signal(count_width(B_W)), Signal(len(w_addr))
        # param-stream counters
        lp_i, lp_g, lp_b = tile_count("p_tile_beats", "lp_i"), tile_count("mg", "lp_g"), Signal(count_width(P_GB))
        # writer counters
        o_cg, o_cp = tile_count("cgs", "o_cg"), Signal(range(TP + 1))     # pixel: o_c = o_cg * TP + o_cp
        o_rot, o_gb = Signal(count_width(TM)), tile_count("mg", "o_gb")
        o_rotv = Signal(count_width(2 * TM))     # o_rot + vo_mod (walk_beats)
        AW = len(acc_addr)
        o_pix, o_goff, o_soff = Signal(AW), Signal(AW), Signal(AW)   # pixel, group base * acc_plane, sub * acc_plane
        l_goff, l_soff = Signal(IW), Signal(IW)                      # group base * in_plane, sub * in_plane

        # the writer's per-layer values, decoded from cfg and registered like the loop ends (the writer first
        # reads them many cycles after start, once a tile has been computed)
        # vo_mod, vo_div: values per beat mod / div TM; last_sub_w: sub-beats per output beat, less one; raw:
        # out_bits = LOGIT_BITS (write acc + bias as int32 logits, no requantization); omax and raw are registered
        # in each requantizer lane (the writer's datapath below)
        decoded = [Signal(count_width(TM), name="vo_mod_d"), Signal(range(BUS // min(OUTS) // TM + 1), name="vo_div_d"),
                   Signal(AW, name="vo_div_plane_d"), Signal(count_width(BND["sub_w"]), name="last_sub_w_d"),
                   Signal(8, name="omax_d"), Signal(name="raw_d")]
        QW = max(OUTS)      # width of an output value
        QN = max([ob for ob in OUTS if ob != LOGIT_BITS] or [1])   # of a requantized one
        with m.Switch(cfg["ob_sel"]):
            for i, ob in enumerate(OUTS):
                with m.Case(i):
                    vo = BUS // ob
                    m.d.comb += [decoded[0].eq(vo % TM), decoded[1].eq(vo // TM),
                                 decoded[2].eq(times(cfg["acc_plane"], vo // TM)),
                                 decoded[3].eq(ceil_div(vo, TM) - 1)]
                    if ob == LOGIT_BITS:
                        m.d.comb += decoded[5].eq(1)
                    else:
                        m.d.comb += decoded[4].eq((1 << ob) - 1)
        vo_mod, vo_div, vo_div_plane = (reg(decoded[i], decoded[i].name[:-2]) for i in (0, 1, 2))
        last_sub_w = reg(decoded[3], "last_sub_w")

        # the input stream's addresses over its nest (row, col, beat k, sub-beat s), by additions
        # the walks' address sums start over once a layer, not at each walk's start (a state decode into every sum
        # register's enable and reset): each walk runs its whole nest, so its last advance wraps the sums back to
        # their initial value, 0 (walk.nested_sum). The restart is the chunk's start registered here, a cycle
        # later (the top's go flip-flop sits at the top, the sums across the chunk): the first advance of either
        # walk comes after PRE, two cycles after start at the earliest
        l_adv = Signal()
        l_restart = o_restart = pipe_reg(m, self.start, "walk_restart")
        # the input walk's nest (row, col, beat k, sub-beat s): counters, end flags and advance conditions in
        # flip-flops (walk.LoopNest), so that the counters' and sums' enables read registers, not counter compares.
        # Like the sums it restarts once a layer: each walk runs the whole nest and wraps it to 0
        l_nest = LoopNest(m, "l", [last_of("rows_in"), last_of("cols_in"), last_of("kb_in"),
                                   Const(SUB_IN - 1, count_width(SUB_IN))], l_adv, l_restart)
        l_row, l_col, l_k, l_s = l_nest.count
        _, _, e_k, e_s = l_nest.ends

        def load_sum(name, width, coefs):
            cur, _ = nested_sum(m, f"l_{name}", unsigned(width), 0, coefs, l_nest.moves, l_adv, l_restart)
            return cur
        hh = Signal(signed(CNT + 2))
        ww = Signal(signed(CNT + 2))
        jb = Signal(CNT)
        # the input tile's channel beats: those of its input-channel tile, or of its output tile (depthwise)
        m.d.comb += [hh.eq(gl["h0"] + l_row), ww.eq(gl["w0"] + l_col), jb.eq(gl["jb0"] + l_k)]
        l_inr = (hh >= 0) & (hh < cfg["in_h"]) & (ww >= 0) & (ww < cfg["in_w"]) & (jb < cfg["in_nb"])
        l_addr = gl["ibase"] + load_sum("off", MA, [cfg["in_row_beats"], cfg["in_nb"], 1, None])
        # the buffer word of the pixel: row * cols_in + col; pixel: (k * ROWS_MAX + row) * COLSB (+ col / NBK)
        l_word = load_sum("word", IW, [COLSB, None, ROWS_MAX * COLSB, None] if PX else [CARRY, 1, None, None])

        # writer stage 0
        o_run = Signal()
        # the output walk's nest (tile row, column, beat kb, sub-beat s), as the input walk's
        o_nest = LoopNest(m, "o", [last_of("trb"), last_of("tcb"), last_of("kb_out"), last_sub_w], o_run, o_restart)
        o_r, o_c, o_kb, o_s = o_nest.count
        _, e_oc, e_okb, o_last_s = o_nest.ends
        o_ho, o_wo, o_jb = Signal(CNT), Signal(CNT), Signal(CNT)
        m.d.comb += [o_ho.eq(gw["or0"] + o_r), o_wo.eq(gw["oc0"] + o_c), o_jb.eq(gw["ojb0"] + o_kb)]
        o_inr = Signal()
        o_addr = Signal(MA)
        o_off, _ = nested_sum(m, "o_off", unsigned(MA), 0, [cfg["out_row_beats"], cfg["out_nb"], 1, None],
                              o_nest.moves, o_run, o_restart)
        m.d.comb += [o_inr.eq((o_ho < cfg["out_h"]) & (o_wo < cfg["out_w"]) & (o_jb < cfg["out_nb"])),
                     o_addr.eq(gw["obase"] + o_off)]
        # the writer's reads: addresses computed from the walk's registers, registered (a pipeline stage), then to
        # the memories' address pins (the accumulator's block RAMs are across the chunk from the walk)
        o_abase = Signal(AW)                 # the lanes' common part: bank, group, sub-beat, pixel
        m.d.comb += o_abase.eq(Mux(g_wbank, D_ACC, 0) + o_goff + o_soff + o_pix)
        for a in range(TM):
            grp = o_gb + o_s + (a < o_rot)
            for p in range(TP):
                m.d.comb += acc_rd_w[a * TP + p].addr.eq(pipe_reg(
                    m, o_abase + Mux(a < o_rot, cfg["acc_plane"], 0), f"acc_rd_addr{a * TP + p}"))
            m.d.comb += p_rd[a].addr.eq(pipe_reg(m, grp, f"p_rd_addr{a}"))

        def start_input_stream(bank):
            m.d.sync += [l_rot.eq(0), l_gb.eq(0), l_goff.eq(0), l_soff.eq(0), lw_i.eq(0), lw_b.eq(0),
                         lw_word.eq(Mux(bank, D_W, 0))]
            m.next = "I"

        def walk_beats(rot, gb, last_sub, v_mod, v_div, lanes, last_k, after_pixel, goff, soff, plane, div_plane,
                       rotv=None):
            """Advance a walk over the beats of one pixel, a sub-beat a cycle (the walk's LoopNest counts the
            sub-beats and beats; last_sub, last_k: its end flags). Beat k starts at lane
            rot = (k*V) mod lanes of lane group gb = (k*V) div lanes, kept incrementally (no dividers), and so
            are goff = gb * plane and soff = sub * plane (div_plane = v_div * plane). Shared by the input
            scatter (V_in values into tn lanes) and the output gather (tm lanes into V_out values).
            rotv (for a run-time v_mod): a register kept at rot + v_mod (its owner sets it to v_mod with rot = 0),
            so that whether the next beat wraps is a compare of a register, not an add then a compare."""
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

        with m.FSM(name="mem") as mem_fsm:
            with m.State("IDLE"):
                with m.If(g_go & g_do_w):
                    m.d.sync += [lp_i.eq(0), lp_g.eq(0), lp_b.eq(0)]
                    m.next = "P"
                with m.Elif(g_go & g_do_l):
                    start_input_stream(g_lbank)
            with m.State("P"):  # requantization records of the pending tile
                m.d.comb += [rq_en.eq(1), rq_addr.eq(gw["pbase"] + lp_i),
                             TAG_KIND.eq(1), TAG_INR.eq(1), TAG_A.eq(lp_g), TAG_B.eq(lp_b)]
                m.d.sync += [lp_i.eq(lp_i + 1), lp_b.eq(lp_b + 1)]
                with m.If(lp_b == P_GB - 1):
                    m.d.sync += [lp_b.eq(0), lp_g.eq(lp_g + 1)]
                with m.If(lp_i == last_of("p_tile_beats")):
                    m.d.sync += ph_drain.eq(LAT + timing.READ_DRAIN_EXTRA)
                    m.next = "P_DRAIN"
            with m.State("P_DRAIN"):
                m.d.sync += ph_drain.eq(ph_drain - 1)
                with m.If(ph_drain == 1):
                    m.d.sync += [o_rot.eq(0), o_rotv.eq(vo_mod), o_gb.eq(0), o_cg.eq(0), o_cp.eq(0), o_pix.eq(0),
                                 o_goff.eq(0), o_soff.eq(0)]
                    m.next = "W"
            with m.State("W"):  # requantize and write the pending tile
                m.d.comb += o_run.eq(1)

                def after_pixel():   # the nest's counters step themselves
                    m.d.sync += o_cp.eq(o_cp + 1)
                    with m.If((o_cp == TP - 1) | e_oc):   # the next accumulator word
                        m.d.sync += o_pix.eq(o_pix + 1)
                    with m.If(o_cp == TP - 1):
                        m.d.sync += [o_cp.eq(0), o_cg.eq(o_cg + 1)]
                    with m.If(e_oc):
                        m.d.sync += [o_cg.eq(0), o_cp.eq(0)]
                    with m.If(o_nest.moves.wrap):
                        m.d.sync += ph_drain.eq(timing.WRITE_DRAIN)
                        m.next = "W_DRAIN"

                walk_beats(o_rot, o_gb, o_last_s, vo_mod, vo_div, TM, e_okb, after_pixel, o_goff, o_soff,
                           cfg["acc_plane"], vo_div_plane, o_rotv)
            with m.State("W_DRAIN"):
                m.d.sync += ph_drain.eq(ph_drain - 1)
                with m.If(ph_drain == 1):
                    with m.If(job_l):
                        start_input_stream(g_lb)
                    with m.Else():
                        m.next = "IDLE"
            with m.State("I"):  # the next step's input tile
                m.d.comb += [rq_en.eq((l_s == 0) & l_inr), rq_addr.eq(l_addr), l_adv.eq(1),
                             TAG_KIND.eq(2), TAG_INR.eq(l_inr), TAG_SUB.eq(l_s)]
                if PX:  # whole beats into column banks
                    m.d.comb += [TAG_A.eq(Mux(g_lb, D_IN, 0) + l_word + (l_col >> LOG_NBK)),
                                 TAG_B.eq(l_col[:LOG_NBK] if LOG_NBK else 0)]
                else:
                    m.d.comb += [TAG_A.eq(Mux(g_lb, D_IN, 0) + l_word), TAG_B.eq(l_rot), TAG_C.eq(l_goff + l_soff)]

                def after_pixel():   # the nest's counters step themselves
                    with m.If(l_nest.moves.wrap):
                        m.next = "WT"

                walk_beats(l_rot, l_gb, e_s, V_IN % LANES, V_IN // LANES, LANES, e_k, after_pixel, l_goff, l_soff,
                           in_plane, times(in_plane, V_IN // LANES))
            with m.State("WT"):  # the next step's weights
                m.d.comb += [rq_en.eq(1), rq_addr.eq(gl["wblk"] + lw_i), TAG_KIND.eq(3), TAG_INR.eq(1),
                             TAG_A.eq(lw_word), TAG_B.eq(lw_b)]
                m.d.sync += [lw_i.eq(lw_i + 1), lw_b.eq(lw_b + 1)]
                with m.If(lw_b == B_W - 1):
                    m.d.sync += [lw_b.eq(0), lw_word.eq(lw_word + 1)]
                with m.If(lw_i == last_of("w_tile_beats")):
                    m.d.sync += ph_drain.eq(LAT + timing.READ_DRAIN_EXTRA)
                    m.next = "R_DRAIN"
            with m.State("R_DRAIN"):
                m.d.sync += ph_drain.eq(ph_drain - 1)
                with m.If(ph_drain == 1):
                    m.next = "IDLE"
        m.d.comb += g_busy.eq(~mem_fsm.ongoing("IDLE"))

        # writer pipeline (stages 1..7 after the counters; hw_model.timing.WRITE_DRAIN), one operation a stage so
        # that no stage holds more than one adder, multiplier or shifter: bias add, two 17 x 16 products (one
        # DSP each), their sum, the shift by max(shift - 1, 0), the rounding and clamp (walk.round_clamp), the beat
        m = parts["wr"]
        o_tags = [o_run, o_last_s, o_s, o_rot, o_inr, o_addr, o_cp]
        w1 = stage(stage(o_tags, "w0"), "w1")
        # each output channel's accumulator: its lane, or (pixel) the lane of the pixel's column
        acc_val = [Array([acc_rd_w[a * TP + p].data for p in range(TP)])[w1[6]] if PX else acc_rd_w[a].data
                   for a in range(TM)]
        SW = BIAS_BITS + 1                       # acc + bias
        YW = SW + MULT_BITS + 1                  # (acc + bias) * mult
        w2 = stage(w1, "w2")
        w3 = stage(w2, "w3")
        for i in range(timing.MULT_STAGES - 1):     # the products' extra stages (walk.dsp_product)
            w3 = stage(w3, f"w3_{i}")
        w4 = stage(w3, "w4")
        w5 = stage(w4, "w5")
        q = [Signal(QW, name=f"q{a}", reset_less=True) for a in range(TM)]
        for a in range(TM):
            # the lane's own copies of the per-layer values it reads (stable while the chunk runs): one register
            # each would reach every lane's requantizer, across the chunk
            omax_a, raw_a = (kept_reg(m, decoded[i], f"{decoded[i].name[:-2]}{a}", parts.run("wr")) for i in (4, 5))
            rec = p_rd[a].data
            sacc = Signal(signed(SW), name=f"sacc{a}", reset_less=True)
            mlt = Signal(MULT_BITS, name=f"mlt{a}", reset_less=True)
            sh = Signal(SHIFT_BITS, name=f"sh{a}", reset_less=True)
            m.d.sync += [sacc.eq(acc_val[a] + rec[0:BIAS_BITS].as_signed()),
                         mlt.eq(Mux(raw_a, 1, rec[BIAS_BITS:BIAS_BITS + MULT_BITS])),
                         sh.eq(Mux(raw_a, 0, rec[BIAS_BITS + MULT_BITS:]))]
            # round half up on the product shifted by max(shift - 1, 0) (walk.round_clamp)
            # the shift travels beside the product, to t: MULT_STAGES + 1 stages after sacc
            sh_t = delayed(m, sh, timing.MULT_STAGES + 1, f"sh_t{a}")
            s1 = delayed(m, shift_less_one(sh), timing.MULT_STAGES + 1, f"s1_{a}")
            t = Signal(signed(YW), name=f"t{a}", reset_less=True)            # (acc + bias) * mult, exactly
            m.d.sync += t.eq(split_product(m, sacc, mlt, f"p{a}", parts.run("wr")))
            z = narrow_shift(m, t, s1, QN + 1, f"z{a}")  # t >> s1, as far as round_clamp reads it
            whole = Signal(name=f"whole{a}")                # shift 0: no rounding
            m.d.sync += whole.eq(sh_t == 0)
            q_req = round_clamp(z, whole, omax_a, QN, signed_in=True)
            if LOGIT_BITS in OUTS:                          # raw: shift 0, so t itself
                t_raw = Signal(QW, name=f"traw{a}", reset_less=True)
                m.d.sync += t_raw.eq(t[:QW])
                m.d.sync += q[a].eq(Mux(raw_a, t_raw, q_req))
            else:
                m.d.sync += q[a].eq(q_req)
        w6 = stage(w5, "w6")
        rot5 = w5[3]
        # the lanes rotated into the beat's order, a stage of its own: the lanes' q registers sit by their
        # multipliers, across the chunk from the beat register. Each output lane's source lane is a register of
        # its own (w6's rotation, decoded a stage early), not a decode of one register for every lane
        rot_q = []
        qa = Array(q)
        for u in range(TM):
            idx = reg(Mux(rot5 + u >= TM, rot5 + u - TM, rot5 + u), f"rot_idx{u}")
            rq = Signal(QW, name=f"rotq{u}", reset_less=True)
            m.d.sync += rq.eq(qa[idx])
            rot_q.append(rq)
        w7 = stage(w6, "w7")
        run3, last3, s3_, _, inr3, addr3 = w7[:6]
        beat = Signal(BUS, reset_less=True)
        beat_next = Signal(BUS)
        m.d.comb += beat_next.eq(Mux(s3_ == 0, 0, beat))
        # the output width's select, a register beside the beat (the cfg registers sit at the chunk's edge; the
        # writer first reads it a tile after the start, when the copy has long followed the cfg)
        with m.Switch(reg(cfg["ob_sel"], "ob_sel_w")):
            for i, ob in enumerate(OUTS):
                with m.Case(i):
                    vo = BUS // ob
                    for s in range(ceil_div(vo, TM)):
                        with m.If(s3_ == s):
                            for u in range(TM):
                                v = s * TM + u
                                if v < vo:
                                    m.d.comb += beat_next[v * ob:(v + 1) * ob].eq(rot_q[u][:ob])
        wr_en_r = Signal()
        with m.If(run3):
            m.d.sync += beat.eq(beat_next)
        m.d.sync += [wr_en_r.eq(run3 & last3 & inr3)]
        wr_addr_r, wr_data_r = Signal(MA, reset_less=True), Signal(BUS, reset_less=True)
        with m.If(run3 & last3):
            m.d.sync += [wr_addr_r.eq(addr3), wr_data_r.eq(beat_next)]
        m.d.comb += [self.mem_wr_addr.eq(wr_addr_r), self.mem_wr_data.eq(wr_data_r)]
        m.d.comb += self.mem_wr_en.eq(wr_en_r)
        return parts.assemble(self.hold if self.has_hold else None)
