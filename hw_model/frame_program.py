"""The host program of a pipelined run: N frames of a network on every chunk at once (hw_model.schedule).

Memory: the weights and records (hw_model.program), then the activations with their copies (the input and the
logits one per frame of the run, every other tensor the schedule's copies), then the job tables: a directory
(one beat per chunk: entries | first beat << 16, relative to the directory) and each chunk's entries
(hw_model.jobs) in its round order. The run's registers: the directory's address, the frame count, the period
(the releases' step), the last layer (whose frame counter says which frames are done).
"""
from __future__ import annotations

from dataclasses import dataclass

from .config import Accelerator, Layer
from .control import descriptor_beats
from .errors import ConfigError
from .intnet import INPUT, IntGraph
from .jobs import MAX_ENTRIES, MAX_FRAMES, MAX_LAYERS, MAX_TOKENS, PATCHED, Entry, entry_beats
from .program import Plan, plan_network
from .regs import descriptor, field_offsets
from .schedule import NETWORK_INPUT, Schedule, network_schedule


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


def frame_program(acc: Accelerator, layers: list[Layer], graph: IntGraph, frames: int) -> FrameProgram:
    if isinstance(frames, bool) or not isinstance(frames, int) or not 1 <= frames <= MAX_FRAMES:
        raise ConfigError("frames", frames, f"an integer from 1 to {MAX_FRAMES}")
    if len(layers) > MAX_LAYERS:
        raise ConfigError("network.layers", len(layers), f"at most {MAX_LAYERS} layers for a pipelined run")
    s = network_schedule(acc, layers, graph)
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
            entries.append(Entry(l, s.offset[l], s.phase[l], s.tokens[l], bases, strides, ks,
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
