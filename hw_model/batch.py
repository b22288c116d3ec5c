"""Vectorized evaluation of many (layer, chunk) pairs at once, for the search and the benchmarks.

Inputs are broadcastable integer arrays; the default mapping is derived in the same vectorized code the
scalar path uses (hw_model.derive), so batch results equal layer_cycles() element for element.
"""
from __future__ import annotations

import numpy as np

from .cost import energy_pj, traffic
from .cycles import cycles_from_fields
from .derive import default_tiles, geometry_fields, out_size

LAYER_KEYS = ("N", "M", "H", "W", "K", "S", "P", "bits", "out_bits", "groups", "dw")
CHUNK_KEYS = ("tm", "tn", "trb_cap", "tcb_cap", "tmb_cap", "tnb_cap", "max_kernel", "max_stride", "bus", "lat")


def evaluate(*, with_energy: bool = False, **a) -> dict:
    """a: the LAYER_KEYS and CHUNK_KEYS as arrays. Returns cycles, macs, utilization and a `fits` mask
    (False where the layer cannot run on the chunk: kernel or stride too large, buffers under one beat)."""
    a = {k: np.asarray(v, dtype=np.int64) for k, v in a.items()}
    Ho, Wo = out_size(a["H"], a["K"], a["S"], a["P"]), out_size(a["W"], a["K"], a["S"], a["P"])
    dw = a.get("dw", np.int64(0))
    px = a.get("px", np.int64(0))
    groups = a.get("groups", np.int64(1))
    tn = np.where(dw, 1, a["tn"])
    tiles = default_tiles(N=a["N"], M=a["M"], Ho=Ho, Wo=Wo, bits=a["bits"], out_bits=a["out_bits"], bus=a["bus"],
                          trb_cap=a["trb_cap"], tcb_cap=a["tcb_cap"], tmb_cap=a["tmb_cap"], tnb_cap=a["tnb_cap"],
                          dw=dw)
    f = geometry_fields(N=a["N"], M=a["M"], H=a["H"], W=a["W"], K=a["K"], S=a["S"], P=a["P"], bits=a["bits"],
                        out_bits=a["out_bits"], tm=a["tm"], tn=tn, bus=a["bus"], lat=a["lat"], dw=dw, px=px, **tiles)
    cycles = cycles_from_fields(f)
    macs = Ho * Wo * a["M"] * (a["N"] // groups) * a["K"] * a["K"]
    fits = ((a["K"] <= a["max_kernel"]) & (a["S"] <= a["max_stride"]) & (a["tnb_cap"] >= f["v_in"])
            & (a["tmb_cap"] >= f["v_out"]) & (a["tm"] <= a["tmb_cap"]) & ((tn <= a["tnb_cap"]) | (px != 0)))
    fits = fits & np.where(dw, a["bits"] == a["out_bits"], True)
    out = dict(cycles=cycles, macs=macs, utilization=macs / (cycles * f["macs_per_cycle"]), fits=fits, fields=f)
    if with_energy:
        out["energy_pj"] = energy_pj(f)["total"]
        out["bytes"] = traffic(f)["bytes"]
    return out


def arrays_from(layers, chunk, mem) -> dict:
    """Arrays for a list of hw_model Layers on one chunk (a convenience for tests and reports)."""
    cols = {k: [] for k in LAYER_KEYS}
    for L in layers:
        for k, v in zip(LAYER_KEYS, (L.in_channels, L.out_channels, L.in_size[0], L.in_size[1], L.kernel,
                                     L.stride, L.padding, L.bits, L.out_bits, L.groups, int(L.depthwise))):
            cols[k].append(v)
    out = {k: np.array(v) for k, v in cols.items()}
    out.update(tm=chunk.tm, tn=chunk.tn, trb_cap=chunk.trb, tcb_cap=chunk.tcb, tmb_cap=chunk.tmb,
               tnb_cap=chunk.tnb, max_kernel=chunk.max_kernel, max_stride=chunk.max_stride, bus=mem.bus_bits,
               lat=mem.read_latency, px=int(chunk.pixel))
    return out
