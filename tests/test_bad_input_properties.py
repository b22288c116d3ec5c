"""Property-based: random mutations of a valid config, layer list and search result never end in anything but
ConfigError (one line at a command's edge) or a valid object that the next step takes."""
import json
import math
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hw_model.config import Accelerator, Layer, _duplicates
from hw_model.cost import accelerator_resources
from hw_model.defaults import DEFAULT_CONFIG, DEFAULT_LAYERS
from hw_model.errors import ConfigError
from hw_model.intnet import save_weights
from hw_model.mapping import geometry
from hw_model.program import plan_network
from hw_model.refnet import reference_images, reference_network
from hw_model.result import load_network

CONFIG = json.loads(Path(DEFAULT_CONFIG).read_text())
LAYERS = json.loads(Path(DEFAULT_LAYERS).read_text())
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])

values = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.sampled_from([0, 1, -1, 4, 8, 32, 64, 10 ** 9])
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12) | st.sampled_from(["", "c4", "x y"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6)


def paths(obj, prefix=()):
    """Every place in a nested structure: (path to the container, key)."""
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.append(prefix + (k,))
            out += paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.append(prefix + (i,))
            out += paths(v, prefix + (i,))
    return out


@st.composite
def mutated(draw, base):
    obj = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 3))):
        places = paths(obj)
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent = obj
        for k in path[:-1]:
            parent = parent[k]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(values)
    return obj


def only_config_errors(fn):
    try:
        fn()
    except ConfigError:
        return False
    return True


@SETTINGS
@given(mutated(CONFIG))
def test_a_mutated_config_is_accepted_or_refused_with_config_error(d):
    def go():
        acc = Accelerator.from_dict(d)
        accelerator_resources(acc)
        for L in (Layer.from_dict(x) for x in LAYERS):
            if acc.chunk_for(L):
                geometry(acc, L)
    only_config_errors(go)


@SETTINGS
@given(mutated(LAYERS))
def test_a_mutated_layer_list_is_accepted_or_refused_with_config_error(layers):
    acc = Accelerator.from_dict(CONFIG)

    def go():
        if not isinstance(layers, list) or not layers:
            raise ConfigError("layers", type(layers).__name__, "a list")
        ls = [Layer.from_dict(x, where=f"layers[{i}]") for i, x in enumerate(layers)]
        if _duplicates([L.name for L in ls]):
            raise ConfigError("layers", "dup", "unique names")
        for L in ls:
            if acc.chunk_for(L):
                geometry(acc, L)
    only_config_errors(go)


_REF = {}


def _result_dir(tmp_path_factory) -> Path:
    if "d" not in _REF:
        d = tmp_path_factory.mktemp("result")
        layers, graph = reference_network(seed=2)
        save_weights(graph, d / "weights.npz", reference_images(3, seed=2), np.zeros(3, dtype=np.int64))
        _REF["d"] = d
        _REF["best"] = {"name": "best", "accelerator": {**CONFIG, "name": "best"},
                        "network": {"layers": [L.to_dict() for L in layers], "integer_graph": graph.to_json(),
                                    "input_scale": graph.input_scale, "input_bits": graph.input_bits},
                        "weights_file": "weights.npz"}
    return _REF["d"]


def test_the_unmutated_result_is_valid(tmp_path_factory):
    d = _result_dir(tmp_path_factory)
    net = load_network(_REF["best"], d / "best.json", 2)
    plan_network(Accelerator.from_dict(_REF["best"]), net.layers, net.graph)


@SETTINGS
@given(data=st.data())
def test_a_mutated_search_result_is_accepted_or_refused_with_config_error(tmp_path_factory, data):
    d = _result_dir(tmp_path_factory)
    best = data.draw(mutated(_REF["best"]))

    def go():
        acc = Accelerator.from_dict(best)
        net = load_network(best, d / "best.json", 2)
        assert all(math.isfinite(v) for v in [net.graph.input_scale])
        plan_network(acc, net.layers, net.graph)
    only_config_errors(go)
