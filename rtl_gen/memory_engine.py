"""The memory engine of a conv chunk: per step, first the pending output tile (its requantization records in,
requantized beats out through the writer), then the next step's inputs and weights (one read stream, through the
loader) into the other bank. Its phase sequencer walks P (records), W (the tile's beats), I (inputs), WT
(weights), each followed by its drain (hw_model.timing); the input and output walks are loop nests over
(row, column, beat, sub-beat) whose addresses are sums (rtl_gen.nest)."""
from __future__ import annotations

from amaranth import Const, Mux, Signal, signed, unsigned

from hw_model import timing
from hw_model.config import COUNTER_BITS, LOGIT_BITS
from hw_model.mapping import ceil_div
from hw_model.shape import ConvShape

from .arith import count_width, times
from .loader import Loader, TagKind
from .nest import CARRY, LoopNest, nested_sum, walk_beats
from .pipeline import pipe_reg

CNT = COUNTER_BITS
ANON = "$signal"         # Amaranth's name for a signal it cannot name


class MemoryEngine:
    def __init__(self, parts, port, cfg, g: ConvShape, ctl, bufs, compute, last_of, tile_count, bounds):
        """ctl: the StepController (its job strobes; g_busy is driven here); compute: the ComputeArray (the
        widths of its buffer addresses)."""
        self.g, self.cfg, self.ctl, self.bufs = g, cfg, ctl, bufs
        m = parts["ctl"]
        self._job(m)
        self.loader = Loader(parts, port, g, bufs, cfg["in_plane"], len(compute.w_addr))
        self._counters(m, len(compute.w_addr), len(compute.acc_addr), tile_count)
        self._writer_values(m, bounds)
        self._input_walk(m, port, last_of)
        self._output_walk(m, last_of)
        self._sequencer(m, last_of)

    def _job(self, m):
        st = self.ctl
        g_wbank = Signal()
        g_lb = Signal()
        job_w = Signal()
        job_l = Signal()
        # the job's step values: the next step's for the loader, the pending tile's for the writer
        gl = {k: Signal(cur.shape(), name=f"g_l{k}", reset_less=True) for k, (cur, _) in st.load_sums.items()}
        gw = {k: Signal(v.shape(), name=f"g_w{k}", reset_less=True) for k, v in st.wtile.items()}
        with m.If(st.g_go):
            m.d.sync += [job_w.eq(st.g_do_w), job_l.eq(st.g_do_l), g_lb.eq(st.g_lbank), g_wbank.eq(st.wbank)]
            m.d.sync += [gl[k].eq(Mux(st.in_step, nxt, cur)) for k, (cur, nxt) in st.load_sums.items()]
            m.d.sync += [gw[k].eq(v) for k, v in st.wtile.items()]
        self.g_wbank, self.g_lb, self.job_w, self.job_l, self.gl, self.gw = g_wbank, g_lb, job_w, job_l, gl, gw

    def _counters(self, m, w_word_bits, AW, tile_count):
        g = self.g
        LANES, B_W, P_GB, TM, TP, LAT, IW = g.lanes, g.b_w, g.p_group_beats, g.tm, g.tp, g.latency, g.in_word_bits
        ph_drain = Signal(range(max(LAT + timing.READ_DRAIN_EXTRA, timing.WRITE_DRAIN) + 2))
        # these counters are unnamed (ANON) as in the netlist that routed at 100 MHz: a name is a new placement
        # input stream: rotation, lane group
        l_rot, l_gb = Signal(count_width(LANES)), Signal(CNT, name=ANON)
        # weight stream: beat, bank, word
        lw_i, lw_b, lw_word = tile_count("w_tile_beats", "lw_i"), Signal(count_width(B_W)), Signal(w_word_bits, name=ANON)
        # param stream: beat, group, beat in the group
        lp_i, lp_g, lp_b = tile_count("p_tile_beats", "lp_i"), tile_count("mg", "lp_g"), Signal(count_width(P_GB))
        # writer: column group, column in it (pixel: o_c = o_cg * TP + o_cp), rotation, lane group
        o_cg, o_cp = tile_count("cgs", "o_cg"), Signal(range(TP + 1), name=ANON)
        o_rot, o_gb = Signal(count_width(TM)), tile_count("mg", "o_gb")
        o_rotv = Signal(count_width(2 * TM))     # o_rot + vo_mod (walk_beats)
        # pixel, group base * acc_plane, sub * acc_plane
        o_pix, o_goff, o_soff = Signal(AW), Signal(AW), Signal(AW, name=ANON)
        l_goff, l_soff = Signal(IW), Signal(IW, name=ANON)           # group base * in_plane, sub * in_plane
        self.__dict__.update(ph_drain=ph_drain, l_rot=l_rot, l_gb=l_gb, lw_i=lw_i, lw_b=lw_b, lw_word=lw_word,
                             lp_i=lp_i, lp_g=lp_g, lp_b=lp_b, o_cg=o_cg, o_cp=o_cp, o_rot=o_rot, o_gb=o_gb,
                             o_rotv=o_rotv, o_pix=o_pix, o_goff=o_goff, o_soff=o_soff, l_goff=l_goff, l_soff=l_soff,
                             AW=AW)

    def _writer_values(self, m, BND):
        """The writer's per-layer values, decoded from cfg and registered like the loop ends (the writer first
        reads them many cycles after start, once a tile has been computed). vo_mod, vo_div: values per beat mod /
        div TM; last_sub_w: sub-beats per output beat, less one; raw: out_bits = LOGIT_BITS (write acc + bias as
        int32 logits, no requantization); omax and raw are registered in each requantizer lane (the writer)."""
        g, cfg, AW = self.g, self.cfg, self.AW
        TM, BUS, OUTS = g.tm, g.bus, g.out_bits
        decoded = [Signal(count_width(TM), name="vo_mod_d"), Signal(range(BUS // min(OUTS) // TM + 1), name="vo_div_d"),
                   Signal(AW, name="vo_div_plane_d"), Signal(count_width(BND["sub_w"]), name="last_sub_w_d"),
                   Signal(8, name="omax_d"), Signal(name="raw_d")]
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
        self.vo_mod, self.vo_div, self.vo_div_plane = (pipe_reg(m, decoded[i], decoded[i].name[:-2]) for i in (0, 1, 2))
        self.last_sub_w = pipe_reg(m, decoded[3], "last_sub_w")
        self.decoded = decoded

    def _input_walk(self, m, port, last_of):
        """The input stream's addresses over its nest (row, col, beat k, sub-beat s), by additions. The walks'
        address sums start over once a layer, not at each walk's start (a state decode into every sum register's
        enable and reset): each walk runs its whole nest, so its last advance wraps the sums back to their initial
        value, 0 (nest.nested_sum). The restart is the chunk's start registered here, a cycle later (the top's go
        flip-flop sits at the top, the sums across the chunk): the first advance of either walk comes after PRE,
        two cycles after start at the earliest."""
        g, cfg, gl = self.g, self.cfg, self.gl
        SUB_IN, MA, IW, PX = g.sub_in, g.addr_bits, g.in_word_bits, g.pixel
        COLSB, ROWS_MAX = g.colsb, g.rows_max
        l_adv = Signal()
        l_restart = o_restart = pipe_reg(m, port.start, "walk_restart")
        # the input walk's nest (row, col, beat k, sub-beat s): counters, end flags and advance conditions in
        # flip-flops (nest.LoopNest), so that the counters' and sums' enables read registers, not counter compares.
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
        self.__dict__.update(l_adv=l_adv, o_restart=o_restart, l_nest=l_nest, l_col=l_col, l_s=l_s, e_k=e_k,
                             e_s=e_s, l_inr=l_inr, l_addr=l_addr, l_word=l_word)

    def _output_walk(self, m, last_of):
        """The output walk's nest (tile row, column, beat kb, sub-beat s), as the input walk's, and the writer's
        reads: addresses computed from the walk's registers, registered (a pipeline stage), then to the memories'
        address pins (the accumulator's block RAMs are across the chunk from the walk)."""
        g, cfg, gw, b = self.g, self.cfg, self.gw, self.bufs
        MA, AW, TM, TP, D_ACC = g.addr_bits, self.AW, g.tm, g.tp, g.d_acc
        o_run = Signal()
        o_nest = LoopNest(m, "o", [last_of("trb"), last_of("tcb"), last_of("kb_out"), self.last_sub_w], o_run,
                          self.o_restart)
        o_r, o_c, o_kb, o_s = o_nest.count
        _, e_oc, e_okb, o_last_s = o_nest.ends
        o_ho, o_wo, o_jb = Signal(CNT), Signal(CNT), Signal(CNT)
        m.d.comb += [o_ho.eq(gw["or0"] + o_r), o_wo.eq(gw["oc0"] + o_c), o_jb.eq(gw["ojb0"] + o_kb)]
        o_inr = Signal()
        o_addr = Signal(MA)
        o_off, _ = nested_sum(m, "o_off", unsigned(MA), 0, [cfg["out_row_beats"], cfg["out_nb"], 1, None],
                              o_nest.moves, o_run, self.o_restart)
        m.d.comb += [o_inr.eq((o_ho < cfg["out_h"]) & (o_wo < cfg["out_w"]) & (o_jb < cfg["out_nb"])),
                     o_addr.eq(gw["obase"] + o_off)]
        o_abase = Signal(AW)                 # the lanes' common part: bank, group, sub-beat, pixel
        m.d.comb += o_abase.eq(Mux(self.g_wbank, D_ACC, 0) + self.o_goff + self.o_soff + self.o_pix)
        for a in range(TM):
            grp = self.o_gb + o_s + (a < self.o_rot)
            for p in range(TP):
                m.d.comb += b.acc_rd_w[a * TP + p].addr.eq(pipe_reg(
                    m, o_abase + Mux(a < self.o_rot, cfg["acc_plane"], 0), f"acc_rd_addr{a * TP + p}"))
            m.d.comb += b.p_rd[a].addr.eq(pipe_reg(m, grp, f"p_rd_addr{a}"))
        self.__dict__.update(o_run=o_run, o_nest=o_nest, o_s=o_s, e_oc=e_oc, e_okb=e_okb, o_last_s=o_last_s,
                             o_inr=o_inr, o_addr=o_addr)

    def _sequencer(self, m, last_of):
        g, cfg, ld, gl, gw, st = self.g, self.cfg, self.loader, self.gl, self.gw, self.ctl
        LAT, P_GB, B_W, TM, TP, V_IN, LANES, D_IN, D_W = (g.latency, g.p_group_beats, g.b_w, g.tm, g.tp, g.v_in,
                                                         g.lanes, g.d_in, g.d_w)
        PX, LOG_NBK = g.pixel, g.log_nbk
        ph_drain, lp_i, lp_g, lp_b, lw_i, lw_b, lw_word = (self.ph_drain, self.lp_i, self.lp_g, self.lp_b, self.lw_i,
                                                           self.lw_b, self.lw_word)
        o_rot, o_rotv, o_gb, o_cg, o_cp, o_pix, o_goff, o_soff = (self.o_rot, self.o_rotv, self.o_gb, self.o_cg,
                                                                  self.o_cp, self.o_pix, self.o_goff, self.o_soff)
        l_rot, l_gb, l_goff, l_soff, l_s, l_col = self.l_rot, self.l_gb, self.l_goff, self.l_soff, self.l_s, self.l_col
        g_lb = self.g_lb
        in_plane = cfg["in_plane"]

        def start_input_stream(bank):
            m.d.sync += [l_rot.eq(0), l_gb.eq(0), l_goff.eq(0), l_soff.eq(0), lw_i.eq(0), lw_b.eq(0),
                         lw_word.eq(Mux(bank, D_W, 0))]
            m.next = "I"

        with m.FSM(name="mem") as mem_fsm:
            with m.State("IDLE"):
                with m.If(st.g_go & st.g_do_w):
                    m.d.sync += [lp_i.eq(0), lp_g.eq(0), lp_b.eq(0)]
                    m.next = "P"
                with m.Elif(st.g_go & st.g_do_l):
                    start_input_stream(st.g_lbank)
            with m.State("P"):  # requantization records of the pending tile
                m.d.comb += [ld.rq_en.eq(1), ld.rq_addr.eq(gw["pbase"] + lp_i),
                             ld.kind.eq(TagKind.PARAMS), ld.inr.eq(1), ld.a.eq(lp_g), ld.b.eq(lp_b)]
                m.d.sync += [lp_i.eq(lp_i + 1), lp_b.eq(lp_b + 1)]
                with m.If(lp_b == P_GB - 1):
                    m.d.sync += [lp_b.eq(0), lp_g.eq(lp_g + 1)]
                with m.If(lp_i == last_of("p_tile_beats")):
                    m.d.sync += ph_drain.eq(LAT + timing.READ_DRAIN_EXTRA)
                    m.next = "P_DRAIN"
            with m.State("P_DRAIN"):
                m.d.sync += ph_drain.eq(ph_drain - 1)
                with m.If(ph_drain == 1):
                    m.d.sync += [o_rot.eq(0), o_rotv.eq(self.vo_mod), o_gb.eq(0), o_cg.eq(0), o_cp.eq(0),
                                 o_pix.eq(0), o_goff.eq(0), o_soff.eq(0)]
                    m.next = "W"
            with m.State("W"):  # requantize and write the pending tile
                m.d.comb += self.o_run.eq(1)

                def after_pixel():   # the nest's counters step themselves
                    m.d.sync += o_cp.eq(o_cp + 1)
                    with m.If((o_cp == TP - 1) | self.e_oc):   # the next accumulator word
                        m.d.sync += o_pix.eq(o_pix + 1)
                    with m.If(o_cp == TP - 1):
                        m.d.sync += [o_cp.eq(0), o_cg.eq(o_cg + 1)]
                    with m.If(self.e_oc):
                        m.d.sync += [o_cg.eq(0), o_cp.eq(0)]
                    with m.If(self.o_nest.moves.wrap):
                        m.d.sync += ph_drain.eq(timing.WRITE_DRAIN)
                        m.next = "W_DRAIN"

                walk_beats(m, o_rot, o_gb, self.o_last_s, self.vo_mod, self.vo_div, TM, self.e_okb, after_pixel,
                           o_goff, o_soff, cfg["acc_plane"], self.vo_div_plane, o_rotv)
            with m.State("W_DRAIN"):
                m.d.sync += ph_drain.eq(ph_drain - 1)
                with m.If(ph_drain == 1):
                    with m.If(self.job_l):
                        start_input_stream(g_lb)
                    with m.Else():
                        m.next = "IDLE"
            with m.State("I"):  # the next step's input tile
                m.d.comb += [ld.rq_en.eq((l_s == 0) & self.l_inr), ld.rq_addr.eq(self.l_addr), self.l_adv.eq(1),
                             ld.kind.eq(TagKind.INPUTS), ld.inr.eq(self.l_inr), ld.sub.eq(l_s)]
                if PX:  # whole beats into column banks
                    m.d.comb += [ld.a.eq(Mux(g_lb, D_IN, 0) + self.l_word + (l_col >> LOG_NBK)),
                                 ld.b.eq(l_col[:LOG_NBK] if LOG_NBK else 0)]
                else:
                    m.d.comb += [ld.a.eq(Mux(g_lb, D_IN, 0) + self.l_word), ld.b.eq(l_rot), ld.c.eq(l_goff + l_soff)]

                def after_pixel():   # the nest's counters step themselves
                    with m.If(self.l_nest.moves.wrap):
                        m.next = "WT"

                walk_beats(m, l_rot, l_gb, self.e_s, V_IN % LANES, V_IN // LANES, LANES, self.e_k, after_pixel, l_goff,
                           l_soff, in_plane, times(in_plane, V_IN // LANES))
            with m.State("WT"):  # the next step's weights
                m.d.comb += [ld.rq_en.eq(1), ld.rq_addr.eq(gl["wblk"] + lw_i), ld.kind.eq(TagKind.WEIGHTS),
                             ld.inr.eq(1), ld.a.eq(lw_word), ld.b.eq(lw_b)]
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
        m.d.comb += st.g_busy.eq(~mem_fsm.ongoing("IDLE"))
