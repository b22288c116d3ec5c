"""A conv chunk's on-chip buffers (hw_model.shape.ConvShape's depths, double-banked): input lanes, weight banks,
int32 accumulator lanes (read by the compute array and by the writer), requantization records."""
from __future__ import annotations

from amaranth import signed, unsigned
from amaranth.lib.memory import Memory

from hw_model.config import ACC_BITS, RECORD_FIELD_BITS
from hw_model.shape import ConvShape


class ConvBuffers:
    def __init__(self, m, g: ConvShape):
        """m: the part the memories are built in (parts["buf"])."""
        in_mem = [Memory(shape=unsigned(g.bus if g.pixel else g.bits), depth=2 * g.d_in, init=[])
                  for _ in range(g.lanes)]
        w_mem = [Memory(shape=unsigned(g.bus), depth=2 * g.d_w, init=[]) for _ in range(g.b_w)]
        acc_mem = [Memory(shape=signed(ACC_BITS), depth=2 * g.d_acc, init=[]) for _ in range(g.out_lanes)]
        p_mem = [Memory(shape=unsigned(RECORD_FIELD_BITS), depth=g.d_p, init=[]) for _ in range(g.tm)]
        for i, mm in enumerate(in_mem):
            m.submodules[f"in_buf{i}"] = mm
        for i, mm in enumerate(w_mem):
            m.submodules[f"w_buf{i}"] = mm
        for i, mm in enumerate(acc_mem):
            m.submodules[f"acc_buf{i}"] = mm
        for i, mm in enumerate(p_mem):
            m.submodules[f"p_buf{i}"] = mm
        self.in_rd = [mm.read_port() for mm in in_mem]
        self.in_wr = [mm.write_port() for mm in in_mem]
        self.w_rd = [mm.read_port() for mm in w_mem]
        self.w_wr = [mm.write_port() for mm in w_mem]
        self.acc_rd_c = [mm.read_port() for mm in acc_mem]   # compute: read-modify-write
        self.acc_rd_w = [mm.read_port() for mm in acc_mem]   # writer: drain the finished tile
        self.acc_wr = [mm.write_port() for mm in acc_mem]
        self.p_rd = [mm.read_port() for mm in p_mem]
        self.p_wr = [mm.write_port() for mm in p_mem]
