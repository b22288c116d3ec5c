"""VectorChunk: the template's vector unit, for residual adds and global average pooling.

One channel per cycle through a multiply-add (hw_model.numerics: add_int, avgpool_int), fed from two
double-banked pixel buffers (a and b) that the load engine fills with the next step's pixels while the
compute engine works on the current ones. A step holds `tcb` pixels. The add walks pixel by pixel, channels
inner; the pool holds the whole map in one step and walks channel by channel, pixels inner, summing. Output
values are packed into beats of out_bits values in the pipeline and written as each beat fills, so there is
no separate write phase. The same registers (hw_model.regs) and memory port as ConvChunk; latencies from
hw_model.timing; the cycle formula is hw_model.cycles.vector_cycles_from_fields.
"""
from __future__ import annotations

from functools import reduce
from operator import or_

from amaranth import Const, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory

from hw_model import timing
from hw_model.config import COUNTER_BITS, MULT_BITS, Chunk, MemoryInterface
from hw_model.mapping import field_bounds
from hw_model.regs import field_offsets

from .arith import count_width
from .cells import dsp_product, split_product
from .nest import registered_lasts
from .parts import Parts
from .pipeline import Stages, delayed, pipe_reg, read_request
from .port import chunk_signature
from .requantizer import narrow_shift, round_clamp, shift_less_one

CNT = COUNTER_BITS   # steps of a layer; tile counters take field_bounds, addresses the memory's addr_bits


class VectorChunk(wiring.Component):
    # the parts (parts.Parts, as the conv chunk's): controllers and counters; the pixel buffers; the read data
    # into the buffers; the datapath
    PARTS = ("ctl", "buf", "load", "dp")

    def __init__(self, chunk: Chunk, mem: MemoryInterface, hold: bool = False):
        """`hold` as ConvChunk's: a bit per part."""
        assert chunk.vector
        self.chunk, self.mem, self.has_hold = chunk, mem, hold
        super().__init__(chunk_signature(mem, len(self.PARTS), hold))

    def elaborate(self, platform):
        ch, mi = self.chunk, self.mem
        parts = Parts(self.PARTS)
        m = parts["ctl"]
        cfg = {name: self.cfg[off:off + w] for name, (off, w) in field_offsets().items()}
        Q, BUS, LAT = ch.bits, mi.bus_bits, mi.read_latency
        V_IN = BUS // Q
        D = ch.vec_depth(BUS)
        OUTS = ch.out_bits
        pool = cfg["vop"][0]

        bufs = [Memory(shape=unsigned(BUS), depth=2 * D, init=[]) for _ in range(2)]
        for i, b in enumerate(bufs):
            parts["buf"].submodules[f"pix_buf{i}"] = b
        rd = [b.read_port() for b in bufs]
        wr = [b.write_port() for b in bufs]

        # loop ends compare counters with registered cfg - 1 values (nest.registered_lasts)
        BND = field_bounds(ch, mi)
        lasts = registered_lasts(m, cfg, ("tcb", "channels", "in_nb"), BND)
        ADDR = mi.addr_bits                        # memory offsets; pixel counts one bit wider (a pixel is >= 1 beat)
        WORD = count_width(2 * D)                  # a pixel-buffer word, either bank
        self.__dict__.update(fields=cfg, Q=Q, BUS=BUS, LAT=LAT, V_IN=V_IN, D=D, OUTS=OUTS, pool=pool, rd=rd, wr=wr,
                             BND=BND, lasts=lasts, ADDR=ADDR, WORD=WORD)
        self._step_controller(m)
        self._loader(m, parts)
        self._compute(parts["ctl"])
        self._datapath(parts["dp"], parts)
        return parts.assemble(self.hold if self.has_hold else None)

    def _step_controller(self, m):
        """Steps of tcb pixels: each starts the loader on the next step's pixels and the compute engine on the
        current ones; the STEP and ADV states are flip-flops, as the conv chunk's (timing.STEP_OVERHEAD)."""
        cfg = self.fields
        step = Signal(CNT)
        kbank = Signal()
        # step == n_steps - 1 as a flag register (as the conv chunk's step flags): set in PRE, then for the next step
        last_step, one_step, pen_step = Signal(), Signal(), Signal(CNT)
        m.d.sync += [one_step.eq(cfg["n_steps"] == 1), pen_step.eq(cfg["n_steps"] - 2)]
        c_go, g_go, g_bank = Signal(), Signal(), Signal()
        c_busy, g_busy = Signal(), Signal()
        in_step, st_adv, done = Signal(), Signal(), Signal()   # the STEP, ADV and DONE states, as flip-flops
        layer_start = Signal()
        with m.FSM(name="ctrl") as ctrl:
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.comb += layer_start.eq(1)
                    m.d.sync += [step.eq(0), kbank.eq(0)]
                    m.next = "PRE"
            with m.State("PRE"):
                m.d.comb += [g_go.eq(1), g_bank.eq(0)]
                m.d.sync += last_step.eq(one_step)
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
                    m.d.sync += st_adv.eq(~last_step)
                    m.next = "ADV"
            with m.State("ADV"):
                m.d.sync += st_adv.eq(0)
                with m.If(last_step):
                    m.d.sync += done.eq(1)
                    m.next = "DONE"
                with m.Else():
                    m.d.sync += in_step.eq(1)
                    m.next = "STEP"
            with m.State("DONE"):
                m.d.sync += done.eq(0)
                m.next = "IDLE"
        m.d.comb += self.done.eq(done)
        m.d.comb += self.busy.eq(~ctrl.ongoing("IDLE"))
        # the STEP and ADV states as flip-flops (as the conv chunk's): the engines' start strobes, and the step's
        # end decided a cycle ahead in STEP_WAIT (timing.STEP_OVERHEAD)
        with m.If(in_step):
            m.d.comb += [c_go.eq(1), g_go.eq(~last_step), g_bank.eq(~kbank)]
        at_pen = Signal()
        m.d.sync += at_pen.eq(step == pen_step)
        with m.If(st_adv):
            m.d.sync += [step.eq(step + 1), kbank.eq(~kbank), last_step.eq(at_pen)]
        self.__dict__.update(step=step, kbank=kbank, c_go=c_go, g_go=g_go, g_bank=g_bank, c_busy=c_busy, g_busy=g_busy,
                             layer_start=layer_start)

    def _loader(self, m, parts):
        """Walks pixels t of the step, sources a (then b), beats jb; the pixel index and the tensor offset run on
        across steps (steps are loaded in order). The read data go into the other bank."""
        cfg, BND, ADDR, WORD, LAT, D, pool, lasts, wr = (self.fields, self.BND, self.ADDR, self.WORD, self.LAT, self.D,
                                                         self.pool, self.lasts, self.wr)
        layer_start, g_go, g_bank, g_busy = self.layer_start, self.g_go, self.g_bank, self.g_busy
        l_run, l_t, l_src, l_jb = Signal(), Signal(count_width(BND["tcb"])), Signal(), Signal(count_width(BND["in_nb"]))
        l_p, l_off, l_word, l_bank = Signal(ADDR + 1), Signal(ADDR), Signal(WORD), Signal()
        l_drain = Signal(range(LAT + timing.READ_DRAIN_EXTRA + 2))
        with m.If(layer_start):
            m.d.sync += [l_p.eq(0), l_off.eq(0)]
        with m.If(g_go):
            m.d.sync += [l_run.eq(1), l_t.eq(0), l_src.eq(0), l_jb.eq(0), l_word.eq(0), l_bank.eq(g_bank)]
        inr = l_p < cfg["pixels"]
        rq_en = Signal()
        rq_addr = Signal(ADDR)
        m.d.comb += [rq_en.eq(l_run & inr),
                     rq_addr.eq(Mux(l_src, cfg["w_base"], cfg["act_base"]) + l_off + l_jb)]
        read_request(m, rq_en, rq_addr, self)
        last_src = l_src | pool   # the pool reads one source
        with m.If(l_run):
            m.d.sync += l_jb.eq(l_jb + 1)
            with m.If(l_jb == lasts["in_nb"]):
                m.d.sync += [l_jb.eq(0), l_src.eq(~l_src)]
                with m.If(last_src):
                    m.d.sync += [l_src.eq(0), l_t.eq(l_t + 1), l_p.eq(l_p + 1), l_off.eq(l_off + cfg["in_nb"]),
                                 l_word.eq(l_word + cfg["in_nb"])]
                    with m.If(l_t == lasts["tcb"]):
                        m.d.sync += [l_run.eq(0), l_drain.eq(LAT + timing.READ_DRAIN_EXTRA)]
        with m.If(~l_run & (l_drain != 0)):
            m.d.sync += l_drain.eq(l_drain - 1)
        # g_busy = l_run | (l_drain != 0) and c_busy likewise, kept in flip-flops (as the conv chunk's c_busy)
        m.d.sync += g_busy.eq(g_go | l_run | (l_drain > 1))

        # tags travel with the request until its data are in the last data register (LAT + READ_DRAIN_EXTRA
        # cycles: the request's registers, the memory's latency, the READ_DATA_STAGES data registers, as the conv
        # chunk's)
        m = parts["load"]
        rd_data = delayed(m, self.mem_rd_data, timing.READ_DATA_STAGES, "rd_data_r")
        tag = [l_run, inr, l_src, Mux(l_bank, D, 0) + l_word + l_jb]
        line = tag
        for d in range(LAT + timing.READ_DRAIN_EXTRA):
            line = [pipe_reg(m, s, f"ld{d}_{i}") for i, s in enumerate(line)]
        t_v, t_inr, t_src, t_word = line
        for i in range(2):
            m.d.comb += [wr[i].en.eq(t_v & (t_src == i)), wr[i].addr.eq(t_word),
                         wr[i].data.eq(Mux(t_inr, rd_data, 0))]

    def _compute(self, m):
        """One channel a cycle: the add pixel by pixel with channels inner, the pool channel by channel with pixels
        inner; the buffers' read address stepped with the counters."""
        cfg, BND, ADDR, V_IN, BUS, OUTS, D, pool, lasts, rd = (self.fields, self.BND, self.ADDR, self.V_IN, self.BUS,
                                                              self.OUTS, self.D, self.pool, self.lasts, self.rd)
        layer_start, c_go, kbank, c_busy = self.layer_start, self.c_go, self.kbank, self.c_busy
        c_run, c_bank = Signal(), Signal()
        c_drain = Signal(range(timing.VEC_DRAIN + 1))
        t = Signal(count_width(BND["tcb"]))                       # pixel of the step
        c, c_beat, c_slot = Signal(count_width(BND["channels"])), Signal(count_width(BND["in_nb"])), Signal(range(V_IN))
        o_beat, o_slot = Signal(count_width(BND["channels"])), Signal(count_width(BUS // min(OUTS)))   # of the most values a beat
        p, o_off = Signal(ADDR + 1), Signal(ADDR)                # add: pixel of the layer, its output offset
        vo_m1 = Signal(len(o_slot))
        QN = max(OUTS)                                           # width of an output value
        omax = Signal(QN)
        with m.Switch(cfg["ob_sel"]):
            for i, ob in enumerate(OUTS):
                with m.Case(i):
                    m.d.comb += [vo_m1.eq(BUS // ob - 1), omax.eq((1 << ob) - 1)]
        with m.If(layer_start):
            m.d.sync += [p.eq(0), o_off.eq(0)]
        with m.If(c_go):
            m.d.sync += [c_run.eq(1), c_bank.eq(kbank), t.eq(0), c.eq(0), c_beat.eq(0),
                         c_slot.eq(0), o_beat.eq(0), o_slot.eq(0)]
        last_t = t == lasts["tcb"]
        last_c = c == lasts["channels"]

        # the buffers' read address, bank + t * in_nb + c_beat, a register stepped with the counters (no adder
        # between a register and the block RAMs' address pins): a pixel's channels are its in_nb beats in a row
        r_addr = Signal(len(rd[0].addr), reset_less=True)
        bank_off = Mux(c_bank, D, 0)
        beat_step = (c_slot == V_IN - 1) if V_IN > 1 else Const(1, 1)   # the next channel is in the next beat
        with m.If(c_go):
            m.d.sync += r_addr.eq(Mux(kbank, D, 0))

        def next_channel():
            m.d.sync += [c.eq(c + 1), c_slot.eq(c_slot + 1), o_slot.eq(o_slot + 1)]
            if V_IN > 1:
                with m.If(c_slot == V_IN - 1):
                    m.d.sync += [c_slot.eq(0), c_beat.eq(c_beat + 1)]
            else:
                m.d.sync += [c_slot.eq(0), c_beat.eq(c_beat + 1)]
            with m.If(o_slot == vo_m1):
                m.d.sync += [o_slot.eq(0), o_beat.eq(o_beat + 1)]

        def first_channel():
            m.d.sync += [c.eq(0), c_slot.eq(0), c_beat.eq(0), o_slot.eq(0), o_beat.eq(0)]

        def finish():
            m.d.sync += [c_run.eq(0), c_drain.eq(timing.VEC_DRAIN)]

        with m.If(c_run):
            with m.If(pool):        # channels outer, pixels inner
                m.d.sync += [t.eq(t + 1), r_addr.eq(r_addr + cfg["in_nb"])]
                with m.If(last_t):
                    m.d.sync += [t.eq(0), r_addr.eq(bank_off + c_beat + beat_step)]
                    next_channel()
                    with m.If(last_c):
                        finish()
            with m.Else():          # pixels outer, channels inner
                next_channel()
                m.d.sync += r_addr.eq(r_addr + beat_step)
                with m.If(last_c):
                    first_channel()
                    m.d.sync += [t.eq(t + 1), p.eq(p + 1), o_off.eq(o_off + cfg["out_nb"]),
                                 r_addr.eq(r_addr + 1)]   # the last channel is in beat in_nb - 1
                    with m.If(last_t):
                        finish()
        with m.If(~c_run & (c_drain != 0)):
            m.d.sync += c_drain.eq(c_drain - 1)
        m.d.sync += c_busy.eq(c_go | c_run | (c_drain > 1))

        for r in rd:
            m.d.comb += r.addr.eq(r_addr)
        emit = c_run & (~pool | last_t)
        write = emit & ((o_slot == vo_m1) | last_c) & (pool | (p < cfg["pixels"]))
        waddr = cfg["out_base"] + Mux(pool, 0, o_off) + o_beat
        self.__dict__.update(c_run=c_run, t=t, c_slot=c_slot, o_slot=o_slot, emit=emit, write=write, waddr=waddr,
                             QN=QN, omax=omax)

    def _datapath(self, m, parts):
        """The multiply-add pipeline (timing.VEC_DRAIN, checked as it is built) and the output beats."""
        cfg, Q, BUS, OUTS, ADDR, pool, rd = self.fields, self.Q, self.BUS, self.OUTS, self.ADDR, self.pool, self.rd
        c_run, t, c_slot, o_slot, emit, write, waddr = (self.c_run, self.t, self.c_slot, self.o_slot, self.emit,
                                                        self.write, self.waddr)
        QN, omax = self.QN, self.omax

        depth = Stages("vector", timing.VEC_DRAIN)   # the tag line's stages, then the port's register

        def stage(sigs, name):
            depth.add(1)
            return [pipe_reg(m, s, f"{name}_{i}") for i, s in enumerate(sigs)]

        first = ~pool | (t == 0)
        s1 = stage([c_run, first, emit, c_slot, o_slot, write, waddr], "v1")
        # stage 1: the buffers' beats into registers (a block RAM's output is slow, and the select is a wide
        # multiplexer); stage 1b: the operands out of their beats
        beat_a, beat_b = (pipe_reg(m, r.data, f"beat_{x}") for r, x in zip(rd, "ab"))
        s1 = stage(s1, "v1b")
        xa, xb = Signal(Q, name="xa", reset_less=True), Signal(Q, name="xb", reset_less=True)
        m.d.sync += [xa.eq(beat_a.word_select(s1[3], Q)), xb.eq(beat_b.word_select(s1[3], Q))]
        s2 = stage([s1[0], s1[1], s1[2], s1[4], s1[5], s1[6]], "v2")
        # stage 2: the pool's running sum (the add passes a through)
        SUM = Q + 16
        acc = Signal(SUM, reset_less=True)
        with m.If(s2[0]):
            m.d.sync += acc.eq(Mux(s2[1], xa, acc + xa))
        xb2 = Signal(Q, reset_less=True)
        m.d.sync += xb2.eq(Mux(pool, 0, xb))
        s3 = stage(s2[2:], "v3")
        # stages 3..6 + MULT_STAGES - 1, one operation each: the two products (MULT_STAGES, cells.dsp_product),
        # their sum, the shift by max(vshift - 1, 0), the rounding and clamp (requantizer.round_clamp)
        # the sum is wider than a multiplier's port: its product is two (cells.split_product), summed with the
        # other product in the next stage
        pa = split_product(m, acc, cfg["mult_a"], "pa", parts.run("dp"))
        pb = dsp_product(m, xb2, cfg["mult_b"], "pb", parts.run("dp"))
        y = Signal(SUM + MULT_BITS + 1, reset_less=True)
        m.d.sync += y.eq(pa + pb)
        vs1, whole = Signal(len(cfg["vshift"]), reset_less=True), Signal(reset_less=True)   # the layer's, settled long before stage 5
        m.d.sync += [vs1.eq(shift_less_one(cfg["vshift"])), whole.eq(cfg["vshift"] == 0)]
        z = narrow_shift(m, y, vs1, QN + 1, "z")        # y >> vs1, as far as round_clamp reads it
        qv = Signal(QN, reset_less=True)
        m.d.sync += qv.eq(round_clamp(z, whole, omax, QN, signed_in=False))
        for i in range(timing.MULT_STAGES - 1):
            s3 = stage(s3, f"v3_{i}")
        s4 = stage(s3, "v4")
        s5 = stage(s4, "v5")
        s6 = stage(s5, "v6")
        s7 = stage(s6, "v7")
        emit4, oslot4, write4, addr4 = s7
        # stage 7: place the value into the output beat, into slot oslot4 of the layer's output width (OUTS[ob_sel])
        # on a beat that starts afresh at slot 0. Which bits take the value (hit) and whether the beat starts
        # afresh are decided a stage early, from stage 6's slot, into registers: a bit's logic here is its
        # value (the output width's bit of qv) and three flip-flops (hit, fresh, the beat's bit)
        oslot3 = s6[1]
        ob_is = [cfg["ob_sel"] == i for i in range(len(OUTS))]
        hit = Signal(BUS, name="hit", reset_less=True)
        fresh = Signal(name="fresh", reset_less=True)
        m.d.sync += fresh.eq(oslot3 == 0)
        m.d.sync += [hit[j].eq(reduce(or_, [ob_is[i] & (oslot3 == j // ob) for i, ob in enumerate(OUTS)
                                            if j // ob < BUS // ob], Const(0, 1))) for j in range(BUS)]
        ob_r = [pipe_reg(m, x, f"ob_is{i}") for i, x in enumerate(ob_is)]
        beat, beat_next = Signal(BUS, reset_less=True), Signal(BUS)
        for j in range(BUS):
            value = reduce(or_, [ob_r[i] & qv[j % ob] for i, ob in enumerate(OUTS) if j // ob < BUS // ob],
                           Const(0, 1))
            m.d.comb += beat_next[j].eq(Mux(hit[j], value, Mux(fresh, 0, beat[j])))
        with m.If(emit4):
            m.d.sync += beat.eq(beat_next)
        m.d.sync += self.mem_wr_en.eq(write4)
        depth.add(1)
        depth.check()
        wr_addr_r, wr_data_r = Signal(ADDR, reset_less=True), Signal(BUS, reset_less=True)
        with m.If(write4):
            m.d.sync += [wr_addr_r.eq(addr4), wr_data_r.eq(beat_next)]
        m.d.comb += [self.mem_wr_addr.eq(wr_addr_r), self.mem_wr_data.eq(wr_data_r)]
