"""The accelerator search engines: exact optimum, budget handling, and the differentiable engine learning."""
import numpy as np
import pytest

from hw_model.config import ConfigError
from hw_model.cost import accelerator_resources
from hw_model.cycles import layer_cycles
from hw_model import timing
from hw_model.control import desc_beats
from hw_model.mapping import geometry
from search.accel_search import decomposed_optimum, differentiable_search, exhaustive, random_search
from search.space import Budget, Workload, score
from search.workloads import resnet18_cifar, vgg_cifar

SMALL = {"tm": (4, 8, 16), "tn": (4, 8, 16), "trb": (4, 8), "tcb": (4, 8), "tmb": (16, 32), "tnb": (16, 32)}


def test_scores_equal_the_scalar_model_of_the_built_accelerator():
    work = Workload(vgg_cifar())
    space = work.space()
    idx = np.random.default_rng(0).integers(0, space.n_opts, size=(5,) + space.shape)
    s = score(idx, space, work, Budget())
    for b in range(5):
        if not s.valid[b]:
            continue
        acc = space.to_accelerator(idx[b])
        per_chunk = {}
        for L in work.layers:
            g = geometry(acc, L)
            per_chunk[g.chunk.name] = per_chunk.get(g.chunk.name, 0) + _job(acc, layer_cycles(g))
        assert s.cycles[b] == max(per_chunk.values())
        assert s.dsp[b] == accelerator_resources(acc)["total"]["dsp"]
        assert s.bram18[b] == accelerator_resources(acc)["total"]["bram18"]


def test_decomposed_optimum_equals_exhaustive_enumeration_of_two_chunks():
    work = Workload(vgg_cifar())
    space = work.space(SMALL)
    budget = Budget(dsp=300, bram18=120)
    ex = exhaustive(space, work, budget)
    assert ex.evaluations == space.size() == (9 * 4 * 2 * 2) ** 2
    dec = decomposed_optimum(space, work, budget)
    assert dec.metric == ex.metric and dec.evaluations == 2 * 9 * 4 * 2 * 2


def test_every_returned_design_is_within_budget():
    work = Workload(resnet18_cifar())
    space = work.space()
    budget = Budget(dsp=200, bram18=150)
    for r in (differentiable_search(space, work, budget, 800, seed=1), random_search(space, work, budget, 800),
              decomposed_optimum(space, work, budget)):
        s = score(r.idx[None], space, work, budget)
        assert s.within[0] and s.dsp[0] <= 200 and s.bram18[0] <= 150


def test_an_impossible_budget_returns_no_design_instead_of_failing():
    work = Workload(vgg_cifar())
    r = differentiable_search(work.space(), work, Budget(dsp=1, bram18=1), 320)
    assert r.idx is None and r.metric == np.inf


def test_bad_budget_names_the_field():
    with pytest.raises(ConfigError) as e:
        Budget(dsp=0)
    assert e.value.field == "budget.dsp"


def test_differentiable_engine_beats_random_at_equal_evaluations_and_nears_the_optimum():
    work = Workload(resnet18_cifar())
    space, budget = work.space(), Budget()
    opt = decomposed_optimum(space, work, budget).metric
    diff = [differentiable_search(space, work, budget, 2000, seed=s).metric for s in range(5)]
    rand = [random_search(space, work, budget, 2000, seed=s).metric for s in range(5)]
    assert np.median(diff) < np.median(rand)
    assert max(diff) <= 1.02 * opt


def test_the_engine_learns_its_distribution_concentrates():
    from search.accel_search import DifferentiableSearch, _Best
    work = Workload(vgg_cifar())
    eng = DifferentiableSearch(work.space(), Budget(), seed=3)
    real = work.space().n_opts > 1                    # groups with a decision to make
    p0 = eng.probs().max(axis=-1)[:, real].mean()
    best = _Best()
    for _ in range(100):
        eng.step(work, best)
    assert eng.probs().max(axis=-1)[:, real].mean() > p0 + 0.3


def _job(acc, cycles: int) -> int:
    """A layer's job on its chunk, as docs/architecture.md ("Frame schedule") states it: the descriptor's beats and
    the fixed dispatch, then the layer and its retire window, or the next header when that takes longer."""
    return desc_beats(acc.memory) + timing.JOB_DISPATCH_FIXED + max(cycles + timing.JOB_RETIRE, timing.JOB_PREFETCH)


def _slowest_chunk_cycles(acc, layers) -> int:
    """The scalar model: each layer's cycles plus its dispatch, summed per chunk; the busiest chunk."""
    cyc = {}
    for L in layers:
        g = geometry(acc, L)
        cyc[g.chunk.name] = cyc.get(g.chunk.name, 0) + _job(acc, layer_cycles(g))
    return max(cyc.values())


def test_pixel_dataflow_is_in_the_space_and_scores_exactly():
    """With pixel=True every channel slot may take the pixel dataflow; the design's scores are the scalar
    model's of the accelerator it builds, and the exact optimum uses pixel where it pays (a 3-channel stem)."""
    from hw_model.config import Layer
    layers = [Layer(name="stem", in_channels=3, out_channels=64, in_size=(64, 64), kernel=3, padding=1, bits=4),
              Layer(name="c1", in_channels=16, out_channels=16, in_size=(8, 8), kernel=3, padding=1, bits=8)]
    work = Workload(layers)
    space = work.space(pixel=True)
    idx = np.random.default_rng(1).integers(0, space.n_opts, size=(64,) + space.shape)
    s = score(idx, space, work, Budget())
    pix = np.array([space.to_accelerator(i).chunk("c4").pixel if v else False for i, v in zip(idx, s.valid)])
    chosen = list(np.flatnonzero(s.valid & pix)[:4]) + list(np.flatnonzero(s.valid & ~pix)[:4])
    assert len(chosen) == 8
    for b in chosen:
        acc = space.to_accelerator(idx[b])
        assert s.cycles[b] == _slowest_chunk_cycles(acc, layers)
        assert s.dsp[b] == accelerator_resources(acc)["total"]["dsp"]
        assert s.bram18[b] == accelerator_resources(acc)["total"]["bram18"]
        assert (space.index_of(acc) == idx[b]).all()
    opt = decomposed_optimum(space, work, Budget())
    assert space.to_accelerator(opt.idx).chunk("c4").pixel
    assert opt.metric < decomposed_optimum(work.space(), work, Budget()).metric


def test_depthwise_layers_get_depthwise_slots_and_exact_scores():
    from hw_model.config import Layer
    layers = [Layer(name="pw", in_channels=16, out_channels=48, in_size=(16, 16), kernel=1, bits=6),
              Layer(name="dw", in_channels=48, out_channels=48, groups=48, in_size=(16, 16), padding=1, bits=6),
              Layer(name="pw2", in_channels=48, out_channels=16, groups=2, in_size=(16, 16), kernel=1, bits=6)]
    work = Workload(layers)
    assert [(s.name, s.dataflow) for s in work.slots] == [("c6", "channel"), ("d6", "depthwise")]
    space = work.space()
    idx = np.random.default_rng(1).integers(0, space.n_opts, size=(4,) + space.shape)
    s = score(idx, space, work, Budget())
    for b in range(4):
        assert s.cycles[b] == _slowest_chunk_cycles(space.to_accelerator(idx[b]), layers)
    opt = decomposed_optimum(space, work, Budget())
    assert opt.idx is not None and space.to_accelerator(opt.idx).chunk("d6").tn == 1


def test_feature_map_split_gives_large_and_small_chunks_and_exact_scores():
    """The method's template: one chunk per (bit-width x standard/depthwise x large/small map). Layers route
    to the chunk of their map size; scores equal the scalar model of the accelerator built."""
    work = Workload(resnet18_cifar(), large_map=16)
    assert {(s.name, s.maps) for s in work.slots} >= {("c8L", "large"), ("c6L", "large"), ("c6S", "small")}
    space = work.space()
    opt = decomposed_optimum(space, work, Budget())
    acc = space.to_accelerator(opt.idx)
    assert acc.large_map == 16
    for L in work.layers:
        assert acc.chunk_for(L).maps == ("large" if L.out_size[0] >= 16 else "small")
    assert opt.metric == _slowest_chunk_cycles(acc, work.layers)
    assert len(work.slots) > len(Workload(resnet18_cifar()).slots)
