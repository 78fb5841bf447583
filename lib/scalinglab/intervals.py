"""95 % intervals from a run's own replicates: seeds, test examples, or both.

Every claim's statistic gets its interval from one of these, and the claim says which:

- :func:`bootstrap_interval`: percentile bootstrap over one level of replicates (e.g. seeds, or
  test examples), for any statistic of the resampled rows;
- :func:`hierarchical_bootstrap`: seeds and test examples both as sources of noise — resample seeds,
  then examples within each resampled seed (Davison & Hinkley 1997, Sec. 3.8; the "cases" scheme at
  both levels);
- :func:`t_interval`: Student's t interval of a mean over a few seeds (with three seeds a bootstrap
  has only ten distinct resamples and is too narrow; the t interval is the honest choice there).

All are deterministic given ``seed``.

Used by: every chapter's measurement functions in ``scalinglab.experiments``.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

CONFIDENCE = 0.95


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
