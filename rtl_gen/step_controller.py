"""The step controller of a conv chunk: walks the tile loops (m, r, c, n; n innermost) and starts the compute
array and the memory engine once per step; a step ends when both are idle (hw_model.timing.STEP_OVERHEAD).
It keeps the per-step values (tile origins, memory bases) as sums over the step nest: the loader takes the next
step's, the writer the finished output tile's."""
from __future__ import annotations

from amaranth import Cat, Const, Mux, Signal, signed, unsigned

from hw_model.config import COUNTER_BITS

from .cells import kept_reg
from .nest import CARRY, CopiedMoves, flop, nested_sum

CNT = COUNTER_BITS


class StepController:
    def __init__(self, m, parts, cfg, port, depthwise: bool, addr_bits: int):
        """m: the part it is built in (parts["ctl"]); port: the chunk (start in, done and busy out)."""
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
        # the step sums' advance conditions (nest.Moves), kept in flip-flops beside the flags they derive from
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
                with m.If(port.start):
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
        m.d.comb += port.done.eq(done)
        m.d.comb += port.busy.eq(~idle)
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

        self.cn, self.kbank, self.abank, self.wbank, self.last_step = cn, kbank, abank, wbank, last_step
        self.c_go, self.g_go, self.g_do_w, self.g_do_l, self.g_lbank = c_go, g_go, g_do_w, g_do_l, g_lbank
        self.in_step, self.st_fin, self.c_busy, self.g_busy = in_step, st_fin, c_busy, g_busy
        self._step_sums(m, parts, cfg, depthwise, addr_bits, st_moves, idle_d, st_adv_d, last_n)

    def _step_sums(self, m, parts, cfg, DW, MA, st_moves, idle_d, st_adv_d, last_n):
        """Per-step addresses and coordinates, kept by additions over the step nest (m, r, c, n): the loader
        takes the next step's (the first step's in PRE), the writer the finished output tile's."""
        dw_lvl = (lambda v: [v, None, None, None]) if DW else (lambda v: [None, None, None, v])

        def step_sum(name, shape, init, coefs):
            # the sum's own copy of the controller's flags (restart = idle, advance = st_adv, the moves): one
            # register each would drive the enables and selects of every step sum (~300 flip-flops over the chunk)
            ctl = kept_reg(m, Cat(idle_d, st_adv_d, *st_moves.flags_d), f"st_{name}_ctl", parts.run("ctl"), init=1)
            return nested_sum(m, f"st_{name}", shape, init, coefs, st_moves.of_flags(ctl[2:]), ctl[1], ctl[0])
        self.load_sums = dict(
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
        with m.If(self.st_fin & last_n):
            m.d.sync += [wtile[k].eq(cur) for k, (cur, _) in write_sums.items()]
        self.wtile = wtile
