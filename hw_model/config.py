"""The workload and the hardware: Layer, MemoryInterface, Chunk, Accelerator.

Frozen dataclasses, validated on construction, loaded from and saved to JSON/YAML. Every other package
(rtl_gen, sim, search) reads these; none of them re-derives a width, a tile or a latency on its own.
"""
from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field

from .errors import ConfigError
from .io import atomic_write_json, atomic_write_text, load_data
from .timing import MAX_BURST_BEATS, min_axi_read_latency

SUPPORTED_BITS = (4, 5, 6, 7, 8)
# out_bits = LOGIT_BITS: the layer writes its int32 accumulators plus bias as they are (the classifier's
# logits): no requantization, no ReLU. Channel chunks only.
LOGIT_BITS = 32
SUPPORTED_BUS_BITS = (64, 128, 256, 512)
MAX_READ_LATENCY = 255     # cycles: a DRAM's round trip (40-100) behind the bridge's queues
AXI_PAGE_BYTES = 4096      # no AXI burst crosses a 4 KB boundary
# channel:   tm x tn array, output channels x input channels, adder trees (standard and grouped convolutions)
# depthwise: tm lanes, each channel its own input (depthwise convolutions), as the method's Tn = 1 chunks
# pixel:     tm x tn array, output channels x output columns, one input channel per cycle (standard and
#            grouped convolutions; suits layers with few input channels, such as a stem)
# vector:    one channel per cycle through two 16-bit multipliers: residual adds and global average pooling
DATAFLOWS = ("channel", "depthwise", "pixel", "vector")
# add:     out = clamp((a * mult_a + b * mult_b + round) >> shift, 0, 2^out_bits - 1), a and b at `bits`
# avgpool: out = clamp((sum over the map of x * mult_a + round) >> shift, ...), output map 1 x 1
OPS = ("conv", "add", "avgpool")
# The method's chunk split by feature-map size: a chunk serves layers whose output map has at least
# `large_map` rows (large), fewer (small), or any.
MAP_CLASSES = ("any", "large", "small")
VECTOR_OPS = ("add", "avgpool")
MAX_CHANNELS = 4096
MAX_MAP = 1024
MAX_KERNEL = 11
PARAM_RECORD_BITS = 64  # one requantization record per output channel: bias[31:0] mult[47:32] shift[53:48]
MULT_BITS = 16
SHIFT_BITS = 6
BIAS_BITS = 32
RECORD_FIELD_BITS = BIAS_BITS + MULT_BITS + SHIFT_BITS   # a record's used bits, as the record buffers hold them
# The datapath's widths: int32 accumulators; the requantizer's acc + bias, then (acc + bias) * mult exactly
ACC_BITS = 32
REQ_SUM_BITS = BIAS_BITS + 1
REQ_PRODUCT_BITS = REQ_SUM_BITS + MULT_BITS + 1
# Layer-level counters (steps, map coordinates, beat indices): tile counters take mapping.field_bounds instead
COUNTER_BITS = 16


def _check_int(where: str, name: str, value, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}.{name}", value, f"an integer in [{lo}, {hi if hi is not None else 'inf'}]")
    if value < lo or (hi is not None and value > hi):
        raise ConfigError(f"{where}.{name}", value, f"an integer in [{lo}, {hi if hi is not None else 'inf'}]")
    return value


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_choice(field: str, value, allowed) -> None:
    """value is an int (not 8.0, not True) among `allowed`."""
    if not _is_int(value) or value not in allowed:
        raise ConfigError(field, value, f"one of {list(allowed)}")


def _duplicates(names) -> list:
    """The names that occur more than once (linear: a network may have tens of thousands of layers)."""
    from collections import Counter
    return sorted(n for n, k in Counter(names).items() if k > 1)


def ascii_identifier(name) -> bool:
    """A name every generated language takes (Verilog, Tcl, C, shell, file names): ASCII letters, digits, '_'."""
    return isinstance(name, str) and name.isascii() and name.isidentifier()


def _from_dict(cls, data, where: str, **extra):
    """Build a dataclass from a dict, rejecting unknown and missing fields with one clear line."""
    if not isinstance(data, dict):
        raise ConfigError(where, type(data).__name__, "an object with fields " + ", ".join(
            f.name for f in dataclasses.fields(cls) if f.init))
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}", "unknown field", "one of " + ", ".join(sorted(names)))
    required = {f.name for f in dataclasses.fields(cls) if f.init and f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING}
    missing = sorted(required - set(data))
    if missing:
        raise ConfigError(f"{where}.{missing[0]}", "missing", "a value (required field)")
    return cls(**data, **extra)


@dataclass(frozen=True)
class Layer:
    """One layer of the workload. Field names are the JSON names."""

    name: str
    in_channels: int
    out_channels: int
    in_size: tuple[int, int]
    kernel: int | None = None     # default: 3 for conv, 1 for vector ops
    stride: int = 1
    padding: int = 0
    groups: int = 1
    bits: int = 8
    out_bits: int | None = None
    op: str = "conv"

    def __post_init__(self):
        w = f"layer[{self.name!r}]" if isinstance(self.name, str) else "layer"
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError("layer.name", self.name, "a non-empty string")
        if self.op not in OPS:
            raise ConfigError(f"{w}.op", self.op, f"one of {list(OPS)}")
        if self.kernel is None:
            object.__setattr__(self, "kernel", 1 if self.op in VECTOR_OPS else 3)
        _check_int(w, "in_channels", self.in_channels, 1, MAX_CHANNELS)
        _check_int(w, "out_channels", self.out_channels, 1, MAX_CHANNELS)
        size = self.in_size
        if not isinstance(size, (list, tuple)) or len(size) != 2:
            raise ConfigError(f"{w}.in_size", size, "[H, W] with two positive integers")
        for i, v in enumerate(size):
            _check_int(w, f"in_size[{i}]", v, 1, MAX_MAP)
        object.__setattr__(self, "in_size", (int(size[0]), int(size[1])))
        _check_int(w, "kernel", self.kernel, 1, MAX_KERNEL)
        _check_int(w, "stride", self.stride, 1, 8)
        _check_int(w, "padding", self.padding, 0, self.kernel - 1)
        _check_int(w, "groups", self.groups, 1, MAX_CHANNELS)
        for name in ("in_channels", "out_channels"):
            if getattr(self, name) % self.groups:
                raise ConfigError(f"{w}.groups", self.groups, f"a divisor of {name} = {getattr(self, name)}")
        _check_choice(f"{w}.bits", self.bits, SUPPORTED_BITS)
        if self.out_bits is None:
            object.__setattr__(self, "out_bits", self.bits)
        if self.vector:
            for name, want in (("kernel", 1), ("stride", 1), ("padding", 0), ("groups", 1)):
                if getattr(self, name) != want:
                    raise ConfigError(f"{w}.{name}", getattr(self, name), f"{want} for an {self.op} layer")
            if self.out_channels != self.in_channels:
                raise ConfigError(f"{w}.out_channels", self.out_channels,
                                  f"in_channels = {self.in_channels} for an {self.op} layer")
        logits_ok = self.op == "conv" and not self.depthwise
        if not _is_int(self.out_bits) or (self.out_bits not in SUPPORTED_BITS
                                          and not (logits_ok and self.out_bits == LOGIT_BITS)):
            raise ConfigError(f"{w}.out_bits", self.out_bits, f"one of {list(SUPPORTED_BITS)}"
                              + (f" or {LOGIT_BITS} (int32 logits)" if logits_ok else ""))
        if self.depthwise and self.out_channels != self.in_channels:
            raise ConfigError(f"{w}.out_channels", self.out_channels,
                              f"in_channels = {self.in_channels} for a depthwise convolution")
        if self.depthwise and self.out_bits != self.bits:
            raise ConfigError(f"{w}.out_bits", self.out_bits,
                              f"bits = {self.bits} for a depthwise convolution (its channel tiles serve both)")
        # int32 accumulators: the largest |sum| of N*K*K products of (2^b - 1) x 2^(b-1) must fit
        worst = ((1 << self.bits) - 1) * (1 << (self.bits - 1))
        limit = (2 ** 31 - 1) // worst
        if self.in_channels // self.groups * self.kernel ** 2 > limit:
            raise ConfigError(f"{w}.in_channels", self.in_channels,
                              f"in_channels * kernel^2 <= {limit} at {self.bits} bits (int32 accumulators)")
        for i, (dim, name) in enumerate(zip(self.in_size, "HW")):
            if dim + 2 * self.padding < self.kernel:
                raise ConfigError(f"{w}.in_size[{i}]", dim,
                                  f"at least kernel - 2*padding = {self.kernel - 2 * self.padding}")

    @property
    def depthwise(self) -> bool:
        """One filter per channel: groups == in_channels (> 1). Runs on a depthwise chunk."""
        return self.groups > 1 and self.groups == self.in_channels

    @property
    def vector(self) -> bool:
        """A residual add or a global average pool: runs on a vector chunk."""
        return self.op in VECTOR_OPS

    @property
    def dataflow(self) -> str:
        """The kind of chunk that runs this layer."""
        return "vector" if self.vector else "depthwise" if self.depthwise else "channel"

    def map_class(self, large_map: int) -> str:
        """'large' when the output map has at least large_map rows, else 'small' (the method's chunk split)."""
        return "large" if self.out_size[0] >= large_map else "small"

    @property
    def out_size(self) -> tuple[int, int]:
        if self.op == "avgpool":
            return (1, 1)
        return tuple((d + 2 * self.padding - self.kernel) // self.stride + 1 for d in self.in_size)

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the MAC array (0 for vector ops)."""
        if self.vector:
            return 0
        ho, wo = self.out_size
        return ho * wo * self.out_channels * self.in_channels * self.kernel ** 2 // self.groups

    @classmethod
    def from_dict(cls, d, where="layer") -> "Layer":
        if isinstance(d, dict) and "in_size" in d and isinstance(d["in_size"], list):
            d = {**d, "in_size": tuple(d["in_size"])}
        return _from_dict(cls, d, where)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["in_size"] = list(self.in_size)
        return d


def load_layers(path) -> list[Layer]:
    data = load_data(path)
    if isinstance(data, dict) and "layers" in data:
        data = data["layers"]
    if not isinstance(data, list) or not data:
        raise ConfigError(f"{path}", type(data).__name__, "a non-empty list of layers (or {\"layers\": [...]})")
    layers = [Layer.from_dict(d, where=f"layers[{i}]") for i, d in enumerate(data)]
    names = [l.name for l in layers]
    dup = _duplicates(names)
    if dup:
        raise ConfigError("layers[].name", dup[0], "unique layer names")
    return layers


@dataclass(frozen=True)
class MemoryInterface:
    """The chunk's memory port: one read stream with a fixed latency and one write stream, bus_bits wide; and
    what the memory system behind all the chunks' ports sustains (bandwidth_gb_s, GB/s = 1e9 bytes a second; None:
    each port at its full rate, one beat a cycle each way), which bounds the frame rate (hw_model.bandwidth)."""

    bus_bits: int = 64
    read_latency: int = 4
    addr_bits: int = 24
    bandwidth_gb_s: float | None = None
    burst_beats: int = 1          # beats an AXI read or write burst gathers at most (1: single-beat transfers)

    def __post_init__(self):
        _check_choice("memory.bus_bits", self.bus_bits, SUPPORTED_BUS_BITS)
        _check_int("memory", "read_latency", self.read_latency, 1, MAX_READ_LATENCY)
        _check_int("memory", "addr_bits", self.addr_bits, 12, 32)
        _check_int("memory", "burst_beats", self.burst_beats, 1, min(MAX_BURST_BEATS, self.page_beats))
        least = min_axi_read_latency(self.burst_beats)
        if self.burst_beats > 1 and self.read_latency < least:
            raise ConfigError("memory.read_latency", self.read_latency,
                              f"at least {least} with burst_beats {self.burst_beats} (the bridge gathers a burst "
                              f"for up to that many cycles, hw_model.timing.axi_read_slack)")
        bw = self.bandwidth_gb_s
        if bw is not None and (isinstance(bw, bool) or not isinstance(bw, (int, float)) or not 0.001 <= bw <= 10000):
            raise ConfigError("memory.bandwidth_gb_s", bw, "a number of GB/s in [0.001, 10000], or null (no limit)")

    def values_per_beat(self, bits: int) -> int:
        """Packed values of `bits` bits in one bus beat: floor(bus_bits / bits)."""
        return self.bus_bits // bits

    @property
    def records_per_beat(self) -> int:
        return self.bus_bits // PARAM_RECORD_BITS

    @property
    def page_beats(self) -> int:
        """Beats in an AXI 4 KB page (no burst crosses one; the memory window starts on one)."""
        return AXI_PAGE_BYTES // (self.bus_bits // 8)


@dataclass(frozen=True)
class Chunk:
    """One sub-accelerator: a tm x tn MAC array of `bits`-bit multipliers with its buffers.

    trb, tcb, tmb, tnb are the buffer tiles (output rows, output columns, output channels, input channels)
    that size the on-chip buffers; a layer's own tiles (its mapping) may be any shape that fits them.
    max_kernel and max_stride size the input buffer's halo.
    """

    name: str
    bits: int = 8
    dataflow: str = "channel"
    tm: int = 8
    tn: int = 8
    trb: int = 8
    tcb: int = 8
    tmb: int = 32
    tnb: int = 32
    max_kernel: int = 3
    max_stride: int = 2
    out_bits: tuple[int, ...] = (4, 6, 8)
    maps: str = "any"

    def __post_init__(self):
        if not ascii_identifier(self.name):
            raise ConfigError("chunk.name", self.name, "an identifier (ASCII letters, digits, underscore)")
        w = f"chunks[{self.name!r}]"
        _check_choice(f"{w}.bits", self.bits, SUPPORTED_BITS)
        if self.dataflow not in DATAFLOWS:
            raise ConfigError(f"{w}.dataflow", self.dataflow, f"one of {list(DATAFLOWS)}")
        if self.maps not in MAP_CLASSES:
            raise ConfigError(f"{w}.maps", self.maps, f"one of {list(MAP_CLASSES)}")
        _check_int(w, "tm", self.tm, 1, 64)
        _check_int(w, "tn", self.tn, 1, 64)
        _check_int(w, "trb", self.trb, 1, 256)
        _check_int(w, "tcb", self.tcb, 1, 256)
        _check_int(w, "tmb", self.tmb, 1, MAX_CHANNELS)
        _check_int(w, "tnb", self.tnb, 1, MAX_CHANNELS)
        _check_int(w, "max_kernel", self.max_kernel, 1, MAX_KERNEL)
        _check_int(w, "max_stride", self.max_stride, 1, 8)
        ob = self.out_bits
        if _is_int(ob):
            ob = (ob,)
        allowed = SUPPORTED_BITS + ((LOGIT_BITS,) if self.kind == "channel" else ())
        if not isinstance(ob, (list, tuple)) or not ob or any(not _is_int(b) or b not in allowed for b in ob):
            raise ConfigError(f"{w}.out_bits", self.out_bits, f"a non-empty list drawn from {list(allowed)}")
        object.__setattr__(self, "out_bits", tuple(sorted(set(int(b) for b in ob))))
        if self.dataflow == "vector":
            for name in ("tm", "tn", "trb"):
                if getattr(self, name) != 1:
                    raise ConfigError(f"{w}.{name}", getattr(self, name),
                                      "1 for a vector chunk (one channel per cycle; tcb pixels per step)")
            if self.tnb != self.tmb:
                raise ConfigError(f"{w}.tnb", self.tnb, f"tmb = {self.tmb} for a vector chunk (its channel capacity)")
        if self.dataflow == "depthwise":
            if self.tn != 1:
                raise ConfigError(f"{w}.tn", self.tn, "1 for a depthwise chunk (each lane reads its own channel)")
            if self.tnb != self.tmb:
                raise ConfigError(f"{w}.tnb", self.tnb, f"tmb = {self.tmb} for a depthwise chunk")
        if self.tm > self.tmb:
            raise ConfigError(f"{w}.tm", self.tm, f"at most its buffer tile tmb = {self.tmb}")
        if self.tn > self.tnb and not self.pixel:     # (a pixel chunk's tn counts output columns)
            raise ConfigError(f"{w}.tn", self.tn, f"at most its buffer tile tnb = {self.tnb}")

    # Buffer geometry. Each buffer is double-banked except the parameter buffer; depths are per bank.
    @property
    def depthwise(self) -> bool:
        return self.dataflow == "depthwise"

    @property
    def vector(self) -> bool:
        return self.dataflow == "vector"

    @property
    def pixel(self) -> bool:
        return self.dataflow == "pixel"

    @property
    def kind(self) -> str:
        """The layers it runs: channel and pixel chunks both run standard and grouped convolutions."""
        return "channel" if self.dataflow == "pixel" else self.dataflow

    def buffers(self, bus_bits: int) -> dict:
        """Buffer depths per bank (input words, weight beats, accumulator words, records), any dataflow."""
        if self.pixel:
            from .derive import pixel_buffers
            return {k: int(v) for k, v in pixel_buffers(
                tm=self.tm, tn=self.tn, trb=self.trb, tcb=self.tcb, tmb=self.tmb, tnb=self.tnb,
                max_kernel=self.max_kernel, max_stride=self.max_stride, v_in=bus_bits // self.bits).items()}
        return dict(in_depth=self.in_depth, w_depth=self.w_depth, acc_depth=self.acc_depth, p_depth=self.p_depth)

    def vec_depth(self, bus_bits: int) -> int:
        """Vector chunk: pixel-buffer beats per source and bank (tcb pixels of up to tmb channels)."""
        return self.tcb * math.ceil(self.tmb / (bus_bits // self.bits))

    @functools.cached_property
    def _channel_buffers(self) -> dict:
        from .derive import channel_buffers
        return {k: int(v) for k, v in channel_buffers(
            tm=self.tm, tn=self.tn, trb=self.trb, tcb=self.tcb, tmb=self.tmb, tnb=self.tnb, max_kernel=self.max_kernel,
            max_stride=self.max_stride, dw=int(self.depthwise)).items()}

    @property
    def lanes_in(self) -> int:
        """Input-buffer lanes: tn input channels (channel), or the tm channels themselves (depthwise)."""
        return self._channel_buffers["lanes_in"]

    @property
    def rows_in_max(self) -> int:
        return self._channel_buffers["rows_in_max"]

    @property
    def cols_in_max(self) -> int:
        return self._channel_buffers["cols_in_max"]

    @property
    def in_depth(self) -> int:
        """Words per bank in each input lane."""
        return self._channel_buffers["in_depth"]

    @property
    def w_depth(self) -> int:
        """Words (one bus beat each) per bank in each weight bank."""
        return self._channel_buffers["w_depth"]

    @property
    def acc_depth(self) -> int:
        """int32 words per bank in each of the tm accumulator lanes."""
        return self._channel_buffers["acc_depth"]

    @property
    def p_depth(self) -> int:
        """Requantization records in each of the tm parameter lanes."""
        return self._channel_buffers["p_depth"]

    @classmethod
    def from_dict(cls, d, where="chunk") -> "Chunk":
        if isinstance(d, dict) and isinstance(d.get("out_bits"), list):
            d = {**d, "out_bits": tuple(d["out_bits"])}
        return _from_dict(cls, d, where)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["out_bits"] = list(self.out_bits)
        return d


# the clock a design is scored at unless told: what the default target (an LFE5U-85F-8, fpga.target) routes the
# default accelerator at (docs/timing-closure.md); `make fpga` reports the routed Fmax beside it
DEFAULT_CLOCK_MHZ = 100.0
# the memory bandwidth a search budgets unless told: the default target board's (a 16-bit DDR3 at 800 MT/s)
DEFAULT_BANDWIDTH_GB_S = 1.6


@dataclass(frozen=True)
class Accelerator:
    """A set of chunks sharing one memory interface and one clock."""

    name: str
    chunks: tuple[Chunk, ...]
    memory: MemoryInterface = field(default_factory=MemoryInterface)
    clock_mhz: float = DEFAULT_CLOCK_MHZ
    large_map: int = 16         # output rows from which a layer's map is large (the method: 16 on CIFAR)

    def __post_init__(self):
        if not isinstance(self.name, str) or not ascii_identifier(self.name.replace("-", "_")):
            raise ConfigError("name", self.name, "an identifier (ASCII letters, digits, '_' or '-')")
        if not isinstance(self.clock_mhz, (int, float)) or isinstance(self.clock_mhz, bool) \
                or not 1 <= self.clock_mhz <= 2000:
            raise ConfigError("clock_mhz", self.clock_mhz, "a number in [1, 2000]")
        if not self.chunks:
            raise ConfigError("chunks", [], "at least one chunk")
        _check_int("config", "large_map", self.large_map, 1, MAX_MAP)
        names = [c.name for c in self.chunks]
        dup = _duplicates(names)
        if dup:
            raise ConfigError("chunks[].name", dup[0], "unique chunk names")
        bus = self.memory.bus_bits
        for c in self.chunks:
            w = f"chunks[{c.name!r}]"
            if c.vector:
                continue
            for b in (c.bits, *c.out_bits):
                v = bus // b
                if c.tnb < bus // c.bits:
                    raise ConfigError(f"{w}.tnb", c.tnb,
                                      f"at least one bus beat of inputs: floor({bus}/{c.bits}) = {bus // c.bits}")
                if c.tmb < v and b in c.out_bits:
                    raise ConfigError(f"{w}.tmb", c.tmb,
                                      f"at least one bus beat of {b}-bit outputs: floor({bus}/{b}) = {v}")

    def chunk(self, name: str) -> Chunk:
        for c in self.chunks:
            if c.name == name:
                return c
        raise ConfigError("chunk", name, "one of " + ", ".join(c.name for c in self.chunks))

    def chunk_for(self, layer: Layer) -> Chunk:
        """The layer-to-chunk rule: the first chunk of the layer's kind (channel, depthwise or vector) and
        bit-width that can write its out_bits. Grouped (not depthwise) convolutions run on channel chunks."""
        kind, size = layer.dataflow, self.map_class(layer)
        for c in self.chunks:
            if c.kind == kind and c.bits == layer.bits and layer.out_bits in c.out_bits and c.maps in ("any", size):
                return c
        have = ", ".join(f"{c.name}: {c.dataflow} bits {c.bits} -> out_bits {list(c.out_bits)}, {c.maps} maps"
                         for c in self.chunks)
        raise ConfigError(f"layer[{layer.name!r}].bits", (kind, layer.bits, layer.out_bits, size),
                          f"a (dataflow, bits, out_bits, map size) served by a chunk ({have})")

    def map_class(self, layer: Layer) -> str:
        """The layer's map size class under this accelerator's large_map."""
        return layer.map_class(self.large_map)

    @classmethod
    def from_dict(cls, d) -> "Accelerator":
        if not isinstance(d, dict):
            raise ConfigError("config", type(d).__name__, "an object with name, chunks, memory, clock_mhz")
        d = dict(d)
        d.pop("$schema", None)
        # A search result (out/best.json) carries the accelerator under "accelerator".
        if "accelerator" in d and "chunks" not in d:
            if not isinstance(d["accelerator"], dict):
                raise ConfigError("accelerator", type(d["accelerator"]).__name__, "the accelerator object a search writes")
            d = dict(d["accelerator"])
        chunks = d.get("chunks")
        if not isinstance(chunks, list):
            raise ConfigError("chunks", chunks, "a non-empty list of chunk objects")
        d["chunks"] = tuple(Chunk.from_dict(c, where=f"chunks[{i}]") for i, c in enumerate(chunks))
        if "memory" in d:
            d["memory"] = _from_dict(MemoryInterface, d["memory"], "memory")
        return _from_dict(cls, d, "config")

    def to_dict(self) -> dict:
        return {"name": self.name, "clock_mhz": self.clock_mhz, "large_map": self.large_map,
                "memory": dataclasses.asdict(self.memory),
                "chunks": [c.to_dict() for c in self.chunks]}

    @classmethod
    def load(cls, path) -> "Accelerator":
        return cls.from_dict(load_data(path))

    def save(self, path) -> None:
        if str(path).endswith((".yaml", ".yml")):
            import yaml
            atomic_write_text(path, yaml.safe_dump(self.to_dict(), sort_keys=False))
        else:
            atomic_write_json(path, self.to_dict())
