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


def one_standard_error_choice(losses) -> dict:
    """Choose from a grid by the one-standard-error rule (Breiman et al. 1984, *Classification and Regression
    Trees*, Sec. 3.4.3; Hastie, Tibshirani & Friedman, *The Elements of Statistical Learning*, 2nd ed., Sec. 7.10):
    the first candidate whose mean loss is within one standard error of the lowest mean.

    ``losses``: shape (replicates, candidates), at least two replicates, the candidates ordered from the most
    conservative (for learning rates: the smallest) to the least. The standard error of a candidate's mean comes
    from how the replicates disagree: δᵢ = loss of replicate 0 − loss of replicate 1 at candidate i (with more
    replicates, each replicate's deviation from the mean over replicates, pooled), centred on its median so that
    a shift shared by every candidate of a replicate (its initialisation) cancels, and scaled by the median
    absolute deviation (× 1.4826, the normal's consistency factor), so that a candidate that diverged in one
    replicate does not inflate it. With two replicates, sd(δ) = √2·σ and the mean of two has standard error
    σ/√2 = sd(δ)/2.

    Returns ``{"index": the chosen candidate, "argmin": the lowest mean's, "mean": the means, "se": the standard
    error}``. On a flat valley the rule prefers the conservative side; on a sharp one it is the argmin.
    Used by chapter 07 (its peak learning rates)."""
    x = np.asarray(losses, float)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(f"losses must have shape (replicates >= 2, candidates >= 1), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("losses must be finite (give a diverged run a large finite loss)")
    n = x.shape[0]
    mean = x.mean(axis=0)
    # each replicate's deviation from the mean over replicates, less its median over candidates (the shared shift)
    dev = x - mean
    dev = dev - np.median(dev, axis=1, keepdims=True)
    # a replicate's deviation has variance σ²·(n − 1)/n; the mean over n replicates has σ²/n
    sigma = 1.4826 * float(np.median(np.abs(dev))) * math.sqrt(n / (n - 1))
    se = sigma / math.sqrt(n)
    best = int(np.argmin(mean))
    index = int(np.flatnonzero(mean <= mean[best] + se)[0])
    return {"index": index, "argmin": best, "mean": mean.tolist(), "se": se}


def stability_margin(mean, index: int) -> dict:
    """Step a choice on an increasing learning-rate grid down until the next larger rate trained.

    ``mean``: each rate's mean loss, the rates in increasing order; ``index``: the rate chosen so far (e.g. by
    :func:`one_standard_error_choice`). A rate **diverged** if its mean loss is worse than that of the grid's
    smallest rate — a rate that trains worse than one many times smaller has left the valley (no threshold to
    choose). The chosen rate is then never a neighbour of a rate that diverged: short tuning runs put the best rate
    close to the largest one that trains (Bengio 2012, *Practical recommendations for gradient-based training of
    deep architectures*, Sec. 3.1.1), and the longer runs that use it diverge at a rate somewhat lower than the
    short ones do. Stops at the grid's smallest rate, so that a caller that widens a grid whose choice lies on an
    edge widens it downwards.

    Returns ``{"index": the rate chosen, "diverged": per rate, whether it diverged, "stepped": how many steps
    down the margin took}``. Used by chapter 07 (its peak learning rates)."""
    m = np.asarray(mean, float)
    if m.ndim != 1 or not 0 <= index < len(m):
        raise ValueError(f"mean must be one-dimensional and index within it, got shape {m.shape} and index {index}")
    diverged = m > m[0]
    i = int(index)
    while i > 0 and i + 1 < len(m) and diverged[i + 1]:
        i -= 1
    return {"index": i, "diverged": diverged.tolist(), "stepped": int(index) - i}
