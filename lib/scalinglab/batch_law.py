"""Steps to a target loss against batch size: the step–batch law and its fits.

McCandlish, Kaplan, Amodei & the OpenAI Dota Team (2018, "An Empirical Model of Large-Batch Training",
arXiv:1812.06162) model how the number of optimiser steps S needed to reach a given loss falls as the batch
size B grows. With E = B·S the number of training examples used, S_min the fewest steps (reached at very large
batches) and E_min the fewest examples (at very small ones), steps and examples trade off on the hyperbola
(S/S_min − 1)(E/E_min − 1) = 1 (their Eq. 2.11), that is S(B) = S_min·(1 + B_crit/B) and
E(B) = E_min·(1 + B/B_crit), with the critical batch size B_crit = E_min/S_min. Far below B_crit a larger
batch cuts the steps in proportion (perfect scaling); far above it the steps barely fall. S is measured as
Shallue, Lee, Antognini, Sohl-Dickstein, Frostig & Dahl (2019, "Measuring the Effects of Data Parallelism
on Neural Network Training", JMLR 20(112)) do: the steps to the target at the best learning rate of each
batch size, the rate re-tuned for every batch size.

This module holds:

- measuring S: :func:`steps_to_target` (one run's evaluations, interpolated in log step),
  :func:`steps_to_targets_table` (many runs and targets), :func:`best_over_learning_rates` (S at the best
  rate, mean over seeds), :func:`make_stop_rule` (a ``stop_fn`` for :func:`scalinglab.families.train_family`
  that ends training once that best rate is known) and :func:`seed_mean_steps` (the geometric mean over
  seeds);
- the law: :func:`fit_step_batch_law` (a :class:`StepBatchFit`), least squares in log S, and
  :func:`out_of_sample_errors`, its prediction at the largest batch sizes against a power law S = a·B^(−b);
- the shape of the bend: :func:`hyperbola_excess`, the curve (S/S_min − 1)(E/E_min − 1) = c for any
  product c (c = 1 the paper's hyperbola, c → 0 a hard corner, c > 1 a softer bend), and
  :func:`fit_bend_law` (a :class:`BendFit`), which fits c — or the exponent γ of
  S = S_min·(1 + (B_crit/B)^γ) — shared by several targets.

The gradient noise scale, which predicts B_crit, is estimated in :mod:`scalinglab.noise_scale`.

Used by: chapter 04 (critical batch size), through ``scalinglab.experiments.critical_batch``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np

# --------------------------------------------------------------------------------------------
# Steps to target
# --------------------------------------------------------------------------------------------


def steps_to_target(steps: Sequence[float], losses: Sequence[float], target: float) -> float:
    """The first step at which ``losses`` reach ``target`` (≤), interpolated; ``inf`` if never.

    Between the last evaluation above the target (s₀, L₀) and the first at or below it (s₁, L₁)
    the loss is taken as linear in log(step). Non-finite losses (a diverged run) never reach it.
    Used by chapter 04.
    """
    steps = np.asarray(steps, float)
    losses = np.asarray(losses, float)
    hit = np.nonzero(np.isfinite(losses) & (losses <= target))[0]
    if len(hit) == 0:
        return float("inf")
    i = int(hit[0])
    if i == 0:
        return float(steps[0])
    s0, s1, l0, l1 = steps[i - 1], steps[i], losses[i - 1], losses[i]
    if not np.isfinite(l0) or l0 == l1:
        return float(s1)
    frac = (l0 - target) / (l0 - l1)
    return float(np.exp(np.log(s0) + frac * (np.log(s1) - np.log(s0))))


def steps_to_targets_table(histories: list, targets: Sequence[float], key: str = "heldout") -> np.ndarray:
    """Steps to each target for each model: array (K, n_targets), ``inf`` where never reached. Used by chapter 04."""
    out = np.full((len(histories), len(targets)), np.inf)
    for k, rows in enumerate(histories):
        steps = [r["step"] for r in rows]
        losses = [r[key] for r in rows]
        for j, t in enumerate(targets):
            out[k, j] = steps_to_target(steps, losses, t)
    return out


def best_over_learning_rates(steps: np.ndarray, lr_index: Sequence[int], n_lrs: int) -> tuple:
    """S per target: min over learning rates of the mean over seeds (``inf`` unless all seeds reach).

    ``steps`` is (K, n_targets) with model k trained at learning rate ``lr_index[k]``. Returns
    ``(best_steps (n_targets,), best_lr_index (n_targets,))``; the index is −1 where no learning
    rate reached the target with every seed. Used by chapter 04.
    """
    lr_index = np.asarray(lr_index)
    means = np.stack([steps[lr_index == i].mean(axis=0) for i in range(n_lrs)])  # (n_lrs, T)
    best = means.min(axis=0)
    arg = np.where(np.isfinite(best), means.argmin(axis=0), -1)
    return best, arg


def make_stop_rule(targets: Sequence[float], lr_index: Sequence[int], n_lrs: int,
                   key: str = "heldout") -> Callable[[list], bool]:
    """A ``stop_fn`` for :func:`scalinglab.families.train_family` that ends a family's training as
    soon as the best learning rate (mean over seeds) is known for every target.

    With evaluations up to step s, a learning rate whose seeds have not all reached a target has a
    mean of at least (reached steps + s·unreached)/n_seeds. Once the best complete mean is below
    every such bound, continuing cannot change S for any target. Diverged models never reach.
    Used by chapter 04.
    """
    lr_index = np.asarray(lr_index)

    def stop(histories: list) -> bool:
        current = histories[0][-1]["step"]
        table = steps_to_targets_table(histories, targets, key)  # (K, T)
        alive = np.array([math.isfinite(rows[-1].get(key, float("nan"))) for rows in histories])
        for j in range(len(targets)):
            best_done, bound = np.inf, np.inf
            for i in range(n_lrs):
                members = lr_index == i
                col = table[members, j]
                if np.all(np.isfinite(col)):
                    best_done = min(best_done, col.mean())
                elif np.all(alive[members] | np.isfinite(col)):
                    bound = min(bound, np.where(np.isfinite(col), col, current).mean())
            if not best_done <= bound:
                return False
        return True

    return stop


# --------------------------------------------------------------------------------------------
# The step–batch law and the shape of its bend
# --------------------------------------------------------------------------------------------


@dataclass
class StepBatchFit:
    """S(B) = S_min (1 + B_crit / B) fitted in log space; E_min = S_min · B_crit. Used by chapter 04."""

    s_min: float
    b_crit: float
    e_min: float
    r2_log: float
    n_points: int

    def steps(self, batch_size) -> np.ndarray:
        return self.s_min * (1.0 + self.b_crit / np.asarray(batch_size, float))

    def examples(self, batch_size) -> np.ndarray:
        return self.e_min * (1.0 + np.asarray(batch_size, float) / self.b_crit)

    def to_dict(self) -> dict:
        return asdict(self)


def fit_step_batch_law(batch_sizes, steps) -> StepBatchFit:
    """Least squares of log S = log S_min + log(1 + B_crit/B) over (log S_min, log B_crit).

    For a given B_crit the best log S_min is the mean of log S − log(1 + B_crit/B), so the fit is a
    one-dimensional search over log B_crit: a grid spaced 0.05 from e⁻⁵ times the smallest to e⁵ times the
    largest batch size, a grid spaced 0.0025 around its best point, and the vertex of the parabola through
    the finer grid's best three. Points with infinite S (target never reached) are dropped. R² is that of
    log S. Used by chapter 04.
    """
    from .fit import r_squared

    b = np.asarray(batch_sizes, float)
    s = np.asarray(steps, float)
    keep = np.isfinite(s) & (s > 0)
    b, s = b[keep], s[keep]
    if len(b) < 3:
        raise ValueError(f"need at least 3 batch sizes that reach the target, got {len(b)}")
    log_s = np.log(s)

    def sse(grid):
        dev = log_s[None, :] - np.log1p(np.exp(grid)[:, None] / b[None, :])
        return np.sum((dev - dev.mean(axis=1, keepdims=True)) ** 2, axis=1)

    coarse = np.arange(math.log(b.min()) - 5.0, math.log(b.max()) + 5.0 + 1e-9, 0.05)
    u0 = coarse[int(np.argmin(sse(coarse)))]
    fine = u0 + np.arange(-20, 21) * 0.0025
    values = sse(fine)
    i = int(np.clip(np.argmin(values), 1, len(fine) - 2))
    y0, y1, y2 = values[i - 1:i + 2]
    curvature = y0 - 2 * y1 + y2
    u = float(fine[i] + (0.5 * 0.0025 * (y0 - y2) / curvature if curvature > 0 else 0.0))
    u = float(np.clip(u, fine[i - 1], fine[i + 1]))
    b_crit = math.exp(u)
    s_min = float(np.exp(np.mean(log_s - np.log1p(b_crit / b))))
    pred = math.log(s_min) + np.log1p(b_crit / b)
    return StepBatchFit(s_min=s_min, b_crit=b_crit, e_min=s_min * b_crit,
                        r2_log=r_squared(log_s, pred), n_points=int(len(b)))


def out_of_sample_errors(batch_sizes, steps, n_held_out: int = 3) -> tuple[float, float]:
    """Held-out errors of the step–batch law and of a power law S = a·B^(−b), both fitted on all but the
    ``n_held_out`` largest batch sizes and judged on those: a prediction beyond the fitted range.

    ``steps`` is (n_B,) or (n_B, n_targets); each target is fitted on its own. The error is the mean
    |log S_pred − log S| over the held-out batch sizes (and targets). Returns ``(law, power_law)``;
    NaN where a fit has fewer than 3 finite points. Used by chapter 04 (claim B2).
    """
    b = np.asarray(batch_sizes, float)
    s = np.asarray(steps, float)
    s = s[:, None] if s.ndim == 1 else s
    order = np.argsort(b)
    k = int(n_held_out)
    if not 1 <= k < len(b):
        raise ValueError(f"n_held_out must be between 1 and {len(b) - 1}, got {n_held_out}")
    fit_idx, test_idx = order[:-k], order[-k:]
    err_law, err_pow = [], []
    for j in range(s.shape[1]):
        bf, sf = b[fit_idx], s[fit_idx, j]
        bt, st = b[test_idx], s[test_idx, j]
        ok_f, ok_t = np.isfinite(sf) & (sf > 0), np.isfinite(st) & (st > 0)
        if ok_f.sum() < 3 or ok_t.sum() < 1:
            return float("nan"), float("nan")
        law = fit_step_batch_law(bf[ok_f], sf[ok_f])
        err_law.extend(np.abs(np.log(law.steps(bt[ok_t])) - np.log(st[ok_t])))
        slope, intercept = np.polyfit(np.log(bf[ok_f]), np.log(sf[ok_f]), 1)
        err_pow.extend(np.abs(intercept + slope * np.log(bt[ok_t]) - np.log(st[ok_t])))
    return float(np.mean(err_law)), float(np.mean(err_pow))


def hyperbola_excess(batch_size, b_crit, c) -> np.ndarray:
    """x = S/S_min − 1 on the curve (S/S_min − 1)(E/E_min − 1) = c with E = B·S and B_crit = E_min/S_min.

    With β = B/B_crit the product gives β x² + (β − 1) x − c = 0; x is its positive root (computed in the
    form that does not cancel). c = 1 is McCandlish et al.'s hyperbola, x = B_crit/B; c → 0 is a hard corner
    (S = S_min·max(1, B_crit/B)); c > 1 a softer bend. Every c keeps perfect scaling (S ∝ 1/B) far below
    B_crit and S → S_min far above. Used by chapter 04 (B1 and its audit)."""
    beta = np.asarray(batch_size, float) / np.asarray(b_crit, float)
    c = np.asarray(c, float)
    root = np.sqrt((beta - 1.0) ** 2 + 4.0 * beta * c)
    up = beta >= 1.0
    return np.where(up, 2.0 * c / np.where(up, beta - 1.0 + root, 1.0),
                    (1.0 - beta + root) / (2.0 * np.where(up, 1.0, beta)))


@dataclass
class BendFit:
    """One shape parameter shared by every target j, with S_min,j and B_crit,j per target, fitted in log S.

    ``family`` "product": (S/S_min − 1)(E/E_min − 1) = ``shape`` (the paper's hyperbola at 1);
    "gamma": S = S_min (1 + (B_crit/B)^``shape``) (the hyperbola at γ = 1; a pure power law S ∝ B^−p reads
    as γ = p). ``rms_log``: root-mean-square residual of log S. Used by chapter 04 (B1)."""

    family: str
    shape: float
    s_min: np.ndarray  # (n_targets,)
    b_crit: np.ndarray  # (n_targets,)
    rms_log: float
    n_points: int

    def steps(self, batch_size, j: int) -> np.ndarray:
        b = np.asarray(batch_size, float)
        if self.family == "gamma":
            return self.s_min[j] * (1.0 + (self.b_crit[j] / b) ** self.shape)
        return self.s_min[j] * (1.0 + hyperbola_excess(b, self.b_crit[j], self.shape))


#: Bounds of the shared shape parameter of :func:`fit_bend_law`, per family.
_SHAPE_BOUNDS = {"product": (math.exp(-6.0), math.exp(6.0)), "gamma": (0.05, 10.0)}


def fit_bend_law(batch_sizes, steps, family: str = "product", start: BendFit | None = None) -> BendFit:
    """Least squares of log S over every target at once: one shared shape (see :class:`BendFit`), and
    log S_min,j and log B_crit,j per target j.

    ``steps`` is (n_B,) or (n_B, n_targets); non-finite or non-positive entries are dropped, and a target
    with fewer than 4 points is left out (its S_min and B_crit NaN). B_crit is bounded to within a factor
    e³ of the swept batch sizes and the shape to :data:`_SHAPE_BOUNDS`, so that a curve outside the family
    (a pure power law, a hard corner) reads as the family's limit at a bound rather than an unbounded fit.
    Three starts of the shape (a third, 1 and 3 times the paper's value; 0.7, 1 and 1.4 for γ), or the one
    fit ``start`` (a fit to nearly the same data, e.g. all seeds when one is left out). Analytic Jacobian.
    Used by chapter 04 (claim B1).
    """
    from scipy import optimize

    if family not in _SHAPE_BOUNDS:
        raise ValueError(f"family must be one of {sorted(_SHAPE_BOUNDS)}, got {family!r}")
    b = np.asarray(batch_sizes, float)
    s = np.asarray(steps, float)
    s = s[:, None] if s.ndim == 1 else s
    logb = np.log(b)
    ok = np.isfinite(s) & (s > 0)
    cols = [j for j in range(s.shape[1]) if ok[:, j].sum() >= 4]
    if not cols:
        raise ValueError("fit_bend_law: no target with at least 4 batch sizes that reach it")
    log_s = np.log(np.where(ok, s, 1.0))[:, cols]
    mask = ok[:, cols]
    t = len(cols)
    lo_c, hi_c = logb.min() - 3.0, logb.max() + 3.0
    lo_p, hi_p = (math.log(v) for v in _SHAPE_BOUNDS[family])
    rows, cols_j = np.nonzero(mask)  # residual k belongs to batch size rows[k] and target cols_j[k]
    n_res = len(rows)

    def parts(theta):
        """log S predicted on the grid, d/d(log shape) and d/d(log B_crit,j) (each (n_B, t))."""
        p = math.exp(theta[0])
        u = theta[1 + t:][None, :] - logb[:, None]  # log(B_crit/B)
        if family == "gamma":
            z = p * u
            sig = 0.5 * (1.0 + np.tanh(0.5 * z))
            return theta[1:1 + t][None, :] + np.logaddexp(0.0, z), sig * z, sig * p
        beta = np.exp(-u)
        root = np.sqrt((beta - 1.0) ** 2 + 4.0 * beta * p)
        x = hyperbola_excess(beta, 1.0, p)
        return theta[1:1 + t][None, :] + np.log1p(x), p / (root * (1.0 + x)), beta * x / root

    def residuals(theta):
        return parts(theta)[0][mask] - log_s[mask]

    def jacobian(theta):
        _, d_shape, d_c = parts(theta)
        jac = np.zeros((n_res, 1 + 2 * t))
        jac[:, 0] = d_shape[mask]
        jac[np.arange(n_res), 1 + cols_j] = 1.0
        jac[np.arange(n_res), 1 + t + cols_j] = d_c[mask]
        return jac

    lower = np.concatenate([[lo_p], np.full(t, -np.inf), np.full(t, lo_c)])
    upper = np.concatenate([[hi_p], np.full(t, np.inf), np.full(t, hi_c)])
    if start is not None and start.family == family and np.all(np.isfinite(start.b_crit[cols])):
        theta_starts = [np.concatenate([[math.log(start.shape)], np.log(start.s_min[cols]), np.log(start.b_crit[cols])])]
    else:
        a0, c0 = [], []
        for j in range(t):
            y, x = log_s[mask[:, j], j], logb[mask[:, j]]
            a0.append(float(y.min()) - 0.05)
            c0.append(float(x.min() + np.log(max(np.exp(y.max() - y.min()) - 1.0, 1e-3))))
        shapes = (math.log(0.7), 0.0, math.log(1.4)) if family == "gamma" else (math.log(1 / 3), 0.0, math.log(3.0))
        theta_starts = [np.concatenate([[p0], a0, c0]) for p0 in shapes]
    best = None
    for theta0 in theta_starts:
        theta0 = np.clip(theta0, lower + 1e-6, upper - 1e-6)
        res = optimize.least_squares(residuals, theta0, jac=jacobian, bounds=(lower, upper), method="trf")
        if best is None or res.cost < best.cost:
            best = res
    s_min, b_crit = np.full(s.shape[1], np.nan), np.full(s.shape[1], np.nan)
    s_min[cols], b_crit[cols] = np.exp(best.x[1:1 + t]), np.exp(best.x[1 + t:])
    return BendFit(family=family, shape=float(math.exp(best.x[0])), s_min=s_min, b_crit=b_crit,
                   rms_log=float(np.sqrt(2 * best.cost / max(n_res, 1))), n_points=int(n_res))


def seed_mean_steps(per_seed: np.ndarray) -> np.ndarray:
    """(n_B, n_T): the geometric mean over seeds of S per cell (mean log S), NaN where a seed did not
    reach the target. ``per_seed`` is (n_seeds, n_B, n_T). Used by chapter 04 (B1)."""
    v = np.asarray(per_seed, float)
    ok = np.all(np.isfinite(v) & (v > 0), axis=0)
    return np.where(ok, np.exp(np.mean(np.log(np.where(np.isfinite(v) & (v > 0), v, 1.0)), axis=0)), np.nan)
