"""The AXI wrapper (rtl_gen/axi.py) with cocotbext-axi's AXI RAM and AXI4-Lite master: the reference network
(every layer type) run from a descriptor table in memory, started and finished through the control registers
and the interrupt.

- Per layer, on a RAM that answers in time: every layer's output bit-exact against the PyTorch integer model,
  its BUSY_CYCLES equal to hw_model's cycles, its read/write beats equal to the traffic model, no stall.
- Whole network in one run with random back-pressure on all five AXI channels: outputs still bit-exact, the
  chunks held (STALL_CYCLES > 0) but their own cycles (BUSY_CYCLES) still exactly the model's."""
import pytest

from hw_model.config import Accelerator
from hw_model.control import CTRL_IDLE, CTRL_START
from hw_model.defaults import DEFAULT_CONFIG
from sim.axi import run_network_axi
from hw_model.refnet import reference_images, reference_network
from sim.tools import available

# The AXI top's Verilator build takes minutes: `make test` runs the back-pressure run and the host driver's
# (whole network, BUSY_CYCLES equal to the model, no stall) on Icarus, `make test-all` every test on both
@pytest.mark.parametrize("simulator", [pytest.param("verilator", marks=pytest.mark.slow),
                                       pytest.param("icarus", marks=pytest.mark.slow)])
def test_axi_per_layer_cycle_exact_and_bit_exact(simulator):
    if not available(simulator):
        pytest.fail(f"{simulator} is not installed (see .ci/run)")
    acc = Accelerator.load(DEFAULT_CONFIG)
    layers, graph = reference_network(seed=5)
    rep = run_network_axi(acc, layers, graph, reference_images(1, seed=5), simulator, per_layer=True)
    assert rep["logits_bit_exact"] and rep["all_bit_exact"], rep["layers"]
    assert rep["all_cycle_exact"] and rep["all_beats_exact"], rep["layers"]
    axi = rep["axi"]
    assert axi["stall_cycles"] == 0 and axi["busy_cycles_exact"] and axi["done_and_irq_ok"], axi


@pytest.mark.parametrize("simulator", [pytest.param("verilator", marks=pytest.mark.slow), "icarus"])
def test_axi_backpressure_keeps_values_and_chunk_cycles(simulator):
    if not available(simulator):
        pytest.fail(f"{simulator} is not installed (see .ci/run)")
    acc = Accelerator.load(DEFAULT_CONFIG)
    layers, graph = reference_network(seed=6)
    # one image after the aborted run (the host driver's test runs two back to back): each run under random
    # back-pressure takes Icarus minutes
    rep = run_network_axi(acc, layers, graph, reference_images(1, seed=6), simulator, per_layer=False,
                          backpressure=True, seed=3, abort=True)
    assert rep["logits_bit_exact"] and rep["all_bit_exact"], rep["layers"]
    axi = rep["axi"]
    # the first run was reset in the middle of the network: the runs after it are exact all the same, so no
    # result depends on a data register's reset (rtl_gen: data registers have none, docs/architecture.md)
    ab = axi["aborted"]
    assert ab["LAYER"] > 0 and ab["CTRL"] & CTRL_START and ab["CTRL_after_reset"] == CTRL_IDLE, ab
    assert axi["stall_cycles"] > 0, "the back-pressure never reached the chunks"
    assert axi["busy_cycles_exact"] and axi["beats_exact"] and axi["done_and_irq_ok"], axi
    assert all(c > axi["model_cycles_per_image"] for c in axi["run_cycles_per_image"])


@pytest.mark.slow
@pytest.mark.parametrize("latency", [1, 2, 3, 6])
def test_axi_bridge_at_other_read_latencies(latency):
    """The bridge decides the stall two cycles ahead, from the requests due by then, and which those are depends
    on read_latency (rtl_gen.axi: the due bits, then the port's request, then one not yet made): at each, under
    back-pressure, outputs bit-exact and the chunks' own cycles exactly the model's."""
    import dataclasses
    acc = Accelerator.load(DEFAULT_CONFIG)
    acc = dataclasses.replace(acc, memory=dataclasses.replace(acc.memory, read_latency=latency))
    layers, graph = reference_network(seed=8)
    rep = run_network_axi(acc, layers, graph, reference_images(1, seed=8), "icarus", per_layer=False,
                          backpressure=True, seed=4)
    assert rep["logits_bit_exact"] and rep["all_bit_exact"], rep["layers"]
    axi = rep["axi"]
    assert axi["stall_cycles"] > 0 and axi["busy_cycles_exact"] and axi["beats_exact"] and axi["done_and_irq_ok"], axi


def test_host_driver_runs_the_network_end_to_end_through_axi():
    """driver/, the PYNQ-style host driver, unchanged against the simulated wrapper: it loads the program
    (weights, records, descriptors), writes each image, starts, waits for the interrupt and reads the logits;
    they equal the integer model's, and the counters its cycle model's."""
    from hw_model.intnet import int_forward
    from hw_model.program import network_program, plan_network
    from sim.axi import run_driver_sim
    from sim.network import step_model_cycles
    acc = Accelerator.load(DEFAULT_CONFIG)
    layers, graph = reference_network(seed=7)
    images = reference_images(2, seed=7)
    res = run_driver_sim(acc, network_program(acc, layers, graph), images, "icarus")
    want = int_forward(graph, images)
    assert [r["logits"] for r in res["images"]] == want.reshape(len(images), -1).tolist()
    model = sum(step_model_cycles(s) for s in plan_network(acc, layers, graph).steps)
    assert all(r["counters"]["BUSY_CYCLES"] == model and r["counters"]["STALL_CYCLES"] == 0 for r in res["images"])
