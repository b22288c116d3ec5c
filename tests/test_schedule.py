"""The frame schedule (hw_model.schedule) against an independent simulation written here: random layer graphs
with residual branches on random chunk assignments. The simulation runs each chunk's descriptors in order by its
own rules (a job begins when its chunk is free, not before its release, when the data it reads are written, and
when the copy it writes has been read by every reader of the frame before), and checks what the data need from first principles: every
read after its write, no copy overwritten before its last read, no chunk doing two things at once."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hw_model import timing
from hw_model.config import Accelerator
from hw_model.defaults import DEFAULT_CONFIG
from hw_model.refnet import reference_network
from hw_model.control import desc_beats
from hw_model.schedule import NETWORK_INPUT, job_dispatch, network_schedule, period_cycles, plan_schedule


@st.composite
def networks(draw, chain=False):
    """chain: every layer reads the one before (and maybe an earlier one), so every layer leads to the last, as
    in a network; otherwise any graph (layers that lead nowhere, several that read the input)."""
    n = draw(st.integers(1, 12))
    chunks = draw(st.integers(1, 4))
    inputs = []
    for l in range(n):
        first = (l - 1 if chain else draw(st.integers(NETWORK_INPUT, l - 1))) if l else NETWORK_INPUT
        if l >= 2 and draw(st.booleans()):              # a residual add: a second, earlier input
            inputs.append((first, draw(st.integers(0, l - 1))))
        else:
            inputs.append((first,))
    chunk_of = [draw(st.integers(0, chunks - 1)) for _ in range(n)]
    cycles = [draw(st.integers(1, 400)) for _ in range(n)]
    dispatch = draw(st.integers(1, 20))
    return [f"l{i}" for i in range(n)], chunk_of, cycles, inputs, dispatch, chunks


def simulate(s, n_frames):
    """Each chunk's descriptors in order (rounds 0 .. N-1 + its largest offset, its layers by phase within a
    round); a job begins at the first cycle its chunk is free and every job it waits for has retired
    TOKEN_DELAY cycles before. Committed one job at a time, in whatever order the data allow."""
    L = len(s.names)
    queues = []
    for c, layers in enumerate(s.order):
        rounds = n_frames + max((s.offset[l] for l in layers), default=0)
        queues.append([(l, r - s.offset[l]) for r in range(rounds) for l in layers])
    end = {}
    begin = {}
    free = [0] * s.n_chunks
    pos = [0] * s.n_chunks
    waits = {}
    for l in range(L):
        w = [(p, 0) for p in s.inputs[l] if p != NETWORK_INPUT]
        w += [(q, s.copies[l]) for q in range(L) if l in s.inputs[q]]
        waits[l] = w
    while any(pos[c] < len(queues[c]) for c in range(s.n_chunks)):
        progressed = False
        for c in range(s.n_chunks):
            while pos[c] < len(queues[c]):
                l, f = queues[c][pos[c]]
                if not 0 <= f < n_frames:
                    free[c] += timing.JOB_PREFETCH
                    pos[c] += 1
                    progressed = True
                    continue
                need = [(x, f - lag) for x, lag in waits[l] if f - lag >= 0]
                if any(k not in end for k in need):
                    break
                release = s.plan_start[l] + f * s.period
                t = max([free[c], release] + [end[k] + timing.TOKEN_DELAY for k in need])
                begin[l, f], end[l, f] = t, t + s.dispatch + max(s.cycles[l] + timing.JOB_RETIRE, timing.JOB_PREFETCH)
                free[c] = end[l, f]
                pos[c] += 1
                progressed = True
        assert progressed, "deadlock: no chunk can go on"
    return begin, end


def check_data(s, begin, end, n_frames):
    L = len(s.names)
    for q in range(L):
        for f in range(n_frames):
            for p in s.inputs[q]:
                if p == NETWORK_INPUT:
                    continue
                assert end[p, f] <= begin[q, f], "read before written"
                k = s.copies[p]
                if f + k < n_frames and p != L - 1:
                    assert begin[p, f + k] >= end[q, f], "a copy overwritten before its last read"
    for c in range(s.n_chunks):
        jobs = sorted((begin[l, f], end[l, f]) for l in range(L) if s.chunk_of[l] == c for f in range(n_frames))
        assert all(a[1] <= b[0] for a, b in zip(jobs, jobs[1:])), "a chunk runs two jobs at once"


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.integers(1, 10))
def test_the_schedule_equals_an_independent_simulation(net, n_frames):
    s = plan_schedule(*net)
    run = s.run(n_frames)
    begin, end = simulate(s, n_frames)
    check_data(s, begin, end, n_frames)
    for l in range(len(s.names)):
        for f in range(n_frames):
            assert (run.begin[l, f], run.end[l, f]) == (begin[l, f], end[l, f]), (l, f)
    assert s.period == max(s.loads) >= max(s.busy)
    assert run.periodic             # every job at its release: the rules never hold one back


@settings(max_examples=100, deadline=None, derandomize=True)
@given(networks(chain=True), st.integers(2, 12))
def test_every_frame_completes_one_busiest_load_after_the_one_before(net, n_frames):
    """The period is the busiest chunk's load, from the first frame on, and every frame's latency the same: the
    schedule reaches the bound for any network (every layer leading to the logits) and any mapping."""
    s = plan_schedule(*net)
    run = s.run(n_frames)
    assert run.periodic
    c = run.completion
    assert {int(d) for d in np.diff(c)} == {s.period} == {max(s.loads)}
    assert int(c[0]) == s.latency


def test_the_reference_network_pipelines_at_its_busiest_chunk():
    acc = Accelerator.load(DEFAULT_CONFIG)
    layers, graph = reference_network(seed=0)
    s = network_schedule(acc, layers, graph)
    run = s.run(8)
    # the busiest chunk's load, from the layers' exact cycles, computed here
    from hw_model.cycles import layer_cycles
    from hw_model.mapping import geometry
    load = {}
    for L in layers:
        g = geometry(acc, L)
        load[g.chunk.name] = load.get(g.chunk.name, 0) + desc_beats(acc.memory) + timing.JOB_DISPATCH_FIXED + max(
            layer_cycles(g) + timing.JOB_RETIRE, timing.JOB_PREFETCH)
    assert run.period == s.period == max(load.values())
    # no frame is faster than its longest chain of jobs
    chain = []
    for l in range(len(layers)):
        chain.append(s.busy[l] + max([chain[p] + timing.TOKEN_DELAY for p in s.inputs[l] if p >= 0], default=0))
    assert run.latency >= chain[-1]
    # the search's vectorized form gives the same period
    onehot = np.eye(len(acc.chunks), dtype=np.int64)[list(s.chunk_of)]
    p, _ = period_cycles(np.array([s.cycles]), onehot, job_dispatch(acc.memory))
    assert int(p[0]) == s.period
