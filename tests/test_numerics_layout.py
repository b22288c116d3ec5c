"""The integer reference and the memory layout, checked against hand arithmetic and plain loops."""
import numpy as np

from hw_model.config import Chunk, Layer, MemoryInterface
from hw_model.layout import pack_activations, pack_weights, unpack_activations, unpack_beats
from hw_model.mapping import Mapping, check_fits
from hw_model.numerics import conv2d_int, requantize


def test_conv2d_int_matches_plain_loops():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 16, size=(3, 6, 5))
    w = rng.integers(-8, 8, size=(4, 3, 3, 3))
    s, p = 2, 1
    xp = np.pad(x, ((0, 0), (p, p), (p, p)))
    ho, wo = (6 + 2 * p - 3) // s + 1, (5 + 2 * p - 3) // s + 1
    ref = np.zeros((4, ho, wo), dtype=np.int64)
    for m in range(4):
        for i in range(ho):
            for j in range(wo):
                ref[m, i, j] = int((xp[:, i * s:i * s + 3, j * s:j * s + 3] * w[m]).sum())
    assert np.array_equal(conv2d_int(x, w, s, p), ref)


def test_requantize_rounds_half_up_then_clamps():
    acc = np.array([[10], [-10], [1000], [7], [5]])
    bias = np.array([0, 0, 0, 1, 0])
    mult = np.array([3, 3, 1, 1, 1])
    shift = np.array([2, 2, 0, 1, 0])
    # (10*3 + 2) >> 2 = 8; negative -> 0; 1000 clamps to 255; (8 + 1) >> 1 = 4; shift 0 keeps 5
    assert requantize(acc, bias, mult, shift, 8).ravel().tolist() == [8, 0, 255, 4, 5]
    assert requantize(acc, bias, mult, shift, 4).ravel().tolist() == [8, 0, 15, 4, 5]


def test_activation_beat_holds_consecutive_channels_of_one_pixel():
    x = np.zeros((10, 2, 3), dtype=np.int64)
    x[9, 1, 2] = 5          # channel 9 -> beat jb=1 (V=8 at 8 bits on 64), slot 1
    x[0, 0, 1] = 255
    beats = pack_activations(x, 8, 64)
    nb = 2
    assert len(beats) == 2 * 3 * nb
    assert beats[(1 * 3 + 2) * nb + 1] == 5 << 8
    assert beats[(0 * 3 + 1) * nb + 0] == 255
    assert sum(1 for b in beats if b) == 2


def test_activation_pack_unpack_round_trip_at_six_bits():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 64, size=(23, 4, 5))
    beats = pack_activations(x, 6, 64)      # 10 values of 6 bits per 64-bit beat
    assert len(beats) == 4 * 5 * 3
    assert np.array_equal(unpack_activations(beats, 23, (4, 5), 6, 64), x)


def test_weight_group_layout_puts_value_a_t_at_slot_a_tn_plus_t():
    layer = Layer(name="w", in_channels=3, out_channels=2, in_size=(4, 4), kernel=1, bits=8)
    chunk = Chunk(name="c", bits=8, tm=2, tn=3, trb=4, tcb=4, tmb=8, tnb=8, max_kernel=1, out_bits=(8,))
    g = check_fits(layer, chunk, MemoryInterface(bus_bits=64), Mapping(4, 4, 1, 1))
    wt = np.arange(6).reshape(2, 3, 1, 1) - 3          # values -3..2
    beats = pack_weights(wt, g)
    # tiles are whole beats: tmb = tnb = 8 channels -> mg = ceil(8/2) = 4, ng = ceil(8/3) = 3 groups of one beat
    assert g.w_group_beats == 1 and len(beats) == 4 * 3
    vals = unpack_beats(beats, 8, 8, signed=True)
    assert vals[0].tolist() == [-3, -2, -1, 0, 1, 2, 0, 0]      # group (mg 0, ng 0): all of M=2 x N=3
    assert not vals[1:].any()


def test_grouped_and_depthwise_conv_match_per_group_loops():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 16, size=(6, 5, 5))
    for groups in (2, 3, 6):
        w = rng.integers(-8, 8, size=(6, 6 // groups, 3, 3))
        got = conv2d_int(x, w, 1, 1, groups)
        for m in range(6):
            g = m // (6 // groups)
            xs = x[g * (6 // groups):(g + 1) * (6 // groups)]
            ref = conv2d_int(xs, w[m:m + 1], 1, 1)[0]
            assert np.array_equal(got[m], ref)


def test_depthwise_weights_put_lane_a_at_slot_a():
    layer = Layer(name="d", in_channels=5, out_channels=5, groups=5, in_size=(4, 4), kernel=1, bits=8)
    chunk = Chunk(name="d", bits=8, dataflow="depthwise", tm=4, tn=1, trb=4, tcb=4, tmb=8, tnb=8, max_kernel=1,
                  out_bits=(8,))
    g = check_fits(layer, chunk, MemoryInterface(bus_bits=64), Mapping(4, 4, 1, 1))
    wt = (np.arange(5) + 1).reshape(5, 1, 1, 1)
    vals = unpack_beats(pack_weights(wt, g), 8, 8, signed=True)
    assert g.w_group_beats == 1 and vals.shape[0] == 2          # mg = ceil(8/4) groups of 4 lanes
    assert vals[0].tolist() == [1, 2, 3, 4, 0, 0, 0, 0] and vals[1].tolist() == [5, 0, 0, 0, 0, 0, 0, 0]
