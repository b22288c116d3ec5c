"""The loader of a conv chunk: read requests onto the memory port, each with a tag (what it reads and where it
goes) that travels with it until its data arrive, and the scatter of the read data into the buffers: requantization
records, input lanes (channel: a beat's values rotated into the tn lanes, sub-beat by sub-beat; pixel: whole beats
into column banks) and weight banks."""
from __future__ import annotations

from enum import IntEnum

from amaranth import Mux, Signal

from hw_model import timing
from hw_model.config import BIAS_BITS, MULT_BITS, PARAM_RECORD_BITS, SHIFT_BITS
from hw_model.shape import ConvShape

from .arith import count_width
from .pipeline import delayed, pipe_reg, read_request, stage


class TagKind(IntEnum):
    """What a read request's data are (the tag's kind field)."""
    NONE = 0
    PARAMS = 1       # requantization records of the pending output tile
    INPUTS = 2       # the next step's input tile
    WEIGHTS = 3      # the next step's weights


class Loader:
    def __init__(self, parts, port, g: ConvShape, bufs, in_plane, w_word_bits: int):
        """port: the chunk (its memory port); in_plane: the cfg field (words of one input lane group)."""
        m = parts["ctl"]
        MA, IW, LANES, SUB_IN = g.addr_bits, g.in_word_bits, g.lanes, g.sub_in
        # read request port (timing.READ_REQ_STAGES registers) and the tag delay line aligned with read data
        rq_en = Signal()
        rq_addr = Signal(MA)
        read_request(m, rq_en, rq_addr, port)
        # tag: kind (TagKind), inr, sub, and destination info
        TAG_KIND, TAG_INR, TAG_SUB = Signal(2), Signal(), Signal(range(max(SUB_IN, 1) + 1))
        TAG_A, TAG_B, TAG_C = (Signal(max(IW, w_word_bits)), Signal(count_width(max(LANES, g.b_w, g.p_group_beats))),
                               Signal(IW))
        self.rq_en, self.rq_addr = rq_en, rq_addr
        self.kind, self.inr, self.sub, self.a, self.b, self.c = TAG_KIND, TAG_INR, TAG_SUB, TAG_A, TAG_B, TAG_C
        self._scatter(parts["scatter"], port, g, bufs, in_plane, [TAG_KIND, TAG_INR, TAG_SUB, TAG_A, TAG_B, TAG_C])

    def _scatter(self, m, port, g, b, in_plane, tag_now):
        Q, BUS, LAT, LANES, SUB_IN, V_IN, R_P = g.bits, g.bus, g.latency, g.lanes, g.sub_in, g.v_in, g.records_per_beat
        # read data are registered as they arrive and again (timing.READ_DATA_STAGES: the memory is across the die
        # from the port, the port from the buffers): the tag travels LAT + READ_DRAIN_EXTRA cycles, the request's
        # registers (READ_REQ_STAGES), the memory's latency and these
        rd_data = delayed(m, port.mem_rd_data, timing.READ_DATA_STAGES, "rd_data_r")
        line = [tag_now]
        for d in range(LAT + timing.READ_DRAIN_EXTRA):
            line.append(stage(m, line[-1], f"dl{d}"))
        k_, inr_, sub_, ta, _, _ = line[-1]
        hold = Signal(BUS, reset_less=True)
        data_now = Signal(BUS)
        m.d.comb += data_now.eq(Mux(sub_ == 0, Mux(inr_, rd_data, 0), hold))
        with m.If(k_ != TagKind.NONE):
            m.d.sync += hold.eq(data_now)
        # scatter into the buffers. Each write port's enable, address and lane select are computed from the tag
        # one stage before the data arrive and registered (line[-1] is line[-2] registered: the same values a cycle
        # later), so the buffers' write ports see flip-flops, not the tag arithmetic
        k_p, _, sub_p, ta_p, tb_p, tc_p = line[-2]
        # inputs: ta = pixel word base (with bank), tb = rot, tc_ = (group base + sub) * in_plane; pixel: ta =
        # word, tb = bank
        SEL = max(1, (SUB_IN * LANES - 1).bit_length())
        for t in range(LANES if not g.pixel else 0):
            d = Mux(t >= tb_p, t - tb_p, t - tb_p + LANES)  # position of lane t within this sub-beat
            v = sub_p * LANES + d
            m.d.comb += [
                b.in_wr[t].en.eq(pipe_reg(m, (k_p == TagKind.INPUTS) & (v < V_IN), f"in_en{t}")),
                b.in_wr[t].addr.eq(pipe_reg(m, ta_p + tc_p + Mux(t < tb_p, in_plane, 0), f"in_addr{t}")),
                b.in_wr[t].data.eq(data_now.word_select(pipe_reg(m, v[:SEL], f"in_sel{t}"), Q)),
            ]
        for bk in range(LANES if g.pixel else 0):
            m.d.comb += [b.in_wr[bk].en.eq(pipe_reg(m, (k_p == TagKind.INPUTS) & (tb_p == bk), f"in_en{bk}")),
                         b.in_wr[bk].addr.eq(ta), b.in_wr[bk].data.eq(data_now)]
        # weights: tb = bank index, ta = word (with bank)
        for bk in range(g.b_w):
            m.d.comb += [b.w_wr[bk].en.eq(pipe_reg(m, (k_p == TagKind.WEIGHTS) & (tb_p == bk), f"w_en{bk}")),
                         b.w_wr[bk].addr.eq(ta), b.w_wr[bk].data.eq(data_now)]
        # params: ta = group, tb = beat within group
        for a in range(g.tm):
            r = a % R_P
            m.d.comb += [b.p_wr[a].en.eq(pipe_reg(m, (k_p == TagKind.PARAMS) & (tb_p == a // R_P), f"p_en{a}")),
                         b.p_wr[a].addr.eq(ta),
                         b.p_wr[a].data.eq(data_now[r * PARAM_RECORD_BITS:r * PARAM_RECORD_BITS
                                                    + BIAS_BITS + MULT_BITS + SHIFT_BITS])]
