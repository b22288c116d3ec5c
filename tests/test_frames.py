"""Frames pipelined over the chunks on the RTL (rtl_gen/frames.py through sim/frames.py): the reference network
(every layer type, residual add, pool, int32 logits) on the default accelerator. Every frame's completion cycle
equals the model's (hw_model.schedule), so the measured period and latency do; every chunk's busy cycles and
beats equal the model's; every frame's logits and every copy of every layer's output left in memory are
bit-exact. Under random pauses on every AXI channel the values stay exact, each chunk's unstalled busy cycles
stay the model's, and the frames complete later by what the stall counters show."""
import pytest

from hw_model.config import Accelerator
from hw_model.defaults import DEFAULT_CONFIG
from hw_model.refnet import reference_images, reference_network
from sim.frames import run_frames
from sim.tools import available

pytestmark = pytest.mark.slow          # a Verilator build of the whole wrapper: minutes (make test-all)


@pytest.fixture(scope="module")
def net():
    return Accelerator.load(DEFAULT_CONFIG), *reference_network(seed=5)


def test_frames_complete_when_the_model_says(net):
    if not available("verilator"):
        pytest.fail("verilator is not installed")
    acc, layers, graph = net
    rep = run_frames(acc, layers, graph, reference_images(6, seed=5), "verilator")
    assert not rep["timed_out"]
    assert rep["completions"]["rtl"] == rep["completions"]["model"] and rep["completions_exact"]
    assert rep["period_cycles"]["rtl"] == rep["period_cycles"]["model"] == rep["period_cycles"]["steady_state_model"]
    assert rep["latency_cycles"]["rtl"] == rep["latency_cycles"]["model"]
    assert rep["busy_exact"] and rep["beats_exact"] and rep["stall_cycles"] == 0 and rep["wait_cycles"] == 0
    assert rep["all_bit_exact"] and rep["logits_bit_exact"] and rep["frames_done"] == 6


def test_pauses_on_the_memory_keep_the_values_and_the_chunks_cycles(net):
    acc, layers, graph = net
    rep = run_frames(acc, layers, graph, reference_images(3, seed=6), "verilator", backpressure=True, seed=3)
    assert not rep["timed_out"] and rep["all_bit_exact"] and rep["beats_exact"] and rep["busy_exact"]
    assert rep["stall_cycles"] > 0
    assert all(r >= m for r, m in zip(rep["completions"]["rtl"], rep["completions"]["model"]))
    assert rep["completions"]["rtl"][-1] > rep["completions"]["model"][-1]
