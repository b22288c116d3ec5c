"""The accelerator design space the search explores, and the vectorized evaluation of whole designs.

A design is one choice per (chunk, factor): an integer array of shape [..., n_chunks, n_factors] indexing each
factor's options. Every design is evaluated with hw_model's exact model on every layer of the workload at once
(hw_model.batch), so a search step costs microseconds per design.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from hw_model.bandwidth import paced_cycles
from hw_model.batch import evaluate
from hw_model.config import DEFAULT_CLOCK_MHZ, Accelerator, Chunk, ConfigError, Layer, MemoryInterface
from hw_model.cost import resources_fields, traffic
from hw_model.schedule import job_busy, job_dispatch, job_retire, period_cycles

# a chunk's searchable parameters; df is the dataflow of a chunk that runs standard convolutions: 1 channel
# (tm output x tn input channels), 2 pixel (tm output channels x tn output columns)
FACTORS = ("tm", "tn", "trb", "tcb", "tmb", "tnb", "df")
DF_CHANNEL, DF_PIXEL = 1, 2
DEFAULT_OPTIONS = {
    "tm": (2, 4, 8, 16, 32),
    "tn": (2, 4, 8, 16, 32),
    "trb": (2, 4, 8, 16),
    "tcb": (2, 4, 8, 16),
    "tmb": (16, 32, 64, 128),
    "tnb": (16, 32, 64, 128),
    "df": (DF_CHANNEL,),            # Workload.space(pixel=True) adds DF_PIXEL
}
# Parameters decided together: the MAC array's shape is one decision (its aspect ratio trades against its
# size under a DSP budget, which independent choices of tm and tn cannot cross in one move), and so is the
# output tile's shape.
DEFAULT_GROUPS = (("tm", "tn"), ("trb", "tcb"), ("tmb",), ("tnb",), ("df",))
METRICS = ("latency", "energy", "edp")


@dataclass(frozen=True)
class Budget:
    dsp: int = 900
    bram18: int = 700
    clock_mhz: float = DEFAULT_CLOCK_MHZ
    bandwidth_gb_s: float | None = None      # the memory system's, all chunks together (None: no bound)

    def __post_init__(self):
        for name in ("dsp", "bram18"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"budget.{name}", v, "a positive integer")
        if not isinstance(self.clock_mhz, (int, float)) or self.clock_mhz <= 0:
            raise ConfigError("budget.clock_mhz", self.clock_mhz, "a positive number")
        bw = self.bandwidth_gb_s
        if bw is not None and (isinstance(bw, bool) or not isinstance(bw, (int, float)) or bw <= 0):
            raise ConfigError("budget.bandwidth_gb_s", bw, "a positive number of GB/s, or none (no bound)")


@dataclass(frozen=True)
class ChunkSlot:
    """A chunk the workload needs (one per dataflow and bit-width in use), with what its layers require."""

    name: str
    bits: int
    out_bits: tuple[int, ...]
    max_kernel: int
    max_stride: int
    dataflow: str = "channel"
    maps: str = "any"           # the feature-map sizes it serves (the method's large/small split)

    @property
    def depthwise(self) -> bool:
        return self.dataflow == "depthwise"


@dataclass
class Space:
    """Per chunk, one decision per group of parameters; a group's options are the product of its
    parameters' options. table[g, o] holds the values of FACTORS chosen by option o of group g (-1: not in
    the group)."""

    slots: tuple[ChunkSlot, ...]
    memory: MemoryInterface = field(default_factory=MemoryInterface)
    options: dict = field(default_factory=lambda: dict(DEFAULT_OPTIONS))
    groups: tuple = DEFAULT_GROUPS
    fixed_chunks: tuple[Chunk, ...] = ()     # chunks every design carries as they are (the vector units)
    large_map: int = Accelerator.large_map    # output rows from which a map is large (slots split by size)

    def __post_init__(self):
        self.options = {"df": (DF_CHANNEL,), **self.options}
        for f in FACTORS:
            opts = self.options.get(f)
            if not opts or any(not isinstance(o, int) or o < 1 for o in opts):
                raise ConfigError(f"space.options.{f}", opts, "a non-empty list of positive integers")
        flat = sorted(f for g in self.groups for f in g)
        if flat != sorted(FACTORS):
            raise ConfigError("space.groups", self.groups, f"a partition of {list(FACTORS)}")
        combos = [list(itertools.product(*[self.options[f] for f in g])) for g in self.groups]
        self.n_opts = np.array([len(c) for c in combos])
        width = int(self.n_opts.max())
        self.table = np.full((len(self.groups), width, len(FACTORS)), -1, dtype=np.int64)
        for gi, (g, cs) in enumerate(zip(self.groups, combos)):
            for o, vals in enumerate(cs):
                for f, v in zip(g, vals):
                    self.table[gi, o, FACTORS.index(f)] = v
        self.mask = np.arange(width)[None, :] < self.n_opts[:, None]    # [G, O] valid options

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.slots), len(self.groups)

    def size(self) -> int:
        return int(np.prod(self.n_opts.astype(float)) ** len(self.slots))

    def values(self, idx: np.ndarray) -> np.ndarray:
        """[..., C, G] option indices -> [..., C, F] parameter values (in FACTORS order). Depthwise slots take
        tn = 1 and tnb = tmb whatever was drawn."""
        v = self.table[np.arange(len(self.groups)), idx].max(axis=-2)   # each parameter is set by one group
        dw = np.array([sl.depthwise for sl in self.slots])
        v[..., FACTORS.index("tn")] = np.where(dw, 1, v[..., FACTORS.index("tn")])
        v[..., FACTORS.index("tnb")] = np.where(dw, v[..., FACTORS.index("tmb")], v[..., FACTORS.index("tnb")])
        v[..., FACTORS.index("df")] = np.where(dw, DF_CHANNEL, v[..., FACTORS.index("df")])
        return v

    def to_accelerator(self, idx: np.ndarray, name: str = "searched",
                       clock_mhz: float = DEFAULT_CLOCK_MHZ) -> Accelerator:
        vals = self.values(np.asarray(idx))
        def dataflow(slot, df):
            return "pixel" if slot.dataflow == "channel" and df == DF_PIXEL else slot.dataflow

        chunks = tuple(Chunk(name=s.name, bits=s.bits, out_bits=s.out_bits, max_kernel=s.max_kernel,
                             max_stride=s.max_stride, dataflow=dataflow(s, vals[c][FACTORS.index("df")]),
                             maps=s.maps, **{f: int(v) for f, v in zip(FACTORS, vals[c]) if f != "df"})
                       for c, s in enumerate(self.slots))
        return Accelerator(name=name, chunks=chunks + tuple(self.fixed_chunks), memory=self.memory,
                           clock_mhz=clock_mhz, large_map=self.large_map)

    def index_of(self, acc: Accelerator) -> np.ndarray:
        """The design index nearest to an accelerator whose chunks match the slots (for warm starts)."""
        idx = np.zeros(self.shape, dtype=np.int64)
        for c, s in enumerate(self.slots):
            ch = acc.chunk(s.name)
            want = np.array([getattr(ch, f) if f != "df" else (DF_PIXEL if ch.pixel else DF_CHANNEL)
                             for f in FACTORS], dtype=float)
            for gi in range(len(self.groups)):
                t = self.table[gi, :self.n_opts[gi]].astype(float)
                d = np.where(t < 0, 0.0, np.abs(np.log2(np.maximum(t, 1)) - np.log2(want))).sum(axis=1)
                idx[c, gi] = int(np.argmin(d))
        return idx


def slot_key(layer: Layer, large_map: int | None = None) -> tuple[str, int, str]:
    """The method's layer-to-chunk rule: one chunk per dataflow and bit-width, and with large_map set, per
    feature-map size (output rows >= large_map: large, else small); vector ops are not split."""
    if large_map is None or layer.vector:
        return (layer.dataflow, layer.bits, "any")
    return (layer.dataflow, layer.bits, layer.map_class(large_map))


def slot_name(key: tuple[str, int, str]) -> str:
    kind, bits, maps = key
    return f"{kind[0] if kind != 'channel' else 'c'}{bits}" + {"any": "", "large": "L", "small": "S"}[maps]


VECTOR_TCB = 16     # pixels per step of a vector chunk (at least the pools' maps)


def vector_chunks(layers: list[Layer], memory: MemoryInterface) -> tuple[Chunk, ...]:
    """The vector chunks a workload needs, one per input bit-width of its adds and pools. They are not searched:
    one channel per cycle whatever their size, so they are sized to hold their layers (channels, pool maps)."""
    out = []
    for b in sorted({L.bits for L in layers if L.vector}):
        mine = [L for L in layers if L.vector and L.bits == b]
        v = memory.bus_bits // b
        cap = -(-max(L.in_channels for L in mine) // v) * v
        tcb = max([VECTOR_TCB] + [L.in_size[0] * L.in_size[1] for L in mine if L.op == "avgpool"])
        out.append(Chunk(name=f"v{b}", bits=b, dataflow="vector", tm=1, tn=1, trb=1, tcb=tcb, tmb=cap, tnb=cap,
                         max_kernel=1, max_stride=1, out_bits=tuple(sorted({L.out_bits for L in mine}))))
    return tuple(out)


class Workload:
    """Layers and the slot (chunk) each runs on: one per (dataflow, bit-width) in use, and with large_map set
    one per feature-map size too (large: output rows >= large_map), as the method's template. Adds and pools
    run on vector chunks that every design carries (search.space.vector_chunks): their cycles, energy and
    resources are constants of the workload, part of every design's score."""

    def __init__(self, layers: list[Layer], memory: MemoryInterface | None = None, large_map: int | None = None):
        if not layers:
            raise ConfigError("workload", [], "at least one layer")
        self.memory = memory or MemoryInterface()
        self.all_layers = list(layers)
        self.vector_layers = [L for L in layers if L.vector]
        self.fixed_chunks = vector_chunks(self.vector_layers, self.memory)
        self._fixed_costs()
        layers = [L for L in layers if not L.vector]
        if not layers:
            raise ConfigError("workload", [L.name for L in self.all_layers], "at least one convolution")
        self.layers = list(layers)
        self.large_map = large_map
        keys = sorted({slot_key(L, large_map) for L in layers})
        members = {k: [L for L in layers if slot_key(L, large_map) == k] for k in keys}
        self.slots = tuple(ChunkSlot(name=slot_name(k), bits=k[1], dataflow=k[0], maps=k[2],
                                     out_bits=tuple(sorted({L.out_bits for L in members[k]})),
                                     max_kernel=max(L.kernel for L in members[k]),
                                     max_stride=max(L.stride for L in members[k])) for k in keys)
        self.slot_of = np.array([keys.index(slot_key(L, large_map)) for L in layers])
        self.onehot = np.eye(len(keys), dtype=np.int64)[self.slot_of]          # [L, C]
        cols = dict(N=[L.in_channels for L in layers], M=[L.out_channels for L in layers],
                    H=[L.in_size[0] for L in layers], W=[L.in_size[1] for L in layers],
                    K=[L.kernel for L in layers], S=[L.stride for L in layers], P=[L.padding for L in layers],
                    bits=[L.bits for L in layers], out_bits=[L.out_bits for L in layers],
                    groups=[L.groups for L in layers], dw=[int(L.depthwise) for L in layers])
        self.arrays = {k: np.array(v, dtype=np.int64) for k, v in cols.items()}

    def _fixed_costs(self) -> None:
        from hw_model.cost import chunk_resources, energy_pj
        cyc = {c.name: 0 for c in self.fixed_chunks}
        self.fixed_energy, self.fixed_bytes = 0.0, 0
        for c, g, n in vector_layer_cycles(self.vector_layers, self.memory)[1]:
            cyc[c.name] += int(job_busy(job_dispatch(self.memory), n, job_retire(self.memory)))
            self.fixed_energy += float(energy_pj(g.fields)["total"])
            self.fixed_bytes += int(traffic(g.fields)["bytes"])
        self.fixed_cycles = max(cyc.values(), default=0)
        res = [chunk_resources(c, self.memory) for c in self.fixed_chunks]
        self.fixed_dsp = sum(r["dsp"] for r in res)
        self.fixed_bram = sum(r["bram18"] for r in res)

    def space(self, options: dict | None = None, pixel: bool = False) -> Space:
        """The design space; pixel=True lets every chunk of standard convolutions choose the pixel dataflow."""
        opts = dict(options or DEFAULT_OPTIONS)
        if pixel:
            opts["df"] = (DF_CHANNEL, DF_PIXEL)
        return Space(self.slots, self.memory, opts, fixed_chunks=self.fixed_chunks,
                     large_map=self.large_map or Accelerator.large_map)


def vector_layer_cycles(layers: list[Layer], memory: MemoryInterface):
    """The vector chunks of a workload's adds and pools and, per vector layer, (chunk, geometry, cycles)."""
    from hw_model.cycles import layer_cycles
    from hw_model.mapping import check_fits, default_mapping
    chunks = vector_chunks(layers, memory)
    by_bits = {c.bits: c for c in chunks}
    out = []
    for L in layers:
        if L.vector:
            c = by_bits[L.bits]
            g = check_fits(L, c, memory, default_mapping(L, c, memory))
            out.append((c, g, layer_cycles(g)))
    return chunks, out


@dataclass
class Scores:
    metric: np.ndarray          # [B] latency in cycles of the slowest chunk, energy in pJ, or EDP
    cycles: np.ndarray          # [B] cycles a frame: the slowest chunk's, or the memory bandwidth's bound if longer
    frame_bytes: np.ndarray     # [B] bytes a frame moves on the memory ports
    energy_pj: np.ndarray       # [B]
    dsp: np.ndarray
    bram18: np.ndarray
    chunk_cycles: np.ndarray    # [B, C]
    chunk_share: np.ndarray     # [B, C] the chunk's share of the budget: max(dsp/budget, bram/budget)
    chunk_valid: np.ndarray     # [B, C]
    valid: np.ndarray           # [B] every layer fits its chunk
    within: np.ndarray          # [B] valid and within the budget
    overuse: np.ndarray         # [B] relative resource overuse (0 when within)


def score(idx: np.ndarray, space: Space, work: Workload, budget: Budget, metric: str = "latency") -> Scores:
    """Evaluate designs idx [B, C, F] on the workload."""
    if metric not in METRICS:
        raise ConfigError("metric", metric, f"one of {list(METRICS)}")
    vals = space.values(idx)                                    # [B, C, F]
    per = {f: vals[..., i] for i, f in enumerate(FACTORS)}      # [B, C]
    lay = {f: per[f][:, work.slot_of] for f in FACTORS}         # [B, L]
    mk = np.array([s.max_kernel for s in space.slots])[work.slot_of]
    ms = np.array([s.max_stride for s in space.slots])[work.slot_of]
    r = evaluate(with_energy=metric != "latency", **work.arrays, px=lay["df"] == DF_PIXEL, tm=lay["tm"], tn=lay["tn"],
                 trb_cap=lay["trb"],
                 tcb_cap=lay["tcb"], tmb_cap=lay["tmb"], tnb_cap=lay["tnb"], max_kernel=mk, max_stride=ms,
                 bus=space.memory.bus_bits, lat=space.memory.read_latency)
    # the frame period of the frames pipelined over the chunks (hw_model.schedule): the busiest chunk's load,
    # each layer's job with its dispatch and retire
    period, chunk_cycles = period_cycles(r["cycles"], work.onehot, job_dispatch(space.memory),
                                         job_retire(space.memory))     # [B], [B, C]
    frame_bytes = traffic(r["fields"])["bytes"].sum(axis=1) + work.fixed_bytes
    # the memory bandwidth is a budget: the frames are paced to it where it is the slower (hw_model.bandwidth)
    bw = paced_cycles(frame_bytes, budget.clock_mhz, budget.bandwidth_gb_s)
    cycles = np.maximum(np.maximum(period, work.fixed_cycles), bw)
    energy = (r["energy_pj"].sum(axis=1) if "energy_pj" in r else np.zeros(len(idx))) + work.fixed_energy
    bits = np.array([s.bits for s in space.slots])
    res = resources_fields(bits=bits, tm=per["tm"], tn=per["tn"], trb=per["trb"], tcb=per["tcb"], tmb=per["tmb"],
                           tnb=per["tnb"], max_kernel=np.array([s.max_kernel for s in space.slots]),
                           max_stride=np.array([s.max_stride for s in space.slots]), bus=space.memory.bus_bits,
                           dw=np.array([int(s.depthwise) for s in space.slots]), px=per["df"] == DF_PIXEL)
    dsp, bram = res["dsp"].sum(axis=1) + work.fixed_dsp, res["bram18"].sum(axis=1) + work.fixed_bram
    # a chunk must also hold one beat of each output width it writes (Accelerator's own validation)
    bus = space.memory.bus_bits
    v_out_max = np.array([bus // min(s.out_bits) for s in space.slots])
    fits_c = ((~r["fits"]).astype(np.int64) @ work.onehot == 0) & (per["tmb"] >= v_out_max)   # [B, C]
    valid = fits_c.all(axis=1)
    share = np.maximum(res["dsp"] / budget.dsp, res["bram18"] / budget.bram18)
    overuse = np.maximum(0, dsp / budget.dsp - 1) + np.maximum(0, bram / budget.bram18 - 1)
    within = valid & (overuse == 0)
    delay_s = cycles / (budget.clock_mhz * 1e6)
    m = {"latency": cycles.astype(float), "energy": energy, "edp": energy * delay_s}[metric]
    return Scores(metric=m, cycles=cycles, frame_bytes=frame_bytes, energy_pj=energy, dsp=dsp, bram18=bram,
                  chunk_cycles=chunk_cycles,
                  chunk_share=share, chunk_valid=fits_c, valid=valid, within=within, overuse=overuse)
