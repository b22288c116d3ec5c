"""AxiAccelerator: the accelerator top behind standard interfaces, for SoC and FPGA integration.

- `s_axil_*`: AXI4-Lite slave, 32-bit, the control registers of hw_model.control (start/done/idle, interrupt
  enables, memory window, descriptor table, counters).
- `m_axi_*`: AXI4 master (64-bit addresses, data as wide as the memory bus of the config), single-beat
  INCR transactions, one ID.
- `irq`: level interrupt, GIE & IER & ISR.

A run: for each of N_LAYERS descriptors (hw_model.regs.descriptor, packed into beats by
hw_model.control.descriptor_beats), fetch it from the memory window (its beats go into the idle chunks'
descriptor registers as they arrive), dispatch it to the top (start + sel),
let the chunk run with its memory port bridged to the AXI master, wait until its writes are acknowledged, go
on. Layers run one at a time.

The bridge keeps the chunks' fixed-latency memory protocol (docs/architecture.md, "Memory protocol") on top of
AXI's handshakes: a chunk's read issued at (enabled) cycle t expects its data at cycle t + read_latency. Reads
are queued to AR; R data wait in a FIFO until due. When data are due and have not arrived, or a request
cannot be queued, the whole top is held (a clock enable over all its registers: hw_model's cycles stay the
chunks' cycles) and STALL_CYCLES counts it. With a memory that answers within read_latency - 2 cycles and
never pushes back, a layer never stalls and BUSY_CYCLES equals the cycle model exactly.
"""
from __future__ import annotations

from functools import reduce
from operator import or_

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from hw_model.config import Accelerator
from hw_model.control import (AXI_ADDR_BITS, AXI_ID_BITS, CONTROL, CTRL_ADDR_BITS, CTRL_DONE, CTRL_IDLE, CTRL_START,
                              GIE_ENABLE, IRQ_DONE, desc_beats, info_word)
from hw_model.regs import DESC_SEL_BITS

from .top import AcceleratorTop
from .cells import kept_reg

WRITE_QUEUE = 6               # chunk writes waiting for AW/W (room kept for those in flight, see the stall)


def axi_signature(acc: Accelerator) -> dict:
    B = acc.memory.bus_bits
    A, I = AXI_ADDR_BITS, AXI_ID_BITS
    return {
        "s_axil_awaddr": In(CTRL_ADDR_BITS), "s_axil_awvalid": In(1), "s_axil_awready": Out(1),
        "s_axil_wdata": In(32), "s_axil_wstrb": In(4), "s_axil_wvalid": In(1), "s_axil_wready": Out(1),
        "s_axil_bresp": Out(2), "s_axil_bvalid": Out(1), "s_axil_bready": In(1),
        "s_axil_araddr": In(CTRL_ADDR_BITS), "s_axil_arvalid": In(1), "s_axil_arready": Out(1),
        "s_axil_rdata": Out(32), "s_axil_rresp": Out(2), "s_axil_rvalid": Out(1), "s_axil_rready": In(1),
        "m_axi_awid": Out(I), "m_axi_awaddr": Out(A), "m_axi_awlen": Out(8), "m_axi_awsize": Out(3),
        "m_axi_awburst": Out(2), "m_axi_awcache": Out(4), "m_axi_awprot": Out(3),
        "m_axi_awvalid": Out(1), "m_axi_awready": In(1),
        "m_axi_wdata": Out(B), "m_axi_wstrb": Out(B // 8), "m_axi_wlast": Out(1),
        "m_axi_wvalid": Out(1), "m_axi_wready": In(1),
        "m_axi_bid": In(I), "m_axi_bresp": In(2), "m_axi_bvalid": In(1), "m_axi_bready": Out(1),
        "m_axi_arid": Out(I), "m_axi_araddr": Out(A), "m_axi_arlen": Out(8), "m_axi_arsize": Out(3),
        "m_axi_arburst": Out(2), "m_axi_arcache": Out(4), "m_axi_arprot": Out(3),
        "m_axi_arvalid": Out(1), "m_axi_arready": In(1),
        "m_axi_rid": In(I), "m_axi_rdata": In(B), "m_axi_rresp": In(2), "m_axi_rlast": In(1),
        "m_axi_rvalid": In(1), "m_axi_rready": Out(1),
        "irq": Out(1),
    }


class AxiAccelerator(wiring.Component):
    def __init__(self, acc: Accelerator):
        self.acc = acc
        super().__init__(axi_signature(acc))

    def elaborate(self, platform):
        m = Module()
        acc, mem = self.acc, self.acc.memory
        n, A, B, L = len(acc.chunks), mem.addr_bits, mem.bus_bits, mem.read_latency
        size = (B // 8 - 1).bit_length()            # AxSIZE: log2(bytes per beat)
        nbeats = desc_beats(mem)

        # the stall, decided two cycles ahead (stall_2, combinational) and passed through two registers to the
        # parts: a copy per chunk (stall_<chunk>), then a copy per part of that chunk (and per chunk dispatch,
        # top.hold), each a register with no logic behind it, kept apart in synthesis (cells.kept_reg). One
        # register driving the enables of every chunk is a net over the die; one a part is still a net from the
        # bridge to the part, and the part's enables are a net over the part: each of those two wires is a cycle of
        # its own. The bridge's own copies: stall_1 (the decision for the next cycle) and stall (this cycle's,
        # equal to every hold copy)
        stall = Signal()
        stall_1 = Signal()
        stall_2 = Signal()
        m.d.sync += [stall_1.eq(stall_2), stall.eq(stall_1)]
        top = AcceleratorTop(acc, desc_beats=nbeats, hold=True)
        m.submodules.top = top

        for i in range(n):
            lo, hi = top.hold_bits[i]
            mid = kept_reg(m, stall_2, f"stall_{acc.chunks[i].name}")
            for k in range(lo, hi):
                m.d.comb += top.hold[k].eq(kept_reg(m, mid, f"hold_{acc.chunks[i].name}_{k - lo}"))
        depth_r = 1 << (L + 3).bit_length()          # > read_latency + the AXI round trip
        m.submodules.arq = arq = SyncFIFO(width=A, depth=4)             # read requests for AR
        m.submodules.rq = rq = SyncFIFO(width=B, depth=depth_r)         # R data until due
        m.submodules.wq = wq = SyncFIFO(width=A + B, depth=WRITE_QUEUE) # writes for AW and W
        self.__dict__.update(m=m, acc=acc, n=n, A=A, B=B, L=L, size=size, nbeats=nbeats, stall=stall, stall_1=stall_1,
                             stall_2=stall_2, top=top, depth_r=depth_r, arq=arq, rq=rq, wq=wq)
        self._control()
        self._sequencer()
        self._reads()
        self._writes()
        self._stall_decision()
        self._constant_fields()
        return m

    def _control(self):
        """The control registers behind AXI4-Lite (hw_model.control), the interrupt and the DONE bit."""
        m, acc = self.m, self.acc
        regs = {r.name: Signal(32, name=f"reg_{r.name.lower()}") for r in CONTROL}
        running = Signal()
        done_bit = Signal()
        isr = Signal()
        m.d.comb += self.irq.eq((regs["GIE"] & GIE_ENABLE).any() & (regs["IER"] & IRQ_DONE).any() & isr)
        start_req = Signal()                          # a write of CTRL.START while idle
        end_run = Signal()                            # the sequencer finished its last layer

        # writes: take AW and W together, answer with B
        bvalid = Signal()
        wr_go = Signal()
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
                            m.d.comb += start_req.eq((self.s_axil_wdata & CTRL_START).any() & ~running)
                        elif r.name == "ISR":
                            with m.If((self.s_axil_wdata & IRQ_DONE).any()):
                                m.d.sync += isr.eq(0)
                        else:
                            m.d.sync += regs[r.name].eq(self.s_axil_wdata)

        # reads: one at a time
        rvalid = Signal()
        rdata = Signal(32)
        read_ctrl = Signal()
        m.d.comb += [self.s_axil_arready.eq(~rvalid), self.s_axil_rvalid.eq(rvalid),
                     self.s_axil_rdata.eq(rdata), self.s_axil_rresp.eq(0)]
        with m.If(rvalid & self.s_axil_rready):
            m.d.sync += rvalid.eq(0)
        with m.If(self.s_axil_arvalid & ~rvalid):
            m.d.sync += rvalid.eq(1)
            with m.Switch(self.s_axil_araddr):
                for r in CONTROL:
                    with m.Case(r.offset):
                        if r.name == "CTRL":
                            m.d.sync += rdata.eq(Mux(running, CTRL_START, CTRL_IDLE) | Mux(done_bit, CTRL_DONE, 0))
                            m.d.comb += read_ctrl.eq(1)
                        elif r.name == "ISR":
                            m.d.sync += rdata.eq(Mux(isr, IRQ_DONE, 0))
                        elif r.name == "INFO":
                            m.d.sync += rdata.eq(info_word(acc))
                        else:
                            m.d.sync += rdata.eq(regs[r.name])
                with m.Default():
                    m.d.sync += rdata.eq(0)
        # DONE: set when a run ends, cleared by reading CTRL (a read in the same cycle sees it next time)
        with m.If(end_run):
            m.d.sync += [done_bit.eq(1), isr.eq(1)]
        with m.Elif(read_ctrl):
            m.d.sync += done_bit.eq(0)
        self.__dict__.update(regs=regs, running=running, start_req=start_req, end_run=end_run)

    def _sequencer(self):
        """Runs N_LAYERS descriptors from DESC_ADDR: fetch a descriptor's beats into the idle chunks, start the
        chunk it selects, wait for its done and its writes' responses; counts cycles, busy and stall cycles."""
        m, top, regs, running, start_req, end_run = self.m, self.top, self.regs, self.running, self.start_req, self.end_run
        A, B, nbeats, size, stall, wq = self.A, self.B, self.nbeats, self.size, self.stall, self.wq
        layer = regs["LAYER"]
        desc_sel = Signal(DESC_SEL_BITS, reset_less=True)   # the fetched descriptor's chunk select (beat 0)
        beat = Signal(range(nbeats + 1))
        desc_ptr = Signal(A)                         # beat address of the current layer's descriptor
        ar_sent = Signal()
        done_seen = Signal()
        base = Cat(regs["MEM_BASE_LO"], regs["MEM_BASE_HI"])
        b_pending = Signal(16)
        seq_ar = Signal()                            # the sequencer drives AR/R (descriptor fetch)
        push_1 = Signal()                            # a chunk's write, in the chunks' write registers
        push_r = Signal()                            # ... a cycle later in the queue's input register: pushed
        chunk_done = Signal()
        seq_run = Signal()                           # a layer runs (RUN)
        # one layer runs at a time and a chunk's done is a flip-flop, set for one cycle as its layer ends: no
        # select (an OR of flip-flops, not a multiplexer on the chunk select)
        m.d.comb += chunk_done.eq(top.done.any())
        m.d.comb += top.sel.eq(desc_sel[:len(top.sel)])
        # the descriptor's beats go to every idle chunk as they arrive (AcceleratorTop's desc_beats form),
        # registered here and again in each chunk (AcceleratorTop): the last one is written in DISPATCH (LAND is
        # the cycle between), the cycle before the chunk starts
        desc_we = Signal()
        desc_beat = Signal(range(nbeats), reset_less=True)
        desc_data = Signal(B, reset_less=True)
        m.d.comb += [top.desc_we.eq(desc_we), top.desc_beat.eq(desc_beat), top.desc_data.eq(desc_data)]
        m.d.sync += desc_we.eq(0)
        r_got = Signal()                             # a descriptor beat arrived last cycle, in r_beat
        r_beat = Signal(B, reset_less=True)
        m.d.sync += [r_got.eq(0), r_beat.eq(self.m_axi_rdata)]

        with m.If(running):
            m.d.sync += regs["CYCLES"].eq(regs["CYCLES"] + 1)

        with m.FSM(name="seq"):
            with m.State("IDLE"):
                with m.If(start_req):
                    m.d.sync += [running.eq(1), layer.eq(0), desc_ptr.eq(regs["DESC_ADDR"][:A])]
                    m.d.sync += [regs[k].eq(0) for k in ("CYCLES", "BUSY_CYCLES", "STALL_CYCLES", "READ_BEATS",
                                                         "WRITE_BEATS")]
                    m.next = "FETCH"
                    with m.If(regs["N_LAYERS"] == 0):
                        m.next = "END"
            with m.State("FETCH"):
                m.d.comb += seq_ar.eq(1)
                addr = desc_ptr + beat
                m.d.comb += [self.m_axi_araddr.eq(base + (addr << size)), self.m_axi_arvalid.eq(~ar_sent & ~r_got),
                             self.m_axi_rready.eq(ar_sent)]
                with m.If(self.m_axi_arvalid & self.m_axi_arready):
                    m.d.sync += ar_sent.eq(1)
                with m.If(ar_sent & self.m_axi_rvalid):
                    m.d.sync += [r_got.eq(1), ar_sent.eq(0)]
                # the beat is taken from its register a cycle after it arrived: the enables of the descriptor
                # registers are flip-flops, not the R channel's valid
                with m.If(r_got):
                    m.d.sync += [desc_we.eq(1), desc_beat.eq(beat), desc_data.eq(r_beat), beat.eq(beat + 1)]
                    with m.If(beat == 0):
                        m.d.sync += desc_sel.eq(r_beat[:DESC_SEL_BITS])
                    with m.If(beat == nbeats - 1):       # leave FETCH with beat 0 for the next descriptor
                        m.d.sync += beat.eq(0)
                        m.next = "LAND"
            with m.State("LAND"):       # the last beat into the chunks' own beat registers
                m.next = "DISPATCH"
            with m.State("DISPATCH"):
                m.d.comb += top.start.eq(1)          # taken by the chunk's dispatch register when it runs
                m.d.sync += done_seen.eq(0)
                with m.If(~stall):
                    m.next = "RUN"
            with m.State("RUN"):
                m.d.comb += seq_run.eq(1)
                with m.If(~done_seen):
                    with m.If(stall):
                        m.d.sync += regs["STALL_CYCLES"].eq(regs["STALL_CYCLES"] + 1)
                    with m.Else():
                        m.d.sync += regs["BUSY_CYCLES"].eq(regs["BUSY_CYCLES"] + 1)
                        with m.If(chunk_done):
                            m.d.sync += done_seen.eq(1)
                with m.Elif((wq.level == 0) & ~push_1 & ~push_r & (b_pending == 0)):
                    m.d.sync += [layer.eq(layer + 1), desc_ptr.eq(desc_ptr + nbeats)]
                    m.next = "FETCH"
                    with m.If(layer + 1 == regs["N_LAYERS"]):
                        m.next = "END"
            with m.State("END"):
                m.d.comb += end_run.eq(1)
                m.d.sync += running.eq(0)
                m.next = "IDLE"
        self.__dict__.update(base=base, b_pending=b_pending, seq_ar=seq_ar, push_1=push_1, push_r=push_r,
                             seq_run=seq_run)

    def _reads(self):
        """The bridge's read side: the running chunk's requests to AR, the data through the read queue to the
        chunks at their fixed latency."""
        m, top, regs, n, A, B, L, size, stall = (self.m, self.top, self.regs, self.n, self.A, self.B, self.L, self.size,
                                                 self.stall)
        arq, rq, depth_r, base, seq_ar = self.arq, self.rq, self.depth_r, self.base, self.seq_ar
        rd_en = Signal()
        rd_addr = Signal(A)
        # one layer runs at a time, and an idle chunk's request strobe and address are 0 (pipeline.read_request): the
        # running chunk's request is the OR of the chunks' ports, no multiplexer with a select over the die
        m.d.comb += [rd_en.eq(top.mem_rd_en.any()),
                     rd_addr.eq(reduce(or_, (top.mem_rd_addr[i * A:(i + 1) * A] for i in range(n))))]
        due = Signal(L)                              # due[L-1]: a read's data is due this cycle
        credits = Signal(range(depth_r + 1))         # reads issued and not yet consumed
        due_now = due[L - 1]
        issue = Signal()
        pop = Signal()
        m.d.comb += [
            issue.eq(rd_en & ~stall),
            pop.eq(due_now & ~stall),
            arq.w_data.eq(rd_addr),
            rq.w_data.eq(self.m_axi_rdata), rq.r_en.eq(pop),
        ]
        with m.If(~seq_ar):
            # a request goes to AR in the cycle it is made when the address queue is empty (AR ready then takes
            # it, else the queue does and shows it the next cycle): a cycle of the memory's time to answer, which
            # the stall's data condition needs (see the stall). AR valid does not depend on AR ready.
            m.d.comb += [self.m_axi_araddr.eq(base + (Mux(arq.r_rdy, arq.r_data, rd_addr) << size)),
                         self.m_axi_arvalid.eq(arq.r_rdy | issue),
                         arq.r_en.eq(self.m_axi_arready), arq.w_en.eq(issue & (arq.r_rdy | ~self.m_axi_arready)),
                         self.m_axi_rready.eq(rq.w_rdy),
                         rq.w_en.eq(self.m_axi_rvalid)]
        for i in range(n):
            m.d.comb += top.mem_rd_data[i * B:(i + 1) * B].eq(rq.r_data)
        with m.If(~stall):
            m.d.sync += due.eq(Cat(rd_en, due[:-1]))
        m.d.sync += credits.eq(credits + issue - pop)
        with m.If(issue):
            m.d.sync += regs["READ_BEATS"].eq(regs["READ_BEATS"] + 1)
        self.__dict__.update(rd_en=rd_en, due=due, credits=credits, pop=pop)

    def _writes(self):
        """The bridge's write side: the running chunk's writes through the write queue to AW and W."""
        m, top, regs, acc, n, A, B, size, stall = (self.m, self.top, self.regs, self.acc, self.n, self.A, self.B,
                                                   self.size, self.stall)
        wq, base, b_pending, push_1, push_r = self.wq, self.base, self.b_pending, self.push_1, self.push_r
        # a chunk's write goes into a register of its own, zero when the chunk does not write (the chunks are
        # across the die from the queue and from each other: each register can sit between its chunk and the
        # queue); their OR (one layer runs at a time) goes into the queue's input register a cycle later and is
        # pushed the cycle after that; the stall's room condition reserves for both in flight
        wr_en = Signal()
        m.d.comb += wr_en.eq(top.mem_wr_en.any())
        wr_c = [Signal(A + B, name=f"wr_{c.name}", reset_less=True) for c in acc.chunks]
        m.d.sync += [wr_c[i].eq(Mux(top.mem_wr_en[i], Cat(top.mem_wr_addr[i * A:(i + 1) * A],
                                                           top.mem_wr_data[i * B:(i + 1) * B]), 0))
                     for i in range(n)]
        push_w = Signal()                            # a request this cycle
        wr_word = Signal(A + B, reset_less=True)
        m.d.sync += [push_1.eq(push_w), push_r.eq(push_1)]
        with m.If(push_1):
            m.d.sync += wr_word.eq(reduce(or_, wr_c))
        aw_done = Signal()
        w_done = Signal()
        aw_hs = Signal()
        w_hs = Signal()
        pop_w = Signal()
        m.d.comb += [
            push_w.eq(wr_en & ~stall), wq.w_en.eq(push_r), wq.w_data.eq(wr_word),
            self.m_axi_awaddr.eq(base + (wq.r_data[:A] << size)), self.m_axi_wdata.eq(wq.r_data[A:]),
            self.m_axi_awvalid.eq(wq.r_rdy & ~aw_done), self.m_axi_wvalid.eq(wq.r_rdy & ~w_done),
            aw_hs.eq(self.m_axi_awvalid & self.m_axi_awready), w_hs.eq(self.m_axi_wvalid & self.m_axi_wready),
            pop_w.eq(wq.r_rdy & (aw_done | aw_hs) & (w_done | w_hs)), wq.r_en.eq(pop_w),
            self.m_axi_bready.eq(1),
        ]
        with m.If(pop_w):
            m.d.sync += [aw_done.eq(0), w_done.eq(0)]
        with m.Else():
            with m.If(aw_hs):
                m.d.sync += aw_done.eq(1)
            with m.If(w_hs):
                m.d.sync += w_done.eq(1)
        m.d.sync += b_pending.eq(b_pending + pop_w - (self.m_axi_bvalid & self.m_axi_bready))
        with m.If(push_w):
            m.d.sync += regs["WRITE_BEATS"].eq(regs["WRITE_BEATS"] + 1)

    def _stall_decision(self):
        # hold the top in a cycle where a due read has not arrived, or where a request might find no room. The
        # decision is made two cycles ahead (stall_2, for the cycle after next) from the bridge's state and its own
        # stall registers (stall: this cycle, stall_1: the next), so that the enable of every register in the top
        # is a register with no logic behind it, itself loaded from a register (see the copies above).
        # Data: the requests issued from now on, oldest first, are q = due[L-1], ..., due[0], then the port's
        # request now (rd_en: issued now if the top runs, and if it is held the port holds it, so it is the next
        # one issued either way), then one not yet made (only L = 1 reaches it: taken as made while a layer
        # runs). With k = the cycles the top runs of this one and the next, q[k] is due in the cycle after next;
        # it is held unless its data are in the read queue by then counting only what has arrived up to this
        # cycle (R valid, through one multiplexer): data that arrive the cycle before they are due come too late
        # for the decision. A request goes to AR in the cycle it is made, so a memory that answers within
        # read_latency - 2 cycles of AR never holds the top.
        # Room: a request in the cycle after next may find a queue full; every cycle the top runs (this one and
        # the next) counts as a request made, whether or not the top makes one: the chunks' strobes, which come
        # from across the die, are not in the decision at all, nor are the AXI ready signals (a queue that a ready
        # would have emptied by one holds the top a cycle more). Writes reach their queue two cycles late (two
        # registers; reads go straight to theirs: a cycle there would come out of the memory's time to answer), so
        # the write queue keeps room for those in flight: level + (pushed now) + (last cycle's request) + (the top
        # runs now) + (the top runs next) < depth.
        m, L, stall, stall_1, stall_2 = self.m, self.L, self.stall, self.stall_1, self.stall_2
        due, rd_en, seq_run, rq, arq, wq, pop = (self.due, self.rd_en, self.seq_run, self.rq, self.arq, self.wq,
                                                 self.pop)
        credits, depth_r, push_1 = self.credits, self.depth_r, self.push_1
        s0, s1 = stall, stall_1
        q = [due[L - 1 - j] for j in range(L)] + [rd_en, seq_run]
        due_1 = Mux(s0, q[0], q[1])                                     # due next cycle
        due_2 = Mux(s0, Mux(s1, q[0], q[1]), Mux(s1, q[1], q[2]))       # due the cycle after next
        pop_1 = due_1 & ~s1
        rq_push = rq.w_en & rq.w_rdy
        runs = ~s0 + ~s1                                                # requests counted as made
        m.d.comb += stall_2.eq((due_2 & (rq.level + rq_push <= pop + pop_1))
                               | (arq.level + runs >= arq.depth)
                               | (credits + runs - pop >= depth_r - 1)
                               | (wq.level + (wq.w_en & wq.w_rdy) + push_1 + runs >= wq.depth))

    def _constant_fields(self):
        m, size, B = self.m, self.size, self.B
        m.d.comb += [
            self.m_axi_arid.eq(0), self.m_axi_arlen.eq(0), self.m_axi_arsize.eq(size), self.m_axi_arburst.eq(1),
            self.m_axi_arcache.eq(0b0011), self.m_axi_arprot.eq(0),
            self.m_axi_awid.eq(0), self.m_axi_awlen.eq(0), self.m_axi_awsize.eq(size), self.m_axi_awburst.eq(1),
            self.m_axi_awcache.eq(0b0011), self.m_axi_awprot.eq(0),
            self.m_axi_wstrb.eq(Const(-1, B // 8)), self.m_axi_wlast.eq(1),
        ]


def axi_module_name(acc_name: str) -> str:
    return f"trips_{acc_name.replace('-', '_')}_axi"


def axi_verilog(acc: Accelerator) -> str:
    from .emit import convert, disk_cached
    return disk_cached({"axi": acc.to_dict()}, lambda: convert(AxiAccelerator(acc), axi_module_name(acc.name)))
