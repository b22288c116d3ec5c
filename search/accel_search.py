"""Accelerator search engines over search.space: differentiable (Gumbel sampling with a learned
distribution), random, and exhaustive.

The differentiable engine keeps logits gamma[chunk, factor, option]. Each step draws a batch of designs with
the Gumbel-max trick (hard Gumbel-softmax samples), evaluates them all with the exact model, and descends the
gradient of the expected cost with respect to gamma: the score-function estimator
    d E[cost] / d gamma = E[(cost - baseline) * (onehot(sample) - softmax(gamma))],
with the batch's centred ranks as the cost (a baseline that needs no tuning and ignores the scale of the
metric), and Adam. Designs over the resource budget rank below every design within it, by how far over they
are, so the distribution learns to use the budget where that pays and to stay inside it. The best design
within budget seen so far is returned; every design evaluated counts as an evaluation.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np

from .space import Budget, Scores, Space, Workload, score


@dataclass
class SearchResult:
    idx: np.ndarray | None                  # best design within budget [C, F], None if none found
    metric: float                           # its metric (inf if none)
    evaluations: int
    seconds: float
    curve: list = field(default_factory=list)   # (evaluations, best metric so far)
    state: dict = field(default_factory=dict)   # engine state for warm starts (logits)


class _Best:
    def __init__(self):
        self.idx, self.metric, self.n, self.curve = None, np.inf, 0, []

    def update(self, idx: np.ndarray, s: Scores) -> None:
        m = np.where(s.within, s.metric, np.inf)
        i = int(np.argmin(m))
        if m[i] < self.metric:
            self.metric, self.idx = float(m[i]), idx[i].copy()
        self.n += len(idx)
        self.curve.append((self.n, self.metric))


def _rank_cost(s: Scores) -> np.ndarray:
    """Order designs: within budget by metric, then over budget by overuse, then invalid."""
    key = np.where(s.within, np.log(np.maximum(s.metric, 1e-30)), 0.0)
    big = np.abs(key).max() + 1e3
    key = np.where(~s.within & s.valid, big + s.overuse, key)
    key = np.where(~s.valid, 2 * big + 1, key)
    ranks = key.argsort().argsort().astype(float)
    return (ranks - ranks.mean()) / max(len(ranks) - 1, 1)       # centred, in [-0.5, 0.5]


def random_search(space: Space, work: Workload, budget: Budget, n_evals: int, metric: str = "latency",
                  seed: int = 0, batch: int = 4096) -> SearchResult:
    rng = np.random.default_rng(seed)
    best, t0 = _Best(), time.perf_counter()
    while best.n < n_evals:
        b = min(batch, n_evals - best.n)
        idx = (rng.random((b,) + space.shape) * space.n_opts[None, None, :]).astype(np.int64)
        best.update(idx, score(idx, space, work, budget, metric))
    return SearchResult(best.idx, best.metric, best.n, time.perf_counter() - t0, best.curve)


def exhaustive(space: Space, work: Workload, budget: Budget, metric: str = "latency", limit: int = 5_000_000,
               batch: int = 65536) -> SearchResult:
    n = space.size()
    if n > limit:
        raise ValueError(f"space has {n} designs, more than the limit {limit}")
    ranges = [range(k) for k in space.n_opts] * len(space.slots)
    best, t0 = _Best(), time.perf_counter()
    it = itertools.product(*ranges)
    while True:
        chunk = list(itertools.islice(it, batch))
        if not chunk:
            break
        idx = np.array(chunk, dtype=np.int64).reshape((-1,) + space.shape)
        best.update(idx, score(idx, space, work, budget, metric))
    return SearchResult(best.idx, best.metric, best.n, time.perf_counter() - t0, best.curve)


class DifferentiableSearch:
    """The engine. Keep one instance per co-search to warm-start it as the network changes.

    Parameters: lr and batch of the Adam updates (defaults chosen on three workloads, see bench/), and
    decompose: for the latency metric, each chunk's logits learn from the chunk's own surrogate cost
    (see _chunk_costs) instead of the whole design's, which removes the other chunks' noise from its gradient.
    """

    def __init__(self, space: Space, budget: Budget, metric: str = "latency", lr: float = 0.05,
                 batch: int = 16, seed: int = 0, decompose: bool = True):
        self.space, self.budget, self.metric = space, budget, metric
        self.lr, self.batch = lr, batch
        self.decompose = decompose and metric == "latency"
        self.lam = 1.0
        self.rng = np.random.default_rng(seed)
        self.logits = np.where(space.mask[None], 0.0, -np.inf) * np.ones(space.shape + (space.mask.shape[1],))
        self.m = np.zeros_like(self.logits)
        self.v = np.zeros_like(self.logits)
        self.t = 0

    def probs(self) -> np.ndarray:
        z = self.logits - self.logits.max(axis=-1, keepdims=True)
        e = np.where(self.space.mask[None], np.exp(z), 0.0)
        return e / e.sum(axis=-1, keepdims=True)

    def sample(self, n: int) -> np.ndarray:
        """Hard Gumbel-softmax samples: argmax(gamma + Gumbel noise), [n, C, G]."""
        g = -np.log(-np.log(self.rng.random((n,) + self.logits.shape)))
        return np.argmax(self.logits[None] + g, axis=-1)

    def warm_start(self, idx: np.ndarray, strength: float = 2.0) -> None:
        """Bias the distribution towards a known design (the accelerator found for the previous network)."""
        onehot = np.eye(self.logits.shape[-1])[idx]
        self.logits = np.where(self.space.mask[None], self.logits + strength * onehot, -np.inf)

    def step(self, work: Workload, best: _Best) -> None:
        idx = self.sample(self.batch)
        s = score(idx, self.space, work, self.budget, self.metric)
        best.update(idx, s)
        onehot = np.eye(self.logits.shape[-1])[idx]                           # [B, C, G, O]
        u = self._chunk_costs(s, best) if self.decompose else _rank_cost(s)[:, None]   # [B, C] or [B, 1]
        grad = (u[:, :, None, None] * (onehot - self.probs()[None])).mean(axis=0)
        self.t += 1
        b1, b2 = 0.9, 0.999
        self.m = b1 * self.m + (1 - b1) * grad
        self.v = b2 * self.v + (1 - b2) * grad ** 2
        mh, vh = self.m / (1 - b1 ** self.t), self.v / (1 - b2 ** self.t)
        self.logits = np.where(self.space.mask[None], self.logits - self.lr * mh / (np.sqrt(vh) + 1e-8), -np.inf)

    def _chunk_costs(self, s: Scores, best: _Best) -> np.ndarray:
        """Per-chunk surrogate costs, ranked within the batch: a chunk is judged on its own latency down to
        the target tau (the best design's latency; a chunk faster than that gains nothing from more speed)
        and on its share of the budget at price lambda. lambda rises while samples overrun the budget."""
        tau = best.metric if np.isfinite(best.metric) else np.median(s.cycles)
        j = np.log(np.maximum(s.chunk_cycles, tau)) + self.lam * s.chunk_share
        j = np.where(s.chunk_valid, j, np.inf)
        over = np.mean(s.valid & ~s.within)
        self.lam *= 1.2 if over > 0.25 else 1 / 1.05
        ranks = j.argsort(axis=0).argsort(axis=0).astype(float)
        return (ranks - ranks.mean(axis=0)) / max(len(j) - 1, 1)

    def run(self, work: Workload, n_evals: int, polish: float = 0.2) -> SearchResult:
        """Sample and learn for (1 - polish) of the evaluations, then spend the rest polishing the best design
        found: sweeps that try every single-decision change of it at once (one vectorized evaluation) and
        take the best improving one."""
        best, t0 = _Best(), time.perf_counter()
        learn = n_evals - int(polish * n_evals)
        while best.n + self.batch <= learn:
            self.step(work, best)
        self._polish(work, best, n_evals)
        return SearchResult(best.idx, best.metric, best.n, time.perf_counter() - t0, best.curve,
                            {"logits": self.logits.copy()})


def _neighbours(space: Space, idx: np.ndarray) -> np.ndarray:
    """Every design that differs from idx [C, G] in one decision: [N, C, G]."""
    out = []
    for c in range(idx.shape[0]):
        for g in range(idx.shape[1]):
            for o in range(int(space.n_opts[g])):
                if o != idx[c, g]:
                    d = idx.copy()
                    d[c, g] = o
                    out.append(d)
    return np.array(out, dtype=np.int64).reshape((-1,) + idx.shape)


def _polish_best(self, work: Workload, best: _Best, n_evals: int) -> None:
    while best.idx is not None and best.n < n_evals:
        cand = _neighbours(self.space, best.idx)[:n_evals - best.n]
        before = best.metric
        best.update(cand, score(cand, self.space, work, self.budget, self.metric))
        if best.metric >= before:
            break


DifferentiableSearch._polish = _polish_best


def differentiable_search(space: Space, work: Workload, budget: Budget, n_evals: int, metric: str = "latency",
                          seed: int = 0, **kw) -> SearchResult:
    return DifferentiableSearch(space, budget, metric, seed=seed, **kw).run(work, n_evals)


def decomposed_optimum(space: Space, work: Workload, budget: Budget) -> SearchResult:
    """The exact latency optimum, found without enumerating the joint space: latency is the slowest chunk's
    cycles and resources add up, so enumerate each chunk alone, then bisect on the target latency tau,
    checking whether some choice of one design per chunk, each no slower than tau, fits the budget (over each
    chunk's Pareto front in (DSP, BRAM)). Evaluations: the sum, not the product, of the chunks' spaces. A
    bandwidth budget couples the chunks (a frame's bytes add up over them): the result is then the compute optimum,
    scored with the bound, and exact only where the bound does not bind."""
    t0 = time.perf_counter()
    C, F = space.shape
    per_chunk = []
    n_eval = 0
    grid = np.array(list(itertools.product(*[range(k) for k in space.n_opts])), dtype=np.int64)  # [G, F]
    for c in range(C):
        idx = np.zeros((len(grid), C, F), dtype=np.int64)
        idx[:, c, :] = grid
        s = score(idx, space, work, budget, "latency")
        n_eval += len(grid)
        ok = s.chunk_valid[:, c]
        per_chunk.append((grid[ok], s.chunk_cycles[ok, c], *(_chunk_res(space, c, grid[ok]))))
    taus = np.unique(np.concatenate([pc[1] for pc in per_chunk]))

    def feasible(tau):
        fronts = []
        for g, cyc, dsp, bram in per_chunk:
            sel = cyc <= tau
            if not sel.any():
                return None
            pts = sorted(zip(dsp[sel], bram[sel], np.flatnonzero(sel)))
            front, best_b = [], np.inf
            for d, b, i in pts:              # Pareto front: increasing dsp, strictly decreasing bram
                if b < best_b:
                    front.append((d, b, i))
                    best_b = b
            fronts.append(front)
        # combine fronts: keep the Pareto set of partial sums
        acc = [(work.fixed_dsp, work.fixed_bram, ())]     # the vector chunks every design carries
        for front in fronts:
            nxt = sorted((d0 + d, b0 + b, ch + (i,)) for d0, b0, ch in acc for d, b, i in front
                         if d0 + d <= budget.dsp and b0 + b <= budget.bram18)
            acc, best_b = [], np.inf
            for d, b, ch in nxt:
                if b < best_b:
                    acc.append((d, b, ch))
                    best_b = b
            if not acc:
                return None
        return acc[0][2]

    lo, hi = 0, len(taus) - 1
    if feasible(taus[hi]) is None:
        return SearchResult(None, np.inf, n_eval, time.perf_counter() - t0)
    while lo < hi:
        mid = (lo + hi) // 2
        if feasible(taus[mid]) is None:
            lo = mid + 1
        else:
            hi = mid
    choice = feasible(taus[lo])
    idx = np.stack([per_chunk[c][0][i] for c, i in enumerate(choice)])
    s = score(idx[None], space, work, budget, "latency")
    return SearchResult(idx, float(s.metric[0]), n_eval, time.perf_counter() - t0)


def _chunk_res(space: Space, c: int, grid: np.ndarray):
    from hw_model.cost import resources_fields
    from .space import DF_PIXEL, FACTORS
    slot = space.slots[c]
    full = np.zeros((len(grid),) + space.shape, dtype=np.int64)
    full[:, c] = grid
    vals = space.values(full)[:, c]
    r = resources_fields(bits=slot.bits, max_kernel=slot.max_kernel, max_stride=slot.max_stride,
                         bus=space.memory.bus_bits, dw=int(slot.depthwise),
                         px=vals[:, FACTORS.index("df")] == DF_PIXEL,
                         **{f: vals[:, i] for i, f in enumerate(FACTORS) if f != "df"})
    return r["dsp"], r["bram18"]
