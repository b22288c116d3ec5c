"""The memory bandwidth as a bound on the frame rate (hw_model.bandwidth) and as a budget of the search.

The bytes a frame moves are checked against the RTL's own beat counters in tests/test_frames.py; here the bound's
arithmetic against a hand computation, which bound is named, and the search: a tighter bandwidth never scores a
design faster, and a design's cycles are never under its bytes over the bandwidth."""
import dataclasses

import numpy as np
import pytest

from hw_model.bandwidth import frame_rate, layer_bytes
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
    return acc, layers, network_schedule(acc, layers, graph)


def _with_bw(acc, bw):
    return dataclasses.replace(acc, memory=dataclasses.replace(acc.memory, bandwidth_gb_s=bw))


def test_the_lower_bound_sets_the_frame_rate_and_is_named(design):
    acc, layers, s = design
    frame_bytes = sum(layer_bytes(acc, layers))
    hz = acc.clock_mhz * 1e6
    free = frame_rate(_with_bw(acc, None), layers, s)
    assert free["bound"] == "schedule" and free["fps"] == hz / s.period and free["fps_bandwidth"] is None
    # a bandwidth exactly at the schedule's demand: still the schedule's; a tenth of it: the bandwidth's
    demand = frame_bytes * hz / s.period / 1e9
    assert free["demanded_gb_s"] == pytest.approx(demand)
    at = frame_rate(_with_bw(acc, demand * 1.001), layers, s)
    assert at["bound"] == "schedule" and at["fps"] == hz / s.period
    low = frame_rate(_with_bw(acc, demand / 10), layers, s)
    assert low["bound"] == "bandwidth"
    assert low["fps"] == pytest.approx(demand / 10 * 1e9 / frame_bytes) == pytest.approx(hz / s.period / 10)
    assert low["bandwidth_cycles"] == pytest.approx(10 * s.period)
    assert low["fps_schedule"] == hz / s.period and low["clock_mhz"] == acc.clock_mhz


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
