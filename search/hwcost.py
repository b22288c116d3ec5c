"""Operation-wise hardware cost during the network search (the chicken-and-egg problem).

Every candidate (layer, operator, bit-width) is costed on the current accelerator with hw_model's exact model,
one vectorized call for all of them, into a table T[layer, op, bit, slot] of cycles per chunk slot (a slot is
a (dataflow, bit-width) chunk). The hardware loss is the smooth maximum over slots of the expected cycles of
each slot under the current operator and bit-width probabilities, so every candidate gets a gradient from its
own cost, not only the sampled one. A candidate whose chunk the accelerator lacks is costed on that chunk's
sibling (same dataflow, nearest bit-width) with its own bit-width.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from hw_model.batch import evaluate
from hw_model.config import Accelerator, Chunk, Layer

from .space import slot_key
from .supernet import SuperNet


def slots_of(net: SuperNet, split: bool = False) -> list[tuple[str, int, str]]:
    bits = sorted(set(net.bits) | {net.preset.fixed_bits})
    sizes = ("large", "small") if split else ("any",)
    return ([("channel", b, m) for b in bits for m in sizes] + [("depthwise", b, m) for b in sorted(net.bits)
                                                              for m in sizes]
            + [("vector", b, "any") for b in bits])


def _large_map(acc: Accelerator) -> int | None:
    """The accelerator's feature-map split, if its chunks are split by map size."""
    return acc.large_map if any(c.maps != "any" for c in acc.chunks) else None


def _chunk_for_slot(acc: Accelerator, kind: str, bits: int, out_bits: int, maps: str = "any") -> Chunk:
    same = [c for c in acc.chunks if c.kind == kind and c.maps in ("any", maps)] \
        or [c for c in acc.chunks if c.kind == kind]
    if not same:
        base = Chunk(name="virtual", bits=bits, dataflow=kind, tm=16 if kind == "depthwise" else 8,
                     tn=1 if kind == "depthwise" else 8, tmb=32, tnb=32, max_kernel=7, out_bits=(out_bits,))
        return base
    exact = [c for c in same if c.bits == bits]
    c = exact[0] if exact else min(same, key=lambda c: abs(c.bits - bits))
    return dataclasses.replace(c, bits=bits, out_bits=tuple(sorted(set(c.out_bits) | {out_bits})),
                               max_kernel=max(c.max_kernel, 7), max_stride=max(c.max_stride, 2))


def _vector_cycles(layers: list[Layer], acc: Accelerator) -> np.ndarray:
    """Adds and pools, on a vector chunk sized for them (vector chunks are not searched)."""
    from .space import vector_layer_cycles
    return np.array([n for _, _, n in vector_layer_cycles(layers, acc.memory)[1]], dtype=np.int64)


def _cycles(layers: list[Layer], acc: Accelerator) -> np.ndarray:
    """Cycles of each layer on its (possibly substituted) chunk, one vectorized call."""
    if not layers:
        return np.zeros(0, dtype=np.int64)
    vec = np.array([L.vector for L in layers])
    if vec.any():
        out = np.zeros(len(layers), dtype=np.int64)
        out[vec] = _vector_cycles([L for L in layers if L.vector], acc)
        if (~vec).any():
            out[~vec] = _cycles([L for L in layers if not L.vector], acc)
        return out
    cols = {k: [] for k in ("N", "M", "H", "W", "K", "S", "P", "bits", "out_bits", "groups", "dw", "tm", "tn",
                            "trb_cap", "tcb_cap", "tmb_cap", "tnb_cap", "px")}
    for L in layers:
        kind, b, maps = slot_key(L, _large_map(acc))
        c = _chunk_for_slot(acc, kind, b, L.out_bits, maps)
        for k, v in zip(cols, (L.in_channels, L.out_channels, L.in_size[0], L.in_size[1], L.kernel, L.stride,
                               L.padding, L.bits, L.out_bits, L.groups, int(L.depthwise), c.tm, c.tn, c.trb,
                               c.tcb, c.tmb, c.tnb, int(c.pixel))):
            cols[k].append(v)
    a = {k: np.array(v) for k, v in cols.items()}
    r = evaluate(max_kernel=99, max_stride=99, bus=acc.memory.bus_bits, lat=acc.memory.read_latency, **a)
    return r["cycles"]


def cost_table(net: SuperNet, acc: Accelerator) -> tuple[torch.Tensor, torch.Tensor]:
    """(T [L, O, J, K] cycles of each candidate per slot, fixed [K] cycles of stem, head and classifier)."""
    lm = _large_map(acc)
    slots = slots_of(net, lm is not None)
    L, O, J, K = len(net.layers), len(net.ops), len(net.bits), len(slots)
    entries, layers = [], []
    for li, sl in enumerate(net.layers):
        for o in range(O):
            for j, b in enumerate(net.bits):
                for hl in net.blocks[li][o].hw_layers(f"l{li}", sl.in_size, b, b):
                    entries.append((li, o, j, slots.index(slot_key(hl, lm))))
                    layers.append(hl)
    cyc = _cycles(layers, acc)
    table = np.zeros((L, O, J, K))
    for (li, o, j, k), c in zip(entries, cyc):
        table[li, o, j, k] += c
    from .supernet import network_layers
    fixed = np.zeros(K)
    fixed_layers = [l for l in network_layers(net, [(0, 0)] * L) if l.name in ("stem", "head", "pool", "fc")]
    for l, c in zip(fixed_layers, _cycles(fixed_layers, acc)):
        fixed[slots.index(slot_key(l, lm))] += c
    dev = net.alpha.device
    return (torch.tensor(table, dtype=torch.float32, device=dev), torch.tensor(fixed, dtype=torch.float32,
                                                                                device=dev))


def expected_slot_cycles(net: SuperNet, table: torch.Tensor, fixed: torch.Tensor) -> torch.Tensor:
    p_op = F.softmax(net.alpha, dim=-1)                  # [L, O]
    p_bit = F.softmax(net.beta, dim=-1)                  # [L, O, J]
    w = p_op[..., None] * p_bit                          # [L, O, J]
    return fixed + torch.einsum("loj,lojk->k", w, table)


def hardware_loss(net: SuperNet, table, fixed, sharpness: float = 20.0) -> torch.Tensor:
    """Smooth maximum over chunk slots of their expected cycles (pipelined frames: the slowest chunk sets
    the frame rate), relative to the current maximum so the loss is scale-free."""
    e = expected_slot_cycles(net, table, fixed)
    ref = e.detach().max().clamp_min(1.0)
    return torch.logsumexp(sharpness * e / ref, 0) / sharpness
