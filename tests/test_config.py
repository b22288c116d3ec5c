"""Loading and validating configurations and layers: good files load, bad ones name the field."""
import json

import pytest

from hw_model.config import Accelerator, Chunk, Layer, load_layers
from hw_model.defaults import DEFAULT_CONFIG, DEFAULT_LAYERS
from hw_model.errors import ConfigError
from hw_model.mapping import geometry


def test_default_config_serves_every_supported_bit_width():
    acc = Accelerator.load(DEFAULT_CONFIG)
    for bits in (4, 6, 8):
        for ob in (4, 6, 8):
            layer = Layer(name="l", in_channels=3, out_channels=5, in_size=(8, 8), bits=bits, out_bits=ob)
            assert acc.chunk_for(layer).bits == bits


def test_json_and_yaml_round_trip(tmp_path):
    acc = Accelerator.load(DEFAULT_CONFIG)
    acc.save(tmp_path / "a.json")
    acc.save(tmp_path / "a.yaml")
    assert Accelerator.load(tmp_path / "a.json") == acc
    assert Accelerator.load(tmp_path / "a.yaml") == acc


def test_default_layers_load_and_fit():
    acc = Accelerator.load(DEFAULT_CONFIG)
    for layer in load_layers(DEFAULT_LAYERS):
        geometry(acc, layer)


def test_out_bits_defaults_to_bits():
    assert Layer(name="l", in_channels=1, out_channels=1, in_size=(3, 3), bits=6).out_bits == 6


def _bad_config(mutate):
    d = json.loads(DEFAULT_CONFIG.read_text())
    mutate(d)
    return d


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d["chunks"][0].update(tm=0), "chunks['c4'].tm"),
    (lambda d: d["chunks"][0].update(tm=64), "chunks['c4'].tm"),          # array larger than its buffer tile
    (lambda d: d["chunks"][0].update(bits=3), "chunks['c4'].bits"),
    (lambda d: d["chunks"][0].update(colour="red"), "chunks[0].colour"),
    (lambda d: d.update(speed=1), "config.speed"),
    (lambda d: d["memory"].update(bus_bits=48), "memory.bus_bits"),
    (lambda d: d["chunks"][2].update(tn=4, tnb=4), "chunks['c8'].tnb"),          # less than one beat of inputs
    (lambda d: d.update(chunks=[]), "chunks"),
])
def test_bad_config_names_the_field(mutate, field):
    with pytest.raises(ConfigError) as e:
        Accelerator.from_dict(_bad_config(mutate))
    assert e.value.field == field
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("kwargs, field", [
    (dict(in_size=(0, 4)), "in_size[0]"),
    (dict(in_size=(-3, 4)), "in_size[0]"),
    (dict(in_channels=0), "in_channels"),
    (dict(bits=3), "bits"),
    (dict(out_bits=9), "out_bits"),
    (dict(kernel=3, padding=3), "padding"),
    (dict(op="pool"), "op"),
    (dict(in_channels=4096, kernel=5, padding=2), "in_channels"),    # could overflow int32 accumulators
])
def test_bad_layer_names_the_field(kwargs, field):
    base = dict(name="x", in_channels=4, out_channels=4, in_size=(8, 8), kernel=3)
    with pytest.raises(ConfigError) as e:
        Layer(**{**base, **kwargs})
    assert e.value.field.endswith(field)


def test_layer_with_unknown_field_is_rejected():
    with pytest.raises(ConfigError) as e:
        Layer.from_dict({"name": "x", "in_channels": 1, "out_channels": 1, "in_size": [3, 3], "dilation": 2})
    assert e.value.field == "layer.dilation"


def test_layer_that_cannot_fit_names_the_limit():
    acc = Accelerator.load(DEFAULT_CONFIG)
    layer = Layer(name="big_k", in_channels=4, out_channels=4, in_size=(16, 16), kernel=9, padding=4, bits=8)
    with pytest.raises(ConfigError) as e:
        geometry(acc, layer)
    assert e.value.field == "layer['big_k'].kernel" and "max_kernel" in e.value.allowed


def test_chunk_buffer_depths_follow_tiles():
    c = Chunk(name="c", bits=8, tm=4, tn=8, trb=4, tcb=6, tmb=16, tnb=24, max_kernel=3, max_stride=2)
    assert c.in_depth == 3 * (3 * 2 + 3) * (5 * 2 + 3)
    assert c.acc_depth == 4 * 4 * 6
    assert c.w_depth == 4 * 3 * 9


def test_depthwise_layers_go_to_depthwise_chunks_and_grouped_to_channel_chunks():
    acc = Accelerator.load(DEFAULT_CONFIG)
    dw = Layer(name="dw", in_channels=24, out_channels=24, groups=24, in_size=(8, 8), padding=1, bits=6)
    g2 = Layer(name="g2", in_channels=24, out_channels=32, groups=2, in_size=(8, 8), kernel=1, bits=6)
    assert acc.chunk_for(dw).dataflow == "depthwise" and acc.chunk_for(g2).dataflow == "channel"


@pytest.mark.parametrize("kwargs, field", [
    (dict(in_channels=8, out_channels=8, groups=3), "groups"),
    (dict(in_channels=8, out_channels=16, groups=8), "out_channels"),
    (dict(in_channels=8, out_channels=8, groups=8, bits=8, out_bits=4), "out_bits"),
])
def test_bad_grouped_layer_names_the_field(kwargs, field):
    with pytest.raises(ConfigError) as e:
        Layer(name="x", in_size=(8, 8), **kwargs)
    assert e.value.field.endswith(field)


def test_depthwise_chunk_must_have_one_input_lane_per_output_lane():
    with pytest.raises(ConfigError) as e:
        Chunk(name="d", bits=8, dataflow="depthwise", tm=8, tn=8, tmb=32, tnb=32)
    assert e.value.field == "chunks['d'].tn"
