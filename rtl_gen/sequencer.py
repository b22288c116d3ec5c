"""Sequencer: one chunk's job walker in the pipelined wrapper (rtl_gen/frames.py), the rules of
docs/architecture.md "Frame schedule" in hardware.

Before the frames: read the chunk's directory beat and its job table (hw_model.jobs) through the chunk's bridge
into a table memory, then prefetch the first entry's header. Then, entry after entry, round after round:
- PREF (PREF_CYCLES, always the same): the entry's header from the table memory into registers; its frame
  f = round - offset, whether f is in the run, its release (round base + phase), and the copy addresses
  base + (f mod copies) * stride of its PATCHED fields (a shift-and-add onto the base over FRAME_BITS cycles,
  addr_bits wide: the chunks read no more of an address);
- READY: an entry outside the run is passed over (the next PREF starts); the sequencer finishes after the round
  N - 1 + its largest offset. A job begins in the first cycle in which its release has come and its tokens are
  in; the tokens are checked one a cycle, round and round, from the end of PREF on, while the job before runs;
- DISPATCH: the descriptor's beats to the chunk, one a cycle (held while the bridge holds the chunk), then
  START; while the chunk runs the next entry's PREF goes on;
- RETIRE: retire_wait cycles after the chunk's done, once every write is answered and the next header is
  ready, the job retires (`retire`; the chunk's position passes the entry), and the next entry is READY.
"""
from __future__ import annotations

from amaranth import Array, Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hw_model import timing
from hw_model.config import MemoryInterface
from hw_model.control import desc_beats
from hw_model.jobs import (CYCLE_BITS, FRAME_BITS, GROUPS, HEADER_WORDS, LAYER_BITS, MAX_ENTRIES, MAX_TOKENS,
                           OFFSET_BITS, PATCHED, TOKEN_FIELDS, W_BASES, W_COPIES, W_STRIDES, W_TOKENS, entry_beats, header_beats)

from .arith import times

NOW_BITS = CYCLE_BITS         # releases compared modulo 2^NOW_BITS (hw_model.jobs)
ROUND_BITS = max(OFFSET_BITS, FRAME_BITS) + 1     # rounds of a run: frames + the largest offset
POS_BITS = ROUND_BITS + (MAX_ENTRIES - 1).bit_length() + 1    # a chunk's position: entries passed, then the round
# the state lengths behind hw_model.timing's job constants (docs/architecture.md "Frame schedule"). A job begun
# in cycle b (READY): its beats are shown in b+1 .. b+nb (DISPATCH), START in b+nb+1, the chunk's start S = b+nb+2
# (the top's start register; the last beat is in the chunk's registers then): JOB_DISPATCH_FIXED = 2. The chunk's
# done comes in S + C (C: the cycle model's count, the harnesses' `cycles`); RETIRE runs from the next cycle and
# retires in its cycle RETIRE_WAIT, and the next entry is READY in S + C + RETIRE_WAIT + 2 = S + C + job_retire
# (timing.job_retire: JOB_RETIRE, more with write bursts).
# A PREF of PREF_CYCLES cycles starts in S (a job) or the cycle after READY (an entry passed over); its header is
# ready PREF_CYCLES cycles later, the next entry READY one cycle after that: JOB_PREFETCH = PREF_CYCLES + 1.
assert timing.JOB_DISPATCH_FIXED == 2
PREF_CYCLES = timing.JOB_PREFETCH - 1


class Sequencer(wiring.Component):
    def __init__(self, mem: MemoryInterface, index: int, name: str, n_chunks: int):
        self.mem, self.index, self.name, self.n_chunks = mem, index, name, n_chunks
        self.retire_wait = timing.job_retire(mem.burst_beats) - 2
        A, B = mem.addr_bits, mem.bus_bits
        self.nb = desc_beats(mem)
        self.beat_bits = max(1, (self.nb - 1).bit_length())
        super().__init__({
            "load": In(1), "go": In(1), "now": In(NOW_BITS), "frames": In(FRAME_BITS), "period": In(32),
            "table_addr": In(A),
            "loaded": Out(1), "finished": Out(1),
            # the table load, through the bridge
            "loading": Out(1), "ld_arvalid": Out(1), "ld_araddr": Out(A), "ld_arready": In(1),
            "ld_rvalid": In(1), "ld_rdata": In(B),
            # every chunk's position (hw_model.jobs: the tokens), this one's, and its retire
            "positions": In(n_chunks * POS_BITS), "position": Out(POS_BITS), "retire": Out(1),
            "retire_layer": Out(LAYER_BITS), "retire_frame": Out(FRAME_BITS),
            # the chunk
            "desc_we": Out(1), "desc_beat": Out(self.beat_bits), "desc_data": Out(B), "start": Out(1),
            "patch": Out(32 * len(PATCHED)), "chunk_done": In(1), "running": Out(1),
            # the bridge
            "stall": In(1), "writes_idle": In(1),
            # counters
            "clear": In(1), "busy_cycles": Out(32), "stall_cycles": Out(32), "wait_cycles": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        mem = self.mem
        B, eb, hb = mem.bus_bits, entry_beats(mem), header_beats(mem)
        table = Memory(shape=B, depth=MAX_ENTRIES * eb, init=[])
        m.submodules.table = table
        wr, rd = table.write_port(), table.read_port(domain="sync")
        self.__dict__.update(m=m, B=B, eb=eb, hb=hb, wr=wr, rd=rd)
        self._state()
        self._load()
        self._prefetch()
        self._tokens()
        self._walk()
        return m

    def _state(self):
        A = self.mem.addr_bits
        self.n_entries = Signal(range(MAX_ENTRIES + 1))
        self.first = Signal(A)            # the table's first beat, relative to the directory
        self.max_off = Signal(OFFSET_BITS)
        self.entry = Signal(range(MAX_ENTRIES))       # the entry in PREF or READY
        self.round = Signal(ROUND_BITS)
        self.round_base = Signal(NOW_BITS)    # the round's start less one: release - 1 is what is compared
        self.hdr = Signal(HEADER_WORDS * 32, reset_less=True)
        self.f = Signal(signed(ROUND_BITS + 1))      # the entry's frame: round - offset
        self.in_run = Signal()
        self.release = Signal(NOW_BITS)       # the entry's release less one
        self.patch_next = [Signal(A, name=f"patch_next_{k}", reset_less=True) for k in range(len(PATCHED))]
        self.pref = Signal()              # PREF runs
        self.pc = Signal(range(PREF_CYCLES + 1))
        self.hdr_ready = Signal()
        self.pref_go = Signal()           # start a PREF of (entry, round) this cycle

    def word(self, w: int, lo: int = 0, width: int = 32):
        return self.hdr[32 * w + lo:32 * w + lo + width]

    def _load(self):
        """The directory beat, then n_entries * entry_beats beats into the table memory, one request at a time."""
        m, wr = self.m, self.wr
        k = Signal(range(MAX_ENTRIES * self.eb + 1))
        beats = times(self.n_entries, self.eb)
        sent = Signal()
        with m.FSM(name="load"):
            with m.State("IDLE"):
                with m.If(self.load):
                    m.d.sync += [sent.eq(0), k.eq(0)]
                    m.next = "DIR"
            with m.State("DIR"):
                m.d.comb += [self.loading.eq(1), self.ld_arvalid.eq(~sent),
                             self.ld_araddr.eq(self.table_addr + self.index)]
                with m.If(self.ld_arvalid & self.ld_arready):
                    m.d.sync += sent.eq(1)
                with m.If(sent & self.ld_rvalid):
                    m.d.sync += [sent.eq(0), self.n_entries.eq(self.ld_rdata[:16]),
                                 self.first.eq(self.ld_rdata[16:16 + len(self.first)]), self.max_off.eq(self.ld_rdata[48:64])]
                    m.next = "TABLE"
            with m.State("TABLE"):
                m.d.comb += [self.loading.eq(1), self.ld_arvalid.eq(~sent & (k < beats)),
                             self.ld_araddr.eq(self.table_addr + self.first + k)]
                with m.If(self.ld_arvalid & self.ld_arready):
                    m.d.sync += sent.eq(1)
                with m.If(sent & self.ld_rvalid):
                    m.d.sync += [sent.eq(0), k.eq(k + 1)]
                    m.d.comb += [wr.en.eq(1), wr.addr.eq(k), wr.data.eq(self.ld_rdata)]
                with m.If(~sent & (k == beats)):
                    m.d.comb += self.pref_go.eq(1)
                    m.d.sync += [self.entry.eq(0), self.round.eq(0), self.round_base.eq(Const(-1, NOW_BITS))]
                    m.next = "FIRST"
            with m.State("FIRST"):          # the first entry's header
                with m.If(self.hdr_ready):
                    m.d.comb += self.loaded.eq(1)
                    with m.If(self.go):
                        m.next = "DONE"
            with m.State("DONE"):
                m.d.comb += self.loaded.eq(1)
                with m.If(self.load):
                    m.d.sync += [sent.eq(0), k.eq(0)]
                    m.next = "DIR"

    def _prefetch(self):
        """PREF_CYCLES cycles from pref_go: header beats, then frame, release and copy addresses."""
        m, rd, hb, eb, B = self.m, self.rd, self.hb, self.eb, self.B
        pc = self.pc
        base_addr = self.base_addr = Signal(range(MAX_ENTRIES * eb + 1))     # the entry's first table beat
        m.d.comb += base_addr.eq(times(self.entry, eb))
        with m.If(self.pref_go):
            m.d.sync += [self.pref.eq(1), pc.eq(0), self.hdr_ready.eq(0)]
        with m.Elif(self.pref):
            m.d.sync += pc.eq(pc + 1)
            with m.If(pc == PREF_CYCLES - 1):
                m.d.sync += [self.pref.eq(0), self.hdr_ready.eq(1)]
        # header beats: address at pc = j, data captured at pc = j + 1
        hdr_beats = [self.hdr[j * B:min((j + 1) * B, HEADER_WORDS * 32)] for j in range(hb)]
        with m.If(self.pref & (pc < hb)):
            m.d.comb += rd.addr.eq(base_addr + pc)
        for j in range(hb):
            with m.If(self.pref & (pc == j + 1)):
                m.d.sync += hdr_beats[j].eq(rd.data[:len(hdr_beats[j])])
        offset = self.word(0, 8, OFFSET_BITS)
        phase = self.word(1)
        t_frame = self.t_frame = hb + 1   # frame, in-run flag and release
        with m.If(self.pref & (pc == t_frame)):
            f = self.round - offset
            m.d.sync += [self.f.eq(f), self.in_run.eq(~f[-1] & (f < self.frames)),
                         self.release.eq(self.round_base + phase)]
        # copy addresses: base + (f mod copies) * stride, a shift-and-add onto the base over FRAME_BITS cycles
        # (copies is a power of two); the sums are patch_next from the end of PREF
        t_mul = t_frame + 1
        A = self.mem.addr_bits
        cand = [Signal(A, name=f"cand_{g}") for g in GROUPS]
        mplier = [Signal(FRAME_BITS, name=f"mpl_{g}") for g in GROUPS]
        for i, g in enumerate(GROUPS):
            stride, copies = self.word(W_STRIDES + i, 0, A), self.word(W_COPIES + i, 0, FRAME_BITS + 1)
            with m.If(self.pref & (pc == t_mul)):
                m.d.sync += [cand[i].eq(stride), mplier[i].eq(self.f[:FRAME_BITS] & (copies - 1))]
            with m.If(self.pref & (pc > t_mul) & (pc <= t_mul + FRAME_BITS)):
                m.d.sync += [cand[i].eq(cand[i] << 1), mplier[i].eq(mplier[i] >> 1)]
        for j, (field, g) in enumerate(PATCHED):
            i, acc = GROUPS.index(g), self.patch_next[j]
            with m.If(self.pref & (pc == t_mul)):
                m.d.sync += acc.eq(self.word(W_BASES + j, 0, A))
            with m.If(self.pref & (pc > t_mul) & (pc <= t_mul + FRAME_BITS) & mplier[i][0]):
                m.d.sync += acc.eq(acc + cand[i])
        assert t_mul + FRAME_BITS < PREF_CYCLES

    def _tokens(self):
        """Token j of the entry (hw_model.jobs): in when f < lag, or when its chunk's position has passed entry
        `index` of round `round + delta`. Checked one a cycle from the end of PREF; the mask of those in is cleared
        when a PREF starts (positions only advance, so a token in stays in)."""
        m = self.m
        ntok = self.word(0, 24, 3)
        j = Signal(range(MAX_TOKENS))
        j_1 = Signal(range(MAX_TOKENS))
        valid_1 = Signal()
        mask = Signal(MAX_TOKENS)
        self.tok_ok = Signal()
        tok = Signal(32)
        m.d.comb += tok.eq(Array(self.word(W_TOKENS + t) for t in range(MAX_TOKENS))[j])
        f = {k: tok[lsb:lsb + w] for k, (lsb, w) in TOKEN_FIELDS.items()}
        eb = (MAX_ENTRIES - 1).bit_length()
        chunk, index, lag, delta = f["chunk"], f["index"][:eb], f["lag"], f["delta"].as_signed()
        pos = Signal(POS_BITS)        # the token's chunk's position, registered with the token's fields
        want_round = Signal(ROUND_BITS)
        index_1, early_1 = Signal(eb), Signal()
        if self.n_chunks > 1:
            picks = Array(self.positions[c * POS_BITS:(c + 1) * POS_BITS] for c in range(self.n_chunks))
            m.d.sync += pos.eq(picks[chunk[:(self.n_chunks - 1).bit_length()]])
        else:
            m.d.sync += pos.eq(self.positions)
        known = Signal()              # the header's tokens and the entry's frame are in their registers
        m.d.comb += known.eq((self.hdr_ready | (self.pref & (self.pc > self.t_frame))) & ~self.pref_go)
        m.d.sync += [want_round.eq(self.round + delta), index_1.eq(index), early_1.eq(self.f < lag),
                     j_1.eq(j), valid_1.eq(known), j.eq(Mux(j + 1 >= ntok, 0, j + 1))]
        passed, at_round = pos[:eb + 1], pos[eb + 1:]
        with m.If(self.pref_go):
            m.d.sync += [mask.eq(0), j.eq(0), valid_1.eq(0)]
        with m.Elif(valid_1 & (early_1 | (at_round > want_round) | ((at_round == want_round) & (passed > index_1)))):
            m.d.sync += mask.bit_select(j_1, 1).eq(1)
        used = Signal(MAX_TOKENS)
        m.d.comb += used.eq((Const(1, MAX_TOKENS + 1) << ntok) - 1)
        m.d.sync += self.tok_ok.eq(known & ((mask & used) == used))

    def _position(self, passed_one):
        """This chunk's position: the round and the entries passed in it (a retire or a skip passes one)."""
        m = self.m
        eb = (MAX_ENTRIES - 1).bit_length()
        passed, at_round = Signal(eb + 1), Signal(ROUND_BITS)
        m.d.comb += self.position.eq(passed | at_round << (eb + 1))
        with m.If(self.clear):
            m.d.sync += [passed.eq(0), at_round.eq(0)]
        with m.Elif(passed_one):
            with m.If(passed + 1 >= self.n_entries):
                m.d.sync += [passed.eq(0), at_round.eq(at_round + 1)]
            with m.Else():
                m.d.sync += passed.eq(passed + 1)

    def _walk(self):
        m = self.m
        nb = self.nb
        cur_layer = Signal(LAYER_BITS)
        cur_frame = Signal(FRAME_BITS)
        patch = [Signal(len(p), name=f"patch_{k}", reset_less=True) for k, p in enumerate(self.patch_next)]
        beat = Signal(range(nb + 1))
        waited = Signal(range(self.retire_wait + 1))
        rel_ok = Signal()
        m.d.comb += [self.patch.eq(Cat(*(Cat(p, Const(0, 32 - len(p))) for p in patch))),
                     self.desc_data.eq(self.rd.data)]
        m.d.sync += rel_ok.eq(~(self.now - self.release)[NOW_BITS - 1])   # now >= release, a cycle early
        begin = Signal()
        in_job = Signal()
        held = Signal()                   # a job's cycle lost to the memory
        holds = Signal()                  # states in which the bridge's hold stops the job
        last_entry = Signal()
        m.d.comb += last_entry.eq(self.entry + 1 >= self.n_entries)
        passed_one = Signal()             # an entry passed: retired, or skipped
        self._position(passed_one)

        def advance():
            """The next entry (and round): its PREF starts now."""
            m.d.comb += self.pref_go.eq(1)
            m.d.sync += self.entry.eq(Mux(last_entry, 0, self.entry + 1))
            with m.If(last_entry):
                m.d.sync += [self.round.eq(self.round + 1), self.round_base.eq(self.round_base + self.period)]

        with m.FSM(name="walk"):
            with m.State("WAIT_GO"):         # READY before the frames start, acting from their cycle 0
                with m.If(self.loaded):
                    m.next = "READY"
            with m.State("READY"):
                with m.If(~self.go):
                    pass
                with m.Elif((self.n_entries == 0) | (self.round >= self.frames + self.max_off)):
                    m.next = "FINISHED"
                with m.Elif(~self.in_run):
                    advance()
                    m.d.comb += passed_one.eq(1)
                    m.next = "SKIP"
                with m.Elif(rel_ok & self.tok_ok):
                    m.d.comb += [begin.eq(1), self.rd.addr.eq(self.base_addr + self.hb)]
                    m.d.sync += [cur_layer.eq(self.word(0, 0, LAYER_BITS)), cur_frame.eq(self.f[:FRAME_BITS]),
                                 *(p.eq(q) for p, q in zip(patch, self.patch_next)), beat.eq(0)]
                    m.next = "DISPATCH"
                with m.Elif(rel_ok):
                    m.d.sync += self.wait_cycles.eq(self.wait_cycles + 1)
            with m.State("SKIP"):             # the next header: READY as it is ready
                with m.If(self.pref & (self.pc == PREF_CYCLES - 1)):
                    m.next = "READY"
            with m.State("DISPATCH"):         # beat k's data shows the cycle after its address
                m.d.comb += [in_job.eq(1), holds.eq(1)]
                m.d.comb += [self.desc_we.eq(~self.stall), self.desc_beat.eq(beat),
                             self.rd.addr.eq(self.base_addr + self.hb + beat + Mux(self.stall, 0, 1))]
                with m.If(~self.stall):
                    m.d.sync += beat.eq(beat + 1)
                    with m.If(beat == nb - 1):
                        m.next = "START"
            with m.State("START"):
                m.d.comb += [self.start.eq(1), in_job.eq(1), holds.eq(1)]
                with m.If(~self.stall):
                    advance()
                    m.next = "RUN"
            with m.State("RUN"):
                m.d.comb += [self.running.eq(1), in_job.eq(1), holds.eq(1)]
                with m.If(self.chunk_done & ~self.stall):
                    m.d.sync += waited.eq(0)
                    m.next = "RETIRE"
            with m.State("RETIRE"):
                m.d.comb += in_job.eq(1)
                with m.If(waited < self.retire_wait):
                    m.d.sync += waited.eq(waited + 1)
                with m.Elif(~self.writes_idle):
                    m.d.comb += held.eq(1)        # writes the memory has not answered yet
                with m.Elif(self.hdr_ready & ~self.pref_go):
                    m.d.comb += [self.retire.eq(1), self.retire_layer.eq(cur_layer),
                                 self.retire_frame.eq(cur_frame), passed_one.eq(1)]
                    m.next = "READY"
            with m.State("FINISHED"):
                m.d.comb += self.finished.eq(1)
                with m.If(self.load):
                    m.next = "WAIT_GO"
        with m.If(self.clear):
            m.d.sync += [self.busy_cycles.eq(0), self.stall_cycles.eq(0), self.wait_cycles.eq(0)]
        with m.Else():
            with m.If(in_job & ((self.stall & holds) | held)):
                m.d.sync += self.stall_cycles.eq(self.stall_cycles + 1)
            with m.Elif(in_job | begin):
                m.d.sync += self.busy_cycles.eq(self.busy_cycles + 1)
