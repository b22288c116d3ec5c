"""ConvChunk: one sub-accelerator of the template (channel, pixel or depthwise dataflow), generated from
hw_model's Chunk and MemoryInterface, and assembled from its blocks (docs/architecture.md has the diagram and the
cycle formula):
  - ConvBuffers (buffers.py): input lanes, weight banks, accumulator lanes, requantization records;
  - StepController (step_controller.py): walks the tile loops (m, r, c, n) and starts the two engines once per
    step;
  - ComputeArray (compute_array.py): the compute nest and the tm x tn MAC array with int32 accumulation;
  - MemoryEngine (memory_engine.py): per step, the pending output tile out, then the next step's inputs and
    weights in, through the Loader (loader.py: read requests, tags, the scatter into the buffers) and the Writer
    (writer.py: a requantizer per output lane, requantizer.py, and the beats).
All shapes are run-time registers (the packed `cfg` word, laid out by hw_model.regs), so one build runs every
layer its chunk serves. Widths, depths and latencies come from hw_model (shape, config, timing).
"""
from __future__ import annotations

from amaranth import Signal
from amaranth.lib import wiring

from hw_model.config import Chunk, MemoryInterface
from hw_model.mapping import field_bounds
from hw_model.regs import field_offsets
from hw_model.shape import conv_shape

from .arith import count_width
from .buffers import ConvBuffers
from .compute_array import ComputeArray
from .memory_engine import MemoryEngine
from .nest import registered_lasts
from .parts import Parts
from .port import chunk_signature
from .step_controller import StepController
from .writer import Writer


class ConvChunk(wiring.Component):
    # the parts (parts.Parts): controllers, walks and addresses; the buffers; the MAC datapath; the read data's
    # scatter into the buffers; the writer's datapath
    PARTS = ("ctl", "buf", "mac", "scatter", "wr")

    def __init__(self, chunk: Chunk, mem: MemoryInterface, hold: bool = False):
        """With `hold`, a `hold` input of one bit per part: while bit i is high, part i holds (all its
        registers and buffer ports keep their values). The bits are copies of one decision (the AXI stall)."""
        self.chunk, self.mem, self.has_hold = chunk, mem, hold
        super().__init__(chunk_signature(mem, len(self.PARTS), hold))

    def elaborate(self, platform):
        ch, mi = self.chunk, self.mem
        parts = Parts(self.PARTS)
        m = parts["ctl"]
        cfg = {name: self.cfg[off:off + w] for name, (off, w) in field_offsets().items()}
        g = conv_shape(ch, mi)
        bufs = ConvBuffers(parts["buf"], g)

        # loop ends compare counters with registered cfg - 1 values (nest.registered_lasts)
        BND = field_bounds(ch, mi)

        def tile_count(name, label):
            """A counter over [0, cfg[name] - 1], as wide as the field's bound on this chunk."""
            return Signal(count_width(BND[name]), name=label)
        last_of = registered_lasts(m, cfg, ("kernel", "ng", "cgs", "trb", "tcb", "mg", "rows_in", "cols_in", "kb_in",
                                            "kb_out", "p_tile_beats", "w_tile_beats"), BND).__getitem__

        ctl = StepController(m, parts, cfg, self, ch.depthwise, mi.addr_bits)
        compute = ComputeArray(parts, cfg, g, ctl, bufs, last_of, tile_count, ch.max_stride)
        eng = MemoryEngine(parts, self, cfg, g, ctl, bufs, compute, last_of, tile_count, BND)
        Writer(parts, self, cfg, g, bufs, eng)
        return parts.assemble(self.hold if self.has_hold else None)
