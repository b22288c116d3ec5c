"""The host program of a pipelined run (hw_model.frame_program): every tensor copy in a region of its own, every
job's addresses the copy of its frame, the tables as the sequencer reads them."""
import pytest

from hw_model.config import Accelerator
from hw_model.defaults import DEFAULT_CONFIG
from hw_model.errors import ConfigError
from hw_model.frame_program import frame_program
from hw_model.intnet import INPUT
from hw_model.program import plan_network
from hw_model.jobs import HEADER_WORDS, PATCHED, entry_beats
from hw_model.refnet import reference_network
from hw_model.regs import field_offsets


@pytest.fixture(scope="module")
def program():
    acc = Accelerator.load(DEFAULT_CONFIG)
    layers, graph = reference_network(seed=5)
    return acc, layers, graph, frame_program(acc, layers, graph, 5)


def test_every_copy_of_every_tensor_has_a_region_of_its_own(program):
    acc, layers, graph, fp = program
    plan = fp.plan
    spans = []
    for name, beats in plan.tensor_beats.items():
        k = plan.copies[name]
        assert k == (5 if name in (INPUT, layers[-1].name) else fp.schedule.copies[fp.schedule.names.index(name)])
        spans += [(plan.out_base[name] + j * beats, plan.out_base[name] + (j + 1) * beats) for j in range(k)]
    spans.sort()
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    assert spans[-1][1] <= fp.table_addr
    assert max(plan.static) < spans[0][0]


def _entry_words(fp, acc, c, i):
    eb = entry_beats(acc.memory)
    dir_beat = fp.words[fp.table_addr + c]
    first = (dir_beat >> 16) & 0xFFFFFFFF
    beats = [fp.words[fp.table_addr + first + i * eb + k] for k in range(eb)]
    per = acc.memory.bus_bits // 32
    return [(b >> (32 * j)) & 0xFFFFFFFF for b in beats for j in range(per)]


def test_the_tables_in_memory_are_the_entries_in_round_order(program):
    acc, layers, graph, fp = program
    s = fp.schedule
    for c, entries in enumerate(fp.tables):
        dir_beat = fp.words[fp.table_addr + c]
        assert dir_beat & 0xFFFF == len(entries) == len(s.order[c])
        assert dir_beat >> 48 == max((s.offset[l] for l in s.order[c]), default=0)
        for i, (e, l) in enumerate(zip(entries, s.order[c])):
            w = _entry_words(fp, acc, c, i)
            assert w[0] & 0xFF == l and (w[0] >> 8) & 0xFFFF == s.offset[l] and w[1] == s.phase[l]
            # a token names the producer's (or consumer's) chunk, its place in that chunk's rounds, the lag, and
            # how many rounds after this job's the entry it waits for lies
            toks = [(w[2 + t] & 0xF, (w[2 + t] >> 4) & 0xF, (w[2 + t] >> 8) & 0xFF,
                     ((w[2 + t] >> 16) ^ 0x8000) - 0x8000) for t in range(w[0] >> 24)]
            assert toks == [(s.chunk_of[x], s.order[s.chunk_of[x]].index(x), lag, s.offset[x] - s.offset[l] - lag)
                            for x, lag in s.tokens[l]]
            assert w[HEADER_WORDS:HEADER_WORDS + len(e.descriptor)] == list(e.descriptor)


def test_a_jobs_addresses_are_its_frames_copies(program):
    """What the sequencer computes, base + (f mod copies) * stride, names the copy that frame f of the producer
    was written to (and the job's own output copy), for every frame."""
    acc, layers, graph, fp = program
    plan, s = fp.plan, fp.schedule
    offs = field_offsets()
    nodes = {n.name: n for n in graph.nodes}
    for entries in fp.tables:
        for e in entries:
            name = s.names[e.layer]
            ins = list(nodes[name].inputs)
            for f in range(fp.frames):
                got = {field: e.bases[field] + (f % e.copies[g]) * e.strides[g] for field, g in PATCHED}
                assert got["act_base"] == plan.out_base[ins[0]] + (f % plan.copies[ins[0]]) * plan.tensor_beats[ins[0]]
                assert got["out_base"] == plan.out_base[name] + (f % plan.copies[name]) * plan.tensor_beats[name]
                if len(ins) > 1:
                    assert got["w_base"] == plan.out_base[ins[1]] + (f % plan.copies[ins[1]]) * \
                        plan.tensor_beats[ins[1]]
            cfg = sum(w << (32 * i) for i, w in enumerate(e.descriptor[1:]))
            assert all(e.bases[f] == (cfg >> offs[f][0]) & 0xFFFFFFFF for f, _ in PATCHED)


def test_a_run_of_no_frames_is_refused():
    acc = Accelerator.load(DEFAULT_CONFIG)
    layers, graph = reference_network(seed=5)
    with pytest.raises(ConfigError, match="frames"):
        frame_program(acc, layers, graph, 0)


def test_the_activation_memory_figure_is_the_plan_s(program):
    """hw_model.schedule.activation_beats (from the layers' shapes, what the search and bench report) against the
    region the memory plan actually lays out for the run."""
    from hw_model.schedule import activation_beats
    acc, layers, graph, fp = program
    mem = activation_beats(acc, layers, fp.schedule, fp.frames)
    assert mem["pipelined"] == fp.plan.act_hi - fp.plan.act_lo + 1
    one = plan_network(acc, layers, graph)
    assert mem["layer_at_a_time"] == one.act_hi - one.act_lo + 1 < mem["pipelined"]
