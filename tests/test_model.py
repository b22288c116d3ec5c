"""The cycle, traffic and batch models against hand arithmetic and brute-force enumeration."""
import dataclasses
import itertools

import numpy as np
import pytest

from hw_model import timing
from hw_model.batch import arrays_from, evaluate
from hw_model.config import Accelerator, Chunk, Layer, MemoryInterface
from hw_model.cost import accelerator_resources, bram18, energy_pj, traffic
from hw_model.cycles import layer_cycles
from hw_model.defaults import DEFAULT_CONFIG
from hw_model.derive import in_range_total
from hw_model.mapping import Mapping, check_fits, geometry


def test_single_step_layer_cycles_by_hand():
    # 8 -> 8 channels, 4x4 map, 1x1 kernel, 8 bits on an 8x8 array: one step, one tile.
    layer = Layer(name="l", in_channels=8, out_channels=8, in_size=(4, 4), kernel=1, bits=8)
    chunk = Chunk(name="c", bits=8, tm=8, tn=8, trb=4, tcb=4, tmb=8, tnb=8, max_kernel=1, out_bits=(8,))
    mem = MemoryInterface(bus_bits=64, read_latency=2)
    g = check_fits(layer, chunk, mem, Mapping(4, 4, 1, 1))
    compute = 4 * 4 * 1 + timing.COMPUTE_DRAIN                 # 16 pixels x 1 group x 1 tap
    reads = 4 * 4 * 1 + 8 + 2 + timing.READ_DRAIN_EXTRA         # 16 input beats + 8 weight beats + latency
    params = 8 + 2 + timing.READ_DRAIN_EXTRA                    # 8 records, one per 64-bit beat
    write = 4 * 4 * 1 * 1 + timing.WRITE_DRAIN                  # 16 output beats
    expected = (reads + timing.START_OVERHEAD) + (compute + timing.STEP_OVERHEAD) \
        + (params + write + timing.END_OVERHEAD)
    # by hand, with the drains and overheads of hw_model/timing.py (compute 8, read 4, write 11; start 2, step 3,
    # end 3): (30 + 2) + (24 + 3) + (14 + 27 + 3)
    assert layer_cycles(g) == expected == 103


def test_cycles_grow_with_read_latency_and_shrink_with_a_bigger_array():
    layer = Layer(name="l", in_channels=32, out_channels=32, in_size=(16, 16), kernel=3, padding=1, bits=8)
    c = Chunk(name="c", bits=8, tm=8, tn=8, trb=8, tcb=8, tmb=32, tnb=32, max_kernel=3)
    base = layer_cycles(geometry(Accelerator("a", (c,), MemoryInterface(read_latency=2)), layer))
    slow = layer_cycles(geometry(Accelerator("a", (c,), MemoryInterface(read_latency=20)), layer))
    big = Chunk(name="c", bits=8, tm=16, tn=16, trb=8, tcb=8, tmb=32, tnb=32, max_kernel=3)
    fast = layer_cycles(geometry(Accelerator("a", (big,), MemoryInterface(read_latency=2)), layer))
    assert slow > base > fast


def test_in_range_total_matches_enumeration():
    for n_tiles, tile, stride, pad, k, size in itertools.product(range(1, 6), (1, 2, 3, 5), (1, 2), (0, 1, 2),
                                                                 (1, 3, 5), (5, 9, 14)):
        if pad > k - 1 or size + 2 * pad < k:
            continue
        out = (size + 2 * pad - k) // stride + 1
        if not (n_tiles - 1) * tile < out <= n_tiles * tile:
            continue
        length = (tile - 1) * stride + k
        brute = sum(len([h for h in range(i * tile * stride - pad, i * tile * stride - pad + length)
                         if 0 <= h < size]) for i in range(n_tiles))
        assert in_range_total(n_tiles, tile, stride, pad, length, size) == brute


def test_traffic_matches_enumeration_of_every_tile_load():
    acc = Accelerator.load(DEFAULT_CONFIG)
    layer = Layer(name="l", in_channels=37, out_channels=50, in_size=(13, 11), kernel=3, stride=2, padding=1,
                  bits=6, out_bits=4)
    g = geometry(acc, layer)
    reads = 0
    for m, r, c, n in itertools.product(range(g.n_m), range(g.n_r), range(g.n_c), range(g.n_n)):
        for row, col, k in itertools.product(range(g.rows_in), range(g.cols_in), range(g.kb_in)):
            h, w, jb = r * g.trb * 2 - 1 + row, c * g.tcb * 2 - 1 + col, n * g.kb_in + k
            reads += 0 <= h < 13 and 0 <= w < 11 and jb < g.in_nb
    t = traffic(g.fields)
    assert t["read_in_beats"] == reads
    assert t["write_beats"] == 7 * 6 * -(-50 // 16)


def test_batch_equals_scalar_on_random_layers_and_chunks():
    rng = np.random.default_rng(5)
    for _ in range(60):
        bits = int(rng.choice([4, 5, 6, 7, 8]))
        bus = int(rng.choice([64, 128, 256]))
        tm, tn = int(rng.integers(1, 17)), int(rng.integers(1, 17))
        c = Chunk(name="c", bits=bits, tm=tm, tn=tn, trb=int(rng.integers(1, 17)), tcb=int(rng.integers(1, 17)),
                  tmb=max(tm, bus // 4) * int(rng.integers(1, 3)), tnb=max(tn, bus // bits) * int(rng.integers(1, 3)),
                  max_kernel=7, max_stride=2, out_bits=(4, 6, 8))
        mem = MemoryInterface(bus_bits=bus, read_latency=int(rng.integers(1, 12)))
        acc = Accelerator("a", (c,), mem)
        k = int(rng.choice([1, 3, 5, 7]))
        if rng.random() < 0.3:   # a depthwise chunk and depthwise layers
            c = Chunk(name="c", bits=bits, dataflow="depthwise", tm=tm, tn=1, trb=c.trb, tcb=c.tcb, tmb=c.tmb,
                      tnb=c.tmb, max_kernel=7, max_stride=2, out_bits=(bits,))
            acc = Accelerator("a", (c,), mem)
            chans = [int(rng.integers(1, 300)) for _ in range(5)]
            layers = [Layer(name=f"l{i}", in_channels=n, out_channels=n, groups=n, in_size=(int(rng.integers(k, 60)),) * 2,
                            kernel=k, stride=int(rng.integers(1, 3)), padding=int(rng.integers(0, k)), bits=bits)
                      for i, n in enumerate(chans)]
        else:
            layers = [Layer(name=f"l{i}", in_channels=int(rng.integers(1, 300)), out_channels=int(rng.integers(1, 300)),
                            in_size=(int(rng.integers(k, 60)),) * 2, kernel=k, stride=int(rng.integers(1, 3)),
                            padding=int(rng.integers(0, k)), bits=bits, out_bits=int(rng.choice([4, 6, 8])))
                      for i in range(5)]
        res = evaluate(**arrays_from(layers, c, mem), with_energy=True)
        for i, L in enumerate(layers):
            g = geometry(acc, L)
            assert res["fits"][i]
            assert res["cycles"][i] == layer_cycles(g)
            assert res["bytes"][i] == traffic(g.fields)["bytes"]
            assert res["energy_pj"][i] == pytest.approx(energy_pj(g.fields)["total"], rel=1e-12)


def test_batch_marks_layers_that_do_not_fit():
    c = Chunk(name="c", bits=8, tm=8, tn=8, max_kernel=3, max_stride=1)
    mem = MemoryInterface()
    layers = [Layer(name="a", in_channels=8, out_channels=8, in_size=(9, 9), kernel=5),
              Layer(name="b", in_channels=8, out_channels=8, in_size=(9, 9), kernel=3, stride=2),
              Layer(name="c", in_channels=8, out_channels=8, in_size=(9, 9), kernel=3)]
    assert evaluate(**arrays_from(layers, c, mem))["fits"].tolist() == [False, False, True]


def test_energy_splits_and_scales_with_bits():
    acc = Accelerator.load(DEFAULT_CONFIG)
    e = {b: energy_pj(geometry(acc, Layer(name="l", in_channels=64, out_channels=64, in_size=(16, 16),
                                               padding=1, bits=b)).fields) for b in (4, 8)}
    assert e[4]["dram"] < e[8]["dram"] and e[4]["mac"] < e[8]["mac"]
    assert e[8]["total"] == pytest.approx(e[8]["mac"] + e[8]["sram"] + e[8]["dram"])


def test_bram18_counts_by_aspect_ratio():
    assert bram18(512, 36) == 1 and bram18(1024, 36) == 2 and bram18(2048, 9) == 1
    assert bram18(32, 8) == 0                       # 256 bits: LUT RAM
    assert bram18(4096, 64) == 16                   # 4096 x 4 x 16, or 512 x 36: 8 deep x 2 wide
    res = accelerator_resources(Accelerator.load(DEFAULT_CONFIG))
    assert res["total"]["dsp"] == sum(c["dsp"] for c in res["chunks"].values())


def test_largest_supported_layer_maps_and_programs_on_the_default_accelerator():
    from hw_model.regs import Addresses, program
    acc = Accelerator.load(DEFAULT_CONFIG)
    for bits in (4, 6, 8):
        layer = Layer(name="big", in_channels=1024, out_channels=1024, in_size=(224, 224), kernel=7, stride=2,
                      padding=3, bits=bits)
        g = geometry(acc, layer)
        regs = program(g, Addresses(0, 1 << 22, 1 << 23, (1 << 23) + 4096))   # every field fits its width
        assert regs["n_n"] * g.tnb >= 1024 and regs["n_r"] * g.mapping.trb >= 112
        assert layer_cycles(g) > layer.macs // (g.chunk.tm * g.chunk.tn)


def test_field_bounds_hold_for_every_mapping_the_buffers_accept():
    """The RTL sizes its tile counters from field_bounds; they must follow from the buffer checks alone (checked
    here against random layers and random mappings, many of them at the edge of the buffers), so the bound check
    in check_fits never rejects a mapping that fits."""
    from hw_model import mapping as mp
    from hw_model.config import ConfigError
    rng = np.random.default_rng(7)
    mem = MemoryInterface(bus_bits=64)
    tight = {}
    for _ in range(20000):
        df = rng.choice(["channel", "depthwise", "pixel", "vector"])
        bits = int(rng.choice([4, 5, 6, 8]))
        vec = df == "vector"
        tm, tn = (1, 1) if vec else (int(rng.choice([1, 2, 4])), 1 if df == "depthwise" else int(rng.choice([1, 2, 4])))
        tmb = int(rng.choice([4, 8, 16, 32])) if not vec else int(rng.choice([8, 16, 64]))
        chunk = Chunk(name="c", bits=bits, dataflow=str(df), tm=tm, tn=tn, trb=1 if vec else int(rng.integers(1, 5)),
                      tcb=int(rng.integers(1, 9)), tmb=max(tmb, tm), tnb=max(tmb, tm) if df in ("depthwise", "vector")
                      else max(int(rng.choice([4, 8, 16, 32])), tn if df != "pixel" else 1),
                      max_kernel=1 if vec else int(rng.choice([1, 3, 5])), max_stride=1 if vec else int(rng.choice([1, 2])),
                      out_bits=(bits,) if df == "depthwise" else (4, 8))
        k = 1 if vec else int(rng.integers(1, chunk.max_kernel + 1))
        c = int(rng.integers(1, 97))
        layer = Layer(name="l", in_channels=c, out_channels=c if df in ("depthwise", "vector") else int(rng.integers(1, 97)),
                      in_size=(int(rng.integers(k, 20)), int(rng.integers(k, 20))), kernel=k,
                      stride=1 if vec else int(rng.integers(1, chunk.max_stride + 1)), groups=c if df == "depthwise" else 1,
                      bits=bits, out_bits=bits if df == "depthwise" else int(rng.choice([4, 8])),
                      op="add" if vec else "conv")
        def draw():     # small values mostly, now and then up to a whole buffer
            return int(rng.integers(1, 1 + int(rng.choice([2, 4, 16, 64, 1024]))))
        edge = rng.integers(4)      # one tile dimension large, the others 1 (the buffers' corners)
        kb = draw() if edge in (2, 3) else 1
        m = Mapping(trb=draw() if edge in (0, 3) else 1, tcb=draw() if edge in (1, 3) else 1, kb_in=kb,
                    kb_out=kb if df == "depthwise" else (draw() if edge == 3 else 1))
        if edge == 2 and df != "vector":
            c2 = int(rng.integers(1, 4097))
            layer = dataclasses.replace(layer, kernel=1, stride=1, in_size=(1, 1), in_channels=c2,
                                        **(dict(out_channels=c2, groups=c2) if df == "depthwise" else {}))
        if vec:
            m = Mapping(trb=1, tcb=int(rng.integers(1, chunk.tcb + 1)), kb_in=1, kb_out=1)
        try:
            g = mp._check_fits(layer, chunk, mem, m)
        except ConfigError:
            continue
        for name, bound in mp.field_bounds(chunk, mem).items():
            v = g.fields[mp._GEOMETRY_NAME.get(name, name)]
            assert v <= bound, (name, v, bound, chunk, layer, m)
            tight[(str(df), name)] = max(tight.get((str(df), name), 0), v / bound)
    # the draw reaches every dataflow and every bounded field
    assert {d for d, _ in tight} == {"channel", "depthwise", "pixel", "vector"}
    assert len(tight) >= 30, tight
