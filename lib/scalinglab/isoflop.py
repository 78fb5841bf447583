"""IsoFLOP analysis: the compute-optimal model size from runs at fixed compute, in either parameter count.

How should a compute budget C ≈ 6·N·D be split between parameters N and tokens D? This module holds the
analyses that answer it from a grid of training runs — several model sizes at each of several budgets,
several seeds per (budget, size) cell — given as plain arrays, one entry per run:

- **Approach 2** of Hoffmann et al. (2022, "Training compute-optimal large language models"): per
  budget a least-squares parabola of loss against log N and its minimum (:func:`parabola_minimum`,
  :func:`isoflop_minima`, :class:`IsoFlopMinimum`), with an interior margin (the precondition that the
  minimum lies inside the sizes trained); the slope a of N_opt ∝ C^a in total parameters and, the same
  minima re-counted along the model family (:func:`nonemb_from_total`), in non-embedding parameters as
  Kaplan et al. (2020) counted them (:func:`approach2_exponents`); and the whole analysis on runs, with
  bootstrap samples (:func:`approach2`, :class:`Approach2Result`);
- **seed noise**: :func:`seed_noise_resamples` redraws every run's loss as its cell mean plus a residual
  pooled over runs (the resamples for Approach 2's bootstrap and for
  :func:`scalinglab.fit.fit_chinchilla_law`'s), and :func:`surface_misfit` measures how far a fitted
  L(N, D) = E + A/N^α + B/D^β (:class:`scalinglab.fit.ChinchillaLaw`, Approach 3) lies from the cell
  means, in standard errors of a cell mean;
- **the Kaplan–Chinchilla reconciliation** of Pearce & Song (2024, "Reconciling Kaplan and Chinchilla
  scaling laws"): the parameter-count relation N_total = N_nonemb + k·N_nonemb^(1/3)
  (:func:`total_from_nonemb`, :func:`fit_embedding_relation`), the optimum an experimenter counting
  non-embedding parameters finds (:func:`optimal_n_nonemb`), and the exponents measured in each counting
  over a range of budgets (:func:`reconciled_exponents`, over Kaplan's ranges by default;
  :func:`local_exponent_nonemb`).

Used by: chapter 05 (compute-optimal scaling).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import optimize

from .fit import ChinchillaLaw

# ---------------------------------------------------------------------------------------------
# Approach 2: IsoFLOP profiles (Hoffmann et al. 2022)
# ---------------------------------------------------------------------------------------------


@dataclass
class IsoFlopMinimum:
    """The parabola loss ≈ c₀ + c₁·x + c₂·x² (x = log N_total) of one budget and its minimum.
    Used by chapter 05."""

    budget: float
    log_n_opt: float
    curvature: float  # c₂ (> 0 for a minimum)
    interior_margin: float  # distance of the minimum inside the measured log N range, in units of its width
    coefficients: tuple

    @property
    def n_opt(self) -> float:
        return float(np.exp(self.log_n_opt))


def parabola_minimum(log_n, loss) -> tuple[float, float, tuple]:
    """Least-squares parabola of ``loss`` against ``log_n``; returns (x_min, curvature, coefficients).
    x_min is NaN when the parabola opens downwards. Used by chapter 05."""
    x, y = np.asarray(log_n, float), np.asarray(loss, float)
    if len(x) < 3:
        raise ValueError(f"need at least 3 sizes per budget, got {len(x)}")
    c2, c1, c0 = np.polyfit(x, y, 2)
    x_min = -c1 / (2 * c2) if c2 > 0 else float("nan")
    return float(x_min), float(c2), (float(c0), float(c1), float(c2))


def isoflop_minima(budgets, log_n, loss) -> list[IsoFlopMinimum]:
    """One :class:`IsoFlopMinimum` per distinct budget. ``interior_margin`` = min(x_min − x_lo,
    x_hi − x_min) / (x_hi − x_lo): positive when the minimum lies inside the sizes trained (the
    precondition of Approach 2), negative outside. Used by chapter 05."""
    budgets, log_n, loss = (np.asarray(v, float) for v in (budgets, log_n, loss))
    out = []
    for c in sorted(set(budgets.tolist())):
        m = budgets == c
        x_min, c2, coef = parabola_minimum(log_n[m], loss[m])
        lo, hi = log_n[m].min(), log_n[m].max()
        margin = (min(x_min - lo, hi - x_min) / (hi - lo)) if np.isfinite(x_min) else float("-inf")
        out.append(IsoFlopMinimum(budget=c, log_n_opt=x_min, curvature=c2, interior_margin=float(margin),
                                  coefficients=coef))
    return out


def nonemb_from_total(log_n_total, family_log_total, family_log_nonemb) -> np.ndarray:
    """Map log N_total to log N_nonemb along a model family (linear interpolation in log-log
    between its members; linear extrapolation from the end segments). Used by chapter 05."""
    xt, xe = np.asarray(family_log_total, float), np.asarray(family_log_nonemb, float)
    order = np.argsort(xt)
    xt, xe = xt[order], xe[order]
    x = np.atleast_1d(np.asarray(log_n_total, float))
    y = np.interp(x, xt, xe)
    lo, hi = x < xt[0], x > xt[-1]
    y[lo] = xe[0] + (x[lo] - xt[0]) * (xe[1] - xe[0]) / (xt[1] - xt[0])
    y[hi] = xe[-1] + (x[hi] - xt[-1]) * (xe[-1] - xe[-2]) / (xt[-1] - xt[-2])
    return y


def approach2_exponents(minima: Sequence[IsoFlopMinimum], family_log_total, family_log_nonemb) -> dict:
    """The slopes of log N_opt on log C from IsoFLOP minima, in both countings.

    ``total``: N_total at the minimum against the budget C = 6·N_total·D. ``nonemb``: the same minima
    re-counted as an experimenter counting non-embedding parameters would record them — N_nonemb at
    the minimum (along the family) against C_nonemb = C·N_nonemb/N_total = 6·N_nonemb·D.
    Used by chapter 05.
    """
    log_c = np.log([m.budget for m in minima])
    log_nt = np.array([m.log_n_opt for m in minima])
    log_ne = nonemb_from_total(np.nan_to_num(log_nt), family_log_total, family_log_nonemb)
    log_ne[~np.isfinite(log_nt)] = np.nan
    log_ce = log_c + log_ne - log_nt
    out = {"n_opt_total": np.exp(log_nt).tolist(), "n_opt_nonemb": np.exp(log_ne).tolist(),
           "budgets": np.exp(log_c).tolist(), "budgets_nonemb": np.exp(log_ce).tolist()}
    if not np.all(np.isfinite(log_nt)) or len(minima) < 2:
        return {"total": float("nan"), "nonemb": float("nan"), "difference": float("nan"), **out}
    a_t = float(np.polyfit(log_c, log_nt, 1)[0])
    a_e = float(np.polyfit(log_ce, log_ne, 1)[0])
    return {"total": a_t, "nonemb": a_e, "difference": a_e - a_t, **out}


@dataclass
class Approach2Result:
    """Approach 2 on a grid of runs: the point estimates, the bootstrap samples and the minima.
    Used by chapter 05."""

    minima: list
    exponents: dict
    samples: dict  # "total" / "nonemb" / "difference" -> bootstrap values; "n_opt_total" / "n_opt_nonemb" -> per-budget lists
    min_interior_margin: float
    n_budgets: int
    n_resamples: int

    def interval(self, key: str) -> tuple[float, float]:
        from .intervals import percentile_interval

        return percentile_interval(self.samples[key])

    def minima_intervals(self, counting: str = "total") -> np.ndarray:
        """95 % bootstrap intervals of each budget's N_opt, shape (n_budgets, 2)."""
        from .intervals import percentile_interval

        values = np.array(self.samples[f"n_opt_{counting}"], float).reshape(-1, self.n_budgets)
        return np.array([percentile_interval(values[:, j]) for j in range(self.n_budgets)])


def approach2(budget, log_n_total, loss, family_log_total, family_log_nonemb, *, resampled_losses=None
              ) -> Approach2Result:
    """Approach 2 on runs (one row per run: its budget, log N_total and final loss; several seeds per
    (budget, size) cell). The point estimate fits each budget's parabola to the cells' means over
    seeds; every row of ``resampled_losses`` (from :func:`seed_noise_resamples`) is analysed the same
    way for the bootstrap samples. Used by chapter 05."""
    budget, log_n_total, loss = (np.asarray(v, float) for v in (budget, log_n_total, loss))
    keys = sorted(set(zip(budget.tolist(), log_n_total.tolist())))
    members = [np.nonzero((budget == c) & (log_n_total == x))[0] for c, x in keys]
    kb = np.array([k[0] for k in keys])
    kx = np.array([k[1] for k in keys])

    def analyse(y):
        means = np.array([y[m].mean() for m in members])
        minima = isoflop_minima(kb, kx, means)
        return minima, approach2_exponents(minima, family_log_total, family_log_nonemb)

    minima, exps = analyse(loss)
    samples = {"total": [], "nonemb": [], "difference": [], "n_opt_total": [], "n_opt_nonemb": []}
    rows = [] if resampled_losses is None else np.asarray(resampled_losses, float)
    nan = [float("nan")] * len(minima)
    for y in rows:
        _, e = analyse(y)
        for key in samples:
            samples[key].append(e.get(key, nan))
    return Approach2Result(minima=minima, exponents=exps, samples=samples,
                           min_interior_margin=float(min(m.interior_margin for m in minima)),
                           n_budgets=len(minima), n_resamples=len(rows))


# ---------------------------------------------------------------------------------------------
# Seed noise: redrawn losses, and a fitted surface's misfit in its units
# ---------------------------------------------------------------------------------------------


def seed_noise_resamples(cells, loss, n_resamples: int, seed: int = 0, strata=None) -> np.ndarray:
    """Losses redrawn with the runs' own seed noise: each run's loss is replaced by its cell's mean
    (cell = one (budget, size) pair, several seeds) plus a residual drawn with replacement from the
    residuals (run − its cell mean, × √(n/(n−1)) so that their variance is unbiased) of the runs in the
    same stratum (default: all runs). Returns an array (n_resamples, n_runs). With two or three seeds a
    plain within-cell bootstrap would halve the variance; pooling residuals avoids that.
    Used by chapter 05."""
    cells = [tuple(c) if isinstance(c, (list, tuple, np.ndarray)) else c for c in cells]
    y = np.asarray(loss, float)
    strata = np.zeros(len(y), int) if strata is None else np.asarray(strata)
    means = np.empty_like(y)
    resid = np.empty_like(y)
    for c in dict.fromkeys(cells):
        idx = np.array([i for i, ci in enumerate(cells) if ci == c])
        m = y[idx].mean()
        means[idx] = m
        k = len(idx)
        resid[idx] = (y[idx] - m) * (math.sqrt(k / (k - 1)) if k > 1 else 0.0)
    rng = np.random.default_rng(seed)
    out = np.empty((n_resamples, len(y)))
    pools = {s: np.nonzero(strata == s)[0] for s in np.unique(strata)}
    for b in range(n_resamples):
        draw = np.empty_like(y)
        for s, idx in pools.items():
            draw[idx] = resid[rng.choice(idx, size=len(idx), replace=True)]
        out[b] = means + draw
    return np.clip(out, 1e-6, None)


def _cell_residuals(cells, n, d, loss, law: ChinchillaLaw) -> dict:
    """Per (budget, size) cell: the index of its first run, its mean log loss and the surface's log
    prediction; plus σ, the pooled RMS of each run's log loss about its cell mean (× √(k/(k−1)); NaN
    without replicates) and the mean number of runs per cell. Shared by :func:`surface_misfit` and
    chapter 05's :func:`~scalinglab.experiments.compute_optimal.surface_residuals`."""
    cells = [tuple(c) if isinstance(c, (list, tuple, np.ndarray)) else c for c in cells]
    n, d, log_y = np.asarray(n, float), np.asarray(d, float), np.log(np.asarray(loss, float))
    groups = {}
    for i, c in enumerate(cells):
        groups.setdefault(c, []).append(i)
    first, means, sq, counts = [], [], [], []
    for idx in map(np.array, groups.values()):
        k = len(idx)
        m = float(log_y[idx].mean())
        first.append(int(idx[0]))
        means.append(m)
        counts.append(k)
        if k > 1:
            sq.extend(((log_y[idx] - m) ** 2 * k / (k - 1)).tolist())
    first = np.array(first)
    return {"first": first, "mean_log": np.array(means), "pred_log": np.log(law.loss(n[first], d[first])),
            "sigma": float(np.sqrt(np.mean(sq))) if sq else float("nan"), "k": float(np.mean(counts))}


def surface_misfit(cells, n, d, loss, law: ChinchillaLaw) -> dict:
    """How well a fitted surface describes the runs, in units of their own seed noise.

    ``cells`` labels each run's (budget, size) cell (several seeds each). The misfit is the RMS, over
    cells, of log(cell mean loss) − log L̂(N, D); the noise unit is the standard error of a cell mean,
    σ/√k, with σ the pooled RMS of each run's log loss about its cell mean (× √(k/(k−1))). A
    well-specified surface fitted to many more cells than its five parameters gives a ``ratio`` near
    1; a surface whose form cannot follow the IsoFLOP valleys gives several. NaN without replicates.
    Used by chapter 05 (C3's precondition: Approach 3's exponent means something only where its
    surface describes the runs)."""
    r = _cell_residuals(cells, n, d, loss, law)
    rms = float(np.sqrt(np.mean((r["mean_log"] - r["pred_log"]) ** 2)))
    se = r["sigma"] / math.sqrt(r["k"])
    ratio = rms / se if se > 0 else float("nan")  # NaN comparisons are False: NaN stays NaN
    return {"rms_log": rms, "seed_sd_log": r["sigma"], "cell_se_log": se, "ratio": ratio, "n_cells": len(r["first"])}


# ---------------------------------------------------------------------------------------------
# The Kaplan–Chinchilla reconciliation (Pearce & Song 2024)
# ---------------------------------------------------------------------------------------------

#: The budget ranges of Pearce & Song's simulated studies: Kaplan's non-embedding compute range
#: (10^12.95 – 10^20.7 FLOPs) and, in total compute, 10^14 – 10^20.7.
KAPLAN_RANGE_NONEMB = (10 ** 12.95, 10 ** 20.7)
KAPLAN_RANGE_TOTAL = (1e14, 10 ** 20.7)


def total_from_nonemb(n_nonemb, k: float) -> np.ndarray:
    """N_total = N_nonemb + k·N_nonemb^(1/3): embeddings of width d ∝ N_nonemb^(1/3) at a fixed
    aspect ratio (Pearce & Song 2024, Eq. 5). Used by chapter 05."""
    n = np.asarray(n_nonemb, float)
    return n + k * np.cbrt(n)


def fit_embedding_relation(n_nonemb, n_total) -> float:
    """The k of N_total = N_nonemb + k·N_nonemb^(1/3) for a model family (least squares of
    log(N_total − N_nonemb) − log N_nonemb / 3, i.e. a geometric mean). Used by chapter 05."""
    n_e, n_t = np.asarray(n_nonemb, float), np.asarray(n_total, float)
    if np.any(n_t < n_e):
        raise ValueError("every N_total must be at least its N_nonemb")
    if np.all(n_t == n_e):
        return 0.0
    n_t, n_e = n_t[n_t > n_e], n_e[n_t > n_e]
    return float(np.exp(np.mean(np.log(n_t - n_e) - np.log(n_e) / 3.0)))


def optimal_n_nonemb(law: ChinchillaLaw, compute_nonemb: float, k: float) -> float:
    """The N_nonemb an experimenter counting non-embedding parameters finds optimal at non-embedding
    compute C_E = 6·N_nonemb·D, when the true loss is ``law`` in total parameters (numerical 1-D
    minimum in log N). Used by chapter 05."""
    log_c6 = math.log(compute_nonemb / 6.0)

    def objective(x):
        n = math.exp(x)
        return math.log(law.loss(n + k * n ** (1 / 3), math.exp(log_c6 - x)))

    res = optimize.minimize_scalar(objective, bounds=(-5.0, log_c6 + 5.0), method="bounded",
                                   options={"xatol": 1e-10})
    return float(math.exp(res.x))


def reconciled_exponents(law: ChinchillaLaw, k: float, range_nonemb=KAPLAN_RANGE_NONEMB,
                         range_total=KAPLAN_RANGE_TOTAL, n_points: int = 100) -> dict:
    """The exponents of N_opt ∝ C^a an experimenter measures (least-squares slope of log N_opt on
    log C over ``n_points`` budgets log-spaced in each range): ``nonemb`` counting non-embedding
    parameters and compute, ``total`` counting all of them, plus the asymptotic a = β/(α+β).

    Pearce & Song (2024) report ≈ 0.78 (Epoch coefficients) and ≈ 0.74 (Hoffmann's) in non-embedding
    parameters over Kaplan's range, and 0.51 / 0.46 in total parameters. Used by chapter 05.
    """
    c_e = np.geomspace(*range_nonemb, n_points)
    n_e = np.array([optimal_n_nonemb(law, c, k) for c in c_e])
    c_t = np.geomspace(*range_total, n_points)
    n_t = law.optimal_n(c_t)
    return {"nonemb": float(np.polyfit(np.log(c_e), np.log(n_e), 1)[0]),
            "total": float(np.polyfit(np.log(c_t), np.log(n_t), 1)[0]),
            "asymptotic": law.a, "k": float(k),
            "range_nonemb": [float(v) for v in range_nonemb], "range_total": [float(v) for v in range_total]}


def local_exponent_nonemb(law: ChinchillaLaw, compute_nonemb, k: float, step: float = 0.05) -> np.ndarray:
    """d log N_opt / d log C in non-embedding counting at each budget (central difference in log C).
    It falls from ≈ 1 at tiny budgets (all parameters are embeddings) to β/(α+β). Used by chapter 05."""
    out = []
    for c in np.atleast_1d(np.asarray(compute_nonemb, float)):
        hi = optimal_n_nonemb(law, c * math.exp(step), k)
        lo = optimal_n_nonemb(law, c * math.exp(-step), k)
        out.append((math.log(hi) - math.log(lo)) / (2 * step))
    return np.array(out)
