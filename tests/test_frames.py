"""Frames pipelined over the chunks on the RTL (rtl_gen/frames.py), run by the host driver (driver/, unchanged)
on one start through sim/frames.py: the reference network (every layer type, residual add, pool, int32 logits)
on the default accelerator. Every frame's completion cycle equals the model's (hw_model.schedule), so the
measured period and latency do; every chunk's busy cycles and beats equal the model's; every frame's logits (as
the driver returns them, and in memory) and every copy of every layer's output left in memory are bit-exact.
Under random pauses on every AXI channel the values stay exact, each chunk's unstalled busy cycles stay the
model's, and the frames complete later by what the stall counters show.

`make test` runs two frames on Icarus (a minute or two each); the Verilator build of the whole wrapper takes
minutes, so the longer runs are behind `make test-all`."""
import dataclasses

import pytest

from hw_model.bandwidth import run_bandwidth_cycles
from hw_model.frame_rate import frame_rate
from hw_model import timing
from hw_model.config import Accelerator
from hw_model.errors import ConfigError
from hw_model.frame_program import frame_program
from hw_model.control import CTRL_IDLE, CTRL_START
from hw_model.defaults import DEFAULT_CONFIG
from hw_model.refnet import reference_images, reference_network
from hw_model.schedule import network_schedule
from sim.dram import contract_latency, covering_read_latency
from sim.frames import contract_dram, run_frames
from sim.tools import available


@pytest.fixture(scope="module")
def net():
    return Accelerator.load(DEFAULT_CONFIG), *reference_network(seed=5)


def _exact(rep, n):
    assert not rep["timed_out"]
    assert rep["completions"]["rtl"] == rep["completions"]["model"] and rep["completions_exact"]
    assert rep["period_cycles"]["rtl"] == rep["period_cycles"]["model"] == rep["period_cycles"]["steady_state_model"]
    assert rep["latency_cycles"]["rtl"] == rep["latency_cycles"]["model"]
    assert rep["busy_exact"] and rep["beats_exact"] and rep["stall_cycles"] == 0 and rep["wait_cycles"] == 0
    assert rep["all_bit_exact"] and rep["logits_bit_exact"] and rep["driver_logits_bit_exact"]
    assert rep["frames_done"] == n


@pytest.mark.parametrize("simulator", [pytest.param("verilator", marks=pytest.mark.slow), "icarus"])
def test_frames_complete_when_the_model_says(net, simulator):
    if not available(simulator):
        pytest.fail(f"{simulator} is not installed (see .ci/run)")
    acc, layers, graph = net
    n = 6 if simulator == "verilator" else 2
    rep = run_frames(acc, layers, graph, reference_images(n, seed=5), simulator)
    _exact(rep, n)
    # the bytes a frame moves, as the bandwidth bound counts them (hw_model.bandwidth), against the bridges' counters
    moved = sum(c["rtl_reads"] + c["rtl_writes"] for c in rep["chunks"]) * acc.memory.bus_bits // 8
    assert moved == n * frame_rate(acc, layers, network_schedule(acc, layers, graph))["bytes_per_frame"]


@pytest.mark.parametrize("simulator", [pytest.param("verilator", marks=pytest.mark.slow), "icarus"])
def test_pauses_on_the_memory_keep_the_values_and_the_chunks_cycles(net, simulator):
    """And a run reset half-way through its first frame first: the runs after it are exact all the same, so no
    result depends on a data register's reset (rtl_gen: data registers have none, docs/architecture.md)."""
    acc, layers, graph = net
    n = 3 if simulator == "verilator" else 2
    rep = run_frames(acc, layers, graph, reference_images(n, seed=6), simulator, backpressure=True, seed=3,
                     abort=True)
    assert not rep["timed_out"] and rep["all_bit_exact"] and rep["driver_logits_bit_exact"]
    assert rep["beats_exact"] and rep["busy_exact"]
    ab = rep["aborted"]
    assert ab["CTRL"] & CTRL_START and ab["CTRL_after_reset"] == CTRL_IDLE, ab
    assert rep["stall_cycles"] > 0
    assert all(r >= m for r, m in zip(rep["completions"]["rtl"], rep["completions"]["model"]))
    assert rep["completions"]["rtl"][-1] > rep["completions"]["model"][-1]


@pytest.mark.slow
@pytest.mark.parametrize("latency", [5, 6, 8])
def test_bridges_at_other_read_latencies(net, latency):
    """Each chunk's bridge decides the stall two cycles ahead, from the requests due by then, and which those are
    depends on read_latency (rtl_gen.bridge: the due bits, then the port's request): at each, on a memory as slow
    as the contract allows (sim/dram.py), every frame completes when the model says; under pauses, values and
    the chunks' own cycles stay exact."""
    acc, layers, graph = net
    acc = dataclasses.replace(acc, memory=dataclasses.replace(acc.memory, read_latency=latency))
    _exact(run_frames(acc, layers, graph, reference_images(2, seed=8), "icarus",
                      dram={"latency": contract_latency(latency)}), 2)
    rep = run_frames(acc, layers, graph, reference_images(2, seed=8), "icarus", backpressure=True, seed=4)
    assert rep["all_bit_exact"] and rep["busy_exact"] and rep["beats_exact"] and rep["stall_cycles"] > 0


def _dram_acc(acc, latency, burst_beats=1):
    """The accelerator whose chunks' fixed latency is the least that a DRAM `latency` cycles away keeps."""
    read_latency = covering_read_latency(latency, burst_beats)
    assert contract_latency(read_latency, burst_beats) == latency
    return dataclasses.replace(acc, memory=dataclasses.replace(acc.memory, read_latency=read_latency,
                                                               burst_beats=burst_beats))


def test_a_dram_latency_inside_the_contract_keeps_every_cycle_exact(net):
    """A memory 40 cycles away (sim/dram.py: 40 cycles from AR to the first beat) and chunks whose fixed latency
    covers it, with no cycle to spare: no stall, every completion cycle the model's, every frame bit-exact."""
    acc, layers, graph = net
    rep = run_frames(_dram_acc(acc, 40), layers, graph, reference_images(2, seed=9), "icarus", dram={"latency": 40})
    _exact(rep, 2)


def test_bursts_on_a_dram_keep_every_cycle_exact_with_fewer_transactions(net):
    """The same DRAM with the masters' reads and writes in bursts of up to 16 beats (and the read latency that
    covers the bursts' gathering): every completion the model's, no stall, bit-exact, and fewer than half as many
    read transactions as beats (the reference network's streams are short runs: 4 x 4 tiles, 16 channels)."""
    acc, layers, graph = net
    rep = run_frames(_dram_acc(acc, 40, 16), layers, graph, reference_images(2, seed=9), "icarus",
                     dram={"latency": 40})
    _exact(rep, 2)
    beats = sum(c["rtl_reads"] for c in rep["chunks"])
    assert 2 * sum(rep["read_transactions"]) < beats           # 2,653 transactions for 6,040 beats


@pytest.mark.slow
def test_a_dram_a_cycle_slower_than_the_contract_holds_the_chunks(net):
    """The contract is tight: the same chunks on a memory one cycle slower stall, and the values stay exact."""
    acc, layers, graph = net
    rep = run_frames(_dram_acc(acc, 40), layers, graph, reference_images(1, seed=9), "icarus", dram={"latency": 41})
    assert rep["all_bit_exact"] and rep["busy_exact"] and rep["stall_cycles"] > 0
    assert rep["completions"]["rtl"][0] > rep["completions"]["model"][0]


def test_a_read_latency_no_axi_memory_can_keep_is_refused(net):
    acc, layers, graph = net
    acc = dataclasses.replace(acc, memory=dataclasses.replace(acc.memory, read_latency=timing.AXI_READ_SLACK))
    with pytest.raises(ConfigError, match="memory.read_latency"):
        frame_program(acc, layers, graph, 2)


def _narrow(acc, rate):
    """The accelerator on a DRAM 40 cycles away in bursts of 16, whose bandwidth is `rate` beats a cycle."""
    acc = _dram_acc(acc, 40, 16)
    bw = rate * acc.memory.bus_bits / 8 * acc.clock_mhz * 1e6 / 1e9
    return dataclasses.replace(acc, memory=dataclasses.replace(acc.memory, bandwidth_gb_s=bw))


def test_frames_paced_to_a_narrow_memory_complete_when_the_model_says(net):
    """Every master behind one DRAM that moves 0.4 beats a cycle, reads and writes together, where the chunks alone
    would ask 0.79: the model calls the design bandwidth-bound and paces the frames to the memory (period 9,333
    cycles, against the busiest chunk's 4,755); on a memory that sustains that bandwidth and holds the burst
    allowance hw_model.bandwidth gives, every completion is the model's, nothing stalls, every frame is bit-exact,
    and the run itself is bandwidth-bound: the bytes it moved need every cycle of its period."""
    acc, layers, graph = net
    acc = _narrow(acc, 0.4)
    model = frame_rate(acc, layers, network_schedule(acc, layers, graph))
    assert model["bound"] == "bandwidth" and model["period_cycles"] > model["busiest_load_cycles"]
    n = 2
    dram = contract_dram(acc, layers, graph, n)
    assert dram["rate"] == pytest.approx(0.4) and dram["latency"] == 40
    rep = run_frames(acc, layers, graph, reference_images(n, seed=9), "icarus", dram=dram)
    _exact(rep, n)
    assert rep["period_cycles"]["rtl"] == model["period_cycles"] and rep["measured_bound"] == "bandwidth"
    assert rep["measured_bytes_per_frame"] == model["bytes_per_frame"]


@pytest.mark.slow
def test_a_memory_without_the_allowance_holds_the_chunks_within_the_model_s_bounds(net):
    """The same memory holding 16 beats ahead of its rate instead: it holds the chunks, and each completion lies
    where the model says it must: no earlier than the model's, no later than the model's plus every stall cycle
    (a held chunk finishes its job that much later; a begin is the latest of its release, its chunk and its
    tokens), and the last no earlier than the frames' bytes over the bandwidth allow. The values stay exact."""
    acc, layers, graph = net
    acc = _narrow(acc, 0.4)
    model = frame_rate(acc, layers, network_schedule(acc, layers, graph))
    n, burst = 3, 16.0
    dram = {**contract_dram(acc, layers, graph, n), "burst": burst}
    rep = run_frames(acc, layers, graph, reference_images(n, seed=9), "icarus", dram=dram)
    assert not rep["timed_out"] and rep["all_bit_exact"] and rep["beats_exact"] and rep["busy_exact"]
    got, want = rep["completions"]["rtl"], rep["completions"]["model"]
    assert rep["stall_cycles"] > 0 and got[-1] > want[-1]
    assert all(w <= g <= w + rep["stall_cycles"] for g, w in zip(got, want))
    assert got[-1] >= run_bandwidth_cycles(model, n, burst * acc.memory.bus_bits // 8)
