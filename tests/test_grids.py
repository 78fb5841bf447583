"""Tests of scalinglab.grids: log-spaced tuning grids and evaluation steps spaced in log(step), against values
worked by hand."""

import math

import numpy as np
import pytest

from scalinglab.grids import eval_step_grid, log_grid, one_standard_error_choice, stability_margin


# --------------------------------------------------------------------------- log_grid

def test_log_grid_odd_n_is_centred_on_the_centre():
    np.testing.assert_allclose(log_grid(1.0, 3, 2.0), [0.5, 1.0, 2.0])
    grid = log_grid(0.01, 5, 3.0)
    np.testing.assert_allclose(grid, [0.01 / 9, 0.01 / 3, 0.01, 0.03, 0.09], rtol=1e-12)
    assert grid[2] == 0.01  # the middle value is the centre itself
    np.testing.assert_allclose(np.array(grid[1:]) / np.array(grid[:-1]), 3.0, rtol=1e-12)  # geometric


def test_log_grid_even_n_straddles_the_centre():
    grid = log_grid(1.0, 4, 2.0)  # offsets −1.5, −0.5, 0.5, 1.5
    np.testing.assert_allclose(grid, [2 ** -1.5, 2 ** -0.5, 2 ** 0.5, 2 ** 1.5], rtol=1e-12)
    assert 1.0 not in grid
    grid = log_grid(4e-3, 6, 1.5)
    assert math.exp(np.mean(np.log(grid))) == pytest.approx(4e-3, rel=1e-12)  # centred in log space
    np.testing.assert_allclose(np.array(grid[1:]) / np.array(grid[:-1]), 1.5, rtol=1e-12)
    assert grid[2] * grid[3] == pytest.approx(4e-3 ** 2, rel=1e-12)  # the two middle values: c/√f and c·√f


def test_log_grid_of_one_value_is_the_centre():
    assert log_grid(0.3, 1, 10.0) == [0.3]


# --------------------------------------------------------------------------- eval_step_grid

def test_eval_step_grid_endpoints_and_log_spacing():
    grid = eval_step_grid(1000, 4)
    assert grid[0] == 1 and grid[-1] == 1000
    assert np.diff(np.log2(grid[5:])).max() < 0.5
    assert eval_step_grid(1, 4) == [1]
    assert eval_step_grid(2, 1) == [1, 2]


def test_eval_step_grid_is_strictly_increasing_integers():
    for max_steps, per_octave in [(1000, 4), (4096, 8), (37, 3), (60_000, 12)]:
        grid = eval_step_grid(max_steps, per_octave)
        assert all(isinstance(s, int) for s in grid)
        assert np.all(np.diff(grid) > 0)
        assert grid[0] == 1 and grid[-1] == max_steps


def test_eval_step_grid_has_per_octave_points_per_doubling():
    # 4096 = 2^12 with 8 per octave: the points are 2^(j/8), j = 0..96, rounded. Where consecutive points are
    # more than one step apart (2^k·(2^(1/8) − 1) > 1, i.e. from step 16 on) no two round to the same step, so
    # every octave [2^k, 2^(k+1)) holds exactly 8; below, the grid is dense: every step from 1 to 11.
    grid = np.array(eval_step_grid(4096, 8))
    for k in range(4, 12):
        assert ((grid >= 2 ** k) & (grid < 2 ** (k + 1))).sum() == 8, k
    assert grid[:11].tolist() == list(range(1, 12))
    assert len(eval_step_grid(4096, 16)) > len(grid)  # denser when asked


# --------------------------------------------------------------------------- one_standard_error_choice

def test_one_standard_error_choice_by_hand():
    # two replicates: δ = [0.2, −0.2, 0, 0.2, −0.2] (median 0), MAD 0.1 of each replicate's deviation ±δ/2 …
    mean = np.array([1.0, 0.7, 0.55, 0.5, 0.9])
    half = np.array([0.1, -0.1, 0.0, 0.1, -0.1])
    out = one_standard_error_choice([mean + half, mean - half])
    sigma = 1.4826 * 0.1 * math.sqrt(2)  # … σ = 1.4826·MAD·√(n/(n − 1)); the mean of two has se σ/√2
    assert out["se"] == pytest.approx(sigma / math.sqrt(2))
    assert out["argmin"] == 3 and out["index"] == 2  # 0.55 ≤ 0.5 + 0.148, 0.7 is not
    np.testing.assert_allclose(out["mean"], mean)


def test_one_standard_error_choice_ignores_shared_shifts_and_a_single_blow_up():
    mean = np.array([1.0, 0.6, 0.55, 0.5, 0.9])
    # a replicate shifted by 0.3 everywhere (its initialisation) agrees with the other: no standard error
    assert one_standard_error_choice([mean, mean + 0.3])["se"] == pytest.approx(0.0)
    # one candidate that diverged in one replicate does not inflate the standard error (the MAD ignores it)
    blown = mean.copy()
    blown[4] += 5.0
    out = one_standard_error_choice([mean, blown])
    assert out["se"] == pytest.approx(0.0) and out["index"] == out["argmin"] == 3


def test_one_standard_error_choice_rejects_bad_shapes():
    with pytest.raises(ValueError, match="replicates >= 2"):
        one_standard_error_choice([[1.0, 2.0]])
    with pytest.raises(ValueError, match="finite"):
        one_standard_error_choice([[1.0, np.nan], [1.0, 2.0]])


# --------------------------------------------------------------------------- stability_margin

def test_stability_margin_steps_down_from_a_diverged_neighbour():
    # 3.1 is worse than the smallest rate's 2.2: it diverged, and its neighbour 2.0 is not taken
    out = stability_margin([2.2, 2.1, 2.05, 2.0, 3.1], 3)
    assert out == {"index": 2, "diverged": [False, False, False, False, True], "stepped": 1}
    # two diverged rates above: one step still suffices when the next rate up trained
    assert stability_margin([2.2, 2.1, 2.0, 3.0, 3.1], 2)["index"] == 1
    # no divergence, or the choice is already clear of it: unchanged
    assert stability_margin([2.2, 2.1, 2.0, 2.1, 2.15], 2)["stepped"] == 0
    assert stability_margin([2.2, 2.1, 2.0, 2.1, 3.0], 2)["index"] == 2
    # the top of the grid has no neighbour above; the bottom is as far as it goes
    assert stability_margin([2.2, 2.1, 2.0], 2)["index"] == 2
    assert stability_margin([2.2, 2.3, 9.0], 0)["index"] == 0
    with pytest.raises(ValueError, match="index"):
        stability_margin([2.0, 1.0], 2)
