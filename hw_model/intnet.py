"""The integer network: the graph of integer layers the hardware runs, and its exact inference.

A search result's network is `IntGraph`: typed nodes in execution order, named as the hardware layers
(`network.layers` of best.json), each reading the tensors of the nodes it names ("input" is the image).
Tensors flow as unsigned integers; every node requantizes to its consumer's input bit-width with
hw_model.numerics, the one definition of the arithmetic. `int_forward` runs it in numpy (int64 throughout),
the golden reference of sim and the FPGA flow; the search keeps a torch form for speed, tested equal.

Files (docs/file_formats.md): best.json's `network.integer_graph` holds the nodes without their tensors
(`IntGraph.to_json`); the weights file beside it (`save_weights`, numpy .npz, read with allow_pickle=False: data,
never code) holds the tensors, the input quantization and the test inputs the search scored.
"""
from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import LOGIT_BITS, MULT_BITS, SHIFT_BITS, SUPPORTED_BITS
from .errors import ConfigError
from .numerics import avgpool_int, conv2d_int, requantize, round_shift_clamp

WEIGHTS_FORMAT = "trips-int-v2"
INPUT = "input"           # the name under which nodes read the image
TENSORS = ("weight", "bias", "mult", "shift")


@dataclass(frozen=True, eq=False)
class ConvNode:
    """A convolution (or the classifier, out_bits = LOGIT_BITS: int32 logits `acc + bias`, no requantization).
    weight [M, N/groups, K, K] signed `bits`-bit ints; bias, mult, shift [M] (mult/shift None for logits)."""

    name: str
    input: str
    stride: int
    padding: int
    groups: int
    bits: int
    out_bits: int
    weight: np.ndarray
    bias: np.ndarray
    mult: np.ndarray | None = None
    shift: np.ndarray | None = None

    @property
    def op(self) -> str:
        return "fc" if self.out_bits == LOGIT_BITS else "conv"

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.input,)

    @property
    def kernel(self) -> int:
        return int(self.weight.shape[-1])

    @property
    def in_channels(self) -> int:
        return int(self.weight.shape[1] * self.groups)

    @property
    def out_channels(self) -> int:
        return int(self.weight.shape[0])


@dataclass(frozen=True)
class AddNode:
    """Residual add: clamp((a*mult_a + b*mult_b + round) >> shift); both inputs at `bits`."""

    name: str
    inputs: tuple[str, str]
    mult_a: int
    mult_b: int
    shift: int
    bits: int
    out_bits: int
    op = "add"


@dataclass(frozen=True)
class PoolNode:
    """Global average pool: clamp((sum over the map * mult_a + round) >> shift)."""

    name: str
    input: str
    mult_a: int
    shift: int
    bits: int
    out_bits: int
    op = "avgpool"

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.input,)

    @property
    def mult_b(self) -> int:
        return 0


Node = ConvNode | AddNode | PoolNode


@dataclass(frozen=True, eq=False)
class IntGraph:
    input_scale: float                 # real value of one input step: x_int = round(x / input_scale)
    input_bits: int
    nodes: tuple[Node, ...]

    def node(self, name: str) -> Node:
        return self._by_name()[name]

    def _by_name(self) -> dict[str, Node]:
        return {n.name: n for n in self.nodes}

    def to_json(self) -> list[dict]:
        """The nodes without their tensors (those go to the weights file)."""
        out = []
        for n in self.nodes:
            if isinstance(n, ConvNode):
                out.append({"op": n.op, "name": n.name, "input": n.input, "stride": n.stride, "padding": n.padding,
                            "groups": n.groups, "bits": n.bits, "out_bits": n.out_bits, "kernel": n.kernel,
                            "in_channels": n.in_channels, "out_channels": n.out_channels})
            elif isinstance(n, AddNode):
                out.append({"op": "add", "name": n.name, "inputs": list(n.inputs), "mult_a": n.mult_a,
                            "mult_b": n.mult_b, "shift": n.shift, "bits": n.bits, "out_bits": n.out_bits})
            else:
                out.append({"op": "avgpool", "name": n.name, "input": n.input, "mult_a": n.mult_a, "shift": n.shift,
                            "bits": n.bits, "out_bits": n.out_bits})
        return out

    def tensors(self) -> dict[str, np.ndarray]:
        """`<node>.weight` (int8), `<node>.bias`, `.mult`, `.shift` (int32)."""
        out = {}
        for n in self.nodes:
            if isinstance(n, ConvNode):
                for k in TENSORS:
                    v = getattr(n, k)
                    if v is not None:
                        out[f"{n.name}.{k}"] = np.asarray(v).astype(np.int8 if k == "weight" else np.int32)
        return out


def shuffle_perm(c: int, groups: int = 2) -> np.ndarray:
    """Output channel j of a channel shuffle reads input channel perm[j]."""
    j = np.arange(c)
    return (j % groups) * (c // groups) + j // groups


# ------------------------------------------------------------------------------------------------ inference
def quantize_input(x: np.ndarray, graph: IntGraph) -> np.ndarray:
    """Real images [B, C, H, W] in [0, 1] -> unsigned integers at the graph's input bits (round half to even)."""
    return np.clip(np.round(np.asarray(x, dtype=np.float64) / graph.input_scale), 0,
                   (1 << graph.input_bits) - 1).astype(np.int64)


def run_node(n: Node, ins: list[np.ndarray]) -> np.ndarray:
    """One node on a batch: inputs [B, C, H, W] int64 -> [B, M, Ho, Wo] int64."""
    if isinstance(n, ConvNode):
        w = n.weight.astype(np.int64)
        acc = np.stack([conv2d_int(x, w, n.stride, n.padding, n.groups) for x in ins[0]])
        if n.out_bits == LOGIT_BITS:
            m = np.zeros(len(n.bias), dtype=np.int64)
            return requantize(acc, n.bias, m, m, LOGIT_BITS, axis=1)
        return requantize(acc, n.bias, n.mult, n.shift, n.out_bits, axis=1)
    if isinstance(n, AddNode):
        return round_shift_clamp(ins[0] * n.mult_a + ins[1] * n.mult_b, n.shift, n.out_bits)
    return np.stack([avgpool_int(x, n.mult_a, n.shift, n.out_bits) for x in ins[0]])


def int_forward(graph: IntGraph, images: np.ndarray, keep: bool = False):
    """Exact integer inference: images [B, C, H, W] unsigned ints -> int64 logits [B, classes]; with keep=True
    also every node's output tensor [B, M, Ho, Wo], by name."""
    t = {INPUT: np.asarray(images, dtype=np.int64)}
    for n in graph.nodes:
        t[n.name] = run_node(n, [t[k] for k in n.inputs])
    logits = t[graph.nodes[-1].name].reshape(len(t[INPUT]), -1)
    return (logits, t) if keep else logits


# ------------------------------------------------------------------------------------------------ files
def save_weights(graph: IntGraph, path: str | os.PathLike, test_images: np.ndarray | None = None,
                 test_labels: np.ndarray | None = None) -> None:
    """The weights file: the graph's tensors, its input quantization and (optionally) quantized test inputs
    with their labels, written to a temporary file and renamed into place."""
    p = Path(path)
    arrays = {"format": np.array(WEIGHTS_FORMAT), "input_scale": np.array(graph.input_scale, dtype=np.float64),
              "input_bits": np.array(graph.input_bits, dtype=np.int64), **graph.tensors()}
    if test_images is not None:
        arrays["test.images"] = np.asarray(test_images).astype(np.uint8 if graph.input_bits <= 8 else np.int32)
        arrays["test.labels"] = np.asarray(test_labels, dtype=np.int64)
    tmp = p.with_name(f".{p.name}.tmp")
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_weights(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of a weights file (numpy .npz without pickles), checked for its format tag."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError("weights_file", str(p), "the weights file the search wrote beside best.json")
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ConfigError("weights_file", str(p), f"a {WEIGHTS_FORMAT} .npz file ({type(exc).__name__})") from None
    if str(arrays.get("format", "")) != WEIGHTS_FORMAT:
        raise ConfigError("weights_file", str(p), f"a {WEIGHTS_FORMAT} weights file")
    return arrays


def _get(d: dict, key: str, where: str, kind: type, lo: int | None = None, hi: int | None = None):
    if not isinstance(d, dict):
        raise ConfigError(where, type(d).__name__, "an object")
    if key not in d:
        raise ConfigError(f"{where}.{key}", "missing", "a value (required field)")
    v = d[key]
    if kind is int:
        if isinstance(v, bool) or not isinstance(v, int) or (lo is not None and v < lo) or (hi is not None and v > hi):
            raise ConfigError(f"{where}.{key}", v, f"an integer in [{lo}, {hi}]")
    elif kind is str:
        if not isinstance(v, str) or not v:
            raise ConfigError(f"{where}.{key}", v, "a name")
    elif not isinstance(v, kind):
        raise ConfigError(f"{where}.{key}", v, f"a {kind.__name__}")
    return v


def _tensor(arrays: dict, name: str, key: str, shape: tuple, lo: int, hi: int) -> np.ndarray:
    k = f"{name}.{key}"
    if k not in arrays:
        raise ConfigError("weights_file", f"no {k}", "a tensor for every node of network.integer_graph")
    a = arrays[k]
    if a.dtype.kind not in "iu" or tuple(a.shape) != shape:
        raise ConfigError(f"weights_file[{k}]", f"{a.dtype}{list(a.shape)}", f"integers of shape {list(shape)}")
    a = a.astype(np.int64)
    if a.size and (a.min() < lo or a.max() > hi):
        raise ConfigError(f"weights_file[{k}]", f"values in [{a.min()}, {a.max()}]", f"values in [{lo}, {hi}]")
    return a


def _node(d: dict, where: str, arrays: dict) -> Node:
    op = _get(d, "op", where, str)
    name = _get(d, "name", where, str)
    bits = _get(d, "bits", where, int, min(SUPPORTED_BITS), max(SUPPORTED_BITS))
    mult_max = (1 << MULT_BITS) - 1
    if op in ("conv", "fc"):
        out_bits = _get(d, "out_bits", where, int, min(SUPPORTED_BITS), LOGIT_BITS)
        groups = _get(d, "groups", where, int, 1)
        k = _get(d, "kernel", where, int, 1)
        n_in, m = _get(d, "in_channels", where, int, 1), _get(d, "out_channels", where, int, 1)
        if n_in % groups or m % groups:
            raise ConfigError(f"{where}.groups", groups, f"a divisor of in_channels {n_in} and out_channels {m}")
        wmax = (1 << (bits - 1)) - 1
        weight = _tensor(arrays, name, "weight", (m, n_in // groups, k, k), -wmax - 1, wmax)
        bias = _tensor(arrays, name, "bias", (m,), -(1 << 31), (1 << 31) - 1)
        mult = shift = None
        if out_bits != LOGIT_BITS:
            mult = _tensor(arrays, name, "mult", (m,), 0, mult_max)
            shift = _tensor(arrays, name, "shift", (m,), 0, (1 << SHIFT_BITS) - 1)
        return ConvNode(name, _get(d, "input", where, str), _get(d, "stride", where, int, 1),
                        _get(d, "padding", where, int, 0), groups, bits, out_bits, weight, bias, mult, shift)
    out_bits = _get(d, "out_bits", where, int, min(SUPPORTED_BITS), max(SUPPORTED_BITS))
    mult_a = _get(d, "mult_a", where, int, 0, mult_max)
    shift = _get(d, "shift", where, int, 0, (1 << SHIFT_BITS) - 2)
    if op == "add":
        ins = _get(d, "inputs", where, list)
        if len(ins) != 2 or not all(isinstance(i, str) and i for i in ins):
            raise ConfigError(f"{where}.inputs", ins, "two tensor names")
        return AddNode(name, (ins[0], ins[1]), mult_a, _get(d, "mult_b", where, int, 0, mult_max), shift, bits,
                       out_bits)
    if op == "avgpool":
        return PoolNode(name, _get(d, "input", where, str), mult_a, shift, bits, out_bits)
    raise ConfigError(f"{where}.op", op, "one of conv, fc, add, avgpool")


def graph_from_json(nodes: list, input_scale, input_bits, arrays: dict) -> IntGraph:
    """The inverse of IntGraph.to_json and .tensors, every field checked (one line naming it when wrong)."""
    if not isinstance(nodes, list) or not nodes:
        raise ConfigError("network.integer_graph", "missing" if not nodes else type(nodes).__name__,
                          "the list of integer nodes a search writes")
    if isinstance(input_scale, bool) or not isinstance(input_scale, (int, float)) or not 0 < input_scale < 1e30:
        raise ConfigError("network.input_scale", input_scale, "a positive number")
    if isinstance(input_bits, bool) or input_bits not in SUPPORTED_BITS:
        raise ConfigError("network.input_bits", input_bits, f"one of {list(SUPPORTED_BITS)}")
    out, seen = [], {INPUT}
    for i, d in enumerate(nodes):
        n = _node(d, f"network.integer_graph[{i}]", arrays)
        for k in n.inputs:
            if k not in seen:
                raise ConfigError(f"network.integer_graph[{i}].input", k, "the name of an earlier node or 'input'")
        if n.name in seen:
            raise ConfigError(f"network.integer_graph[{i}].name", n.name, "a name no earlier node has")
        seen.add(n.name)
        out.append(n)
    return IntGraph(float(input_scale), int(input_bits), tuple(out))


def stored_inputs(weights_path: str | os.PathLike, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first n quantized test images [n, C, H, W] (int64) and labels the search stored in its weights file."""
    arrays = load_weights(weights_path)
    if "test.images" not in arrays or "test.labels" not in arrays:
        raise ConfigError("weights_file", str(weights_path), "a weights file with the search's test inputs")
    x, y = arrays["test.images"], arrays["test.labels"]
    if x.ndim != 4 or y.shape != (len(x),):
        raise ConfigError("weights_file[test.images]", list(x.shape), "[N, C, H, W] images with N labels")
    return x[:n].astype(np.int64), y[:n].astype(np.int64)
