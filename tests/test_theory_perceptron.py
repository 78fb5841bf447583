"""Tests of scalinglab.theory.perceptron: the teacher-student perceptron, its exact max-margin student and
the replica-symmetric theory of its test error after data pruning (Sorscher et al. 2022)."""

import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats
from scipy.optimize import minimize

from scalinglab.pruning import STRATEGIES
from scalinglab.theory import perceptron


# --- the model and its max-margin student -----------------------------------------------------


def test_data_are_nested_and_labelled_by_the_teacher():
    X, y, T = perceptron.teacher_student_data(N=30, P=50, seed=3)
    X2, y2, T2 = perceptron.teacher_student_data(N=30, P=80, seed=3)
    assert np.array_equal(X, X2[:50]) and np.array_equal(T, T2)
    assert np.array_equal(y, np.sign(X @ T))
    assert math.isclose(np.linalg.norm(T), 1.0)


def test_probe_angle():
    T = perceptron.teacher(50, seed=1)
    for theta in (0.0, 0.3, 1.2):
        J = perceptron.probe(T, theta, seed=1)
        assert math.isclose(np.linalg.norm(J), 1.0, rel_tol=1e-12)
        assert math.isclose(float(np.arccos(np.clip(J @ T, -1, 1))), theta, abs_tol=1e-7)


def test_margin_difficulty_ranks_small_margins_as_hard():
    J = np.array([1.0, 0.0])
    X = np.array([[0.1, 5.0], [-2.0, 0.0], [1.0, 1.0]])
    d = perceptron.margin_difficulty(X, J)
    assert np.argmax(d) == 0 and np.argmin(d) == 1


def _reference_max_margin(X, y):
    """Hard-margin SVM without bias by a general solver: min ½‖w‖² s.t. y_i w·x_i ≥ 1."""
    Z = y[:, None] * X
    res = minimize(lambda w: 0.5 * w @ w, np.ones(X.shape[1]), jac=lambda w: w, method="SLSQP",
                   constraints=[{"type": "ineq", "fun": lambda w: Z @ w - 1, "jac": lambda w: Z}],
                   options={"ftol": 1e-12, "maxiter": 1000})
    assert res.success
    return res.x


@pytest.mark.parametrize("N,P,working_size", [(10, 40, 12), (15, 15, None), (8, 60, 9)])
def test_max_margin_matches_a_reference_solver(N, P, working_size):
    X, y, T = perceptron.teacher_student_data(N, P, seed=N + P)
    sol = perceptron.max_margin(X, y, working_size=working_size)
    w_ref = _reference_max_margin(X, y)
    assert sol.margin == pytest.approx(1 / np.linalg.norm(w_ref), rel=1e-6)
    assert float(sol.w @ w_ref / np.linalg.norm(w_ref)) == pytest.approx(1.0, abs=1e-6)
    margins = y * (X @ sol.w)
    assert margins.min() == pytest.approx(sol.margin, rel=1e-9)  # KKT: nobody inside the margin
    assert 1 <= sol.n_support <= N + 1


def test_max_margin_working_set_grows_to_the_exact_answer():
    # a tiny initial working set forces several rounds; the answer must not depend on it
    X, y, _ = perceptron.teacher_student_data(20, 400, seed=7)
    a = perceptron.max_margin(X, y, working_size=5)
    b = perceptron.max_margin(X, y, working_size=400)
    assert a.rounds > 1
    assert a.margin == pytest.approx(b.margin, rel=1e-8)
    assert np.allclose(a.w, b.w, atol=1e-6)


def test_max_margin_rejects_inseparable_data():
    X = np.array([[1.0, 0.0], [1.0, 0.0]])
    y = np.array([1.0, -1.0])
    with pytest.raises(ValueError):
        perceptron.max_margin(X, y)


def test_test_error_formula_matches_monte_carlo():
    rng = np.random.default_rng(0)
    T = perceptron.teacher(5, seed=0)
    w = T + 0.8 * rng.standard_normal(5)
    X = rng.standard_normal((200_000, 5))
    mc = np.mean(np.sign(X @ w) != np.sign(X @ T))
    assert perceptron.perceptron_test_error(w, T) == pytest.approx(mc, abs=4e-3)
    assert perceptron.perceptron_test_error(T, T) == 0.0
    assert perceptron.perceptron_test_error(-T, T) == pytest.approx(1.0)


def test_teacher_is_a_seeded_unit_vector():
    a, b = perceptron.teacher(40, seed=5), perceptron.teacher(40, seed=5)
    assert np.array_equal(a, b) and math.isclose(np.linalg.norm(a), 1.0, rel_tol=1e-12)
    assert not np.allclose(a, perceptron.teacher(40, seed=6))


def test_overlap_and_margins_ignore_the_scale_of_the_vectors():
    rng = np.random.default_rng(1)
    w, T, X = rng.standard_normal(6), perceptron.teacher(6, seed=2), rng.standard_normal((9, 6))
    assert perceptron.overlap(3.0 * w, 0.5 * T) == pytest.approx(perceptron.overlap(w, T), rel=1e-12)
    assert perceptron.perceptron_test_error(w, T) == pytest.approx(1 - perceptron.perceptron_test_error(-w, T))
    assert np.allclose(perceptron.margin_difficulty(X, 4.0 * w), perceptron.margin_difficulty(X, w))
    assert np.allclose(perceptron.margin_difficulty(X, w), -np.abs(X @ w) / np.linalg.norm(w))


# --- the replica-symmetric theory --------------------------------------------------------------


def test_gardner_G_is_the_gaussian_integral():
    from scipy import integrate, stats

    for c in (-2.0, 0.0, 1.3):
        ref = integrate.quad(lambda z: (c - z) ** 2 * stats.norm.pdf(z), -np.inf, c)[0]
        assert perceptron.gardner_G(c) == pytest.approx(ref, rel=1e-8)


def test_kept_cut_keeps_the_fraction():
    from scipy import stats

    for f in (0.05, 0.4, 0.9):
        c = perceptron.kept_cut(f, "hard")
        assert 2 * stats.norm.cdf(c) - 1 == pytest.approx(f)
        c = perceptron.kept_cut(f, "easy")
        assert 2 * stats.norm.sf(c) == pytest.approx(f)


def test_unpruned_learning_curve_reaches_opper_asymptote():
    # the max-margin perceptron: ε·α → 0.500 at large α (Opper et al. 1990); ε falls with α
    errors = [perceptron.perceptron_theory_error(a, 1.0, "random") for a in (1, 4, 16, 256)]
    assert all(a > b for a, b in zip(errors, errors[1:]))
    assert errors[-1] * 256 == pytest.approx(0.50, abs=0.005)
    assert 0.25 < errors[0] < 0.28


def test_theory_at_f_one_is_the_same_for_every_strategy_and_probe():
    values = {perceptron.perceptron_theory_error(8, 1.0, s, t) for s in STRATEGIES for t in (0.0, 20.0)}
    assert len(values) == 1


def test_random_pruning_is_the_unpruned_curve_at_alpha_prune():
    assert perceptron.perceptron_theory_error(8, 0.25, "random") == pytest.approx(
        perceptron.perceptron_theory_error(2, 1.0, "random"), rel=1e-9)


def test_probe_limits():
    # θ → 0 recovers the perfect probe; θ = 90° selects independently of the teacher: random pruning
    assert perceptron.perceptron_theory_error(8, 0.3, "hard", 0.01, 200) == pytest.approx(
        perceptron.perceptron_theory_error(8, 0.3, "hard", 0.0, 200), rel=2e-3)
    assert perceptron.perceptron_theory_error(8, 0.3, "hard", 90.0, 200) == pytest.approx(
        perceptron.perceptron_theory_error(8, 0.3, "random", 0.0, 200), rel=1e-4)


def test_theory_ranks_strategies_as_the_paper_says():
    # scarce: keep-easy < random < keep-hard; abundant: keep-hard best
    e, r, h = (perceptron.perceptron_theory_error(1, 0.5, s) for s in ("easy", "random", "hard"))
    assert e < r < h
    e, r, h = (perceptron.perceptron_theory_error(16, 0.25, s) for s in ("easy", "random", "hard"))
    assert h < e < r


def test_gardner_G_limits_and_derivative():
    c = np.array([-8.0, -1.0, 0.0, 0.7, 8.0])
    G = perceptron.gardner_G(c)
    assert G.shape == c.shape and G[0] < 1e-12 and G[2] == pytest.approx(0.5)
    assert G[-1] == pytest.approx(1 + 64.0, rel=1e-12)  # Φ(8) = 1: G(c) → 1 + c²
    h = 1e-5  # G'(c) = 2∫_{-∞}^{c} Dz (c − z) = 2(cΦ(c) + φ(c))
    slope = (perceptron.gardner_G(c[1:4] + h) - perceptron.gardner_G(c[1:4] - h)) / (2 * h)
    assert slope == pytest.approx(2 * (c[1:4] * stats.norm.cdf(c[1:4]) + stats.norm.pdf(c[1:4])), rel=1e-7)


def test_kappa_solves_the_gardner_equation():
    # one point mass at x = 0, q = 1: α·G(κ) = 1, and G(0) = 1/2 puts κ = 0 at α = 2 (Gardner's capacity)
    assert perceptron._kappa(2.0, 1.0, np.array([0.0]), np.array([1.0])) == pytest.approx(0.0, abs=1e-12)
    rng = np.random.default_rng(0)
    x, p = rng.standard_normal(50), rng.random(50)
    p /= p.sum()
    for alpha, q in ((0.5, 0.3), (4.0, 0.8), (40.0, 0.1)):
        k = perceptron._kappa(alpha, q, x, p)
        assert alpha * float(p @ perceptron.gardner_G((k - x) / q)) == pytest.approx(1.0, rel=1e-10)


@pytest.mark.parametrize("R,rho,theta,f,strategy", [(0.8, 0.3, 0.4, 0.3, "hard"), (0.6, -0.5, 0.2, 0.4, "easy"),
                                                     (0.9, 0.0, 0.0, 0.5, "hard"), (0.7, 0.2, 0.0, 1.0, "random"),
                                                     (0.5, 0.4, 1.0, 0.2, "hard")])
def test_stability_density_matches_monte_carlo(R, rho, theta, f, strategy):
    # sample (t, v), keep by the probe field |cos θ·t + sin θ·v| and compare the kept R|t| + ρ·sign(t)·v
    rng = np.random.default_rng(0)
    t, v = rng.standard_normal((2, 1_000_000))
    field = np.abs(math.cos(theta) * t + math.sin(theta) * v)
    kept = {"hard": field < perceptron.kept_cut(f, "hard"), "easy": field > perceptron.kept_cut(f, "easy"),
            "random": np.ones(len(t), bool)}[strategy]
    assert kept.mean() == pytest.approx(f, abs=3e-3)
    xs = R * np.abs(t[kept]) + rho * np.sign(t[kept]) * v[kept]
    x, p = perceptron._stability_density(R, rho, theta, f, strategy, 600)
    assert p.sum() == pytest.approx(1.0) and (p >= 0).all()
    se = xs.std() / math.sqrt(len(xs))
    assert float(p @ x) == pytest.approx(xs.mean(), abs=4 * se + 1e-3)
    g, gs = perceptron.gardner_G((0.5 - x) / 0.4), perceptron.gardner_G((0.5 - xs) / 0.4)
    assert float(p @ g) == pytest.approx(gs.mean(), abs=4 * gs.std() / math.sqrt(len(gs)) + 2e-3 * gs.mean())


@pytest.mark.parametrize("alpha,eps,f,strategy,tol", [(3.0, 0.2, 0.5, "hard", 5e-4), (3.0, 0.2, 0.4, "easy", 5e-4),
                                                       (2.0, 0.3, 1.0, "random", 1e-8)])
def test_theory_margin_against_direct_integration(alpha, eps, f, strategy, tol):
    # θ = 0, λ = 0: α·E_kept[G((κ − R|t|)/q)] = 1 with |t| half-normal on the kept range, by adaptive quadrature
    R, q = math.cos(math.pi * eps), math.sin(math.pi * eps)
    lo, hi = {"hard": (0.0, perceptron.kept_cut(f, "hard")), "easy": (perceptron.kept_cut(f, "easy"), np.inf),
              "random": (0.0, np.inf)}[strategy]

    def mean_G(k):
        return integrate.quad(lambda s: 2 * stats.norm.pdf(s) * perceptron.gardner_G((k - R * s) / q), lo, hi,
                              epsabs=1e-13, epsrel=1e-12)[0] / f

    direct = optimize.brentq(lambda k: alpha * mean_G(k) - 1, -10, 10, xtol=1e-13)
    assert perceptron.theory_margin(alpha, eps, 0.0, 0.0, f, strategy, 600) == pytest.approx(direct, abs=tol)


@pytest.mark.parametrize("alpha_tot,f,strategy,theta", [(8, 0.4, "hard", 0.0), (4, 0.5, "easy", 0.0),
                                                         (8, 0.4, "hard", 20.0)])
def test_theory_point_is_the_largest_margin(alpha_tot, f, strategy, theta):
    point = perceptron.perceptron_theory_point(alpha_tot, f, strategy, theta, 200)
    eps, R = point["error"], point["R"]
    lam = point["rho"] / math.sin(math.pi * eps)
    assert R == pytest.approx(math.cos(math.pi * eps)) and abs(lam) < 1

    def kappa(e, l):
        return perceptron.theory_margin(alpha_tot * f, e, l, math.radians(theta), f, strategy, 200)

    assert point["kappa"] == pytest.approx(kappa(eps, lam), rel=1e-9)
    for de, dl in ((0.01, 0), (-0.01, 0), (0, 0.05), (0, -0.05)):
        if (theta == 0 and dl) or abs(lam + dl) >= 1:
            continue  # a perfect probe has no orthogonal direction to lean towards
        assert kappa(eps + de, lam + dl) <= point["kappa"] + 1e-9
    assert perceptron.perceptron_theory_error(alpha_tot, f, strategy, theta, 200) == eps
