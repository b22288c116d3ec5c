"""A network to run, as the lower packages read it: a search result's (best.json's `network` and its weights file)
or the built-in reference network (hw_model.refnet) for a configuration that carries none."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import Layer
from .errors import ConfigError
from .intnet import IntGraph, load_graph, stored_inputs
from .refnet import reference_images, reference_network

DEFAULT_WEIGHTS_FILE = "weights.npz"


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


def weights_path(raw: dict, cfg_path: Path) -> Path:
    """The weights file a result names, inside the result's own folder (a name, never a path elsewhere)."""
    name = raw.get("weights_file", DEFAULT_WEIGHTS_FILE)
    if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
        raise ConfigError("weights_file", name, "a file name in the result's own folder, such as weights.npz")
    return Path(cfg_path).parent / name


def load_network(raw: dict | None, cfg_path: Path, n_images: int, seed: int = 0) -> Network:
    """The network of a search result (`raw`: the config as read, carrying `network`) with its stored test
    images, or the reference network (raw None) with random ones."""
    if raw is None:
        layers, graph = reference_network(seed=seed)
        return Network(layers, graph, reference_images(n_images, seed=seed), None, "reference network, random images")
    if not isinstance(raw, dict) or "network" not in raw:
        raise ConfigError("network", "missing", "the network a search result carries")
    net = raw["network"]
    if not isinstance(net, dict):
        raise ConfigError("network", type(net).__name__, "the object a search writes")
    if not isinstance(net.get("layers"), list) or not net["layers"]:
        raise ConfigError("network.layers", net.get("layers", "missing"), "the list of hardware layers a search writes")
    layers = [Layer.from_dict(d, where=f"network.layers[{i}]") for i, d in enumerate(net["layers"])]
    wp = weights_path(raw, cfg_path)
    graph = load_graph(net, wp)
    images, labels = stored_inputs(wp, n_images)
    data = net.get("data", "digits")
    return Network(layers, graph, images, labels, f"searched network, {len(images)} {data} test images")
