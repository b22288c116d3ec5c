"""ChunkBridge: one chunk's fixed-latency memory port on an AXI4 master of its own (the pipelined wrapper,
rtl_gen/frames.py; docs/architecture.md "Frame schedule", memory side).

Each chunk has its own bridge, so a chunk's cycles depend on its own memory only: reads are queued to AR and their
data wait in a FIFO until due (a chunk's read issued at enabled cycle t expects its data at t + read_latency);
writes go through a queue to AW and W; when due data have not arrived or a request might find no room, the chunk
is held (its parts' clock enables, `hold`: copies of one register, cells.kept_reg) and `stall` says so. The
decision is made two cycles ahead ("_stall_decision").

With memory.burst_beats > 1 the bridge gathers each stream into INCR bursts ("_read_bursts", "_write_bursts"):
consecutive beats in consecutive cycles, up to burst_beats of them, never across a 4 KB page (MEM_BASE is on a page
boundary). A read burst's AR waits until the burst closes, which hw_model.timing.axi_read_slack charges to the
read latency; a write burst's AW goes with its last beat, its W beats as they come.

Before the frames start, the chunk's sequencer reads its job table through the same master (`ld_*`: one beat at
a time, no fixed latency); the chunk is idle then.
"""
from __future__ import annotations

import dataclasses

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from hw_model.config import MemoryInterface
from hw_model.control import AXI_ADDR_BITS, AXI_ID_BITS

from .cells import kept_reg

WRITE_QUEUE = 6               # chunk writes waiting for AW/W (room kept for those in flight, see the stall)
BURST_QUEUE = 8               # closed bursts waiting for AR or AW (one may close a cycle; room kept as for writes)
LEN_BITS = 8                  # AXI4 AxLEN


def axi_master(mem: MemoryInterface, prefix: str = "m_axi_", flip: bool = False) -> dict:
    """An AXI4 master's members (as the master drives them; flip for the other side)."""
    B, A, I = mem.bus_bits, AXI_ADDR_BITS, AXI_ID_BITS
    o, i = (In, Out) if flip else (Out, In)
    fields = {
        "awid": o(I), "awaddr": o(A), "awlen": o(8), "awsize": o(3), "awburst": o(2), "awcache": o(4),
        "awprot": o(3), "awvalid": o(1), "awready": i(1),
        "wdata": o(B), "wstrb": o(B // 8), "wlast": o(1), "wvalid": o(1), "wready": i(1),
        "bid": i(I), "bresp": i(2), "bvalid": i(1), "bready": o(1),
        "arid": o(I), "araddr": o(A), "arlen": o(8), "arsize": o(3), "arburst": o(2), "arcache": o(4),
        "arprot": o(3), "arvalid": o(1), "arready": i(1),
        "rid": i(I), "rdata": i(B), "rresp": i(2), "rlast": i(1), "rvalid": i(1), "rready": o(1),
    }
    return {prefix + k: v for k, v in fields.items()}


class ChunkBridge(wiring.Component):
    def __init__(self, mem: MemoryInterface, name: str, n_hold: int):
        self.mem, self.name, self.n_hold = mem, name, n_hold
        A, B = mem.addr_bits, mem.bus_bits
        super().__init__({
            "base": In(AXI_ADDR_BITS),
            # the chunk's port
            "rd_en": In(1), "rd_addr": In(A), "rd_data": Out(B), "wr_en": In(1), "wr_addr": In(A), "wr_data": In(B),
            "running": In(1),                     # the chunk runs a job (its requests count as made)
            "hold": Out(n_hold), "stall": Out(1),
            "writes_idle": Out(1),                # every write pushed, sent and answered
            "read_beats": Out(32), "write_beats": Out(32), "clear": In(1),
            # the sequencer's table load
            "loading": In(1), "ld_arvalid": In(1), "ld_araddr": In(A), "ld_arready": Out(1),
            "ld_rvalid": Out(1), "ld_rdata": Out(B),
            **axi_master(mem),
        })

    def elaborate(self, platform):
        m = Module()
        mem = self.mem
        A, B, L = mem.addr_bits, mem.bus_bits, mem.read_latency
        size = (B // 8 - 1).bit_length()
        stall, stall_1, stall_2 = Signal(), Signal(), Signal()
        m.d.sync += [stall_1.eq(stall_2), stall.eq(stall_1)]
        m.d.comb += self.stall.eq(stall)
        mid = kept_reg(m, stall_2, f"stall_{self.name}")
        for k in range(self.n_hold):
            m.d.comb += self.hold[k].eq(kept_reg(m, mid, f"hold_{self.name}_{k}"))
        depth_r = 1 << (L + 3).bit_length()
        bursts = mem.burst_beats > 1
        # the memory streams a burst's beats one a cycle, up to burst_beats cycles behind: the bursts formed meanwhile
        # wait here (so do the write side's, _write_bursts)
        m.submodules.arq = arq = (SyncFIFO(width=A + LEN_BITS, depth=BURST_QUEUE + mem.burst_beats) if bursts
                                  else SyncFIFO(width=A, depth=4))
        m.submodules.rq = rq = SyncFIFO(width=B, depth=depth_r)
        # with bursts a whole burst waits in the data queue for its AW (a memory may take W only after AW)
        m.submodules.wq = wq = (SyncFIFO(width=B + 1, depth=WRITE_QUEUE + mem.burst_beats) if bursts
                                else SyncFIFO(width=A + B, depth=WRITE_QUEUE))
        self.__dict__.update(m=m, A=A, B=B, L=L, size=size, stall=stall, stall_1=stall_1, stall_2=stall_2,
                             depth_r=depth_r, arq=arq, rq=rq, wq=wq, bursts=bursts, room=[])
        self._reads()
        self._writes()
        self._stall_decision()
        self._constant_fields()
        return m

    def _reads(self):
        m, L, size, stall, arq, rq, depth_r = self.m, self.L, self.size, self.stall, self.arq, self.rq, self.depth_r
        due = Signal(L)
        credits = Signal(range(depth_r + 1))
        due_now = due[L - 1]
        issue, pop = Signal(), Signal()
        m.d.comb += [issue.eq(self.rd_en & ~stall), pop.eq(due_now & ~stall), arq.w_data.eq(self.rd_addr),
                     rq.w_data.eq(self.m_axi_rdata), rq.r_en.eq(pop), self.rd_data.eq(rq.r_data)]
        with m.If(self.loading):
            m.d.comb += [self.m_axi_araddr.eq(self.base + (self.ld_araddr << size)),
                         self.m_axi_arvalid.eq(self.ld_arvalid), self.ld_arready.eq(self.m_axi_arready),
                         self.m_axi_rready.eq(1), self.ld_rvalid.eq(self.m_axi_rvalid),
                         self.ld_rdata.eq(self.m_axi_rdata)]
        with m.Else():
            m.d.comb += [self.m_axi_rready.eq(rq.w_rdy), rq.w_en.eq(self.m_axi_rvalid)]
            if self.bursts:
                m.d.comb += [self.m_axi_araddr.eq(self.page_base + (arq.r_data[:self.A] << size)),
                             self.m_axi_arlen.eq(arq.r_data[self.A:]), self.m_axi_arvalid.eq(arq.r_rdy),
                             arq.r_en.eq(self.m_axi_arready)]
            else:
                # a request goes to AR in the cycle it is made when the address queue is empty (the memory's time
                # to answer starts then; the stall's data condition counts on it). AR valid does not depend on AR
                # ready.
                m.d.comb += [self.m_axi_araddr.eq(self.base + (Mux(arq.r_rdy, arq.r_data, self.rd_addr) << size)),
                             self.m_axi_arvalid.eq(arq.r_rdy | issue), arq.r_en.eq(self.m_axi_arready),
                             arq.w_en.eq(issue & (arq.r_rdy | ~self.m_axi_arready))]
        if self.bursts:
            self._read_bursts(issue)
        else:
            self.room.append(arq.level + (~stall + ~self.stall_1) >= arq.depth)
        with m.If(~stall):
            m.d.sync += due.eq(Cat(self.rd_en, due[:-1]))
        m.d.sync += credits.eq(credits + issue - pop)
        with m.If(self.clear):
            m.d.sync += self.read_beats.eq(0)
        with m.Elif(issue):
            m.d.sync += self.read_beats.eq(self.read_beats + 1)
        self.__dict__.update(due=due, credits=credits, pop=pop)

    @property
    def page_base(self):
        """MEM_BASE on its 4 KB page (the driver refuses a window that is not): no burst crosses one."""
        return Cat(Const(0, 12), self.base[12:])

    def _burst_former(self, prefix: str, valid, addr, more):
        """The burst being gathered from a stream of beats (`valid`, `addr`): it goes on while the next beat
        follows in the next cycle (`more`: that beat's address, or None to look at the beat of the next cycle
        here) on the same page and it is not full. Returns (count, start, last): the beats before this one, the
        burst's first address, and whether this beat ends it."""
        m, A, b = self.m, self.A, self.mem.burst_beats
        page = self.mem.page_beats - 1
        n = Signal(range(b), name=f"{prefix}_n")
        start = Signal(A, name=f"{prefix}_start")
        follows = Signal(name=f"{prefix}_follows")
        m.d.comb += follows.eq(more[0] & (more[1] == addr + 1) & ((more[1] & page) != 0))
        last = ~follows | (n == b - 1)
        with m.If(valid):
            m.d.sync += n.eq(Mux(last, 0, n + 1))
            with m.If(n == 0):
                m.d.sync += start.eq(addr)
        return n, Mux(n == 0, addr, start), last

    def _read_bursts(self, issue):
        # a read's burst is closed one cycle late (whether the next read follows is known in the next cycle): the
        # reads pass one register, and a burst is pushed to the address queue with its last beat
        m, A, arq = self.m, self.A, self.arq
        r_valid, r_addr = Signal(), Signal(A)
        m.d.sync += [r_valid.eq(issue), r_addr.eq(self.rd_addr)]
        n, start, last = self._burst_former("ar", r_valid, r_addr, (issue, self.rd_addr))
        m.d.comb += [arq.w_en.eq(r_valid & last), arq.w_data.eq(Cat(start, n))]
        self.room.append(arq.level + arq.w_en + (~self.stall + ~self.stall_1) >= arq.depth)

    def _writes(self):
        m, A, B, size, stall, wq = self.m, self.A, self.B, self.size, self.stall, self.wq
        # the chunk's write into a register of the bridge, then the queue's input register, then the queue: the
        # chunk and the bridge are apart on the die; the stall's room condition reserves for both in flight
        wr_c = Signal(A + B, reset_less=True)
        push_w, push_1, push_r = Signal(), Signal(), Signal()
        wr_word = Signal(A + B, reset_less=True)
        m.d.sync += [wr_c.eq(Cat(self.wr_addr, self.wr_data)), push_1.eq(push_w), push_r.eq(push_1)]
        with m.If(push_1):
            m.d.sync += wr_word.eq(wr_c)
        m.d.comb += push_w.eq(self.wr_en & ~stall)
        b_pending = Signal(16)
        if self.bursts:
            formed = self._write_bursts(wr_c, wr_word, push_1, push_r)
        else:
            formed = self._single_writes(wr_word, push_r)
        m.d.comb += [self.m_axi_bready.eq(1),
                     self.writes_idle.eq((wq.level == 0) & ~push_1 & ~push_r & (b_pending == 0))]
        m.d.sync += b_pending.eq(b_pending + formed - (self.m_axi_bvalid & self.m_axi_bready))
        self.room.append(wq.level + (wq.w_en & wq.w_rdy) + push_1 + (~stall + ~self.stall_1) >= wq.depth)
        with m.If(self.clear):
            m.d.sync += self.write_beats.eq(0)
        with m.Elif(push_w):
            m.d.sync += self.write_beats.eq(self.write_beats + 1)
        self.__dict__.update(push_1=push_1)

    def _single_writes(self, wr_word, push_r):
        """A transaction a beat: AW and W from the queue's head together. Returns the strobe of a transaction
        sent (its response then awaited)."""
        m, A, size, wq = self.m, self.A, self.size, self.wq
        aw_done, w_done, aw_hs, w_hs, pop_w = Signal(), Signal(), Signal(), Signal(), Signal()
        m.d.comb += [
            wq.w_en.eq(push_r), wq.w_data.eq(wr_word),
            self.m_axi_awaddr.eq(self.base + (wq.r_data[:A] << size)), self.m_axi_wdata.eq(wq.r_data[A:]),
            self.m_axi_awvalid.eq(wq.r_rdy & ~aw_done), self.m_axi_wvalid.eq(wq.r_rdy & ~w_done),
            aw_hs.eq(self.m_axi_awvalid & self.m_axi_awready), w_hs.eq(self.m_axi_wvalid & self.m_axi_wready),
            pop_w.eq(wq.r_rdy & (aw_done | aw_hs) & (w_done | w_hs)), wq.r_en.eq(pop_w), self.m_axi_wlast.eq(1),
        ]
        with m.If(pop_w):
            m.d.sync += [aw_done.eq(0), w_done.eq(0)]
        with m.Else():
            with m.If(aw_hs):
                m.d.sync += aw_done.eq(1)
            with m.If(w_hs):
                m.d.sync += w_done.eq(1)
        return pop_w

    def _write_bursts(self, wr_c, wr_word, push_1, push_r):
        """Bursts: a beat goes into the data queue with its last flag (the next beat, a cycle behind it in the
        registers, tells); a burst goes into the address queue with its last beat. W runs from the data queue, AW
        from the address queue, each on its own. Returns the strobe of a burst formed (its response then awaited)."""
        m, A, size, wq = self.m, self.A, self.size, self.wq
        # a memory takes a burst's beats from its AW on: it runs up to burst_beats cycles behind, and the bursts
        # formed meanwhile wait here
        m.submodules.awq = awq = SyncFIFO(width=A + LEN_BITS, depth=BURST_QUEUE + self.mem.burst_beats)
        n, start, last = self._burst_former("aw", push_r, wr_word[:A], (push_1, wr_c[:A]))
        m.d.comb += [
            wq.w_en.eq(push_r), wq.w_data.eq(Cat(wr_word[A:], last)),
            awq.w_en.eq(push_r & last), awq.w_data.eq(Cat(start, n)),
            self.m_axi_awaddr.eq(self.page_base + (awq.r_data[:A] << size)), self.m_axi_awlen.eq(awq.r_data[A:]),
            self.m_axi_awvalid.eq(awq.r_rdy), awq.r_en.eq(self.m_axi_awready),
            self.m_axi_wdata.eq(wq.r_data[:self.B]), self.m_axi_wlast.eq(wq.r_data[self.B]),
            self.m_axi_wvalid.eq(wq.r_rdy), wq.r_en.eq(self.m_axi_wready),
        ]
        self.room.append(awq.level + awq.w_en + push_1 + (~self.stall + ~self.stall_1) >= awq.depth)
        return awq.w_en

    def _stall_decision(self):
        # hold the chunk in a cycle where a due read has not arrived, or where a request might find no room. The
        # decision is made two cycles ahead (stall_2, for the cycle after next) from the bridge's state and its own
        # stall registers (stall: this cycle, stall_1: the next), so that the enable of every register in the chunk
        # is a register with no logic behind it, itself loaded from a register (see the copies above).
        # Data: the requests issued from now on, oldest first, are q = due[L-1], ..., due[0], then the port's
        # request now (rd_en: issued now if the chunk runs, and if it is held the port holds it, so it is the next
        # one issued either way), then one not yet made (only L = 1 reaches it: taken as made while a layer
        # runs). With k = the cycles the chunk runs of this one and the next, q[k] is due in the cycle after next;
        # it is held unless its data are in the read queue by then counting only what has arrived up to this
        # cycle (R valid, through one multiplexer): data that arrive the cycle before they are due come too late
        # for the decision. A request goes to AR in the cycle it is made, so a memory that answers within
        # read_latency - 2 cycles of AR never holds the chunk.
        # Room: a request in the cycle after next may find a queue full; every cycle the chunk runs (this one and
        # the next) counts as a request made, whether or not the chunk makes one: the chunks' strobes, which come
        # from across the die, are not in the decision at all, nor are the AXI ready signals (a queue that a ready
        # would have emptied by one holds the chunk a cycle more). Writes reach their queue two cycles late (two
        # registers; reads go straight to theirs: a cycle there would come out of the memory's time to answer), so
        # the write queue keeps room for those in flight: level + (pushed now) + (last cycle's request) + (the chunk
        # runs now) + (the chunk runs next) < depth.
        m, L, stall, stall_1, stall_2 = self.m, self.L, self.stall, self.stall_1, self.stall_2
        due, rq, arq, wq, pop, credits, depth_r = (self.due, self.rq, self.arq, self.wq, self.pop, self.credits,
                                                   self.depth_r)
        s0, s1 = stall, stall_1
        q = [due[L - 1 - j] for j in range(L)] + [self.rd_en, self.running]
        due_1 = Mux(s0, q[0], q[1])
        due_2 = Mux(s0, Mux(s1, q[0], q[1]), Mux(s1, q[1], q[2]))
        pop_1 = due_1 & ~s1
        rq_push = rq.w_en & rq.w_rdy
        runs = ~s0 + ~s1
        room = 0
        for r in self.room:                 # the queues' room conditions (their own methods)
            room = room | r
        m.d.comb += stall_2.eq((due_2 & (rq.level + rq_push <= pop + pop_1))
                               | (credits + runs - pop >= depth_r - 1) | room)

    def _constant_fields(self):
        m, size, B = self.m, self.size, self.B
        m.d.comb += [
            self.m_axi_arid.eq(0), self.m_axi_arsize.eq(size), self.m_axi_arburst.eq(1),
            self.m_axi_arcache.eq(0b0011), self.m_axi_arprot.eq(0),
            self.m_axi_awid.eq(0), self.m_axi_awsize.eq(size), self.m_axi_awburst.eq(1),
            self.m_axi_awcache.eq(0b0011), self.m_axi_awprot.eq(0),
            self.m_axi_wstrb.eq(Const(-1, B // 8)),
        ]


def bridge_module_name(mem: MemoryInterface) -> str:
    return f"trips_bridge_b{mem.burst_beats}_l{mem.read_latency}"


def bridge_verilog(mem: MemoryInterface) -> str:
    """One bridge on its own (its benches: sim/bursts.py), with one hold output."""
    from .emit import convert, disk_cached
    name = bridge_module_name(mem)
    return disk_cached({"bridge": dataclasses.asdict(mem)}, lambda: convert(ChunkBridge(mem, "b", 1), name))
