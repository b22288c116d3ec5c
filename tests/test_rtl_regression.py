"""Seeded random regression: layers x configurations on the generated RTL, on Verilator and on Icarus.

Every case must be bit-exact against the numpy integer reference and take exactly the cycles hw_model
predicts. The cases cover bits 4/6/8, strides 1/2, padding 0/1/2, kernels 1/3/5, channel counts and map
sizes that do not divide the tiles, and chunks with sub-beat scatter/gather (values per beat > tn or > tm),
odd array shapes, another bus width and another read latency. Every dataflow: channel, pixel and
depthwise convolutions (standard, grouped, logits), and the vector chunk's residual adds and average pools.
"""
import numpy as np
import pytest

from hw_model.config import Accelerator, Chunk, Layer, MemoryInterface
from hw_model.defaults import DEFAULT_CONFIG
from sim.run import make_case, run_cases
from sim.tools import available

CONFIGS = {
    "default": lambda: Accelerator.load(DEFAULT_CONFIG),
    "odd": lambda: Accelerator(name="odd", memory=MemoryInterface(bus_bits=64, read_latency=3), chunks=(
        Chunk(name="a4", bits=4, tm=4, tn=4, trb=4, tcb=5, tmb=16, tnb=16, max_kernel=5, out_bits=(4, 6, 8)),
        Chunk(name="a6", bits=6, tm=6, tn=7, trb=3, tcb=4, tmb=24, tnb=20, max_kernel=5, out_bits=(4, 6, 8)),
        Chunk(name="a8", bits=8, tm=5, tn=3, trb=5, tcb=3, tmb=16, tnb=16, max_kernel=5, out_bits=(4, 8)),
        Chunk(name="e6", bits=6, dataflow="depthwise", tm=4, tn=1, trb=4, tcb=3, tmb=20, tnb=20, max_kernel=5,
              out_bits=(6,)),
        Chunk(name="u6", bits=6, dataflow="vector", tm=1, tn=1, trb=1, tcb=5, tmb=40, tnb=40, out_bits=(4, 6, 8)),
        Chunk(name="p5", bits=5, dataflow="pixel", tm=3, tn=5, trb=3, tcb=7, tmb=24, tnb=24, max_kernel=5,
              out_bits=(5, 8)))),
    "wide": lambda: Accelerator(name="wide", memory=MemoryInterface(bus_bits=128, read_latency=1), chunks=(
        Chunk(name="w8", bits=8, tm=16, tn=8, trb=4, tcb=4, tmb=32, tnb=32, max_kernel=5, out_bits=(4, 8, 32)),
        Chunk(name="y8", bits=8, dataflow="vector", tm=1, tn=1, trb=1, tcb=64, tmb=40, tnb=40, out_bits=(8,)),
        Chunk(name="q4", bits=4, dataflow="pixel", tm=8, tn=4, trb=4, tcb=6, tmb=64, tnb=64, max_kernel=5,
              out_bits=(4, 32)),
        Chunk(name="x8", bits=8, dataflow="depthwise", tm=8, tn=1, trb=4, tcb=4, tmb=32, tnb=32, max_kernel=5,
              out_bits=(8,)))),
}
N_CASES = {"default": 27, "odd": 21, "wide": 12}   # 60 layer x configuration cases per simulator


def cases_for(acc: Accelerator, n: int, seed: int):
    """Case i runs on chunk i mod (number of chunks); in the second round over the chunks the channel chunks
    run grouped (2) convolutions; channel chunks that write logits do so in the first round."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        chunk = acc.chunks[i % len(acc.chunks)]
        if chunk.vector:        # residual adds and global average pools, alternately
            op = ("add", "avgpool")[(i // len(acc.chunks)) % 2]
            c = int(rng.integers(1, min(40, chunk.tmb) + 1))
            h = int(rng.integers(1, (min(11, chunk.tcb) if op == "avgpool" else 11) + 1))
            w = int(rng.integers(1, max(1, chunk.tcb // h) + 1)) if op == "avgpool" else int(rng.integers(1, 12))
            layer = Layer(name=f"case{i}_{op}_b{chunk.bits}", op=op, in_channels=c, out_channels=c, in_size=(h, w),
                          bits=chunk.bits, out_bits=int(rng.choice(chunk.out_bits)))
            out.append(make_case(acc, layer, rng, realistic_scale=i % 2 == 0))   # odd i: shift 0 or 1
            continue
        k = (1, 3, 5)[(i // len(acc.chunks)) % 3]
        if chunk.depthwise and k == 1:
            k = 3
        stride = 1 + i % 2
        padding = 0 if k == 1 else int(rng.integers(0, min(2, k - 1) + 1))
        h, w = (int(v) for v in rng.integers(max(k, 3), 14, size=2))
        n_in, n_out = int(rng.integers(1, 41)), int(rng.integers(1, 41))
        groups = 1
        if chunk.depthwise:
            n_out = groups = n_in
        elif (i // len(acc.chunks)) % 3 == 1:
            n_in, n_out, groups = 2 * (n_in // 2 + 2), 2 * (n_out // 2 + 1), 2
        kind = "dw" if chunk.depthwise else f"g{groups}"
        out_bits = int(rng.choice([b for b in chunk.out_bits if b != 32]))
        if 32 in chunk.out_bits and groups == 1 and i < len(acc.chunks):
            out_bits = 32       # int32 logits, as a classifier writes them
        layer = Layer(name=f"case{i}_{kind}_b{chunk.bits}_k{k}_s{stride}_p{padding}", in_channels=n_in,
                      out_channels=n_out, groups=groups, in_size=(h, w), kernel=k, stride=stride,
                      padding=padding, bits=chunk.bits, out_bits=out_bits)
        out.append(make_case(acc, layer, rng, realistic_scale=i % 4 != 3))   # every 4th: shifts from 0..63
    return out


# Verilator compiles every chunk of a config (about a minute each on two cores), Icarus in seconds: `make test`
# runs every config on Icarus and, on Verilator, the default's cases on one chunk of each dataflow (channel,
# depthwise, vector); `make test-all` runs every config whole on both.
ONE_PER_DATAFLOW = "one-per-dataflow"


@pytest.mark.parametrize("config,simulator,chunks", [
    pytest.param(c, s, None, id=f"{c}-{s}", marks=[pytest.mark.slow] if s == "verilator" else [])
    for c in sorted(CONFIGS) for s in ("verilator", "icarus")]
    + [pytest.param("default", "verilator", ONE_PER_DATAFLOW, id=f"default-verilator-{ONE_PER_DATAFLOW}")])
def test_regression_cycle_exact_and_bit_exact(config, simulator, chunks):
    if not available(simulator):
        pytest.fail(f"{simulator} is not installed (see .ci/run)")
    acc = CONFIGS[config]()
    cases = cases_for(acc, N_CASES[config], seed=1234)
    if chunks == ONE_PER_DATAFLOW:
        last = {c.dataflow: c.name for c in acc.chunks}           # the widest chunk of each dataflow
        cases = [c for c in cases if c.geom.chunk.name in last.values()]
        assert {c.geom.chunk.dataflow for c in cases} == {"channel", "depthwise", "vector"}
    rows = run_cases(acc, cases, simulator)
    bad = [r for r in rows if r["model_cycles"] != r["rtl_cycles"] or not r["bit_exact"]
           or r["model_read_beats"] != r["rtl_read_beats"] or r["model_write_beats"] != r["rtl_write_beats"]]
    assert not bad, bad
    assert len(rows) == len(cases) == (N_CASES[config] if chunks is None else 9)


def test_regression_cases_cover_the_space():
    cases = [c for name in CONFIGS for c in cases_for(CONFIGS[name](), N_CASES[name], seed=1234)]
    layers = [c.layer for c in cases]
    assert len(layers) >= 30
    assert {l.bits for l in layers} >= {4, 6, 8}
    conv = [l for l in layers if not l.vector]
    assert {l.stride for l in conv} == {1, 2} and {l.kernel for l in conv} == {1, 3, 5}
    assert {0, 1} <= {l.padding for l in conv}
    assert sum(l.depthwise for l in layers) >= 6 and sum(l.groups == 2 for l in layers) >= 4
    assert sum(l.op == "add" for l in layers) >= 3 and sum(l.op == "avgpool" for l in layers) >= 3
    assert sum(l.out_bits == 32 for l in layers) >= 2                         # classifier logits
    assert {0, 1} <= {c.vparams[2] for c in cases if c.layer.vector}            # the rounding's corners
    assert {0, 1} <= {int(s) for c in cases if not c.layer.vector for s in c.shift}
    pixel = [c for c in cases if c.geom.chunk.pixel]
    assert len(pixel) >= 5 and {c.layer.kernel for c in pixel} >= {1, 3, 5} and {c.layer.stride for c in pixel} == {1, 2}
    acc = CONFIGS["default"]()
    from hw_model.mapping import geometry
    geoms = [geometry(acc, c.layer) for c in cases_for(acc, N_CASES["default"], 1234) if not c.layer.vector]
    assert any(g.layer.out_size[0] % g.mapping.trb for g in geoms)            # map rows not dividing the tile
    assert any(g.layer.in_channels % g.tnb for g in geoms)                    # channels not dividing the tile
    assert any(g.n_n > 1 for g in geoms) or any(g.n_m > 1 for g in geoms)


def test_hand_written_verilog_is_lint_clean():
    from sim.lint import lint, lint_top
    for r in (lint(), lint_top()):
        assert r.returncode == 0, r.stdout + r.stderr
