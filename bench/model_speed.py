"""Layer evaluations per second of the exact cycle model, side by side with the method's published formula.

- batch: hw_model.batch.evaluate on arrays of random (layer, chunk) pairs (the search's path), cycles only
  and with traffic and energy;
- scalar: hw_model.cycles.layer_cycles on one LayerGeometry at a time;
- method formula: the per-layer latency formula of the method's released cost model (reference/method.md),
  re-implemented here in plain Python, one layer at a time, as its authors evaluate it.
Writes bench/results/model_speed.json.
"""
from __future__ import annotations

import json
import math
import platform
import time
from pathlib import Path

import numpy as np

from hw_model.batch import evaluate
from hw_model.config import Accelerator, Chunk, Layer, MemoryInterface
from hw_model.cycles import layer_cycles
from hw_model.mapping import geometry

OUT = Path(__file__).parent / "results" / "model_speed.json"


def random_batch(n: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    bits = rng.choice([4, 6, 8], n)
    k = rng.choice([1, 3, 5, 7], n)
    return dict(N=rng.integers(1, 1025, n), M=rng.integers(1, 1025, n), H=(h := rng.integers(7, 225, n)), W=h,
                K=k, S=rng.integers(1, 3, n), P=k // 2, bits=bits, out_bits=rng.choice([4, 6, 8], n),
                tm=rng.choice([4, 8, 16, 32], n), tn=rng.choice([4, 8, 16, 32], n), trb_cap=rng.choice([4, 8, 16], n),
                tcb_cap=rng.choice([4, 8, 16], n), tmb_cap=rng.choice([32, 64, 128], n),
                tnb_cap=rng.choice([32, 64, 128], n), max_kernel=7, max_stride=2, bus=64, lat=8)


def method_latency(q, K, N, M, R, Tm, Tn, Tr, Trb, Tcb, Tmb, Tnb, mode=1):
    """The method's per-layer latency (reference/method.md), plain Python."""
    P = Tm if mode == 0 else (Tm * Tn if mode == 1 else Tr)
    Tc = Tr
    t_comp = Trb * Tcb * Tmb * Tnb * K * K / P
    t_in = math.ceil(Tnb * max(Tr + K - 1, Trb) * max(Tc + K - 1, Tcb) / max(min(4, Tn), 2)) * q / 16
    t_w = math.ceil(Tmb * Tnb * K * K / max(min(4, Tm), 2)) * q / 16
    t_out = (math.ceil(Tmb * Trb * Tcb / max(min(4, Tm), 2)) + Trb * Tcb * Tmb / Tm) * q / 16
    return (M / Tmb) * (R / Trb) * (R / Tcb) * (t_out + (N / Tnb) * (max(t_comp, t_in) + t_w))


def bench_batch(n: int, with_energy: bool, repeats: int = 3) -> float:
    a = random_batch(n)
    evaluate(**random_batch(1000))
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        r = evaluate(with_energy=with_energy, **a)
        best = min(best, time.perf_counter() - t)
    assert r["cycles"].shape == (n,)
    return n / best


def bench_method(n: int) -> float:
    rng = np.random.default_rng(1)
    args = [(int(rng.choice([4, 6, 8])), int(rng.choice([1, 3, 5])), int(rng.integers(16, 513)),
             int(rng.integers(16, 513)), int(rng.choice([8, 16, 32])), int(rng.choice([2, 4, 8])),
             int(rng.choice([2, 4, 8])), 4, int(rng.choice([4, 8, 16])), int(rng.choice([4, 8, 16])),
             int(rng.choice([8, 16, 32])), int(rng.choice([8, 16, 32]))) for _ in range(n)]
    t = time.perf_counter()
    for a in args:
        method_latency(*a)
    return n / (time.perf_counter() - t)


def bench_scalar(n: int) -> float:
    chunk = Chunk(name="c", bits=8, tm=8, tn=8, trb=8, tcb=8, tmb=64, tnb=64, max_kernel=7)
    acc = Accelerator("a", (chunk,), MemoryInterface())
    rng = np.random.default_rng(2)
    layers = [Layer(name="l", in_channels=int(rng.integers(1, 513)), out_channels=int(rng.integers(1, 513)),
                    in_size=(int(rng.integers(7, 113)),) * 2, kernel=3, padding=1) for _ in range(n)]
    t = time.perf_counter()
    for L in layers:
        layer_cycles(geometry(acc, L))
    return n / (time.perf_counter() - t)


def main() -> dict:
    res = {
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}",
        "batch_cycles_per_s": bench_batch(1_000_000, False),
        "batch_cycles_energy_traffic_per_s": bench_batch(1_000_000, True),
        "scalar_per_s": bench_scalar(20_000),
        "method_formula_plain_python_per_s": bench_method(200_000),
    }
    res["batch_over_method_formula"] = res["batch_cycles_per_s"] / res["method_formula_plain_python_per_s"]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=2) + "\n")
    print("layer evaluations per second (one run, side by side):")
    for k, v in res.items():
        print(f"  {k:<38} {v:,.1f}" if isinstance(v, float) else f"  {k:<38} {v}")
    return res


if __name__ == "__main__":
    main()
