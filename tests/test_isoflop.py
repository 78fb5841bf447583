"""scalinglab.isoflop: Approach 2 (IsoFLOP parabolas, their minima, the slopes in both countings), the
seed-noise resamples, the surface misfit, and the Kaplan–Chinchilla reconciliation — each checked on inputs
whose answer is known exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scalinglab.fit import ChinchillaLaw
from scalinglab.isoflop import (Approach2Result, IsoFlopMinimum, approach2, approach2_exponents,
                                fit_embedding_relation, isoflop_minima, local_exponent_nonemb, nonemb_from_total,
                                optimal_n_nonemb, parabola_minimum, reconciled_exponents, seed_noise_resamples,
                                surface_misfit, total_from_nonemb)

#: a = β/(α+β) = 0.5
HALF = ChinchillaLaw(E=1.0, A=40.0, B=60.0, alpha=0.4, beta=0.4)
#: a = 0.8: an asymmetric valley
STEEP = ChinchillaLaw(E=1.0, A=40.0, B=2000.0, alpha=0.15, beta=0.6)
#: a family without embeddings: both countings record the same N
NO_EMBEDDINGS = (np.log([1e2, 1e9]), np.log([1e2, 1e9]))


def _grid(law, budgets=(1e10, 4e10, 1.6e11, 6.4e11), half_width=0.6, sizes=5, seeds=1, offset=0.0):
    """(budget, log N_total, loss) of runs at each budget's exact loss, sizes centred on the law's optimum
    (shifted by ``offset`` in log N)."""
    rows = []
    for c in budgets:
        x0 = math.log(float(law.optimal_n(c))) + offset
        for x in x0 + np.linspace(-half_width, half_width, sizes):
            n = math.exp(x)
            rows += [(c, x, float(law.loss(n, c / (6 * n))))] * seeds
    return tuple(np.array(v) for v in zip(*rows))


# --- parabolas and their minima ---------------------------------------------------------------------

def test_parabola_minimum_recovers_the_vertex_of_an_exact_parabola():
    x = np.array([9.1, 9.7, 10.0, 10.8, 11.5, 12.2])  # unevenly spaced, vertex not at a sample
    y = 2.5 + 0.2 * (x - 10.3) ** 2
    x_min, c2, (c0, c1, c2_again) = parabola_minimum(x, y)
    assert x_min == pytest.approx(10.3, abs=1e-9) and c2 == pytest.approx(0.2) and c2_again == c2
    assert c0 + c1 * x_min + c2 * x_min ** 2 == pytest.approx(2.5)  # the coefficients are (c₀, c₁, c₂)
    assert math.isnan(parabola_minimum(x, -y)[0])  # opens downwards: no minimum
    with pytest.raises(ValueError):
        parabola_minimum(x[:2], y[:2])


def test_parabola_minimum_and_interior_margin():
    x = np.log(np.geomspace(1e4, 1e5, 5))
    y = 2.0 + 0.3 * (x - np.log(3e4)) ** 2
    x_min, c2, _ = parabola_minimum(x, y)
    assert x_min == pytest.approx(np.log(3e4)) and c2 == pytest.approx(0.3)
    (m,) = isoflop_minima(np.full(5, 1e11), x, y)
    assert 0.4 < m.interior_margin < 0.55
    (edge,) = isoflop_minima(np.full(5, 1e11), x, 2.0 - 0.1 * x)  # monotone: no interior minimum
    assert edge.interior_margin < 0.1


def test_isoflop_minima_on_synthetic_budgets():
    """Three budgets given in shuffled order, each an exact parabola in log N with a known vertex: one
    minimum per budget, sorted by budget, at its vertex; margin 0.5 for a window centred on it, negative
    for a vertex outside the sizes, −∞ where the parabola opens downwards."""
    budgets = np.repeat([4e11, 1e10, 2e11, 3e12], 5)
    vertices = {1e10: 9.0, 2e11: 10.5, 4e11: 13.0, 3e12: 12.0}  # 4e11: vertex beyond the window's top
    centres = {1e10: 9.0, 2e11: 10.5, 4e11: 11.0, 3e12: 12.0}
    log_n = np.concatenate([centres[c] + np.linspace(-1, 1, 5) for c in budgets[::5]])
    sign = np.where(budgets == 3e12, -1.0, 1.0)
    loss = 2.0 + sign * 0.1 * (log_n - np.array([vertices[c] for c in budgets])) ** 2
    order = np.random.default_rng(0).permutation(len(loss))
    minima = isoflop_minima(budgets[order], log_n[order], loss[order])
    assert [m.budget for m in minima] == [1e10, 2e11, 4e11, 3e12]
    assert all(isinstance(m, IsoFlopMinimum) for m in minima)
    assert minima[0].log_n_opt == pytest.approx(9.0) and minima[0].n_opt == pytest.approx(math.exp(9.0))
    assert minima[1].log_n_opt == pytest.approx(10.5) and minima[1].curvature == pytest.approx(0.1)
    assert minima[0].interior_margin == pytest.approx(0.5) and minima[1].interior_margin == pytest.approx(0.5)
    assert minima[2].log_n_opt == pytest.approx(13.0) and minima[2].interior_margin == pytest.approx(-0.5)
    assert math.isnan(minima[3].log_n_opt) and minima[3].interior_margin == -math.inf


# --- the slopes, in both countings -----------------------------------------------------------------

def test_nonemb_from_total_interpolates_and_extrapolates():
    ft, fe = np.log([10.0, 100.0, 1000.0]), np.log([2.0, 50.0, 900.0])
    assert nonemb_from_total(np.log(100.0), ft, fe)[0] == pytest.approx(np.log(50.0))
    assert nonemb_from_total(np.log(10000.0), ft, fe)[0] > np.log(900.0)
    # exact along a power-law family, inside and (by linear extrapolation in log-log) outside it
    xt = np.log([1e3, 1e4, 1e5])
    assert nonemb_from_total(np.log([3e2, 3e3, 3e6]), xt, 0.9 * xt - 1.0) == pytest.approx(
        0.9 * np.log([3e2, 3e3, 3e6]) - 1.0)


def _exact_minima(a, budgets, g=0.05):
    return [IsoFlopMinimum(budget=float(c), log_n_opt=math.log(g) + a * math.log(c), curvature=1.0,
                           interior_margin=0.5, coefficients=(0.0, 0.0, 1.0)) for c in budgets]


def test_approach2_exponents_recovers_a_known_exponent_from_exact_minima():
    budgets = np.geomspace(1e10, 1e14, 5)
    e = approach2_exponents(_exact_minima(0.62, budgets), *NO_EMBEDDINGS)
    assert e["total"] == pytest.approx(0.62) and e["nonemb"] == pytest.approx(0.62)
    assert e["difference"] == pytest.approx(0.0, abs=1e-12)
    assert e["budgets"] == pytest.approx(budgets.tolist()) and e["n_opt_total"] == pytest.approx(e["n_opt_nonemb"])
    # N_nonemb = N_total^0.8 along the family: the non-embedding slope is exactly 0.8·a / (1 − 0.2·a)
    log_t = np.log(np.geomspace(1e2, 1e12, 11))
    e = approach2_exponents(_exact_minima(0.5, budgets), log_t, 0.8 * log_t)
    assert e["total"] == pytest.approx(0.5) and e["nonemb"] == pytest.approx(0.4 / 0.9)
    # Embeddings (N_total = N_nonemb + k·N_nonemb^(1/3)) raise the exponent an experimenter counting
    # non-embedding parameters measures.
    n_e = np.geomspace(10, 1e8, 60)
    e = approach2_exponents(_exact_minima(0.5, budgets, g=1e-3), np.log(total_from_nonemb(n_e, 300.0)), np.log(n_e))
    assert e["total"] == pytest.approx(0.5) and e["difference"] > 0.02


def test_approach2_exponents_is_nan_without_enough_minima():
    budgets = [1e10, 1e11, 1e12]
    minima = _exact_minima(0.5, budgets)
    minima[1].log_n_opt = float("nan")
    assert all(math.isnan(approach2_exponents(minima, *NO_EMBEDDINGS)[k]) for k in ("total", "nonemb", "difference"))
    assert math.isnan(approach2_exponents(_exact_minima(0.5, budgets[:1]), *NO_EMBEDDINGS)["total"])


# --- Approach 2 on runs --------------------------------------------------------------------------------

@pytest.mark.parametrize("law", [HALF, STEEP])
def test_approach2_recovers_the_exponent_of_an_exact_surface(law):
    """Windows centred on each budget's true optimum: the parabolas' minima lie on N_opt ∝ C^a, a = β/(α+β).
    (An asymmetric valley pulls every parabola's minimum off the optimum by the same factor, so the slope
    stays exact.)"""
    result = approach2(*_grid(law, seeds=2), *NO_EMBEDDINGS)
    assert isinstance(result, Approach2Result) and result.n_budgets == 4 and result.n_resamples == 0
    assert result.exponents["total"] == pytest.approx(law.a, abs=1e-6)
    assert 0.4 < result.min_interior_margin <= 0.5
    ratio = np.array(result.exponents["n_opt_total"]) / law.optimal_n(np.array(result.exponents["budgets"]))
    assert np.ptp(np.log(ratio)) < 1e-6 and abs(math.log(ratio[0])) < 0.05


def test_approach2_reports_minima_off_the_grid():
    result = approach2(*_grid(HALF, half_width=0.5, offset=1.0), *NO_EMBEDDINGS)
    assert result.min_interior_margin < 0


def test_approach2_bootstrap_over_seed_noise():
    budget, log_n, exact = _grid(HALF, seeds=3)
    rng = np.random.default_rng(0)
    loss = exact * np.exp(0.002 * rng.standard_normal(len(exact)))
    cells = list(zip(budget, log_n))
    redraws = seed_noise_resamples(cells, loss, 60, seed=1)
    result = approach2(budget, log_n, loss, *NO_EMBEDDINGS, resampled_losses=redraws)
    assert result.n_resamples == 60 and len(result.samples["total"]) == 60
    lo, hi = result.interval("total")
    assert lo < result.exponents["total"] < hi and lo < HALF.a < hi and hi - lo < 0.2
    boxes = result.minima_intervals("total")
    assert boxes.shape == (4, 2) and np.all(boxes[:, 0] < boxes[:, 1])
    # the same losses always give the same analysis
    again = approach2(budget, log_n, loss, *NO_EMBEDDINGS, resampled_losses=redraws)
    assert again.samples["total"] == result.samples["total"]


# --- seed noise ------------------------------------------------------------------------------------------

def test_seed_noise_resamples_keep_the_cell_means_and_the_variance():
    cells = [(0, i) for i in range(50) for _ in range(2)]
    rng = np.random.default_rng(1)
    y = np.repeat(rng.uniform(2, 3, 50), 2) + 0.01 * rng.standard_normal(100)
    draws = seed_noise_resamples(cells, y, 400, seed=3)
    assert draws.shape == (400, 100)
    cell_means = y.reshape(50, 2).mean(1)
    assert np.allclose(draws.reshape(400, 50, 2).mean((0, 2)), cell_means, atol=0.003)
    # The √(n/(n−1)) correction keeps the per-run spread near the true 0.01.
    assert 0.007 < draws.reshape(400, 50, 2).std(axis=0).mean() < 0.013


def test_seed_noise_resamples_draw_within_strata_and_not_without_replicates():
    # stratum 0 has residuals ±1, stratum 1 has none: its runs stay at their cell means
    cells = [(0, 0), (0, 0), (1, 0), (1, 1)]
    y = np.array([4.0, 6.0, 3.0, 7.0])
    draws = seed_noise_resamples(cells, y, 50, seed=0, strata=[0, 0, 1, 1])
    assert np.all(draws[:, 2] == 3.0) and np.all(draws[:, 3] == 7.0)
    assert set(np.unique(draws[:, :2])) <= {5.0 - math.sqrt(2), 5.0 + math.sqrt(2)}


def test_surface_misfit_in_standard_errors_of_a_cell_mean():
    """Two seeds per cell at the law's loss × exp(±δ): the cell means of log loss are the law exactly (misfit
    0), and one standard error of a cell mean is δ; a surface 3δ off in log loss misfits by exactly 3."""
    budget, log_n, _ = _grid(HALF, seeds=1)
    n, d = np.exp(log_n), budget / (6 * np.exp(log_n))
    delta = 0.01
    cells = [i for i in range(len(n)) for _ in range(2)]
    n2, d2 = np.repeat(n, 2), np.repeat(d, 2)
    loss = HALF.loss(n2, d2) * np.exp(np.tile([delta, -delta], len(n)))
    m = surface_misfit(cells, n2, d2, loss, HALF)
    assert m["n_cells"] == len(n) and m["rms_log"] == pytest.approx(0.0, abs=1e-12)
    assert m["cell_se_log"] == pytest.approx(delta) and m["seed_sd_log"] == pytest.approx(delta * math.sqrt(2))
    assert m["ratio"] == pytest.approx(0.0, abs=1e-9)
    assert surface_misfit(cells, n2, d2, loss * math.exp(3 * delta), HALF)["ratio"] == pytest.approx(3.0)
    # one run per cell: no noise unit
    assert math.isnan(surface_misfit(list(range(len(n))), n, d, HALF.loss(n, d), HALF)["ratio"])


# --- the Kaplan–Chinchilla reconciliation ------------------------------------------------------------------

def test_embedding_relation_round_trip():
    n_e = np.geomspace(1e3, 1e8, 12)
    assert total_from_nonemb(8.0, 10.0) == pytest.approx(28.0)
    assert fit_embedding_relation(n_e, total_from_nonemb(n_e, 321.0)) == pytest.approx(321.0)
    assert fit_embedding_relation(n_e, n_e) == 0.0
    with pytest.raises(ValueError):
        fit_embedding_relation([10.0], [5.0])


def test_without_embeddings_both_countings_give_the_closed_form():
    assert optimal_n_nonemb(HALF, 1e12, 0.0) == pytest.approx(float(HALF.optimal_n(1e12)), rel=1e-6)
    e = reconciled_exponents(STEEP, 0.0, range_nonemb=(1e10, 1e14), range_total=(1e10, 1e14), n_points=12)
    assert e["nonemb"] == pytest.approx(STEEP.a, abs=1e-4) and e["total"] == pytest.approx(STEEP.a, abs=1e-12)
    assert e["asymptotic"] == STEEP.a and e["range_total"] == [1e10, 1e14]


def test_embeddings_raise_the_non_embedding_exponent_towards_one_at_small_budgets():
    e = reconciled_exponents(HALF, 300.0, range_nonemb=(1e8, 1e12), range_total=(1e8, 1e12), n_points=12)
    assert e["total"] == pytest.approx(0.5) and e["nonemb"] > 0.6 and e["k"] == 300.0
    # embeddings take part of the optimum's parameters, a smaller part at larger budgets
    ratios = [optimal_n_nonemb(HALF, c, 300.0) / optimal_n_nonemb(HALF, c, 0.0) for c in (1e8, 1e12, 1e16)]
    assert ratios[0] < ratios[1] < ratios[2] < 1 and ratios[2] > 0.99
    local = local_exponent_nonemb(HALF, [1e9, 1e12, 1e16, 1e22], 300.0)
    assert local[0] > 0.8 and np.all(np.diff(local) < 0) and abs(local[-1] - HALF.a) < 0.01
