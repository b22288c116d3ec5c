"""Frames pipelined over the chunks against one layer at a time, from the model (hw_model.schedule), for the
default searched network (out/best.json when a search has run, else the built-in reference network on
configs/default.json) and for configs/zc706.json with ResNet-20 (CIFAR: its convolutions, 1x1 projections and
residual adds); the activation memory the tensor copies add; and the speed of the search's vectorized period against the
exact schedule and against the objective it replaced (one cycle of dispatch per layer), measured side by side;
for the default, the frames measured on the RTL (Verilator, through the host driver; `--no-rtl` skips it). Writes
bench/results/schedule.json and schedule.png."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from hw_model import timing
from hw_model.config import Accelerator, Layer
from hw_model.defaults import DEFAULT_CONFIG
from hw_model.frame_program import DEFAULT_FRAMES
from hw_model.io import atomic_write_json, load_data
from hw_model.mapping import geometry
from hw_model.result import has_network, load_network
from hw_model.schedule import (NETWORK_INPUT, activation_beats, job_dispatch, period_cycles, plan_schedule,
                               schedule_figures, network_schedule)
from hw_model.cycles import layer_cycles

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).parent / "results"
FRAMES = DEFAULT_FRAMES


def resnet20_graph(bits=(8, 8, 6, 4)) -> tuple[list[Layer], list[tuple[int, ...]]]:
    """ResNet-20 for CIFAR (three stages of three blocks, 16/32/64 channels, 1x1 projections where the shape
    changes) at 32x32: layers and each layer's producers (indices; NETWORK_INPUT the image). Stage i at bits[i+1]."""
    layers, inputs = [], []

    def add(layer, ins):
        layers.append(layer)
        inputs.append(tuple(ins))
        return len(layers) - 1

    x = add(Layer(name="stem", in_channels=3, out_channels=16, in_size=(32, 32), kernel=3, padding=1, bits=bits[0],
                  out_bits=bits[1]), [NETWORK_INPUT])
    c_in, size = 16, 32
    for stage, (c, s) in enumerate([(16, 1), (32, 2), (64, 2)]):
        q = bits[stage + 1]
        for blk in range(3):
            st = s if blk == 0 else 1
            nxt = bits[min(stage + 2, len(bits) - 1)] if blk == 2 else q
            a = add(Layer(name=f"s{stage}b{blk}a", in_channels=c_in, out_channels=c, in_size=(size, size), kernel=3,
                          stride=st, padding=1, bits=q, out_bits=q), [x])
            out = (size + 2 - 3) // st + 1
            b = add(Layer(name=f"s{stage}b{blk}b", in_channels=c, out_channels=c, in_size=(out, out), kernel=3,
                          padding=1, bits=q, out_bits=q), [a])
            short = x
            if st != 1 or c_in != c:
                short = add(Layer(name=f"s{stage}b{blk}p", in_channels=c_in, out_channels=c, in_size=(size, size),
                                  kernel=1, stride=st, bits=q, out_bits=q), [x])
            x = add(Layer(name=f"s{stage}b{blk}add", op="add", in_channels=c, out_channels=c, in_size=(out, out),
                          bits=q, out_bits=nxt), [b, short])
            c_in, size = c, out
    return layers, inputs


def layer_schedule(acc: Accelerator, layers, inputs):
    """The schedule of layers with their producers (no integer graph: the model only)."""
    geoms = [geometry(acc, L) for L in layers]
    return plan_schedule([L.name for L in layers], [acc.chunks.index(g.chunk) for g in geoms],
                         [int(layer_cycles(g)) for g in geoms], inputs, job_dispatch(acc.memory), len(acc.chunks))


def case(acc: Accelerator, layers, s, source: str) -> dict:
    chunk_of = s.chunk_of
    run = s.run(FRAMES)
    mem = activation_beats(acc, layers, s, FRAMES)
    one, with_copies = mem["layer_at_a_time"], mem["pipelined"]
    fig = schedule_figures(s, acc.clock_mhz)
    return {"source": source, "config": acc.name, "layers": len(layers), "chunks_used": len(set(chunk_of)),
            "clock_mhz": acc.clock_mhz, "frames": FRAMES,
            "model_period_cycles": s.period, "model_fps_pipelined": fig["fps"],
            "model_fps_layer_at_a_time": fig["fps_layer_at_a_time"],
            "pipelined_over_layer_at_a_time": sum(s.busy) / s.period,
            "model_latency_cycles": s.latency, "latency_over_layer_at_a_time": s.latency / sum(s.busy),
            "run_periodic": run.periodic, "rounds_in_flight": s.depth + 1,
            "activation_beats_one_frame": one, "activation_beats_with_copies": with_copies,
            "copies_memory_ratio": with_copies / one, "tensor_copies": fig["tensor_copies"]}


def default_case(rtl: bool) -> dict:
    best = ROOT / "out" / "best.json"
    if best.is_file() and has_network(load_data(best)):
        acc, net = Accelerator.load(best), load_network(load_data(best), best, FRAMES)
        src = "searched network (out/best.json)"
    else:
        acc, net = Accelerator.load(DEFAULT_CONFIG), load_network(None, None, FRAMES)
        src = "reference network (no search result here)"
    out = case(acc, net.layers, network_schedule(acc, net.layers, net.graph), src)
    if rtl:                             # measured on the frames wrapper's RTL (Verilator)
        from sim.frames import run_frames
        rep = run_frames(acc, net.layers, net.graph, net.images[:FRAMES], "verilator")
        out["rtl"] = {k: rep[k] for k in ("completions", "period_cycles", "latency_cycles", "measured_fps",
                                          "completions_exact", "all_bit_exact", "busy_exact", "stall_cycles")}
        out["rtl"]["fps_layer_at_a_time_model"] = out["model_fps_layer_at_a_time"]
    return out


def speed(acc: Accelerator, layers, repeats: int = 5, batch: int = 4096) -> dict:
    """Designs scored per second: the vectorized period (the search's path), the objective it replaced, and the
    exact schedule (placement and an 8-frame run) one design at a time."""
    rng = np.random.default_rng(0)
    cyc = rng.integers(100, 20000, size=(batch, len(layers)))
    onehot = np.eye(len(acc.chunks), dtype=np.int64)[rng.integers(0, len(acc.chunks), len(layers))]
    ov = job_dispatch(acc.memory)

    def best_of(fn, n):
        t = min(_timed(fn) for _ in range(repeats))
        return n / t

    new = best_of(lambda: period_cycles(cyc, onehot, ov), batch)
    old = best_of(lambda: ((cyc + timing.TOP_DISPATCH) @ onehot).max(axis=1), batch)
    chunk_of = list(onehot.argmax(1))
    inputs = [(i - 1,) if i else (NETWORK_INPUT,) for i in range(len(layers))]
    exact = best_of(lambda: [plan_schedule(range(len(layers)), chunk_of, list(c), inputs, ov, len(acc.chunks))
                             .run(FRAMES) for c in cyc[:64]], 64)
    return {"designs_per_s_vectorized_period": new, "designs_per_s_previous_objective": old,
            "vectorized_over_previous": new / old, "designs_per_s_exact_schedule": exact,
            "vectorized_over_exact": new / exact, "batch": batch, "layers": len(layers)}


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def plot(res: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cases = res["cases"]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    x = np.arange(len(cases))
    ax.bar(x - 0.2, [c["model_fps_layer_at_a_time"] for c in cases], 0.4, label="one layer at a time")
    ax.bar(x + 0.2, [c["model_fps_pipelined"] for c in cases], 0.4, label="frames pipelined")
    ax.set_xticks(x, [f"{c['config']}\n{c['source'].split(' (')[0]}" for c in cases], fontsize=8)
    ax.set_ylabel("FPS (model, at each config's clock)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(rtl: bool = True) -> dict:
    zc = Accelerator.load(ROOT / "configs" / "zc706.json")
    layers, inputs = resnet20_graph()
    res = {"cases": [default_case(rtl), case(zc, layers, layer_schedule(zc, layers, inputs), "ResNet-20 (residual adds, 1x1 projections)")],
           "speed": speed(zc, layers),
           "note": "model figures (hw_model.schedule) for both; the default's also measured on the frames "
                   "wrapper's RTL (Verilator, 8 frames); ResNet-20 has no trained weights here, so the model only"}
    OUT.mkdir(parents=True, exist_ok=True)
    atomic_write_json(OUT / "schedule.json", res)
    plot(res, OUT / "schedule.png")
    for c in res["cases"]:
        print(f"{c['config']:8} {c['source']:45} period {c['model_period_cycles']:>7} cycles: "
              f"{c['model_fps_pipelined']:>9.0f} FPS pipelined vs {c['model_fps_layer_at_a_time']:>8.0f} one layer "
              f"at a time ({c['pipelined_over_layer_at_a_time']:.2f}x) at {c['clock_mhz']:g} MHz; latency "
              f"{c['latency_over_layer_at_a_time']:.2f}x; activation memory {c['copies_memory_ratio']:.2f}x")
    r = res["cases"][0].get("rtl")
    if r:
        print(f"measured on the RTL: period {r['period_cycles']['rtl']} cycles (model {r['period_cycles']['model']}),"
              f" latency {r['latency_cycles']['rtl']} (model {r['latency_cycles']['model']}), every completion "
              f"{'equal' if r['completions_exact'] else 'DIFFERENT'}")
    sp = res["speed"]
    print(f"vectorized period {sp['designs_per_s_vectorized_period']:.3g} designs/s = "
          f"{sp['vectorized_over_previous']:.2f}x the previous objective, {sp['vectorized_over_exact']:.0f}x the "
          f"exact schedule")
    return res


if __name__ == "__main__":
    import sys
    main(rtl="--no-rtl" not in sys.argv)
