"""A fixed reference network with every layer type of the template, and seeded random integer weights: for
whole-network tests and for `python -m sim` on a configuration that carries no searched network.

stem 3x3 conv -> block (pw1 g2, shuffled | dw 3x3 | pw2 g2 | residual add) -> block (pw1 | dw 5x5 stride 2 |
pw2) -> head 1x1 -> global average pool -> fc (int32 logits); 8-bit stem, head and classifier, 6- and 4-bit
blocks.
"""
from __future__ import annotations

import numpy as np

from .config import LOGIT_BITS, Layer
from .intnet import INPUT, AddNode, ConvNode, IntGraph, Node, PoolNode, shuffle_perm
from .numerics import dense_weights, random_layer_data, random_vector_data


def _conv(rng, L: Layer, inp: str, dense_groups: int | None = None) -> ConvNode:
    _, wt, bias, mult, shift = random_layer_data(rng, L)
    groups = L.groups
    if dense_groups is not None:           # a shuffle folded into a grouped conv: dense, permuted weights
        wt = dense_weights(wt, L.groups)[shuffle_perm(wt.shape[0], L.groups)]
        groups = 1
    if L.out_bits == LOGIT_BITS:
        mult = shift = None
    return ConvNode(L.name, inp, L.stride, L.padding, groups, L.bits, L.out_bits, wt, bias, mult, shift)


def _vector(rng, L: Layer, inputs: list[str]) -> Node:
    _, _, (ma, mb, sh) = random_vector_data(rng, L)
    if L.op == "add":
        return AddNode(L.name, (inputs[0], inputs[1]), ma, mb, sh, L.bits, L.out_bits)
    return PoolNode(L.name, inputs[0], ma, sh, L.bits, L.out_bits)


def reference_network(seed: int = 0, size: int = 8, classes: int = 10) -> tuple[list[Layer], IntGraph]:
    rng = np.random.default_rng(seed)
    s2 = (size + 2 * 2 - 5) // 2 + 1
    L = [
        Layer(name="stem", in_channels=3, out_channels=8, in_size=(size, size), kernel=3, padding=1, bits=8,
              out_bits=6),
        Layer(name="l0_pw1", in_channels=8, out_channels=16, in_size=(size, size), kernel=1, groups=2, bits=6,
              out_bits=6),
        Layer(name="l0_dw", in_channels=16, out_channels=16, groups=16, in_size=(size, size), kernel=3, padding=1,
              bits=6),
        Layer(name="l0_pw2", in_channels=16, out_channels=8, in_size=(size, size), kernel=1, groups=2, bits=6,
              out_bits=6),
        Layer(name="l0_add", op="add", in_channels=8, out_channels=8, in_size=(size, size), bits=6, out_bits=4),
        Layer(name="l1_pw1", in_channels=8, out_channels=24, in_size=(size, size), kernel=1, bits=4, out_bits=4),
        Layer(name="l1_dw", in_channels=24, out_channels=24, groups=24, in_size=(size, size), kernel=5, stride=2,
              padding=2, bits=4),
        Layer(name="l1_pw2", in_channels=24, out_channels=12, in_size=(s2, s2), kernel=1, bits=4, out_bits=8),
        Layer(name="head", in_channels=12, out_channels=32, in_size=(s2, s2), kernel=1, bits=8, out_bits=8),
        Layer(name="pool", op="avgpool", in_channels=32, out_channels=32, in_size=(s2, s2), bits=8, out_bits=8),
        Layer(name="fc", in_channels=32, out_channels=classes, in_size=(1, 1), kernel=1, bits=8,
              out_bits=LOGIT_BITS),
    ]
    nodes = [_conv(rng, L[0], INPUT), _conv(rng, L[1], "stem", dense_groups=2), _conv(rng, L[2], "l0_pw1"),
             _conv(rng, L[3], "l0_dw"), _vector(rng, L[4], ["l0_pw2", "stem"]), _conv(rng, L[5], "l0_add"),
             _conv(rng, L[6], "l1_pw1"), _conv(rng, L[7], "l1_dw"), _conv(rng, L[8], "l1_pw2"),
             _vector(rng, L[9], ["head"]), _conv(rng, L[10], "pool")]
    return L, IntGraph(1.0 / 255, 8, tuple(nodes))


def reference_images(n: int, seed: int = 0, size: int = 8) -> np.ndarray:
    return np.random.default_rng(seed + 1).integers(0, 256, size=(n, 3, size, size))
