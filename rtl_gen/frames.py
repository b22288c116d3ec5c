"""FramesAccelerator: the accelerator running frames pipelined over its chunks (docs/architecture.md "Frame
schedule"), behind AXI.

- `s_axil_*`: AXI4-Lite slave, the control registers of hw_model.control.CONTROL.
- `m<i>_axi_*`: one AXI4 master per chunk (rtl_gen.bridge.ChunkBridge), so a chunk's cycles are its own.
- `irq`: level interrupt, GIE & IER & ISR.

A run: START loads every chunk's job table (hw_model.frame_program) through its own master; when all are loaded
the frames start (the run's cycle 0): each chunk's sequencer (rtl_gen.sequencer) walks its table, a job
beginning at its release once its tokens are in (the producer and consumer chunks' positions, hw_model.jobs). The
last layer's retires are the completed frames, their cycles kept in FRAME_CYCLE. The run ends when every
sequencer has passed its last round.
"""
from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw_model.config import Accelerator
from hw_model.control import (CONTROL, CTRL_ADDR_BITS, CTRL_DONE, CTRL_IDLE, CTRL_START, FRAME_LOG, GIE_ENABLE,
                              IRQ_DONE, desc_beats, info_word)
from hw_model.jobs import FRAME_BITS, PATCHED

from .bridge import ChunkBridge, axi_master
from .sequencer import NOW_BITS, Sequencer
from .top import AcceleratorTop


def frames_signature(acc: Accelerator) -> dict:
    lite = {
        "s_axil_awaddr": In(CTRL_ADDR_BITS), "s_axil_awvalid": In(1), "s_axil_awready": Out(1),
        "s_axil_wdata": In(32), "s_axil_wstrb": In(4), "s_axil_wvalid": In(1), "s_axil_wready": Out(1),
        "s_axil_bresp": Out(2), "s_axil_bvalid": Out(1), "s_axil_bready": In(1),
        "s_axil_araddr": In(CTRL_ADDR_BITS), "s_axil_arvalid": In(1), "s_axil_arready": Out(1),
        "s_axil_rdata": Out(32), "s_axil_rresp": Out(2), "s_axil_rvalid": Out(1), "s_axil_rready": In(1),
    }
    masters = {}
    for i in range(len(acc.chunks)):
        masters.update(axi_master(acc.memory, f"m{i}_axi_"))
    return {**lite, **masters, "irq": Out(1)}


class FramesAccelerator(wiring.Component):
    def __init__(self, acc: Accelerator):
        self.acc = acc
        super().__init__(frames_signature(acc))

    def elaborate(self, platform):
        m = Module()
        acc, mem = self.acc, self.acc.memory
        n = len(acc.chunks)
        top = AcceleratorTop(acc, desc_beats=desc_beats(mem), hold=True)
        m.submodules.top = top
        bridges, seqs = [], []
        for i, ch in enumerate(acc.chunks):
            lo, hi = top.hold_bits[i]
            br = ChunkBridge(mem, ch.name, hi - lo)
            sq = Sequencer(mem, i, ch.name, n)
            m.submodules[f"bridge_{ch.name}"] = br
            m.submodules[f"seq_{ch.name}"] = sq
            bridges.append(br)
            seqs.append(sq)
        self.__dict__.update(m=m, top=top, bridges=bridges, seqs=seqs, n=n)
        self._control()
        self._wire()
        self._run()
        return m

    def _wire(self):
        m, top = self.m, self.top
        A, B = self.acc.memory.addr_bits, self.acc.memory.bus_bits
        pw = 32 * len(PATCHED)
        bb = top.beat_bits
        for i, (br, sq) in enumerate(zip(self.bridges, self.seqs)):
            lo, hi = top.hold_bits[i]
            m.d.comb += [
                top.hold[lo:hi].eq(br.hold),
                br.rd_en.eq(top.mem_rd_en[i]), br.rd_addr.eq(top.mem_rd_addr[i * A:(i + 1) * A]),
                top.mem_rd_data[i * B:(i + 1) * B].eq(br.rd_data),
                br.wr_en.eq(top.mem_wr_en[i]), br.wr_addr.eq(top.mem_wr_addr[i * A:(i + 1) * A]),
                br.wr_data.eq(top.mem_wr_data[i * B:(i + 1) * B]),
                br.running.eq(sq.running), br.base.eq(self.base), br.clear.eq(self.start_req),
                br.loading.eq(sq.loading), br.ld_arvalid.eq(sq.ld_arvalid), br.ld_araddr.eq(sq.ld_araddr),
                sq.ld_arready.eq(br.ld_arready), sq.ld_rvalid.eq(br.ld_rvalid), sq.ld_rdata.eq(br.ld_rdata),
                sq.stall.eq(br.stall), sq.writes_idle.eq(br.writes_idle),
                top.desc_we[i].eq(sq.desc_we), top.desc_beat[i * bb:(i + 1) * bb].eq(sq.desc_beat),
                top.desc_data[i * B:(i + 1) * B].eq(sq.desc_data), top.start[i].eq(sq.start),
                top.patch[i * pw:(i + 1) * pw].eq(sq.patch), sq.chunk_done.eq(top.done[i]),
                sq.load.eq(self.start_req), sq.go.eq(self.go), sq.now.eq(self.now), sq.clear.eq(self.start_req),
                sq.frames.eq(self.regs["N_FRAMES"]), sq.period.eq(self.regs["PERIOD"]),
                sq.table_addr.eq(self.regs["TABLE_ADDR"]),
                sq.positions.eq(Cat(*(q.position for q in self.seqs))),
            ]
            prefix = f"m{i}_axi_"
            for name, _ in br.signature.members.items():
                if not name.startswith("m_axi_"):
                    continue
                ours = getattr(self, prefix + name[len("m_axi_"):])
                theirs = getattr(br, name)
                if br.signature.members[name].flow == Out:
                    m.d.comb += ours.eq(theirs)
                else:
                    m.d.comb += theirs.eq(ours)

    def _run(self):
        """The frames done (the last layer's retires), the cycle counter, the completion log, the run's end."""
        m, regs, seqs = self.m, self.regs, self.seqs
        last = regs["LAST_LAYER"]
        with m.If(self.start_req):
            m.d.sync += self.frames_done.eq(0)
        with m.Elif(Cat(*(sq.retire & (sq.retire_layer == last[:len(sq.retire_layer)]) for sq in seqs)).any()):
            m.d.sync += self.frames_done.eq(self.frames_done + 1)
        all_loaded = Signal()
        all_done = Signal()
        m.d.comb += [all_loaded.eq(Cat(*(sq.loaded for sq in seqs)).all()),
                     all_done.eq(Cat(*(sq.finished for sq in seqs)).all())]
        starting = Signal()                       # the frames start next cycle
        m.d.comb += starting.eq(self.running & ~self.go & all_loaded)
        with m.If(self.start_req):
            m.d.sync += [self.now.eq(-1), self.go.eq(0), self.load_cycles.eq(0)]
        with m.Elif(starting):
            m.d.sync += [self.go.eq(1), self.now.eq(self.now + 1)]
        with m.Elif(self.go & self.running):
            m.d.sync += self.now.eq(self.now + 1)
        with m.If(self.running & ~self.go):
            m.d.sync += self.load_cycles.eq(self.load_cycles + 1)
        for sq in seqs:
            with m.If(sq.retire & (sq.retire_layer == last[:len(sq.retire_layer)])):
                with m.Switch(sq.retire_frame[:(FRAME_LOG - 1).bit_length()]):
                    for k in range(FRAME_LOG):
                        with m.Case(k):
                            m.d.sync += self.log[k].eq(self.now + 1)    # FRAMES_DONE counts it then
        m.d.comb += self.end_run.eq(self.running & self.go & all_done)
        with m.If(self.end_run):
            m.d.sync += self.running.eq(0)

    def _control(self):
        """The control registers behind AXI4-Lite (hw_model.control.CONTROL), the interrupt, DONE."""
        m = self.m
        regs = {r.name: Signal(32, name=f"reg_{r.name.lower()}") for r in CONTROL if r.access != "ro"}
        self.frames_done = Signal(FRAME_BITS)
        self.log = [Signal(32, name=f"frame_cycle_{k}") for k in range(FRAME_LOG)]
        self.now = Signal(NOW_BITS, init=(1 << NOW_BITS) - 1)
        self.go, self.running, self.end_run, self.start_req = Signal(), Signal(), Signal(), Signal()
        self.load_cycles = Signal(32)
        self.base = Cat(regs["MEM_BASE_LO"], regs["MEM_BASE_HI"])
        self.regs = regs
        done_bit, isr = Signal(), Signal()
        m.d.comb += self.irq.eq((regs["GIE"] & GIE_ENABLE).any() & (regs["IER"] & IRQ_DONE).any() & isr)
        bvalid, wr_go = Signal(), Signal()
        m.d.comb += [wr_go.eq(self.s_axil_awvalid & self.s_axil_wvalid & ~bvalid),
                     self.s_axil_awready.eq(wr_go), self.s_axil_wready.eq(wr_go),
                     self.s_axil_bvalid.eq(bvalid), self.s_axil_bresp.eq(0)]
        with m.If(bvalid & self.s_axil_bready):
            m.d.sync += bvalid.eq(0)
        with m.If(wr_go):
            m.d.sync += bvalid.eq(1)
            with m.Switch(self.s_axil_awaddr):
                for r in CONTROL:
                    if r.access == "ro":
                        continue
                    with m.Case(r.offset):
                        if r.name == "CTRL":
                            m.d.comb += self.start_req.eq((self.s_axil_wdata & CTRL_START).any() & ~self.running)
                        elif r.name == "ISR":
                            with m.If((self.s_axil_wdata & IRQ_DONE).any()):
                                m.d.sync += isr.eq(0)
                        else:
                            m.d.sync += regs[r.name].eq(self.s_axil_wdata)
        with m.If(self.start_req):
            m.d.sync += self.running.eq(1)
        sel = regs["CHUNK_SEL"]
        chunk_reads = {"CHUNK_BUSY": [sq.busy_cycles for sq in self.seqs],
                       "CHUNK_STALL": [sq.stall_cycles for sq in self.seqs],
                       "CHUNK_WAIT": [sq.wait_cycles for sq in self.seqs],
                       "CHUNK_READS": [br.read_beats for br in self.bridges],
                       "CHUNK_WRITES": [br.write_beats for br in self.bridges]}
        rvalid, rdata, read_ctrl = Signal(), Signal(32), Signal()
        m.d.comb += [self.s_axil_arready.eq(~rvalid), self.s_axil_rvalid.eq(rvalid),
                     self.s_axil_rdata.eq(rdata), self.s_axil_rresp.eq(0)]
        with m.If(rvalid & self.s_axil_rready):
            m.d.sync += rvalid.eq(0)
        with m.If(self.s_axil_arvalid & ~rvalid):
            m.d.sync += rvalid.eq(1)
            with m.Switch(self.s_axil_araddr):
                for r in CONTROL:
                    with m.Case(r.offset):
                        m.d.sync += rdata.eq(self._read_value(r.name, sel, chunk_reads, done_bit, isr))
                        if r.name == "CTRL":
                            m.d.comb += read_ctrl.eq(1)
                with m.Default():
                    m.d.sync += rdata.eq(0)
        with m.If(self.end_run):
            m.d.sync += [done_bit.eq(1), isr.eq(1)]
        with m.Elif(read_ctrl):
            m.d.sync += done_bit.eq(0)

    def _read_value(self, name, sel, chunk_reads, done_bit, isr):
        if name == "CTRL":
            return Mux(self.running, CTRL_START, CTRL_IDLE) | Mux(done_bit, CTRL_DONE, 0)
        if name == "ISR":
            return Mux(isr, IRQ_DONE, 0)
        if name == "INFO":
            return info_word(self.acc)
        if name == "FRAMES_DONE":
            return self.frames_done
        if name == "CYCLES":
            return Mux(self.go, self.now[:32] + 1, 0)
        if name == "LOAD_CYCLES":
            return self.load_cycles
        if name == "FRAME_CYCLE":
            return Cat(*self.log).word_select(self.regs["FRAME_SEL"][:(FRAME_LOG - 1).bit_length()], 32)
        if name in chunk_reads:
            vals = chunk_reads[name]
            return Cat(*vals).word_select(sel[:max(1, (len(vals) - 1).bit_length())], 32)
        return self.regs[name]


def frames_module_name(acc_name: str) -> str:
    return f"trips_{acc_name.replace('-', '_')}_frames"


def frames_verilog(acc: Accelerator) -> str:
    from .emit import convert, disk_cached
    return disk_cached({"frames": acc.to_dict()}, lambda: convert(FramesAccelerator(acc), frames_module_name(acc.name)))
