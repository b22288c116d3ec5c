"""The frame rate the memory's bandwidth allows, beside the one the schedule reaches: a roofline.

Every frame of a pipelined run moves every layer's beats on the chunks' ports (hw_model.cost.traffic: exact, the
bridges count the same beats; the job tables are read once a run, before the frames). A memory system that
sustains `memory.bandwidth_gb_s` (all ports together) cannot serve a frame in fewer than bytes / bandwidth
seconds, whatever the chunks do. So the frame rate is at most the lower of
- the schedule's, clock / period (exact in cycles while the memory keeps the chunks' fixed-latency contract), and
- the bandwidth's, bandwidth / bytes per frame (a bound: no schedule, no memory of that bandwidth beats it),
and the report names which one sets it. What is claimed of a run, exactly: N frames take at least
run_bandwidth_cycles (N frames' bytes over the bandwidth, less the bytes a memory may hold in hand at the start,
its burst allowance), since every layer of every frame moves its bytes before the last frame completes; in the
steady state the period is at least bandwidth_cycles. How much more a run takes depends on how the memory spreads
its beats, which the model does not claim; consecutive completions may come closer than the bound (frames in
flight finish in a bunch once their data are in). Works on numpy arrays (the search) as on scalars.
"""
from __future__ import annotations

import numpy as np

from .config import Accelerator
from .cost import traffic
from .mapping import geometry
from .schedule import Schedule, schedule_figures


def layer_bytes(acc: Accelerator, layers) -> list[int]:
    """Bytes each layer moves on its chunk's port per frame (reads and writes)."""
    return [int(traffic(geometry(acc, L).fields)["bytes"]) for L in layers]


def bandwidth_cycles(frame_bytes, clock_mhz: float, bandwidth_gb_s: float | None):
    """The fewest cycles a frame can take at the clock when the memory sustains bandwidth_gb_s (None: no bound,
    0 cycles). A real number: the bound, not a count of cycles."""
    if bandwidth_gb_s is None:
        return np.zeros_like(np.asarray(frame_bytes, dtype=float))
    return np.asarray(frame_bytes, dtype=float) * clock_mhz * 1e6 / (bandwidth_gb_s * 1e9)


def run_bandwidth_cycles(rate: dict, frames: int, held_bytes: float = 0.0) -> float:
    """The fewest cycles, from the run's start to its last completion, of `frames` frames of a design whose
    frame_rate is `rate`, on a memory of rate["bandwidth_gb_s"] that may hold `held_bytes` in hand at the start."""
    if rate["bandwidth_gb_s"] is None:
        return 0.0
    per_byte = rate["bandwidth_cycles"] / rate["bytes_per_frame"]
    return max(0.0, (frames * rate["bytes_per_frame"] - held_bytes) * per_byte)


def frame_rate(acc: Accelerator, layers, s: Schedule) -> dict:
    """What a report says of a design's frame rate: the schedule's figures (schedule_figures), the bytes a frame
    moves, the bandwidth that demands at the schedule's rate, the bandwidth's bound, and the lower of the two with
    the bound that sets it. Every FPS at acc.clock_mhz, stated beside it."""
    hz = acc.clock_mhz * 1e6
    fig = schedule_figures(s, acc.clock_mhz)
    frame_bytes = sum(layer_bytes(acc, layers))
    bw = acc.memory.bandwidth_gb_s
    bw_cycles = float(bandwidth_cycles(frame_bytes, acc.clock_mhz, bw))
    fps_schedule = fig["fps"]
    fps_bw = None if bw is None else bw * 1e9 / frame_bytes
    bound = "bandwidth" if fps_bw is not None and fps_bw < fps_schedule else "schedule"
    return {**fig, "fps": min(fps_schedule, fps_bw) if fps_bw is not None else fps_schedule,
            "fps_schedule": fps_schedule, "fps_bandwidth": fps_bw, "bound": bound,
            "bytes_per_frame": frame_bytes, "bandwidth_gb_s": bw,
            "demanded_gb_s": frame_bytes * hz / s.period / 1e9, "bandwidth_cycles": bw_cycles,
            "roofline_source": "model (hw_model.bandwidth): the lower of the schedule's rate (exact) and the "
                               "memory bandwidth over the bytes a frame moves (a bound)"}
