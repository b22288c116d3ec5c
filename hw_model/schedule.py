"""The frame schedule: how a network's layers, mapped on an accelerator's chunks, run frames pipelined.

Every chunk runs its own layers, each on its own frame, so a frame's period is the busiest chunk's load: the
sum over its layers of the cycles a job holds it (hw_model.timing: the descriptor's dispatch, the layer's exact
cycles, the retire). The schedule says, for a network on an accelerator:
- each layer's round offset: while round r runs, layer l works on frame r - offset[l];
- each chunk's order: in every round it runs its layers in this order (jobs whose frame lies outside the run are
  passed over);
- each tensor's copies: the frames of a layer's output that live in memory at once (frame f in copy f mod k);
- each job's release: job (l, f) begins no earlier than cycle plan_start[l] + f * P of the run;
- each job's tokens: (layer x, lag) pairs; job (l, f) begins only when layer x has retired frame f - lag
  (producers: lag 0, the frame's inputs are written; consumers of l's output: lag = its copies, the copy l is
  about to overwrite has been read by all of them).
The hardware (rtl_gen's per-chunk sequencers) follows exactly these rules, so Run (run(n_frames)) gives every
job's cycles exactly, and from them each frame's completion, the period and the latency. The releases make the
run periodic from its first frame (every frame P after the one before, every frame's latency the same); the
tokens keep the data right when the memory does not keep its contract and a chunk is held (the run then slips,
and the stall counters say by how much).

How the offsets are chosen (docs/architecture.md, "Frame schedule"): a modulo schedule at period P = the
busiest chunk's load. Layers are placed in graph order, each at the earliest cycle its inputs allow, inside its
chunk's circular table of length P, where the chunk's jobs of one round lie back to back; the gap a job leaves
before it comes out of the chunk's slack (P minus its load), so a chunk's jobs always fit. That periodic
schedule obeys every token, so with a memory that keeps its contract every job begins at its release: the period
is the busiest chunk's load for every network and mapping (frames do not depend on each other). What it costs is
latency (a job may wait for its chunk's slot) and copies. Where the memory's bandwidth cannot serve a frame's bytes
in that load, P is the period it can (hw_model.bandwidth.bandwidth_period): the frames are paced to the memory, and
every chunk has that much more slack.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import timing
from .bandwidth import bandwidth_period
from .config import Accelerator, MemoryInterface
from .control import desc_beats
from .cycles import layer_cycles
from .errors import ConfigError
from .intnet import INPUT, IntGraph
from .mapping import geometry

NETWORK_INPUT = -1          # the producer index of the network's input image in Schedule.inputs


def job_dispatch(mem: MemoryInterface) -> int:
    """Cycles from a job's begin to its chunk's start: the descriptor's beats, then the fixed stages."""
    return desc_beats(mem) + timing.JOB_DISPATCH_FIXED


def job_retire(mem: MemoryInterface) -> int:
    """Cycles from a job's chunk's done to its retire (timing.job_retire)."""
    return timing.job_retire(mem.burst_beats)


def job_busy(dispatch: int, cycles, retire: int = timing.JOB_RETIRE):
    """Cycles a job holds its sequencer, from its begin to its retire: the dispatch, then the layer and the retire
    window (job_retire), or the next entry's header if that takes longer (a layer of a few cycles). Works on
    arrays."""
    return dispatch + np.maximum(np.asarray(cycles) + retire, timing.JOB_PREFETCH)


def period_cycles(layer_cycles_, onehot, dispatch: int, retire: int = timing.JOB_RETIRE):
    """The frame period, vectorized for the search: layer_cycles_ [..., L], onehot [L, C] (layer -> chunk),
    dispatch = job_dispatch(memory), retire = job_retire(memory). Returns ([...] period, [..., C] chunk loads)."""
    loads = job_busy(dispatch, layer_cycles_, retire) @ onehot
    return loads.max(axis=-1), loads


@dataclass(frozen=True)
class Schedule:
    names: tuple[str, ...]                  # layers in graph order (producers before consumers)
    chunk_of: tuple[int, ...]               # each layer's chunk (index in the accelerator)
    cycles: tuple[int, ...]                 # each layer's exact cycles on its chunk (start to done)
    inputs: tuple[tuple[int, ...], ...]     # each layer's producers (NETWORK_INPUT: the image)
    dispatch: int                           # job_dispatch of the memory
    n_chunks: int
    plan_start: tuple[int, ...]             # frame 0's begin in the periodic schedule (planning, not a run)
    retire: int = timing.JOB_RETIRE         # job_retire of the memory
    min_period: int = 0                     # the period the memory's bandwidth allows (hw_model.bandwidth)

    @cached_property
    def busy(self) -> tuple[int, ...]:
        """Cycles each layer's job holds its sequencer: job_busy."""
        return tuple(int(job_busy(self.dispatch, c, self.retire)) for c in self.cycles)

    @cached_property
    def loads(self) -> tuple[int, ...]:
        out = [0] * self.n_chunks
        for c, b in zip(self.chunk_of, self.busy):
            out[c] += b
        return tuple(out)

    @property
    def period(self) -> int:
        """The steady-state frame period in cycles, the step of the jobs' releases: the busiest chunk's load, or
        the period the memory's bandwidth allows where that is longer (the frames paced to it)."""
        return max(max(self.loads), self.min_period)

    @property
    def offset(self) -> tuple[int, ...]:
        return tuple(s // self.period for s in self.plan_start)

    @property
    def phase(self) -> tuple[int, ...]:
        return tuple(s % self.period for s in self.plan_start)

    @cached_property
    def order(self) -> tuple[tuple[int, ...], ...]:
        """Each chunk's layers in the order it runs them within a round."""
        ph = self.phase
        return tuple(tuple(sorted((l for l, c in enumerate(self.chunk_of) if c == k), key=lambda l: ph[l]))
                     for k in range(self.n_chunks))

    @cached_property
    def consumers(self) -> tuple[tuple[int, ...], ...]:
        out = [set() for _ in self.names]
        for l, ins in enumerate(self.inputs):
            for p in ins:
                if p != NETWORK_INPUT:
                    out[p].add(l)
        return tuple(tuple(sorted(s)) for s in out)

    @cached_property
    def copies(self) -> tuple[int, ...]:
        """Copies of each layer's output in memory (the last layer's logits: one per frame of a run instead): the
        frames between its write and its last read, rounded up to a power of two (the sequencer's copy index is
        the frame's low bits)."""
        P, s, b = self.period, self.plan_start, self.busy
        need = [max([1] + [-(-(s[q] + b[q] + timing.TOKEN_DELAY - s[l]) // P) for q in self.consumers[l]])
                for l in range(len(self.names))]
        return tuple(1 << (k - 1).bit_length() for k in need)

    @cached_property
    def tokens(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        """Each layer's tokens (layer, lag): its producers' frame f, its consumers' frame f - copies."""
        return tuple(tuple(sorted({(p, 0) for p in self.inputs[l] if p != NETWORK_INPUT}
                                  | {(q, self.copies[l]) for q in self.consumers[l]}))
                     for l in range(len(self.names)))

    @property
    def depth(self) -> int:
        """Rounds from a frame's first job to its last: max offset."""
        return max(self.offset)

    @property
    def latency(self) -> int:
        """Every frame's latency, from its first job's release to its logits: the last layer's retire."""
        return self.plan_start[-1] + self.busy[-1]

    def run(self, n_frames: int) -> "Run":
        """Every job of a run of n_frames frames, begun as early as the rules allow (what the hardware does)."""
        if isinstance(n_frames, bool) or not isinstance(n_frames, int) or n_frames < 1:
            raise ConfigError("frames", n_frames, "a positive integer")
        P, off, ph = self.period, self.offset, self.phase
        L = len(self.names)
        begin = np.full((L, n_frames), -1, dtype=np.int64)
        end = np.full((L, n_frames), -1, dtype=np.int64)
        # every descriptor of every chunk's rounds, in the periodic schedule's time order: a job's tokens and its
        # chunk's previous descriptor come before it (docs/architecture.md, "Frame schedule")
        entries = []
        for c, layers in enumerate(self.order):
            last_round = n_frames - 1 + max((off[l] for l in layers), default=0)
            for r in range(last_round + 1):
                for l in layers:
                    entries.append((r * P + ph[l], c, l, r - off[l]))
        entries.sort()
        free = [0] * self.n_chunks
        for _, c, l, f in entries:
            if not 0 <= f < n_frames:
                free[c] += timing.JOB_PREFETCH     # the next entry's header
                continue
            t = max(free[c], self.plan_start[l] + f * P)
            for x, lag in self.tokens[l]:
                g = f - lag
                if g >= 0:
                    assert end[x, g] >= 0, "a token from a job not yet evaluated"
                    t = max(t, int(end[x, g]) + timing.TOKEN_DELAY)
            begin[l, f] = t
            end[l, f] = free[c] = t + self.busy[l]
        return Run(self, n_frames, begin, end, max(free))


@dataclass(frozen=True)
class Run:
    schedule: Schedule
    frames: int
    begin: np.ndarray           # [L, N] cycle a job begins (its dispatch), from the run's cycle 0
    end: np.ndarray             # [L, N] cycle it retires
    cycles: int                 # the run's length: every sequencer through its last descriptor

    @property
    def chunk_start(self) -> np.ndarray:
        return self.begin + self.schedule.dispatch

    @property
    def chunk_done(self) -> np.ndarray:
        return self.chunk_start + np.asarray(self.schedule.cycles)[:, None]

    @property
    def completion(self) -> np.ndarray:
        """[N] cycle each frame's logits retire."""
        return self.end[-1]

    @property
    def latency(self) -> int:
        """The first frame's latency: the run's start to its logits."""
        return int(self.completion[0])

    @property
    def period(self) -> int | None:
        """The difference between the last two frames' completions (None for a run of one frame)."""
        c = self.completion
        return int(c[-1] - c[-2]) if len(c) > 1 else None

    @property
    def periodic(self) -> bool:
        """Whether every job began at its release (so every frame completed one period after the one before)."""
        s = self.schedule
        release = np.asarray(s.plan_start)[:, None] + s.period * np.arange(self.frames)[None, :]
        return bool(np.array_equal(self.begin, release))


def schedule_figures(s: Schedule, clock_mhz: float) -> dict:
    """What a report says of a schedule: the model's figures, with the clock they assume."""
    hz = clock_mhz * 1e6
    return {"clock_mhz": clock_mhz, "period_cycles": s.period, "fps": hz / s.period,
            "latency_cycles": s.latency, "latency_ms": 1e3 * s.latency / hz, "rounds_in_flight": s.depth + 1,
            "layer_at_a_time_cycles": sum(s.busy), "fps_layer_at_a_time": hz / sum(s.busy),
            "tensor_copies": dict(zip(s.names, s.copies)),
            "source": "model (hw_model.schedule): frames pipelined over the chunks; period = the busiest chunk's "
                      "load (each layer's exact cycles plus its job's dispatch and retire), or the period the memory's "
                      "bandwidth allows if longer"}


def activation_beats(acc: Accelerator, layers, s: Schedule, frames: int) -> dict:
    """Activation memory in beats (input, then every layer's output, as hw_model.program lays it out): one copy
    of each (one layer at a time) against a pipelined run of `frames` frames (the input and the logits one copy a
    frame, every other tensor the schedule's copies)."""
    first = layers[0]
    in_beats = first.in_size[0] * first.in_size[1] * -(-first.in_channels // (acc.memory.bus_bits // first.bits))
    outs = [L.out_size[0] * L.out_size[1] * geometry(acc, L).out_nb for L in layers]
    ks = list(s.copies[:-1]) + [frames]
    return {"layer_at_a_time": in_beats + sum(outs),
            "pipelined": in_beats * frames + sum(w * k for w, k in zip(outs, ks)), "frames": frames}


def network_schedule(acc: Accelerator, layers, graph: IntGraph) -> Schedule:
    """The schedule of a network (layers and graph nodes named alike, in graph order) on an accelerator."""
    index = {L.name: i for i, L in enumerate(layers)}
    nodes = {n.name: n for n in graph.nodes}
    inputs, chunk_of, cycles = [], [], []
    for i, L in enumerate(layers):
        if L.name not in nodes:
            raise ConfigError("network.layers", L.name, "one layer per integer-graph node, named alike")
        ins = []
        for k in nodes[L.name].inputs:
            if k != INPUT and (k not in index or index[k] >= i):
                raise ConfigError(f"network.integer_graph[{L.name!r}].input", k, "an earlier layer or the input")
            ins.append(NETWORK_INPUT if k == INPUT else index[k])
        g = geometry(acc, L)
        inputs.append(tuple(ins))
        chunk_of.append(acc.chunks.index(g.chunk))
        cycles.append(int(layer_cycles(g)))
    return plan_schedule([L.name for L in layers], chunk_of, cycles, inputs, job_dispatch(acc.memory),
                         len(acc.chunks), job_retire(acc.memory), bandwidth_period(acc, layers))


def plan_schedule(names, chunk_of, cycles, inputs, dispatch: int, n_chunks: int,
                  retire: int = timing.JOB_RETIRE, min_period: int = 0) -> Schedule:
    """Place every layer in its chunk's circular table of length P, the busiest chunk's load or min_period if
    longer (see the module's doc)."""
    busy = [int(job_busy(dispatch, c, retire)) for c in cycles]
    loads = [0] * n_chunks
    for c, b in zip(chunk_of, busy):
        loads[c] += b
    P = max(max(loads), int(min_period))
    slack = [P - x for x in loads]
    arc = [None] * n_chunks           # per chunk: the table position where its next job may go
    start = []
    for l, (c, ins) in enumerate(zip(chunk_of, inputs)):
        e = max([0] + [start[p] + busy[p] + timing.TOKEN_DELAY for p in ins if p != NETWORK_INPUT])
        if arc[c] is None:            # the chunk's first job fixes where its round begins
            t = e
        else:
            delta = (e - arc[c]) % P  # the gap the job would leave after the chunk's previous one
            if delta <= slack[c]:
                t = e
                slack[c] -= delta
            else:
                t = e + (P - delta)   # right after the previous one, a round later
        start.append(t)
        arc[c] = (t + busy[l]) % P
    return Schedule(tuple(names), tuple(chunk_of), tuple(int(c) for c in cycles), tuple(tuple(i) for i in inputs),
                    dispatch, n_chunks, tuple(start), retire, int(min_period))
