"""The step–batch law (scalinglab.batch_law): steps to a target, S at the best learning rate and the stop rule,
the fit S(B) = S_min (1 + B_crit/B), its prediction beyond the fitted range, and the shape of the bend
(S/S_min − 1)(E/E_min − 1) = c — on hand-worked cases and on noise-free curves whose answer is known."""

import math

import numpy as np
import pytest

from scalinglab.batch_law import (BendFit, StepBatchFit, best_over_learning_rates, fit_bend_law, fit_step_batch_law,
                                  hyperbola_excess, make_stop_rule, out_of_sample_errors, seed_mean_steps,
                                  steps_to_target, steps_to_targets_table)

BATCH = 2.0 ** np.arange(11)
#: Chapter 04's band on the product c (the geometric midpoints between 1 and the rivals 1/4 and 4).
BAND = (0.5, 2.0)


# ---- steps to target -------------------------------------------------------------------------------------------------

def test_steps_to_target_interpolates_in_log_steps():
    steps, losses = [1, 10, 100], [3.0, 2.0, 1.0]
    assert steps_to_target(steps, losses, 1.5) == pytest.approx(math.sqrt(10 * 100))
    assert steps_to_target(steps, losses, 5.0) == 1
    assert steps_to_target(steps, losses, 0.5) == math.inf
    assert steps_to_target([1, 2], [float("nan"), 0.1], 0.5) == 2


def test_steps_to_target_hand_worked():
    # a quarter of the way down from 2.0 to 1.0: a quarter of the way from log 10 to log 1000
    assert steps_to_target([10, 1000], [2.0, 1.0], 1.75) == pytest.approx(10 * 100**0.25, rel=1e-12)
    assert steps_to_target([1, 2, 4], [3.0, 2.0, 1.0], 2.0) == pytest.approx(2.0, rel=1e-12)  # reaching is ≤
    assert steps_to_target([1, 2, 4], [3.0, float("inf"), 1.0], 2.0) == 4  # after a non-finite loss: no interpolation
    assert steps_to_target([1, 2, 4], [3.0, 1.0, float("nan")], 2.0) == pytest.approx(math.sqrt(2))  # first crossing


def test_steps_to_targets_table_hand_worked():
    histories = [[{"step": 1, "heldout": 3.0, "train": 2.0}, {"step": 10, "heldout": 1.0, "train": 0.5}],
                 [{"step": 1, "heldout": 1.0, "train": 0.1}, {"step": 10, "heldout": 0.2, "train": 0.1}]]
    table = steps_to_targets_table(histories, [2.0, 0.5])
    assert table.shape == (2, 2)
    np.testing.assert_allclose(table[0], [math.sqrt(10), np.inf])
    np.testing.assert_allclose(table[1], [1.0, 10**0.625])
    np.testing.assert_allclose(steps_to_targets_table(histories, [2.0, 0.5], key="train"), [[1.0, 10.0], [1.0, 1.0]])


def test_best_over_learning_rates_and_stop_rule():
    steps = np.array([[10, 100], [12, np.inf], [20, 50], [22, 60]], float)  # lr0: rows 0,1 ; lr1: rows 2,3
    best, arg = best_over_learning_rates(steps, [0, 0, 1, 1], 2)
    np.testing.assert_allclose(best, [11, 55])
    assert list(arg) == [0, 1]
    rows = lambda losses: [{"step": s, "heldout": l} for s, l in zip([1, 2, 4, 8], losses)]  # noqa: E731
    histories = [rows([3, 2, 1, 0.5]), rows([3, 3, 3, 3])]  # lr0 reaches 1.5 at ~3; lr1 never so far
    stop = make_stop_rule([1.5], [0, 1], 2)
    assert stop([h[:2] for h in histories]) is False  # nobody has reached it yet
    assert stop([h[:3] for h in histories]) is True  # lr1 would need > step 4 > lr0's ~2.8


def test_best_over_learning_rates_groups_by_rate_and_marks_unreached():
    # models in any order: lr0 = rows 1 and 3 (mean 5), lr1 = rows 0 and 2 (mean 7); no rate reaches target 1
    steps = np.array([[5, np.inf], [7, np.inf], [9, 4], [3, np.inf]], float)
    best, arg = best_over_learning_rates(steps, [1, 0, 1, 0], 2)
    assert best[0] == 5 and arg[0] == 0
    assert best[1] == math.inf and arg[1] == -1  # only one seed of one rate reached it: no complete mean


def test_stop_rule_bound_counts_unreached_seeds_at_the_current_step():
    grid = [1, 2, 3, 4, 5, 6]
    rows = lambda losses: [{"step": s, "heldout": l} for s, l in zip(grid, losses)]  # noqa: E731
    lr0 = [rows([3, 3, 1.5, 1, 1, 1]), rows([3, 3, 1.5, 1, 1, 1])]  # both seeds reach 1.5 at step 3: mean 3
    lr1_fast = rows([1.5, 1, 1, 1, 1, 1])  # one seed of lr1 at step 1 ...
    lr1_slow = rows([3, 3, 3, 3, 3, 3])  # ... the other not yet: lr1's mean is at least (1 + s)/2 at step s
    stop = make_stop_rule([1.5], [0, 0, 1, 1], 2)
    at = lambda hs, s: [h[:s] for h in hs]  # noqa: E731
    assert stop(at(lr0 + [lr1_fast, lr1_slow], 4)) is False  # bound 2.5 < 3: lr1 might still win
    assert stop(at(lr0 + [lr1_fast, lr1_slow], 6)) is True  # bound 3.5 > 3: it cannot
    diverged = rows([3, 3, 3, float("nan"), float("nan"), float("nan")])
    assert stop(at(lr0 + [lr1_fast, diverged], 4)) is True  # a diverged seed never reaches: lr1 is out


# ---- the step–batch law ----------------------------------------------------------------------------------------------

def test_step_batch_fit_is_the_hyperbola():
    fit = StepBatchFit(s_min=10.0, b_crit=100.0, e_min=1000.0, r2_log=1.0, n_points=3)
    b = np.array([50.0, 100.0, 200.0])
    np.testing.assert_allclose(fit.steps(b), [30.0, 20.0, 15.0])
    np.testing.assert_allclose(fit.examples(b), [1500.0, 2000.0, 3000.0])  # E = B·S
    np.testing.assert_allclose((fit.steps(b) / fit.s_min - 1) * (fit.examples(b) / fit.e_min - 1), 1.0)
    assert fit.to_dict() == {"s_min": 10.0, "b_crit": 100.0, "e_min": 1000.0, "r2_log": 1.0, "n_points": 3}


def test_fit_step_batch_law_recovers_parameters():
    rng = np.random.default_rng(0)
    s = 40.0 * (1 + 120.0 / BATCH) * np.exp(0.03 * rng.standard_normal(len(BATCH)))
    fit = fit_step_batch_law(BATCH, s)
    assert fit.s_min == pytest.approx(40.0, rel=0.1)
    assert fit.b_crit == pytest.approx(120.0, rel=0.15)
    assert fit.r2_log > 0.99
    np.testing.assert_allclose(fit.examples(BATCH), BATCH * fit.steps(BATCH))
    flat = fit_step_batch_law(BATCH, np.full(len(BATCH), 50.0) * np.exp(0.3 * rng.standard_normal(len(BATCH))))
    assert flat.r2_log < 0.95  # steps that do not depend on B are not the law
    with pytest.raises(ValueError):
        fit_step_batch_law([1, 2], [3, 4])


def test_fit_step_batch_law_is_exact_on_the_law_and_drops_unreached_points():
    s = 40.0 * (1 + 120.0 / BATCH)
    fit = fit_step_batch_law(BATCH, s)
    assert fit.b_crit == pytest.approx(120.0, rel=1e-3) and fit.s_min == pytest.approx(40.0, rel=1e-3)
    assert fit.e_min == pytest.approx(fit.s_min * fit.b_crit, rel=1e-12) and fit.r2_log > 1 - 1e-6
    assert fit.n_points == len(BATCH)
    holes = s.copy()
    holes[[0, 5]] = np.inf  # never reached
    holes[7] = 0.0  # not a step count
    keep = np.isfinite(holes) & (holes > 0)
    dropped, direct = fit_step_batch_law(BATCH, holes), fit_step_batch_law(BATCH[keep], s[keep])
    assert dropped.n_points == 8 and dropped.to_dict() == direct.to_dict()
    with pytest.raises(ValueError):
        fit_step_batch_law([1, 2, 4], [10.0, np.inf, 5.0])


def test_out_of_sample_errors_tell_the_law_from_a_power_law():
    law = 10.0 * (1 + 100.0 / BATCH)
    err_law, err_pow = out_of_sample_errors(BATCH, law)
    assert err_law < 1e-6 and err_pow > 0.05
    power = 3000.0 * BATCH ** -0.7
    err_law, err_pow = out_of_sample_errors(BATCH, power)
    assert err_pow < 1e-9 < err_law
    assert all(math.isnan(v) for v in out_of_sample_errors(BATCH[:4], law[:4], 2))  # 2 fitting points: no fit
    # the held-out sizes are the largest ones: a curve that changes only there is judged only there
    kinked = law * np.where(BATCH > 128, 3.0, 1.0)
    assert out_of_sample_errors(BATCH, kinked, 3)[0] == pytest.approx(math.log(3.0), rel=1e-6)
    assert out_of_sample_errors(BATCH, kinked, 4)[0] == pytest.approx(0.75 * math.log(3.0), abs=0.05)
    with pytest.raises(ValueError):
        out_of_sample_errors(BATCH, law, len(BATCH))


def test_out_of_sample_errors_over_targets_and_in_any_order():
    law = 10.0 * (1 + 100.0 / BATCH)
    kinked = law * np.where(BATCH > 128, 3.0, 1.0)
    both = np.stack([law, kinked], axis=1)  # the error is the mean over held-out sizes and targets
    assert out_of_sample_errors(BATCH, both)[0] == pytest.approx(math.log(3.0) / 2, abs=1e-5)
    order = np.random.default_rng(1).permutation(len(BATCH))  # "largest" is by B, not by position
    assert out_of_sample_errors(BATCH[order], kinked[order])[0] == pytest.approx(math.log(3.0), rel=1e-6)
    unreached = np.stack([law, np.full(len(BATCH), np.inf)], axis=1)
    assert all(math.isnan(v) for v in out_of_sample_errors(BATCH, unreached))  # one target without a fit: no answer
    with pytest.raises(ValueError):
        out_of_sample_errors(BATCH, law, 0)


# ---- the shape of the bend -------------------------------------------------------------------------------------------

def test_hyperbola_excess_is_the_papers_curve_and_its_limits():
    b_crit = 100.0
    np.testing.assert_allclose(hyperbola_excess(BATCH, b_crit, 1.0), b_crit / BATCH, rtol=1e-12)
    np.testing.assert_allclose(hyperbola_excess(BATCH, b_crit, 0.0), np.maximum(b_crit / BATCH - 1, 0), atol=1e-12)
    for c in (0.25, 1.0, 4.0):  # the product (S/S_min − 1)(E/E_min − 1) with E = B·S, E_min = S_min·B_crit
        x = hyperbola_excess(BATCH, b_crit, c)
        e_over = BATCH * (1 + x) / b_crit
        np.testing.assert_allclose(x * (e_over - 1), c, rtol=1e-9)
        assert hyperbola_excess(b_crit, b_crit, c) == pytest.approx(math.sqrt(c))


def test_hyperbola_excess_scales_perfectly_far_below_b_crit_and_saturates_far_above():
    for c in (0.25, 1.0, 4.0):
        assert 1e-6 * hyperbola_excess(1e-6, 1.0, c) == pytest.approx(1.0, rel=1e-4)  # S ≈ S_min·B_crit/B
        assert 1e6 * hyperbola_excess(1e6, 1.0, c) == pytest.approx(c, rel=1e-4)  # S/S_min − 1 ≈ c·B_crit/B
    np.testing.assert_allclose(hyperbola_excess(2.0, 1.0, np.array([0.25, 1.0])),  # c broadcasts
                               [hyperbola_excess(2.0, 1.0, 0.25), 0.5], rtol=1e-12)


def test_bend_fit_steps_hand_worked():
    b = np.array([50.0, 100.0, 200.0])
    product = BendFit(family="product", shape=1.0, s_min=np.array([10.0]), b_crit=np.array([100.0]), rms_log=0.0,
                      n_points=3)
    np.testing.assert_allclose(product.steps(b, 0), [30.0, 20.0, 15.0])
    gamma = BendFit(family="gamma", shape=2.0, s_min=np.array([10.0]), b_crit=np.array([100.0]), rms_log=0.0,
                    n_points=3)
    np.testing.assert_allclose(gamma.steps(b, 0), [50.0, 20.0, 12.5])  # S_min (1 + (B_crit/B)²)


def test_fit_bend_law_reads_the_shape_of_the_bend():
    b_crit = np.array([100.0, 200.0, 300.0])
    s_min = np.array([5.0, 8.0, 14.0])
    curve = lambda c: s_min * (1 + hyperbola_excess(BATCH[:, None], b_crit[None, :], c))  # noqa: E731
    for c in (0.25, 1.0, 4.0):
        fit = fit_bend_law(BATCH, curve(c))
        assert fit.shape == pytest.approx(c, rel=1e-3)
        np.testing.assert_allclose(fit.b_crit, b_crit, rtol=1e-3)
        np.testing.assert_allclose(fit.steps(BATCH, 1), curve(c)[:, 1], rtol=1e-3)
    power = 3000.0 * BATCH[:, None] ** -0.8 * np.array([1.0, 2.0, 4.0])
    assert fit_bend_law(BATCH, power).shape > 2 * BAND[1]  # no bend reads as a very soft one
    assert fit_bend_law(BATCH, power, "gamma").shape == pytest.approx(0.8, abs=0.03)
    corner = s_min * np.maximum(1.0, b_crit / BATCH[:, None])
    assert fit_bend_law(BATCH, corner).shape < BAND[0] / 2
    # why γ does not decide chapter 04's B1: it reads a hard corner as nearly the paper's hyperbola
    assert fit_bend_law(BATCH, corner, "gamma").shape < BAND[1]
    gamma = s_min * (1 + (b_crit / BATCH[:, None]) ** 1.3)
    assert fit_bend_law(BATCH, gamma, "gamma").shape == pytest.approx(1.3, rel=1e-3)
    with pytest.raises(ValueError):
        fit_bend_law(BATCH[:3], curve(1.0)[:3])
    with pytest.raises(ValueError):
        fit_bend_law(BATCH, curve(1.0), "quadratic")


def test_fit_bend_law_leaves_out_sparse_targets_and_takes_a_start():
    b_crit = np.array([100.0, 200.0, 300.0])
    s_min = np.array([5.0, 8.0, 14.0])
    steps = s_min * (1 + hyperbola_excess(BATCH[:, None], b_crit[None, :], 1.0))
    steps[3:, 2] = np.inf  # the third target reached at 3 batch sizes only: too few for its own S_min and B_crit
    fit = fit_bend_law(BATCH, steps)
    assert math.isnan(fit.b_crit[2]) and math.isnan(fit.s_min[2])
    np.testing.assert_allclose(fit.b_crit[:2], b_crit[:2], rtol=1e-3)
    np.testing.assert_allclose(fit.s_min[:2], s_min[:2], rtol=1e-3)
    assert fit.n_points == 2 * len(BATCH) and fit.rms_log < 1e-3 and fit.family == "product"
    again = fit_bend_law(BATCH, steps, start=fit)
    assert again.shape == pytest.approx(fit.shape, rel=1e-4)
    single = fit_bend_law(BATCH, steps[:, 0])  # one target, as a 1-D array
    assert single.shape == pytest.approx(1.0, rel=1e-2) and single.b_crit.shape == (1,)


def test_seed_mean_steps_is_geometric_and_drops_unreached_cells():
    per_seed = np.array([[[1.0, 4.0]], [[4.0, np.inf]]])
    out = seed_mean_steps(per_seed)
    assert out[0, 0] == pytest.approx(2.0) and math.isnan(out[0, 1])
    hand = seed_mean_steps(np.array([[[2.0, 9.0, 0.0]], [[8.0, 1.0, 5.0]]]))  # (2 seeds, 1 batch size, 3 targets)
    assert hand.shape == (1, 3)
    np.testing.assert_allclose(hand[0, :2], [4.0, 3.0])
    assert math.isnan(hand[0, 2])  # a step count of 0 is not a step count
