"""Holding the search's target: lambda's controller, and which epochs' designs the search may return.

lambda weighs the hardware loss against the cross-entropy in the architecture steps. Adam normalises the
summed gradient, so lambda sets the *direction* of a step, not its length: from about lambda 0.01 (the hardware
gradient a few percent of the cross-entropy's) to lambda 10 (it outweighs it several times, measured on a
default search's checkpoint) the direction turns from accuracy to hardware; beyond those ends a change of lambda
changes nothing but the time to come back. So the controller works in log-lambda within that range, and:

- after an epoch whose derived design misses the target, raises lambda by STEP^(1 + shortfall / BAND) (a far
  miss climbs faster: dual ascent on the relative violation, in log space);
- holds it while the design meets the target by less than BAND (the constraint is active: the balance that
  meets it is kept, instead of decaying until it misses again, as a one-sided controller does);
- lowers it by one STEP after an epoch that meets the target with more than BAND to spare, except in the
  projected window (the last PROJECTED_FRACTION of the epochs), where it never lowers it.

In the projected window the architecture steps are also projected onto the target (cosearch.Projection). It
starts before the final window so that a design that misses as it begins has epochs to come back before the
final window, which the returned design comes from and whose every epoch must meet the target.

The returned design is the converged one: the best validation accuracy among the designs of the final window
(the last FINAL_FRACTION of the epochs) that meet the target and the budget, never an earlier transient.
"""
from __future__ import annotations

import math

STEP, BAND = 1.5, 0.15
LAMBDA_MIN, LAMBDA_MAX = 0.01, 10.0
FINAL_FRACTION, PROJECTED_FRACTION = 0.2, 0.3


def shortfall(value: float, target: float, metric: str) -> float:
    """How far a design misses the target, relative to it: > 0 misses, <= 0 meets (FPS at least the target for
    latency; energy or EDP at most it)."""
    return (target - value) / target if metric == "latency" else (value - target) / target


def next_lambda(lam: float, miss: float, projected: bool) -> float:
    """lambda after an epoch whose derived design misses the target by `miss` (shortfall); projected: the next
    epoch is in the projected window."""
    if miss > 0:
        lam = lam * STEP ** (1 + min(miss / BAND, 4.0))
    elif miss < -BAND and not projected:
        lam = lam / STEP
    return min(LAMBDA_MAX, max(LAMBDA_MIN, lam))


def _window(epochs: int, fraction: float) -> int:
    # rounded first: 0.3 * 150 is 45.00000000000001 in floating point, and its ceiling 46
    return epochs - max(1, math.ceil(round(fraction * epochs, 9))) + 1


def final_window(epochs: int) -> int:
    """The first epoch number (1-based, as the log's) of the final window."""
    return _window(epochs, FINAL_FRACTION)


def projected_window(epochs: int) -> int:
    """The first epoch number of the projected window (it holds the final window)."""
    return _window(epochs, PROJECTED_FRACTION)
