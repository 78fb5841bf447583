"""Noise-scale estimators against closed-form truth (the chapter-04 parts are in test_critical_batch.py)."""

import math
import os

import numpy as np
import pytest
import torch

os.environ.setdefault("SCALINGLAB_THREADS", "1")  # tiny models: one thread is fastest, above all on a busy machine

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
