"""What the memory's bandwidth does to a pipelined run: the bytes a frame moves, the period it allows, and what a
memory must hold in hand so that a run at that period is never held.

Every frame of a pipelined run moves every layer's beats on the chunks' ports (hw_model.cost.traffic: exact, the
bridges count the same beats; the job tables are read once a run, before the frames). A memory system that
sustains `memory.bandwidth_gb_s` (all ports together) cannot serve a frame in fewer than bytes / bandwidth
seconds, whatever the chunks do. So the schedule paces the frames (hw_model.schedule: the period, the step of the
jobs' releases, is at least bandwidth_period), and the hardware releases them at that period. Paced, a run asks
the memory for its bandwidth on average; what it asks in a short window can be more (chunks streaming at once).
What is claimed, exactly:
- a memory that sustains the bandwidth and can serve burst_allowance(...) bytes ahead of it (a token bucket of
  that depth, refilled at the bandwidth; full at the run's start) never holds a chunk: every job begins at its
  release, every completion is the model's, the period is the paced period;
- on any memory a run's jobs begin no earlier than the model's, and, since a chunk held for k cycles finishes its
  job k cycles later and every begin is the latest of a release, the chunk's previous job and its tokens, no
  later than the model's plus every stall cycle counted before;
- on a memory of that bandwidth, N frames take at least run_bandwidth_cycles (their bytes over the bandwidth,
  less what the memory holds in hand at the start).
Works on numpy arrays (the search) as on scalars.
"""
from __future__ import annotations

import numpy as np

from .config import Accelerator
from .cost import traffic
from .mapping import geometry


def layer_bytes(acc: Accelerator, layers) -> list[int]:
    """Bytes each layer moves on its chunk's port per frame (reads and writes)."""
    return [int(traffic(geometry(acc, L).fields)["bytes"]) for L in layers]


def bandwidth_cycles(frame_bytes, clock_mhz: float, bandwidth_gb_s: float | None):
    """The fewest cycles a frame can take at the clock when the memory sustains bandwidth_gb_s (None: no bound,
    0 cycles). A real number: the bound, not a count of cycles."""
    if bandwidth_gb_s is None:
        return np.zeros_like(np.asarray(frame_bytes, dtype=float))
    return np.asarray(frame_bytes, dtype=float) * clock_mhz * 1e6 / (bandwidth_gb_s * 1e9)


def paced_cycles(frame_bytes, clock_mhz: float, bandwidth_gb_s: float | None):
    """The shortest whole period in cycles at which the memory's bandwidth serves frame_bytes (0: no bound): what
    the schedule paces the frames at when it is longer than the busiest chunk's load. Vectorized (the search)."""
    return np.ceil(bandwidth_cycles(frame_bytes, clock_mhz, bandwidth_gb_s)).astype(np.int64)


def bandwidth_period(acc: Accelerator, layers) -> int:
    """paced_cycles of a network's frame on an accelerator."""
    return int(paced_cycles(sum(layer_bytes(acc, layers)), acc.clock_mhz, acc.memory.bandwidth_gb_s))


def bytes_per_cycle(acc: Accelerator) -> float | None:
    """The memory's bandwidth in bytes a cycle at the accelerator's clock (None: no bound)."""
    bw = acc.memory.bandwidth_gb_s
    return None if bw is None else bw * 1e9 / (acc.clock_mhz * 1e6)


def run_bandwidth_cycles(rate: dict, frames: int, held_bytes: float = 0.0) -> float:
    """The fewest cycles, from the run's start to its last completion, of `frames` frames of a design whose
    frame_rate is `rate`, on a memory of rate["bandwidth_gb_s"] that may hold `held_bytes` in hand at the start."""
    if rate["bandwidth_gb_s"] is None:
        return 0.0
    per_byte = rate["bandwidth_cycles"] / rate["bytes_per_frame"]
    return max(0.0, (frames * rate["bytes_per_frame"] - held_bytes) * per_byte)


def burst_allowance(begin, end, job_bytes, per_cycle: float) -> float:
    """The bytes a memory sustaining `per_cycle` bytes a cycle must be able to serve ahead of that rate so that no
    beat of a run waits: begin, end [J] the cycles each job begins and retires (a run of the model), job_bytes [J]
    what it moves, all of them between the two. Over any window [s, t] the run moves at most the bytes of the
    jobs begun by t less those retired before s; the allowance is the most that exceeds per_cycle * (t - s). A
    sufficient figure (it counts a job's bytes as moved when it begins), not the least."""
    begin, end, w = (np.asarray(a, dtype=float).ravel() for a in (begin, end, job_bytes))
    ob, oe = np.argsort(begin), np.argsort(end)
    begun = np.concatenate([[0.0], np.cumsum(w[ob])])
    retired = np.concatenate([[0.0], np.cumsum(w[oe])])
    # the excess grows with t between begins and with s between retires: the ends of the windows worth trying
    t = begin[ob]
    s = np.unique(np.concatenate([[0.0], end, begin]))
    up = begun[np.searchsorted(begin[ob], t, side="right")]          # bytes of the jobs begun by t
    low = retired[np.searchsorted(end[oe], s, side="left")]          # bytes of the jobs retired before s
    excess = up[:, None] - low[None, :] - per_cycle * (t[:, None] - s[None, :])
    return float(np.where(s[None, :] <= t[:, None], excess, 0.0).max(initial=0.0))
