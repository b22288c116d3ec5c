"""What a report says of a design's frame rate: the schedule's (exact, paced by the memory's bandwidth where
that is the slower) beside the bound each of the two would set alone, and which one sets it (a roofline).

The schedule's period (hw_model.schedule) is the longer of the busiest chunk's load and the period the memory's
bandwidth allows (hw_model.bandwidth.bandwidth_period); the hardware releases the frames at it, so the frame rate
reported is clock / period, exact in cycles on a memory that keeps the chunks' contract (hw_model.bandwidth says
what that takes of a memory of limited bandwidth). Every FPS at acc.clock_mhz, stated beside it.
"""
from __future__ import annotations

from .bandwidth import bandwidth_cycles, layer_bytes
from .config import Accelerator
from .schedule import Schedule, schedule_figures


def frame_rate(acc: Accelerator, layers, s: Schedule) -> dict:
    """The schedule's figures (schedule_figures), the bytes a frame moves, the bandwidth that demands at the
    chunks' own rate, the rate each bound allows alone (fps_schedule: the busiest chunk's load; fps_bandwidth:
    the memory's bandwidth over the bytes), and the bound that sets the period."""
    hz = acc.clock_mhz * 1e6
    fig = schedule_figures(s, acc.clock_mhz)
    frame_bytes = sum(layer_bytes(acc, layers))
    bw = acc.memory.bandwidth_gb_s
    load = max(s.loads)
    return {**fig, "fps_schedule": hz / load, "fps_bandwidth": None if bw is None else bw * 1e9 / frame_bytes,
            "bound": "bandwidth" if s.period > load else "schedule",
            "busiest_load_cycles": load, "bytes_per_frame": frame_bytes, "bandwidth_gb_s": bw,
            "demanded_gb_s": frame_bytes * hz / load / 1e9,
            "bandwidth_cycles": float(bandwidth_cycles(frame_bytes, acc.clock_mhz, bw)),
            "roofline_source": "model (hw_model.frame_rate): the period is the longer of the busiest chunk's load "
                               "and the whole cycles the memory's bandwidth needs for a frame's bytes; the "
                               "hardware releases the frames at it"}
