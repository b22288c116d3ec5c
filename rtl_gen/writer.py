"""The writer of a conv chunk: the finished tile's accumulators and records, through a requantizer per output
lane (rtl_gen.requantizer), rotated into the beat's order and packed at the layer's output width into beats on the
memory port. One operation a stage (hw_model.timing.WRITE_DRAIN, checked as it is built): bias add, two 17 x 16
products (one DSP each), their sum, the shift by max(shift - 1, 0), the rounding and clamp, the rotation, the
beat."""
from __future__ import annotations

from amaranth import Array, Mux, Signal

from hw_model import timing
from hw_model.config import LOGIT_BITS
from hw_model.mapping import ceil_div
from hw_model.shape import ConvShape

from .pipeline import Stages, pipe_reg
from .requantizer import requant_lane


class Writer:
    def __init__(self, parts, port, cfg, g: ConvShape, bufs, eng):
        """eng: the MemoryEngine (the output walk's tags and the decoded per-layer values)."""
        m = parts["wr"]
        TM, TP, BUS, MA, OUTS, PX = g.tm, g.tp, g.bus, g.addr_bits, g.out_bits, g.pixel
        QW = max(OUTS)      # width of an output value
        QN = max([ob for ob in OUTS if ob != LOGIT_BITS] or [1])   # of a requantized one
        depth = Stages("writer", timing.WRITE_DRAIN)
        o_tags = [eng.o_run, eng.o_last_s, eng.o_s, eng.o_rot, eng.o_inr, eng.o_addr, eng.o_cp]
        w1 = depth.stage(m, depth.stage(m, o_tags, "w0"), "w1")
        # each output channel's accumulator: its lane, or (pixel) the lane of the pixel's column
        acc_val = [Array([bufs.acc_rd_w[a * TP + p].data for p in range(TP)])[w1[6]] if PX else bufs.acc_rd_w[a].data
                   for a in range(TM)]
        w2 = depth.stage(m, w1, "w2")
        w3 = depth.stage(m, w2, "w3")
        for i in range(timing.MULT_STAGES - 1):     # the products' extra stages (cells.dsp_product)
            w3 = depth.stage(m, w3, f"w3_{i}")
        w4 = depth.stage(m, w3, "w4")
        w5 = depth.stage(m, w4, "w5")
        q = [Signal(QW, name=f"q{a}", reset_less=True) for a in range(TM)]
        for a in range(TM):
            requant_lane(m, parts, a, acc_val[a], bufs.p_rd[a].data, eng.decoded, q[a], QN, LOGIT_BITS in OUTS)
        w6 = depth.stage(m, w5, "w6")
        rot5 = w5[3]
        # the lanes rotated into the beat's order, a stage of its own: the lanes' q registers sit by their
        # multipliers, across the chunk from the beat register. Each output lane's source lane is a register of
        # its own (w6's rotation, decoded a stage early), not a decode of one register for every lane
        rot_q = []
        qa = Array(q)
        for u in range(TM):
            idx = pipe_reg(m, Mux(rot5 + u >= TM, rot5 + u - TM, rot5 + u), f"rot_idx{u}")
            rq = Signal(QW, name=f"rotq{u}", reset_less=True)
            m.d.sync += rq.eq(qa[idx])
            rot_q.append(rq)
        w7 = depth.stage(m, w6, "w7")
        run3, last3, s3_, _, inr3, addr3 = w7[:6]
        beat = Signal(BUS, reset_less=True)
        beat_next = Signal(BUS)
        m.d.comb += beat_next.eq(Mux(s3_ == 0, 0, beat))
        # the output width's select, a register beside the beat (the cfg registers sit at the chunk's edge; the
        # writer first reads it a tile after the start, when the copy has long followed the cfg)
        with m.Switch(pipe_reg(m, cfg["ob_sel"], "ob_sel_w")):
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
        depth.add(1)   # the port's registers
        depth.check()
        m.d.comb += [port.mem_wr_addr.eq(wr_addr_r), port.mem_wr_data.eq(wr_data_r)]
        m.d.comb += port.mem_wr_en.eq(wr_en_r)
