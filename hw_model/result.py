"""A search result (out/best.json), typed: what the search writes and sim, the FPGA flow and bench read; and the
network to run, as the lower packages read it: a result's (its `network` and weights file) or the built-in
reference network (hw_model.refnet) for a configuration that carries none."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import Accelerator, Layer
from .errors import ConfigError
from .intnet import IntGraph, graph_from_json, load_weights, stored_inputs
from .refnet import reference_images, reference_network

RESULT_FORMAT = "trips-search-v1"
DEFAULT_WEIGHTS_FILE = "weights.npz"
REPORT_PARTS = ("predicted", "accuracy", "budget", "search")      # figures of the run, read as they are


@dataclass(frozen=True)
class ResultNetwork:
    """best.json's `network`: the hardware layers, the integer graph (as JSON; its tensors are in the weights
    file), the input quantization, and how the search got there."""
    layers: tuple[Layer, ...]
    integer_graph: list
    input_scale: float
    input_bits: int
    data: str = "digits"
    preset: str | None = None
    genotype: list = field(default_factory=list)

    @classmethod
    def from_json(cls, net) -> "ResultNetwork":
        if not isinstance(net, dict):
            raise ConfigError("network", type(net).__name__, "the object a search writes")
        if not isinstance(net.get("layers"), list) or not net["layers"]:
            raise ConfigError("network.layers", net.get("layers", "missing"),
                              "the list of hardware layers a search writes")
        layers = tuple(Layer.from_dict(d, where=f"network.layers[{i}]") for i, d in enumerate(net["layers"]))
        graph = net.get("integer_graph")
        if not isinstance(graph, list) or not graph:
            raise ConfigError("network.integer_graph", "missing" if not graph else type(graph).__name__,
                              "the list of integer nodes a search writes")
        scale, bits = net.get("input_scale", "missing"), net.get("input_bits", "missing")
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale < math.inf:
            raise ConfigError("network.input_scale", scale, "a positive number")
        if isinstance(bits, bool) or not isinstance(bits, int):
            raise ConfigError("network.input_bits", bits, "an integer bit-width")
        data = net.get("data", "digits")
        if not isinstance(data, str):
            raise ConfigError("network.data", data, "the data set's name")
        genotype = net.get("genotype", [])
        if not isinstance(genotype, list):
            raise ConfigError("network.genotype", type(genotype).__name__, "a list of {layer, op, bits}")
        return cls(layers, graph, float(scale), bits, data, net.get("preset"), genotype)

    def to_json(self) -> dict:
        return {"preset": self.preset, "data": self.data, "genotype": self.genotype,
                "layers": [L.to_dict() for L in self.layers], "integer_graph": self.integer_graph,
                "input_scale": self.input_scale, "input_bits": self.input_bits}


@dataclass(frozen=True)
class SearchResult:
    """out/best.json. `mapping` (layer -> chunk) is the accelerator's own choice, written for people to read;
    reading checks that it is."""
    accelerator: Accelerator
    network: ResultNetwork
    weights_file: str = DEFAULT_WEIGHTS_FILE
    name: str = "best"
    reports: dict = field(default_factory=dict)       # REPORT_PARTS, plus "plots"

    def __post_init__(self):
        wf = self.weights_file
        if not isinstance(wf, str) or not wf or Path(wf).name != wf or wf in (".", ".."):
            raise ConfigError("weights_file", wf, "a file name in the result's own folder, such as weights.npz")

    @property
    def mapping(self) -> dict[str, str]:
        return {L.name: self.accelerator.chunk_for(L).name for L in self.network.layers}

    @classmethod
    def from_json(cls, raw) -> "SearchResult":
        if not isinstance(raw, dict) or "network" not in raw:
            raise ConfigError("network", "missing", "the network a search result carries")
        fmt = raw.get("format", RESULT_FORMAT)
        if fmt != RESULT_FORMAT:
            raise ConfigError("format", fmt, f"{RESULT_FORMAT!r} (a result of this version's search)")
        acc = Accelerator.from_dict(raw)
        net = ResultNetwork.from_json(raw["network"])
        res = cls(acc, net, raw.get("weights_file", DEFAULT_WEIGHTS_FILE), acc.name,
                  {k: raw[k] for k in (*REPORT_PARTS, "plots") if k in raw})
        for k in REPORT_PARTS:
            if k in raw and not isinstance(raw[k], dict):
                raise ConfigError(k, type(raw[k]).__name__, "the object a search writes")
        written = raw.get("mapping")
        if written is not None:
            if not isinstance(written, dict):
                raise ConfigError("mapping", type(written).__name__, "an object of layer -> chunk")
            mapping = res.mapping          # every layer has a chunk (chunk_for raises otherwise)
            for name, chunk in written.items():
                if mapping.get(name, chunk) != chunk or name not in mapping:
                    raise ConfigError(f"mapping[{name!r}]", chunk, f"the chunk the accelerator maps it to "
                                                                     f"({mapping.get(name, 'no such layer')})")
        return res

    def to_json(self) -> dict:
        return {"format": RESULT_FORMAT, "name": self.name,
                "accelerator": {**self.accelerator.to_dict(), "name": self.name},
                "network": self.network.to_json(), "mapping": self.mapping,
                **{k: self.reports[k] for k in REPORT_PARTS if k in self.reports},
                "weights_file": self.weights_file,
                **({"plots": self.reports["plots"]} if "plots" in self.reports else {})}

    def weights_path(self, folder: Path) -> Path:
        return Path(folder) / self.weights_file


@dataclass
class Network:
    layers: list[Layer]
    graph: IntGraph
    images: np.ndarray            # [N, C, H, W] unsigned ints at the graph's input bits
    labels: np.ndarray | None     # the images' classes, where known
    source: str                   # what this is, in words


def has_network(raw) -> bool:
    """Whether a config as read carries a searched network."""
    return isinstance(raw, dict) and "network" in raw


def load_network(raw: dict | None, cfg_path: Path, n_images: int, seed: int = 0) -> Network:
    """The network of a search result (`raw`: the config as read, carrying `network`) with its stored test
    images, or the reference network (raw None) with random ones."""
    if raw is None:
        layers, graph = reference_network(seed=seed)
        return Network(layers, graph, reference_images(n_images, seed=seed), None, "reference network, random images")
    res = SearchResult.from_json(raw)
    wp = res.weights_path(Path(cfg_path).parent)
    net = res.network
    graph = graph_from_json(net.integer_graph, net.input_scale, net.input_bits, load_weights(wp))
    images, labels = stored_inputs(wp, n_images)
    return Network(list(net.layers), graph, images, labels,
                   f"searched network, {len(images)} {net.data} test images")
