"""The host program of a pipelined run: N frames of a network on every chunk at once (hw_model.schedule).

Memory: the weights and records (hw_model.program), then the activations with their copies (the input and the
logits one per frame of the run, every other tensor the schedule's copies), then the job tables: a directory
(one beat per chunk: entries | first beat << 16, relative to the directory) and each chunk's entries
(hw_model.jobs) in its round order. The run's registers: the directory's address, the frame count, the period
(the releases' step), the last layer (whose retires are the frames done).

`FrameProgram.to_json` is what the host driver (driver/) loads: JSON, beats as hex strings
(docs/file_formats.md, "Frames program"). The simulation, the FPGA bundle and a board all read this one file.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import timing
from .config import Accelerator, Layer
from .control import descriptor_beats
from .errors import ConfigError
from .intnet import INPUT, IntGraph
from .jobs import (MAX_DELTA, MAX_ENTRIES, MAX_FRAMES, MAX_LAG, MAX_LAYERS, MAX_PERIOD, MAX_TOKENS, PATCHED,
                   TOKEN_CHUNKS, Entry, entry_beats)
from .layout import pack_activations
from .program import Plan, plan_network
from .regs import descriptor, field_offsets
from .schedule import NETWORK_INPUT, Schedule, network_schedule

DEFAULT_FRAMES = 8                  # frames of a run where none are given: `make sim`, the FPGA bundle, best.json


@dataclass
class FrameProgram:
    schedule: Schedule
    plan: Plan
    frames: int
    table_addr: int
    tables: list[list[Entry]]           # per chunk
    words: dict[int, int]               # address -> beat: weights, records, directory and tables

    def input_base(self, f: int) -> int:
        return self.plan.input_base + f * self.plan.tensor_beats[INPUT]

    def output_base(self, f: int) -> int:
        last = self.schedule.names[-1]
        return self.plan.out_base[last] + f * self.plan.tensor_beats[last]

    @property
    def beats(self) -> int:
        """The memory window: from beat 0 to the last table beat."""
        return max(self.words) + 1

    def to_json(self, acc: Accelerator) -> dict:
        """What the host driver needs to run the frames (JSON-able; beats as hex strings), with the model's
        cycles of the run beside it for the driver to compare with what the hardware counted."""
        first, last = self.plan.steps[0].layer, self.plan.steps[-1].layer
        run = self.schedule.run(self.frames)
        tensor = lambda base, stride, ch, size, bits: {"base": base, "stride": stride, "channels": ch,
                                                       "size": list(size), "bits": bits}
        return {"format": FRAMES_FORMAT, "accelerator": acc.name, "bus_bits": acc.memory.bus_bits,
                "clock_mhz": acc.clock_mhz, "chunks": len(acc.chunks), "window_beats": self.beats,
                "table_addr": self.table_addr, "frames": self.frames, "period": self.schedule.period,
                "last_layer": len(self.schedule.names) - 1,
                "input": tensor(self.input_base(0), self.plan.tensor_beats[INPUT], first.in_channels,
                                first.in_size, first.bits),
                "output": tensor(self.output_base(0), self.plan.tensor_beats[last.name], last.out_channels,
                                 last.out_size, last.out_bits),
                "model": {"completions": [int(c) for c in run.completion], "latency_cycles": int(run.latency),
                          "period_cycles": self.schedule.period},
                "static": {format(a, "x"): format(w, "x") for a, w in sorted(self.words.items())}}


def _tokens(acc: Accelerator, s: Schedule, l: int) -> tuple:
    """Layer l's tokens (x, lag) as the sequencer reads them: (chunk, index, lag, delta) (hw_model.jobs)."""
    out = []
    for x, lag in s.tokens[l]:
        c = s.chunk_of[x]
        delta = s.offset[x] - s.offset[l] - lag
        if lag > MAX_LAG or abs(delta) > MAX_DELTA:
            raise ConfigError(f"layer {s.names[l]!r}", f"a token of lag {lag}, {delta} rounds apart",
                              f"a lag up to {MAX_LAG} and rounds up to {MAX_DELTA} apart in a pipelined run")
        out.append((c, s.order[c].index(x), lag, delta))
    return tuple(out)


def frame_program(acc: Accelerator, layers: list[Layer], graph: IntGraph, frames: int) -> FrameProgram:
    if isinstance(frames, bool) or not isinstance(frames, int) or not 1 <= frames <= MAX_FRAMES:
        raise ConfigError("frames", frames, f"an integer from 1 to {MAX_FRAMES}")
    least = timing.min_axi_read_latency(acc.memory.burst_beats)
    if acc.memory.read_latency < least:
        raise ConfigError("memory.read_latency", acc.memory.read_latency, f"at least {least} behind AXI (a pipelined run)")
    if len(acc.chunks) > TOKEN_CHUNKS:
        raise ConfigError("accelerator.chunks", len(acc.chunks), f"at most {TOKEN_CHUNKS} chunks for a pipelined run")
    if len(layers) > MAX_LAYERS:
        raise ConfigError("network.layers", len(layers), f"at most {MAX_LAYERS} layers for a pipelined run")
    s = network_schedule(acc, layers, graph)
    if s.period > MAX_PERIOD:
        raise ConfigError("schedule.period", s.period, f"at most {MAX_PERIOD} cycles in a pipelined run")
    names = s.names
    copies = {INPUT: frames, **dict(zip(names, s.copies)), names[-1]: frames}
    plan = plan_network(acc, layers, graph, copies)
    steps = {st.layer.name: st for st in plan.steps}
    offs = field_offsets()
    tables = []
    for c, order in enumerate(s.order):
        if len(order) > MAX_ENTRIES:
            raise ConfigError(f"chunk {acc.chunks[c].name!r}", f"{len(order)} layers",
                              f"at most {MAX_ENTRIES} layers on one chunk in a pipelined run")
    for c, order in enumerate(s.order):
        entries = []
        for l in order:
            st = steps[names[l]]
            if len(s.tokens[l]) > MAX_TOKENS:
                raise ConfigError(f"layer {names[l]!r}", f"{len(s.tokens[l])} tokens",
                                  f"at most {MAX_TOKENS} (producers and readers of its output) in a pipelined run")
            cfg = st.cfg
            bases = {f: (cfg >> offs[f][0]) & ((1 << offs[f][1]) - 1) for f, _ in PATCHED}
            ins = [INPUT if p == NETWORK_INPUT else names[p] for p in s.inputs[l]]
            groups = {"a": ins[0], "b": ins[1] if len(ins) > 1 and st.layer.vector else None, "out": names[l]}
            strides = {g: plan.tensor_beats[t] if t else 0 for g, t in groups.items()}
            # the copy index is the frame's low bits: a power of two (the input's and the logits' N copies are
            # indexed by the frame itself, f < N <= the power)
            ks = {g: 1 << (plan.copies[t] - 1).bit_length() if t else 1 for g, t in groups.items()}
            entries.append(Entry(l, s.offset[l], s.phase[l], _tokens(acc, s, l), bases, strides, ks,
                                 tuple(descriptor(st.sel, cfg))))
        tables.append(entries)
    words = dict(plan.static)
    table_addr = plan.beats
    eb = entry_beats(acc.memory)
    at = len(tables)                    # entries begin after the directory
    for c, entries in enumerate(tables):
        max_off = max((e.offset for e in entries), default=0)
        words[table_addr + c] = len(entries) | at << 16 | max_off << 48
        for i, e in enumerate(entries):
            for k, b in enumerate(descriptor_beats(e.words(), acc.memory, eb)):
                words[table_addr + at + i * eb + k] = b
        at += len(entries) * eb
    if table_addr + at > (1 << acc.memory.addr_bits):
        raise ConfigError("memory.addr_bits", acc.memory.addr_bits,
                          f"enough address bits for {table_addr + at} beats ({frames} frames)")
    return FrameProgram(s, plan, frames, table_addr, tables, words)


FRAMES_FORMAT = "trips-frames-v1"


def parse_frames_program(prog: dict) -> dict:
    """A program as FrameProgram.to_json writes it, with the static beats as integers."""
    if not isinstance(prog, dict) or prog.get("format") != FRAMES_FORMAT:
        got = prog.get("format") if isinstance(prog, dict) else type(prog).__name__
        raise ConfigError("program.format", got, f"{FRAMES_FORMAT!r} (written by `make fpga` or FrameProgram.to_json)")
    return {**prog, "static": {int(a, 16): int(w, 16) for a, w in prog["static"].items()}}


def load_frames_program(path) -> dict:
    return parse_frames_program(json.loads(Path(path).read_text()))


def frame_input_words(prog: dict, image: np.ndarray, frame: int) -> dict[int, int]:
    """The beats of one input image [C, H, W] at frame `frame`'s copy of the program's input."""
    inp = prog["input"]
    image = np.asarray(image, dtype=np.int64)
    if list(image.shape) != [inp["channels"], *inp["size"]]:
        raise ValueError(f"image shape {list(image.shape)}; the network takes {[inp['channels'], *inp['size']]}")
    base = inp["base"] + frame * inp["stride"]
    return {base + k: int(b) for k, b in enumerate(pack_activations(image, inp["bits"], prog["bus_bits"]))}
