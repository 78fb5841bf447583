"""Design grids: log-spaced values for tuning (learning rates, batch sizes) and evaluation steps spaced in log(step).

A quantity that matters by its ratio — a learning rate, a batch size, a number of steps — is sampled
evenly in its logarithm: :func:`log_grid` gives ``n`` values a constant factor apart, centred (in log
space) on a guess, and :func:`eval_step_grid` gives the steps at which to evaluate a run, about a fixed
number per doubling of the step, so that the step at which a learning curve reaches a target loss is
resolved to the same relative precision early and late. Both serve measurements of steps to a target
loss against batch size in the manner of McCandlish et al. (2018, "An Empirical Model of Large-Batch
Training", arXiv:1812.06162) and Shallue et al. (2019, "Measuring the Effects of Data Parallelism on
Neural Network Training", Journal of Machine Learning Research 20): the learning rate tuned separately
for every batch size, the steps read off each learning curve.

Used by: chapter 04 (critical batch size: its learning-rate grids and evaluation steps) and chapter 07
(learning-rate schedules: its peak-rate grids).
"""

from __future__ import annotations

import math

import numpy as np


def eval_step_grid(max_steps: int, per_octave: int) -> list[int]:
    """Evaluation steps spaced evenly in log(step): about ``per_octave`` per doubling. Used by chapter 04."""
    n = max(2, int(math.ceil(per_octave * math.log2(max(2, max_steps)))) + 1)
    return sorted({int(round(s)) for s in np.geomspace(1, max_steps, n)})


def log_grid(center: float, n: int, factor: float) -> list[float]:
    """``n`` values spaced by ``factor`` in log space, centred on ``center``. Used by chapters 04 and 07."""
    offsets = np.arange(n) - (n - 1) / 2
    return [float(center * factor**o) for o in offsets]
