"""The memory bandwidth as a bound on the frame rate (hw_model.bandwidth) and as a budget of the search.

The bytes a frame moves are checked against the RTL's own beat counters in tests/test_frames.py, and a paced run on
a memory of that bandwidth; here the period's arithmetic against a hand computation, which bound is named, the
burst allowance against hand examples and a brute force over every window, and the search: a tighter bandwidth never scores a
design faster, and a design's cycles are never under its bytes over the bandwidth."""
import dataclasses

import numpy as np
import pytest

from hw_model.bandwidth import burst_allowance, layer_bytes
from hw_model.frame_rate import frame_rate
from hw_model.config import Accelerator, ConfigError, MemoryInterface
from hw_model.defaults import DEFAULT_CONFIG
from hw_model.refnet import reference_network
from hw_model.schedule import network_schedule
from search.space import Budget, Workload, score
from search.workloads import vgg_cifar


@pytest.fixture(scope="module")
def design():
    acc = Accelerator.load(DEFAULT_CONFIG)
    layers, graph = reference_network(seed=5)
    return acc, layers, graph


def _with_bw(acc, bw):
    return dataclasses.replace(acc, memory=dataclasses.replace(acc.memory, bandwidth_gb_s=bw))


def _rate(acc, layers, graph):
    s = network_schedule(acc, layers, graph)
    return s, frame_rate(acc, layers, s)


def test_the_slower_bound_sets_the_period_and_is_named(design):
    acc, layers, graph = design
    frame_bytes = sum(layer_bytes(acc, layers))
    hz = acc.clock_mhz * 1e6
    s, free = _rate(_with_bw(acc, None), layers, graph)
    load = max(s.loads)
    assert s.period == load and free["bound"] == "schedule" and free["fps"] == hz / load
    assert free["fps_bandwidth"] is None
    # a bandwidth just above the chunks' demand: still their period; a tenth of it: the frames are paced to the
    # memory, at the whole cycles its bandwidth needs for a frame's bytes (by hand: bytes / (bytes a cycle))
    demand = frame_bytes * hz / load / 1e9
    assert free["demanded_gb_s"] == pytest.approx(demand)
    s_at, at = _rate(_with_bw(acc, demand * 1.001), layers, graph)
    assert s_at.period == load and at["bound"] == "schedule" and at["fps"] == hz / load
    bw = demand / 10
    s_low, low = _rate(_with_bw(acc, bw), layers, graph)
    per_cycle = bw * 1e9 / hz
    assert s_low.period == -(-frame_bytes // per_cycle) and (s_low.period - 1) * per_cycle < frame_bytes
    assert low["bound"] == "bandwidth" and low["period_cycles"] == s_low.period and low["fps"] == hz / s_low.period
    assert low["fps"] <= low["fps_bandwidth"] == pytest.approx(hz / load / 10)
    assert low["fps_schedule"] == hz / load and low["busiest_load_cycles"] == load and low["clock_mhz"] == acc.clock_mhz
    # paced, every job still begins at its release, one period after the frame before's
    run = s_low.run(4)
    assert run.periodic and run.period == s_low.period and max(s_low.loads) == load


def test_the_burst_allowance_is_the_most_a_window_asks_above_the_rate():
    # two jobs of 100 bytes: [0, 10] and [5, 20], 4 bytes a cycle. Window [0, 5]: both begun, none retired:
    # 200 - 4 * 5 = 180; [5, 5] likewise 200; [11, 20]: the second only: 100 - 36 < 0. So 200.
    assert burst_allowance([0, 5], [10, 20], [100, 100], 4.0) == 200
    # the second begins after the first retires: window [10, 30] holds the first's retire cycle and the second's
    # begin, 200 bytes against 4 * 20
    assert burst_allowance([0, 30], [10, 40], [100, 100], 4.0) == 120
    # a rate that serves everything as it begins still needs the biggest job in hand
    assert burst_allowance([0, 30], [10, 40], [100, 60], 1e6) == 100
    # against a brute force over every window of a random run (a job's bytes counted as moved at its begin)
    rng = np.random.default_rng(3)
    b = rng.integers(0, 200, 30)
    e = b + rng.integers(1, 50, 30)
    w = rng.integers(1, 40, 30)
    rate = 0.7
    brute = max(0.0, max(w[b <= t].sum() - w[e < s0].sum() - rate * (t - s0)
                         for t in range(0, 260) for s0 in range(0, t + 1)))
    assert burst_allowance(b, e, w, rate) == pytest.approx(brute)


def test_bytes_per_frame_are_the_beats_of_every_layer(design):
    acc, layers, _ = design
    per = layer_bytes(acc, layers)
    assert len(per) == len(layers) and all(b > 0 and b % (acc.memory.bus_bits // 8) == 0 for b in per)


@pytest.mark.parametrize("bad", [0, -1, True, "fast", 1e9])
def test_a_bad_bandwidth_is_refused(bad):
    with pytest.raises(ConfigError, match="memory.bandwidth_gb_s"):
        MemoryInterface(bandwidth_gb_s=bad)
    with pytest.raises(ConfigError, match="budget.bandwidth_gb_s"):
        Budget(bandwidth_gb_s=bad if bad != 1e9 else -5)


def test_the_search_scores_a_frame_no_faster_than_the_bandwidth_allows():
    work = Workload(vgg_cifar())
    space = work.space()
    idx = np.random.default_rng(0).integers(0, space.n_opts, size=(64,) + space.shape)
    free = score(idx, space, work, Budget())
    prev = free.cycles
    for bw in (50.0, 10.0, 2.0, 0.5):
        s = score(idx, space, work, Budget(bandwidth_gb_s=bw))
        assert np.array_equal(s.frame_bytes, free.frame_bytes)
        bound = free.frame_bytes * Budget().clock_mhz * 1e6 / (bw * 1e9)
        assert (s.cycles >= bound).all() and (s.cycles >= free.cycles).all() and (s.cycles >= prev).all()
        assert np.array_equal(s.cycles, np.maximum(free.cycles, np.ceil(bound)))
        prev = s.cycles
    assert (prev > free.cycles).any()          # 0.5 GB/s binds for some of them
