"""Whole networks on the accelerator top: every layer type (conv, grouped conv with a folded shuffle,
depthwise, residual add, global average pool, classifier logits) dispatched on the chunks the mapping names,
checked bit for bit against the integer model (hw_model.intnet) and cycle for cycle against hw_model, on Verilator and
Icarus."""
import dataclasses

import pytest

from hw_model.config import Accelerator
from hw_model.defaults import DEFAULT_CONFIG
from hw_model.program import plan_network
from hw_model.refnet import reference_images, reference_network
from sim.network import run_network
from sim.tools import available


# Verilator on the whole network was the longest test of `make test` (1,058 s of a 50-min run beside nextpnr);
# `make test` runs the network on Icarus, the default's chunks on Verilator (the regression); make test-all both
@pytest.mark.parametrize("simulator", [pytest.param("verilator", marks=pytest.mark.slow), "icarus"])
def test_reference_network_logits_bit_exact_and_cycle_exact(simulator):
    if not available(simulator):
        pytest.fail(f"{simulator} is not installed (see .ci/run)")
    acc = Accelerator.load(DEFAULT_CONFIG)
    layers, graph = reference_network(seed=5)
    assert {L.op for L in layers} == {"conv", "add", "avgpool"} and any(L.out_bits == 32 for L in layers)
    assert {acc.chunk_for(L).dataflow for L in layers} == {"channel", "depthwise", "vector"}
    # the check can fail: the same run against a golden model whose classifier bias differs by one in one class
    fc = graph.nodes[-1]
    bias = fc.bias.copy()
    bias[3] += 1
    wrong = dataclasses.replace(graph, nodes=graph.nodes[:-1] + (dataclasses.replace(fc, bias=bias),))
    rep = run_network(acc, layers, graph, reference_images(2, seed=5), simulator, other_goldens=(wrong,))
    assert rep["logits_bit_exact"] and rep["all_bit_exact"], rep["layers"]
    assert rep["all_cycle_exact"] and rep["all_beats_exact"], rep["layers"]
    lat = rep["layer_at_a_time"]
    assert lat["model_cycles"] == lat["rtl_cycles"] == sum(r["rtl_cycles"] for r in rep["layers"])
    assert rep["model"]["period_cycles"] < lat["model_cycles"]
    assert [r["op"] for r in rep["layers"]][-3:] == ["conv", "avgpool", "fc"]
    bad = rep["other_goldens"][0]
    assert not bad["logits_bit_exact"] and all(r["bit_exact"] for r in bad["layers"][:-1])


def test_memory_plan_regions_do_not_overlap():
    acc = Accelerator.load(DEFAULT_CONFIG)
    layers, graph = reference_network(seed=5)
    plan = plan_network(acc, layers, graph)
    spans = sorted((plan.out_base[s.layer.name], plan.out_base[s.layer.name]
                    + s.layer.out_size[0] * s.layer.out_size[1] * s.geom.out_nb) for s in plan.steps)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    assert max(plan.static) < plan.input_base <= min(a for a, _ in spans)
