"""The memory plan of a network: where everything lies in memory, and each layer's cfg word.

The memory plan puts every convolution's packed weights and requantization records first (hw_model.layout, in
the order each layer's chunk consumes them), then the input image, then one region per layer output (each with
the copies a pipelined run needs, hw_model.frame_program), and each layer's cfg word (hw_model.regs) for frame 0
on the chunk that hw_model's layer-to-chunk rule names. The simulations, the FPGA bundle and a board all read
this one plan.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .config import LOGIT_BITS, Accelerator, Layer
from .errors import ConfigError
from .intnet import INPUT, ConvNode, IntGraph, Node
from .layout import pack_params, pack_weights
from .mapping import LayerGeometry, check_fits, geometry
from .regs import Addresses, pack_cfg, program


@dataclass
class Step:
    """One layer of the network on its chunk, with its place in memory."""

    layer: Layer
    geom: LayerGeometry
    node: Node
    sel: int
    addrs: Addresses
    vparams: tuple[int, int, int] | None = None

    @property
    def cfg(self) -> int:
        """The chunk's cfg word for this layer (hw_model.regs)."""
        return pack_cfg(program(self.geom, self.addrs, self.vparams))


@dataclass
class Plan:
    steps: list[Step]
    static: dict[int, int]              # address -> beat: weights and records
    input_base: int
    out_base: dict[str, int]            # tensor name -> beat address (of its copy 0)
    act_lo: int
    act_hi: int
    tensor_beats: dict[str, int] = dataclasses.field(default_factory=dict)   # one copy's beats
    copies: dict[str, int] = dataclasses.field(default_factory=dict)         # tensor name -> copies

    @property
    def beats(self) -> int:
        """Beats from address 0 to the last activation word."""
        return self.act_hi + 1


def _weights_step(acc: Accelerator, L: Layer, g: LayerGeometry, n: ConvNode, at: int) -> tuple[dict, int, int, int]:
    """(beats, w_base, p_base, next address) of a convolution's weights and records, packed from `at`."""
    wt = n.weight.astype(np.int64)
    m = wt.shape[0]
    if m != L.out_channels or wt.shape[1] * n.groups != L.in_channels or wt.shape[-1] != L.kernel:
        raise ConfigError(f"layer[{L.name!r}]", list(wt.shape), "weights of the layer's shape")
    # a channel shuffle folded into a grouped convolution leaves dense weights: pack them as such (a grouped
    # convolution runs dense on a channel chunk either way, so the cycles are the same)
    pg = g if n.groups == L.groups else check_fits(dataclasses.replace(L, groups=n.groups), g.chunk, acc.memory,
                                                   g.mapping)
    if L.out_bits == LOGIT_BITS:
        mult, shift = np.ones(m, dtype=np.int64), np.zeros(m, dtype=np.int64)
    else:
        mult, shift = n.mult.astype(np.int64), n.shift.astype(np.int64)
    w_beats, p_beats = pack_weights(wt, pg), pack_params(n.bias.astype(np.int64), mult, shift, pg)
    w_base, p_base = at, at + len(w_beats)
    words = {w_base + i: int(b) for i, b in enumerate(w_beats)}
    words.update({p_base + i: int(b) for i, b in enumerate(p_beats)})
    return words, w_base, p_base, p_base + len(p_beats)


def _check_node(L: Layer, n: Node) -> None:
    """The hardware layer and the integer node it runs describe the same operation."""
    where = f"network.integer_graph[{L.name!r}]"
    op = "conv" if isinstance(n, ConvNode) else n.op
    if op != L.op:
        raise ConfigError(f"{where}.op", n.op, f"{L.op}, as layer {L.name}")
    for k in ("bits", "out_bits") + (("stride", "padding") if isinstance(n, ConvNode) else ()):
        if getattr(n, k) != getattr(L, k):
            raise ConfigError(f"{where}.{k}", getattr(n, k), f"{getattr(L, k)}, as layer {L.name}")
    if not isinstance(n, ConvNode) and L.in_channels != L.out_channels:
        raise ConfigError(f"layer[{L.name!r}].out_channels", L.out_channels, "its in_channels")


def plan_network(acc: Accelerator, layers: list[Layer], graph: IntGraph, copies: dict[str, int] | None = None) -> Plan:
    """Lay the network out in memory and program each layer (for frame 0). Layers and graph nodes correspond by
    name. `copies`: tensor name (INPUT for the image) -> copies in memory, one after another (default 1)."""
    copies = copies or {}
    nodes = {n.name: n for n in graph.nodes}
    missing = [L.name for L in layers if L.name not in nodes]
    if missing or len(layers) != len(graph.nodes):
        raise ConfigError("network.layers", missing or [L.name for L in layers],
                          "one layer per integer-graph node, named alike")
    bus = acc.memory.bus_bits
    static, at = {}, 0
    steps = []
    for L in layers:
        g = geometry(acc, L)
        n = nodes[L.name]
        _check_node(L, n)
        sel = acc.chunks.index(g.chunk)
        if L.vector:
            steps.append(Step(L, g, n, sel, Addresses(0, 0, 0, 0), (int(n.mult_a), int(n.mult_b), int(n.shift))))
            continue
        words, w_base, p_base, at = _weights_step(acc, L, g, n, at)
        static.update(words)
        steps.append(Step(L, g, n, sel, Addresses(0, w_base, p_base, 0)))
    # activations: the input, then one region per layer output
    first = layers[0]
    input_base = at
    beats = {INPUT: first.in_size[0] * first.in_size[1] * -(-first.in_channels // (bus // first.bits))}
    at += beats[INPUT] * copies.get(INPUT, 1)
    out_base = {INPUT: input_base}
    for s in steps:
        out_base[s.layer.name] = at
        ho, wo = s.layer.out_size
        beats[s.layer.name] = ho * wo * s.geom.out_nb
        at += beats[s.layer.name] * copies.get(s.layer.name, 1)
    for s in steps:
        ins = [out_base[k] for k in s.node.inputs]
        if s.layer.vector:
            s.addrs = Addresses(ins[0], ins[1] if len(ins) > 1 else 0, 0, out_base[s.layer.name])
        else:
            s.addrs = Addresses(ins[0], s.addrs.w_base, s.addrs.p_base, out_base[s.layer.name])
    if at > (1 << acc.memory.addr_bits):
        raise ConfigError("memory.addr_bits", acc.memory.addr_bits, f"enough address bits for {at} beats")
    return Plan(steps, static, input_base, out_base, input_base, at - 1, beats,
                {k: copies.get(k, 1) for k in beats})


def hex_text(words: dict[int, int]) -> str:
    """Beats as `@address beat` lines (hex, $readmemh style), in address order."""
    return "".join(f"@{a:x} {int(b):x}\n" for a, b in sorted(words.items()))
