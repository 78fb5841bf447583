"""Noise-scale estimators against closed-form truth, and the step-batch law fit."""

import math
import os

import numpy as np
import pytest
import torch

os.environ.setdefault("SCALINGLAB_THREADS", "1")  # tiny models: one thread is fastest, above all on a busy machine

from scalinglab.experiments.critical_batch import (TeacherTask, best_over_learning_rates, eval_step_grid,
                                                   fit_step_batch_law, make_stop_rule, steps_to_target,
                                                   train_batch_size_family)
from scalinglab.noise_scale import (hessian_noise_scale, linear_regression_truth, noise_scale_from_gradients,
                                    per_example_noise_scale, two_batch_estimates, two_batch_noise_scale)

D = 6
LAM = np.array([0.5, 1.0, 1.5, 2.0, 3.0, 4.0])  # input variances (H = diag(LAM))
NOISE_VAR = 0.25


def _regression_setup():
    g = torch.Generator().manual_seed(0)
    w_star = torch.randn(D, generator=g, dtype=torch.float64)
    r = torch.tensor([0.6, -0.1, 0.1, 0.05, -0.05, 0.02], dtype=torch.float64)  # mostly low-curvature
    model = torch.nn.Linear(D, 1, bias=False).double()
    with torch.no_grad():
        model.weight.copy_((w_star + r)[None])
    sd = torch.tensor(np.sqrt(LAM))

    def sample(n, gen=g):
        x = torch.randn(n, D, generator=gen, dtype=torch.float64) * sd
        y = x @ w_star + math.sqrt(NOISE_VAR) * torch.randn(n, generator=gen, dtype=torch.float64)
        return x, y

    def example_loss(out, y):  # ½ (prediction − y)²
        return 0.5 * (out.squeeze(-1) - y) ** 2

    truth = linear_regression_truth(r.numpy(), LAM, NOISE_VAR)
    return model, sample, example_loss, truth


def test_truth_formula_by_monte_carlo():
    """The closed form itself, checked against brute-force per-example gradients g_i = x_i(x_iᵀw − y_i)."""
    model, sample, _, truth = _regression_setup()
    x, y = sample(400_000)
    resid = x @ model.weight.detach()[0] - y
    grads = (x * resid[:, None]).numpy()
    G = grads.mean(0)
    np.testing.assert_allclose(G @ G, truth["grad_sq"], rtol=0.03)
    np.testing.assert_allclose(((grads - G) ** 2).sum(1).mean(), truth["trace_cov"], rtol=0.03)


def test_per_example_estimator_matches_truth():
    model, sample, example_loss, truth = _regression_setup()
    x, y = sample(8_000)
    est = per_example_noise_scale(model, example_loss, x, y)
    assert est.trace_cov == pytest.approx(truth["trace_cov"], rel=0.05)
    assert est.grad_sq == pytest.approx(truth["grad_sq"], rel=0.1)
    assert est.b_simple == pytest.approx(truth["b_simple"], rel=0.12)


def test_two_batch_estimator_matches_truth():
    model, sample, example_loss, truth = _regression_setup()
    est = two_batch_noise_scale(model, example_loss, sample, b_small=8, b_big=512, repeats=600)
    assert est.trace_cov == pytest.approx(truth["trace_cov"], rel=0.1)
    assert est.b_simple == pytest.approx(truth["b_simple"], rel=0.2)


def test_two_batch_formula_is_exact_on_expectations():
    grad_sq, trace_cov = 2.0, 30.0
    small, big = grad_sq + trace_cov / 4, grad_sq + trace_cov / 64  # E|G_B|² = |G|² + tr Σ / B
    g2, tr = two_batch_estimates(small, big, 4, 64)
    assert g2 == pytest.approx(grad_sq) and tr == pytest.approx(trace_cov)
    with pytest.raises(ValueError):
        two_batch_estimates(small, big, 64, 4)


def test_hessian_noise_scale_matches_truth():
    model, sample, example_loss, truth = _regression_setup()
    x, y = sample(60_000)
    xh, yh = sample(4_000)
    est = hessian_noise_scale(model, example_loss, x, y, xh, yh, n_vectors=1500)
    assert est.ghg == pytest.approx(truth["ghg"], rel=0.15)
    assert est.trace_h_cov == pytest.approx(truth["trace_h_cov"], rel=0.1)
    assert est.b_noise == pytest.approx(truth["b_noise"], rel=0.2)
    # H is not a multiple of I here, so B_noise and B_simple differ (the test can tell them apart)
    assert abs(truth["b_noise"] - truth["b_simple"]) / truth["b_simple"] > 0.2


def test_unbiased_gradient_norm_removes_noise_term():
    g = torch.Generator().manual_seed(1)
    G = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    grads = G + 3.0 * torch.randn(200_000, 3, generator=g, dtype=torch.float64)  # tr Σ = 27
    est = noise_scale_from_gradients(grads[:40])  # a small batch: |ḡ|² alone would be ~1 + 27/40
    big = noise_scale_from_gradients(grads)
    assert big.trace_cov == pytest.approx(27.0, rel=0.02)
    assert big.grad_sq == pytest.approx(1.0, abs=0.02)
    assert big.b_simple == pytest.approx(27.0, rel=0.05)
    assert est.n_examples == 40


def test_steps_to_target_interpolates_in_log_steps():
    steps, losses = [1, 10, 100], [3.0, 2.0, 1.0]
    assert steps_to_target(steps, losses, 1.5) == pytest.approx(math.sqrt(10 * 100))
    assert steps_to_target(steps, losses, 5.0) == 1
    assert steps_to_target(steps, losses, 0.5) == math.inf
    assert steps_to_target([1, 2], [float("nan"), 0.1], 0.5) == 2


def test_fit_step_batch_law_recovers_parameters():
    b = 2.0 ** np.arange(0, 11)
    rng = np.random.default_rng(0)
    s = 40.0 * (1 + 120.0 / b) * np.exp(0.03 * rng.standard_normal(len(b)))
    fit = fit_step_batch_law(b, s)
    assert fit.s_min == pytest.approx(40.0, rel=0.1)
    assert fit.b_crit == pytest.approx(120.0, rel=0.15)
    assert fit.r2_log > 0.99
    np.testing.assert_allclose(np.median(fit.tradeoff(b, fit.steps(b))), 1.0)
    # steps that do not depend on B (noise only) are not the law: the fit must say so
    flat = fit_step_batch_law(b, np.full(len(b), 50.0) * np.exp(0.3 * rng.standard_normal(len(b))))
    assert flat.r2_log < 0.95
    with pytest.raises(ValueError):
        fit_step_batch_law([1, 2], [3, 4])


def test_best_over_learning_rates_and_stop_rule():
    steps = np.array([[10, 100], [12, np.inf], [20, 50], [22, 60]], float)  # lr0: rows 0,1 ; lr1: rows 2,3
    best, arg = best_over_learning_rates(steps, [0, 0, 1, 1], 2)
    np.testing.assert_allclose(best, [11, 55])
    assert list(arg) == [0, 1]
    rows = lambda losses: [{"step": s, "heldout": l} for s, l in zip([1, 2, 4, 8], losses)]
    histories = [rows([3, 2, 1, 0.5]), rows([3, 3, 3, 3])]  # lr0 reaches 1.5 at ~3; lr1 never so far
    stop = make_stop_rule([1.5], [0, 1], 2)
    assert stop([h[:2] for h in histories]) is False  # nobody has reached it yet
    assert stop([h[:3] for h in histories]) is True  # lr1 would need > step 4 > lr0's ~2.8


def test_eval_step_grid_is_geometric():
    grid = eval_step_grid(1000, 4)
    assert grid[0] == 1 and grid[-1] == 1000
    ratios = np.diff(np.log2(grid[5:]))
    assert ratios.max() < 0.5


def test_teacher_task_streams_and_bayes_floor():
    task = TeacherTask(input_dim=8, n_classes=4, teacher_width=16, seed=3)
    x1, y1 = task.sample(64, torch.Generator().manual_seed(0))
    x2, y2 = task.sample(64, torch.Generator().manual_seed(0))
    torch.testing.assert_close(x1, x2)
    assert torch.equal(y1, y2) and y1.min() >= 0 and y1.max() < 4
    x, p = task.heldout(512)
    torch.testing.assert_close(p.sum(1), torch.ones(512))
    # labels follow the teacher's probabilities
    xs, ys = task.sample(50_000, torch.Generator().manual_seed(1))
    freq = torch.bincount(ys, minlength=4).double() / len(ys)
    torch.testing.assert_close(freq, task.probabilities(xs.double()).mean(0), atol=0.01, rtol=0)
    assert 0 < task.bayes_loss() < math.log(4)


def test_train_batch_size_family_reaches_targets_and_stops_early():
    task = TeacherTask(input_dim=8, n_classes=4, teacher_width=16, logit_scale=3.0, seed=0)
    spec = dict(task=task.to_dict(), hidden=[16], batch_size=16, lrs=[3e-3, 1e-2], seeds=[0, 1],
                max_steps=2000, eval_per_octave=4, n_heldout=256, targets=[1.2, 1.1], beta1=0.9, beta2=0.999)
    out = train_batch_size_family(spec)
    assert len(out["members"]) == 4
    assert out["steps_run"] < 2000  # stopped once the best learning rate was known
    reached = np.array([[np.inf if v is None else v for v in row] for row in out["steps_to_target"]])
    assert np.isfinite(reached.min(axis=0)).all()
