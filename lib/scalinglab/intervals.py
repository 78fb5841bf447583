"""95 % intervals from a run's own replicates — only methods that are shown to cover.

A claim's interval must cover: simulated at the claim's own design (its number of seeds, items per
seed, the seed-to-seed variance seen in real runs), nominal 95 % has to contain the truth at least
92 % of the time (``tests/test_intervals.py`` checks every method below at 3 and 5 seeds with seed
variance large and small; ``scalinglab.audit`` checks each claim at its own design). With three to
five seeds that rules out resampling the seeds: a bootstrap over three seeds has only ten distinct
resamples and covers about 70 % (:func:`hierarchical_bootstrap` is kept for figures and for the
coverage test that shows it, never for a verdict). The methods a claim may use
(:data:`COVERING_METHODS`):

- :func:`t_interval` (``"seed_t"``): Student's t over one value per seed — the per-seed statistic, or
  a seed's items averaged first (:func:`seed_means`), so that item noise enters through the spread
  of the seed values and is not counted twice;
- :func:`jackknife_interval` (``"jackknife_t"``): the delete-one-seed jackknife of a statistic of
  *all* seeds together (a fit to the pooled curve, a ratio of pooled errors), with Student's t on
  G − 1 degrees of freedom (Efron & Tibshirani 1993, Ch. 11; for the mean it is exactly the t
  interval). Use it where one seed alone is too noisy to give a stable statistic;
- the same jackknife centred on its bias-corrected estimate (``"jackknife_bc_t"``), for a pooled
  statistic that seed noise biases by order 1/G (chapter 01's R², which noise can only lower);
- :func:`paired_t_interval` (``"seed_t"``): the t interval of per-seed differences of two arms
  trained with the same seeds;
- ``"exact"``: no sampling at all — a number computed from published values (chapter 05's C4, C5).

All are deterministic. :func:`coverage` simulates any of them at a given design.

Used by: every chapter's measurement functions in ``scalinglab.experiments``, ``scalinglab.audit``.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

CONFIDENCE = 0.95

#: The interval methods a claim may name in ``Claim.method`` (see the module docstring), with what each
#: one is, in words, for the claims table.
COVERING_METHODS = {
    "seed_t": "Student's t interval over one value per seed (items averaged within a seed first)",
    "jackknife_t": "delete-one-seed jackknife of the pooled statistic, Student's t on seeds − 1 degrees of freedom",
    "jackknife_bc_t": "delete-one-seed jackknife of the pooled statistic centred on its bias-corrected estimate, "
                      "Student's t on seeds − 1 degrees of freedom",
    "exact": "computed from published numbers: no sampling, no interval to cover",
}


def percentile_interval(samples: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The central ``confidence`` interval of ``samples`` (NaNs ignored)."""
    s = np.asarray(samples, dtype=float)
    s = s[np.isfinite(s)]
    if s.size == 0:
        return (float("nan"), float("nan"))
    tail = 100 * (1 - confidence) / 2
    lo, hi = np.percentile(s, [tail, 100 - tail])
    return (float(lo), float(hi))


def bootstrap_interval(statistic: Callable[[np.ndarray], float], rows: Sequence, *, n_resamples: int = 2000,
                       seed: int = 0, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile bootstrap of ``statistic(rows[idx])`` over resampled row indices.

    ``rows`` is anything NumPy can index with an integer array along its first axis (an array of
    per-seed values, a 2-D array of (seed, example) values, …).
    """
    rows = np.asarray(rows)
    n = len(rows)
    if n == 0:
        raise ValueError("bootstrap_interval: no rows")
    rng = np.random.default_rng(seed)
    samples = [statistic(rows[rng.integers(0, n, n)]) for _ in range(n_resamples)]
    return percentile_interval(samples, confidence)


def hierarchical_bootstrap(statistic: Callable[[list[np.ndarray]], float], groups: Sequence[Sequence], *,
                           n_resamples: int = 2000, seed: int = 0,
                           confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Two-level bootstrap: resample the groups (seeds), then the items (test examples) within each.

    **Not a covering method with few seeds**: with 3 seeds it covers the mean about 70 % of the time at
    nominal 95 % when seeds differ as much as items do (``tests/test_intervals.py``). Kept for figures
    and for that test; a verdict uses :func:`t_interval` or :func:`jackknife_interval`.

    ``groups[g]`` holds the per-item values of group g (an array whose first axis is the items);
    ``statistic`` receives the resampled list of groups, each a resampled array of items.
    """
    groups = [np.asarray(g) for g in groups]
    if not groups or any(len(g) == 0 for g in groups):
        raise ValueError("hierarchical_bootstrap: every group needs at least one item")
    rng = np.random.default_rng(seed)
    n_groups = len(groups)
    samples = []
    for _ in range(n_resamples):
        picked = rng.integers(0, n_groups, n_groups)
        samples.append(statistic([groups[g][rng.integers(0, len(groups[g]), len(groups[g]))] for g in picked]))
    return percentile_interval(samples, confidence)


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Student's t interval of the mean of ``values`` (needs at least two values)."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    if v.size < 2:
        return (float("nan"), float("nan"))
    half = stats.t.ppf(0.5 + confidence / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
    return (float(v.mean() - half), float(v.mean() + half))


def seed_means(groups: Sequence[Sequence[float]]) -> np.ndarray:
    """The mean of each seed's items (the values :func:`t_interval` takes when items are nested in seeds)."""
    means = [float(np.mean(np.asarray(g, dtype=float))) for g in groups]
    if not means or any(not np.isfinite(m) for m in means):
        raise ValueError("seed_means: every seed needs at least one finite item")
    return np.asarray(means)


def paired_t_interval(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Student's t interval of the mean of the per-seed differences ``a − b`` (the same seeds in both arms)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired_t_interval: arms of different shapes {a.shape} and {b.shape}")
    return t_interval(a - b, confidence)


def jackknife_interval(statistic: Callable[[list], float], groups: Sequence, *,
                       confidence: float = CONFIDENCE, bias_corrected: bool = False) -> tuple[float, float]:
    """Delete-one-group jackknife interval of ``statistic(groups)``, with Student's t on G − 1 df.

    ``groups`` are the replicates (seeds); ``statistic`` receives a list of them (all, or all but one)
    and returns a number. The standard error is the jackknife's,
    sqrt((G − 1)/G · Σ_g (θ_(−g) − θ̄_(·))²), and the interval is centred on the statistic of all groups
    (Efron & Tibshirani 1993, Sec. 11.2), or with ``bias_corrected`` on the jackknife's bias-corrected
    estimate G·θ − (G − 1)·θ̄_(·) (their Sec. 10.5; :func:`jackknife_bias_corrected`), which removes a
    bias of order 1/G — e.g. the seed noise left in a pooled curve lowering its R². For the mean of the
    group means both equal :func:`t_interval`. NaN when G < 2 or a leave-one-out statistic is not finite.
    """
    from scipy import stats

    groups = list(groups)
    g = len(groups)
    full = float(statistic(groups))
    if g < 2:
        return (float("nan"), float("nan"))
    loo = np.array([float(statistic(groups[:i] + groups[i + 1:])) for i in range(g)])
    if not (np.isfinite(full) and np.all(np.isfinite(loo))):
        return (float("nan"), float("nan"))
    se = math.sqrt((g - 1) / g * float(np.sum((loo - loo.mean()) ** 2)))
    half = float(stats.t.ppf(0.5 + confidence / 2, g - 1)) * se
    centre = g * full - (g - 1) * float(loo.mean()) if bias_corrected else full
    return (centre - half, centre + half)


def jackknife_bias_corrected(statistic: Callable[[list], float], groups: Sequence) -> float:
    """The jackknife's bias-corrected estimate G·θ − (G − 1)·θ̄_(·) of ``statistic(groups)`` (Efron &
    Tibshirani 1993, Sec. 10.5): the centre of :func:`jackknife_interval` with ``bias_corrected``. NaN
    when G < 2."""
    groups = list(groups)
    g = len(groups)
    if g < 2:
        return float("nan")
    loo = [float(statistic(groups[:i] + groups[i + 1:])) for i in range(g)]
    return g * float(statistic(groups)) - (g - 1) * float(np.mean(loo))


def coverage(interval: Callable[[np.random.Generator], tuple[float, float]], truth: float, *, n_sims: int = 1000,
             seed: int = 0) -> float:
    """Share of ``n_sims`` simulated experiments whose interval contains ``truth``.

    ``interval(rng)`` simulates one experiment with the generator it is given and returns its
    interval. Used by ``tests/test_intervals.py`` and by :mod:`scalinglab.audit`.
    """
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(n_sims):
        lo, hi = interval(rng)
        hits += bool(lo <= truth <= hi)
    return hits / n_sims
