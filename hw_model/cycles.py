"""The exact cycle model of a conv layer on a chunk, vectorized over any number of (layer, chunk, mapping).

Every step of a layer has the same shape, so a layer's cycles are a closed form of a few integers
(see docs/architecture.md, "Cycle model"):

    C = mg*trb*cgs*ng*K^2 + COMPUTE_DRAIN                         compute busy cycles per step
                                                                  (cgs = tcb, or ceil(tcb/tn) on a pixel chunk)
    R = rows_in*cols_in*kb_in*sub_in + w_tile_beats + LAT + READ_DRAIN_EXTRA     next step's inputs, weights
    P = p_tile_beats + LAT + READ_DRAIN_EXTRA                     requantization records of a finished tile
    W = trb*tcb*kb_out*sub_w + WRITE_DRAIN                        requantize and write a finished tile

Steps k = 0..S-1 (S = n_m*n_r*n_c*n_n, n innermost). Step k's memory engine writes the tile finished by
step k-1 (when k is a multiple of n_n, k >= 1) and then loads step k+1 (when k < S-1); the step lasts
max(C, M_k) + STEP_OVERHEAD. Total = (R + START_OVERHEAD) + sum_k (max(C, M_k) + STEP_OVERHEAD)
+ (P + W + END_OVERHEAD).
"""
from __future__ import annotations

import numpy as np

from . import timing
from .mapping import LayerGeometry


def cycles_from_fields(f: dict) -> np.ndarray:
    """f: hw_model.derive.geometry_fields (ints or broadcastable arrays). Returns total cycles."""
    K2 = f["K"] * f["K"]
    C = f["mg"] * f["trb"] * f["cgs"] * f["ng"] * K2 + timing.COMPUTE_DRAIN
    R = f["rows_in"] * f["cols_in"] * f["kb_in"] * f["sub_in"] + f["w_tile_beats"] + f["lat"] \
        + timing.READ_DRAIN_EXTRA
    P = f["p_tile_beats"] + f["lat"] + timing.READ_DRAIN_EXTRA
    W = f["trb"] * f["tcb"] * f["kb_out"] * f["sub_w"] + timing.WRITE_DRAIN
    T = f["n_m"] * f["n_r"] * f["n_c"]
    S = T * f["n_n"]
    so = timing.STEP_OVERHEAD
    mx = np.maximum
    # n_n >= 2: first step loads; T-1 steps write then load; the last step only computes; the rest load.
    multi = mx(C, R) + (T - 1) * mx(C, P + W + R) + C + (S - T - 1) * mx(C, R)
    # n_n == 1 (then S == T): first loads, middle write+load, last writes; a single step only computes.
    single = np.where(S == 1, C, mx(C, R) + mx(S - 2, 0) * mx(C, P + W + R) + mx(C, P + W))
    steps = np.where(f["n_n"] >= 2, multi, single) + S * so
    return R + timing.START_OVERHEAD + steps + P + W + timing.END_OVERHEAD


def vector_cycles_from_fields(f: dict) -> np.ndarray:
    """Vector chunk (hw_model.derive.vector_fields): steps of tcb pixels; each step reads its pixels' beats of
    every source (R) while the previous step runs its tcb*C channel iterations (C); writes leave from the
    pipeline, so there is no write phase.

        R = tcb*in_nb*srcs + LAT + READ_DRAIN_EXTRA      C = tcb*C + VEC_DRAIN
        total = R + START_OVERHEAD + (n_steps-1)*max(C, R) + C + n_steps*STEP_OVERHEAD + VEC_END_OVERHEAD
    """
    R = f["tcb"] * f["in_nb"] * f["srcs"] + f["lat"] + timing.READ_DRAIN_EXTRA
    C = f["tcb"] * f["C"] + timing.VEC_DRAIN
    S = f["n_steps"]
    return (R + timing.START_OVERHEAD + (S - 1) * np.maximum(C, R) + C + S * timing.STEP_OVERHEAD
            + timing.VEC_END_OVERHEAD)


def layer_cycles(g: LayerGeometry) -> int:
    if g.layer.vector:
        return int(vector_cycles_from_fields(g.fields))
    return int(cycles_from_fields(g.fields))


def mac_utilization(g: LayerGeometry) -> float:
    """Useful MACs over what the multipliers could do in the layer's cycles (grouped convolutions run
    dense on a channel chunk, so their zero blocks count as waste). Vector ops have no MACs: 0."""
    if g.layer.vector:
        return 0.0
    return g.layer.macs / (layer_cycles(g) * g.macs_per_cycle)
