"""A chunk built as parts, each held by a copy of the stall decision of its own."""
from __future__ import annotations

from amaranth import Module, Signal
from amaranth.hdl import EnableInserter


class Parts:
    """A chunk's logic built as parts, each a module of its own, so that each can be held (the AXI stall) by a
    copy of the hold register of its own: one copy over a whole chunk drives the enables of thousands of
    flip-flops spread over the chunk, and cannot sit beside all of them. The parts hold together (the copies are
    loaded from one decision in the same cycle), so which part a register is in changes nothing but placement."""

    def __init__(self, names):
        self.modules = {name: Module() for name in names}
        # each part's run (not held): what a cell the enable cannot reach (an Instance) takes as its clock enable
        self.runs = {name: Signal(name=f"run_{name}") for name in names}

    def run(self, name: str) -> Signal:
        return self.runs[name]

    def __getitem__(self, name: str) -> Module:
        return self.modules[name]

    def assemble(self, hold=None) -> Module:
        """One module with the parts as submodules; with `hold` (a signal of len(self) bits), part i runs
        while bit i is low."""
        m = Module()
        for i, (name, part) in enumerate(self.modules.items()):
            m.submodules[name] = part if hold is None else EnableInserter(~hold[i])(part)
            m.d.comb += self.runs[name].eq(1 if hold is None else ~hold[i])
        return m
