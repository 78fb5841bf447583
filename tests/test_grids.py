"""Tests of scalinglab.grids: log-spaced tuning grids and evaluation steps spaced in log(step), against values
worked by hand."""

import math

import numpy as np
import pytest

from scalinglab.grids import eval_step_grid, log_grid


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
