"""Whole-network simulation: every layer of a network on the accelerator top's RTL, image after image.

The memory plan puts every convolution's packed weights and requantization records first (hw_model.layout,
in the order each layer's chunk consumes them), then the input image, then one region per layer output. The
layers are dispatched in order on the chunks that hw_model's layer-to-chunk rule names (nothing runs on the
host but writing the input and reading the logits). Checks: every layer's output against the PyTorch integer
model (search.export.int_forward) bit for bit, the logits included; every layer's cycles against hw_model
(layer cycles + TOP_DISPATCH); beats on the ports against the traffic model.
"""
from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hw_model import timing
from hw_model.config import LOGIT_BITS, Accelerator, Layer
from hw_model.cost import energy_pj, traffic
from hw_model.cycles import layer_cycles, mac_utilization
from hw_model.errors import ConfigError
from hw_model.layout import pack_activations, pack_params, pack_weights, unpack_activations
from hw_model.mapping import LayerGeometry, check_fits, geometry
from hw_model.regs import CFG_BITS, Addresses, pack_cfg, program
from rtl_gen.emit import top_module_name, top_verilog

from .run import _ensure_root_on_path, _mem_depth, build_design, hex_text, run_job
from .tools import ensure_tool_path


@dataclass
class Step:
    """One layer of the network on its chunk, with its place in memory."""

    layer: Layer
    geom: LayerGeometry
    node: dict
    sel: int
    addrs: Addresses
    vparams: tuple[int, int, int] | None = None


@dataclass
class Plan:
    steps: list[Step]
    static: dict[int, int]              # address -> beat: weights and records
    input_base: int
    out_base: dict[str, int]            # tensor name -> beat address
    act_lo: int
    act_hi: int
    depth: int


def _node_inputs(node: dict) -> list[str]:
    return list(node["inputs"]) if "inputs" in node else [node["input"]]


def plan_network(acc: Accelerator, layers: list[Layer], graph: dict) -> Plan:
    """Lay the network out in memory and program each layer. Layers and graph nodes correspond by name."""
    nodes = {n["name"]: n for n in graph["nodes"]}
    missing = [L.name for L in layers if L.name not in nodes]
    if missing or len(layers) != len(graph["nodes"]):
        raise ConfigError("network.layers", missing or [L.name for L in layers],
                          "one layer per integer-graph node, named alike")
    bus = acc.memory.bus_bits
    static, at = {}, 0
    steps = []
    for L in layers:
        g = geometry(acc, L)
        n = nodes[L.name]
        sel = acc.chunks.index(g.chunk)
        if L.vector:
            vp = (int(n["mult_a"]), int(n.get("mult_b", 0)), int(n["shift"]))
            steps.append(Step(L, g, n, sel, Addresses(0, 0, 0, 0), vp))
            continue
        wt = n["weight"].numpy().astype(np.int64)
        m = wt.shape[0]
        if m != L.out_channels or wt.shape[1] * n["groups"] != L.in_channels or wt.shape[-1] != L.kernel:
            raise ConfigError(f"layer[{L.name!r}]", list(wt.shape), "weights of the layer's shape")
        # a channel shuffle folded into a grouped convolution leaves dense weights: pack them as such (a
        # grouped convolution runs dense on a channel chunk either way, so the cycles are the same)
        pg = g if n["groups"] == L.groups else check_fits(dataclasses.replace(L, groups=n["groups"]), g.chunk,
                                                          acc.memory, g.mapping)
        bias = n["bias"].numpy().astype(np.int64)
        if L.out_bits == LOGIT_BITS:
            mult, shift = np.ones(m, dtype=np.int64), np.zeros(m, dtype=np.int64)
        else:
            mult, shift = n["mult"].numpy().astype(np.int64), n["shift"].numpy().astype(np.int64)
        w_beats, p_beats = pack_weights(wt, pg), pack_params(bias, mult, shift, pg)
        w_base, p_base = at, at + len(w_beats)
        for base, arr in ((w_base, w_beats), (p_base, p_beats)):
            static.update({base + i: int(b) for i, b in enumerate(arr)})
        at = p_base + len(p_beats)
        steps.append(Step(L, g, n, sel, Addresses(0, w_base, p_base, 0)))
    # activations: the input, then one region per layer output
    first = layers[0]
    input_base = at
    at += first.in_size[0] * first.in_size[1] * -(-first.in_channels // (bus // first.bits))
    act_lo = input_base
    out_base = {"input": input_base}
    for s in steps:
        out_base[s.layer.name] = at
        ho, wo = s.layer.out_size
        at += ho * wo * s.geom.out_nb
    for s in steps:
        ins = [out_base[k] for k in _node_inputs(s.node)]
        if s.layer.vector:
            s.addrs = Addresses(ins[0], ins[1] if len(ins) > 1 else 0, 0, out_base[s.layer.name])
        else:
            s.addrs = Addresses(ins[0], s.addrs.w_base, s.addrs.p_base, out_base[s.layer.name])
    if at > (1 << acc.memory.addr_bits):
        raise ConfigError("memory.addr_bits", acc.memory.addr_bits, f"enough address bits for {at} beats")
    return Plan(steps, static, input_base, out_base, act_lo, at - 1, _mem_depth(at))


def load_network(raw: dict | None, cfg_path: Path, n_images: int, seed: int = 0):
    """(layers, integer graph, images, labels, description) of a search result's network (`raw`: the config
    as read, carrying `network`) with its test images, or of the reference network (raw None) with random ones."""
    from .refnet import reference_images, reference_network
    if raw is None:
        layers, graph = reference_network(seed=seed)
        return layers, graph, reference_images(n_images, seed=seed), None, "reference network, random images"
    from search.data import load as load_dataset
    from search.export import load_integer_graph, quantize_input
    net = raw["network"]
    layers = [Layer.from_dict(d, where=f"network.layers[{i}]") for i, d in enumerate(net["layers"])]
    graph = load_integer_graph(net, Path(cfg_path).parent / raw.get("weights_file", "weights.pt"))
    data = load_dataset(net.get("data", "digits"), net.get("data_dir"), image_size=layers[0].in_size[0])
    n = min(n_images, len(data.test.y))
    images = quantize_input(data.test.x[:n], graph).numpy()
    return (layers, graph, images, data.test.y[:n].numpy(),
            f"searched network, {n} {net.get('data', 'digits')} test images")


def build_top(acc: Accelerator, simulator: str, depth: int, root: Path = Path("sim_build")) -> Path:
    module = top_module_name(acc.name)
    sel_bits = max(1, (len(acc.chunks) - 1).bit_length())
    params = {"NCHUNK": len(acc.chunks), "SEL_BITS": sel_bits, "BUS": acc.memory.bus_bits,
              "ADDR": acc.memory.addr_bits, "DEPTH": depth, "LATENCY": acc.memory.read_latency,
              "CFG_BITS": CFG_BITS}
    return build_design(module, top_verilog(acc), "harness_top", ("harness_top.v", "mem_model.v", "run_counters.v"), params,
                        {"TOP": module}, simulator, root)


def step_beats(plan: Plan) -> dict[str, tuple[int, int]]:
    """Layer name -> (beats read, beats written) on its memory port, from the traffic model."""
    out = {}
    for s in plan.steps:
        t = traffic(s.geom.fields)
        out[s.layer.name] = (int(t["read_in_beats"] + t["read_w_beats"] + t["read_p_beats"]), int(t["write_beats"]))
    return out


def step_model_cycles(s: Step) -> int:
    """A layer on the top: its chunk's cycles plus the dispatch."""
    return layer_cycles(s.geom) + timing.TOP_DISPATCH


def run_network(acc: Accelerator, layers: list[Layer], graph: dict, images: np.ndarray, simulator: str = "verilator",
                build_root: Path = Path("sim_build"), golden: dict | None = None, labels=None,
                other_goldens: tuple[dict, ...] = ()) -> dict:
    """images: [N, C, H, W] unsigned integers at the graph's input bits. Returns the report (see sim/__main__).
    The golden outputs come from int_forward on `golden` (default: the graph the hardware runs); with labels,
    the report adds the accuracy of the (bit-exact) logits on these images. The same hardware run is also
    scored against each of `other_goldens` (the report's "other_goldens": one report each), so a test can show
    that the check fails without simulating again."""
    import torch

    from search.export import int_forward

    ensure_tool_path()
    _ensure_root_on_path()
    plan = plan_network(acc, layers, graph)
    bus = acc.memory.bus_bits
    bdir = build_top(acc, simulator, plan.depth, build_root)
    logits, ref = int_forward(golden or graph, torch.from_numpy(np.asarray(images, dtype=np.int64)), keep=True)
    first = layers[0]
    with tempfile.TemporaryDirectory(prefix="trips_net_") as tmp:
        tmp = Path(tmp)
        files = []
        for i, img in enumerate(images):
            beats = pack_activations(np.asarray(img, dtype=np.int64), first.bits, bus)
            words = {plan.input_base + k: int(b) for k, b in enumerate(beats)}
            if i == 0:
                words = {**plan.static, **words}
            f = tmp / f"image{i}.hex"
            f.write_text(hex_text(words))
            files.append(str(f))
        job = {"images": files, "dump_lo": plan.act_lo, "dump_hi": plan.act_hi,
               "layers": [{"name": s.layer.name, "sel": s.sel,
                           "cfg": format(pack_cfg(program(s.geom, s.addrs, s.vparams)), "x")} for s in plan.steps]}
        result = run_job(simulator, bdir, "sim.tb_network", "harness_top", tmp, job, "whole-network simulation")
    rep = _score(acc, plan, result, ref, len(images))
    if other_goldens:
        x = torch.from_numpy(np.asarray(images, dtype=np.int64))
        rep["other_goldens"] = [_score(acc, plan, result, int_forward(g, x, keep=True)[1], len(images))
                                for g in other_goldens]
    if labels is not None:
        rep["accuracy_on_images"] = float((logits.argmax(1).numpy() == np.asarray(labels)).mean())
    return rep


def _score(acc: Accelerator, plan: Plan, result: dict, ref: dict, n_images: int) -> dict:
    bus = acc.memory.bus_bits
    rows = []
    exact = {s.layer.name: True for s in plan.steps}
    rtl_cycles = {s.layer.name: set() for s in plan.steps}
    beats_ok = {s.layer.name: True for s in plan.steps}
    seconds = 0.0
    beats = step_beats(plan)
    for i, img in enumerate(result["images"]):
        seconds += img["run_seconds"]
        dump = img["dump"]
        for s, r in zip(plan.steps, img["layers"]):
            L = s.layer
            lo = plan.out_base[L.name] - plan.act_lo
            ho, wo = L.out_size
            words = dump[lo:lo + ho * wo * s.geom.out_nb]
            if any(w is None for w in words):
                exact[L.name] = False
            else:
                got = unpack_activations([int(w, 16) for w in words], L.out_channels, L.out_size, L.out_bits, bus)
                want = ref[L.name][i].numpy().reshape(L.out_channels, ho, wo)
                exact[L.name] &= bool(np.array_equal(got, want))
            rtl_cycles[L.name].add(int(r["cycles"]))
            beats_ok[L.name] &= (r["reads"], r["writes"]) == beats[L.name]
    for s in plan.steps:
        L, g = s.layer, s.geom
        model = step_model_cycles(s)
        measured = sorted(rtl_cycles[L.name])
        rows.append({"name": L.name, "op": L.op if not (L.op == "conv" and L.out_bits == LOGIT_BITS) else "fc",
                     "chunk": g.chunk.name, "model_cycles": model,
                     "rtl_cycles": measured[0] if len(measured) == 1 else measured, "bit_exact": exact[L.name],
                     "beats_exact": beats_ok[L.name],
                     "mac_utilization": float(mac_utilization(g)),
                     "energy_uj": float(energy_pj(g.fields)["total"]) * 1e-6,
                     "memory_bytes": int(traffic(g.fields)["bytes"])})
    last = plan.steps[-1].layer.name
    clock = acc.clock_mhz * 1e6

    def fps(key):
        per_chunk = {}
        for r in rows:
            c = r[key] if isinstance(r[key], int) else max(r[key])
            per_chunk[r["chunk"]] = per_chunk.get(r["chunk"], 0) + c
        slowest = max(per_chunk, key=per_chunk.get)
        return clock / per_chunk[slowest], slowest, per_chunk

    pred_fps, slow_m, per_m = fps("model_cycles")
    sim_fps, slow_s, _ = fps("rtl_cycles")
    total_cycles = sum(r["model_cycles"] for r in rows)
    sim_cycles = sum((r["rtl_cycles"] if isinstance(r["rtl_cycles"], int) else max(r["rtl_cycles"])) for r in rows)
    return {
        "layers": rows, "images": n_images,
        "logits_bit_exact": exact[last],
        "all_bit_exact": all(exact.values()),
        "all_cycle_exact": all(r["model_cycles"] == r["rtl_cycles"] for r in rows),
        "all_beats_exact": all(beats_ok.values()),
        "predicted_fps": pred_fps, "simulated_fps": sim_fps, "slowest_chunk": slow_m,
        "chunk_cycles_per_frame": per_m,
        "fps_note": "frames pipelined across chunks: FPS = clock / cycles per frame of the slowest chunk",
        "frame_cycles_sequential": {"model": total_cycles, "rtl": sim_cycles},
        "sim_seconds": seconds, "simulated_cycles_per_second": sim_cycles * n_images / max(seconds, 1e-9),
    }
