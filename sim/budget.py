"""What a simulation needs of this machine, estimated before any data is made, so that a layer inside every
documented limit that would need more memory than there is gets one line with the number, not an allocation
error half-way (or the machine swapping for an hour)."""
from __future__ import annotations

import os

from hw_model.config import Layer
from hw_model.errors import ConfigError
from hw_model.mapping import ceil_div

# Bytes per memory word a simulation holds, both sides together: packing (object arrays of Python ints), the
# {address: beat} image and its JSON here, the same JSON and dict again in the cocotb process. Measured 424-512 B
# per word on this side for conv layers from 140 k to 1.6 M words (numpy 2, CPython 3.12); doubled for the other.
BYTES_PER_WORD = 1024
# The integer reference (int64 accumulators, padded inputs) per activation element, as a margin on top.
BYTES_PER_ELEMENT = 32


def layer_words(layer: Layer, bus_bits: int) -> int:
    """About how many memory words a layer's image takes: input(s), weights and records, output."""
    def acts(c, size, bits):
        return size[0] * size[1] * ceil_div(c, max(1, bus_bits // bits))
    words = acts(layer.in_channels, layer.in_size, layer.bits) + acts(layer.out_channels, layer.out_size,
                                                                       layer.out_bits)
    if layer.op == "add":
        words *= 2
    elif not layer.vector:
        w_vals = layer.out_channels * (layer.in_channels // layer.groups) * layer.kernel ** 2
        words += ceil_div(w_vals * layer.bits, bus_bits) + 2 * layer.out_channels
    return words


def layer_bytes(layer: Layer, bus_bits: int) -> int:
    elems = layer.in_channels * layer.in_size[0] * layer.in_size[1] + \
        layer.out_channels * layer.out_size[0] * layer.out_size[1]
    return BYTES_PER_WORD * layer_words(layer, bus_bits) + BYTES_PER_ELEMENT * elems


def available_bytes() -> int:
    """Memory available to a new process now (MemAvailable), else the machine's physical memory."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def gib(n: int) -> str:
    return f"{n / 2 ** 30:.1f} GiB"


def check_layers_fit(layers: list[Layer], bus_bits: int, available: int | None = None) -> None:
    """Refuse, naming the layer and the numbers, a layer list whose biggest layer would not fit in memory (the
    layers of one chunk are simulated together, so the sum counts too)."""
    available = available_bytes() if available is None else available
    for L in layers:
        need = layer_bytes(L, bus_bits)
        if need > available:
            raise ConfigError(f"layer {L.name!r}", f"needs about {gib(need)} of memory to simulate",
                              f"a layer that fits in the {gib(available)} available here")
    total = sum(layer_bytes(L, bus_bits) for L in layers)
    if total > available:
        raise ConfigError("layers", f"{len(layers)} layers need about {gib(total)} of memory to simulate",
                          f"a list that fits in the {gib(available)} available here (simulate it in parts)")


def check_network_fits(total_words: int, dumped_words: int, n_images: int, available: int | None = None) -> None:
    """A whole network: the program's memory image once, and each image's dump of the activation region (the
    result JSON holds them all)."""
    available = available_bytes() if available is None else available
    need = BYTES_PER_WORD * (total_words + n_images * dumped_words)
    if need > available:
        raise ConfigError("--images", n_images, f"a count whose simulation fits in the {gib(available)} available "
                                                f"here (this one needs about {gib(need)}: {total_words} memory "
                                                f"words, {dumped_words} dumped per image)")
