"""The teacher-student perceptron: its data, the exact max-margin student, and the replica-symmetric
theory of the student's test error when the training set is pruned.

Sorscher, Geirhos, Shekhar, Ganguli & Morcos (NeurIPS 2022), "Beyond neural scaling laws: beating
power law scaling via data pruning", Sec. 2-3, App. A and Fig. 1. A teacher perceptron ``T`` labels
Gaussian inputs ``x ~ N(0, I_N)`` by ``y = sign(T·x)``. Of ``P = α_tot·N`` examples a pruning rule
keeps a fraction ``f`` (``α_prune = f·α_tot``), ranked by the margin ``|J·x|/‖J‖`` under a probe
``J`` at angle ``θ`` to the teacher (``θ = 0``: a perfect metric; :func:`margin_difficulty`, then
:func:`scalinglab.pruning.select`). The student is the max-margin perceptron on the kept examples;
its test error is ``ε = arccos(R)/π`` with ``R`` the cosine between student and teacher.

*Simulation* (:func:`max_margin`). Without a bias the max-margin direction is the minimum-norm point
``u`` of the convex hull of ``{y_i x_i}`` and the margin is ``‖u‖`` (the dual of min ‖w‖² s.t.
y_i w·x_i ≥ 1, with the dual variables rescaled to the simplex). That point solves one non-negative
least-squares problem, min_{β ≥ 0} ‖Zᵀβ‖² + (1ᵀβ − 1)², since β = sλ with 1ᵀλ = 1 gives
s²q + (s − 1)², minimised at q/(1 + q), increasing in q = ‖Zᵀλ‖². We solve it with Lawson-Hanson
(``scipy.optimize.nnls``) on a working set of the lowest-margin examples, add every example that
violates the margin, and repeat until none does — the answer is then the exact max-margin solution
of the whole kept set.

*Theory* (:func:`perceptron_theory_error`). In the limit N → ∞ at fixed α the replica-symmetric
(Gardner) computation is exact for this convex problem. For a unit student with overlap R to the
teacher and ρ to the probe's component orthogonal to the teacher, its stability on an example is
y·(w·x) = R|t| + ρ·sign(t)·v + q·z with t = T·x, v the input along that orthogonal direction, z an
independent standard normal and q = √(1 − R² − ρ²). Pruning changes only the distribution of (t, v)
on the kept set (a strip |cos θ·t + sin θ·v| < c for keep-hard, its complement for keep-easy). The
largest margin κ reachable at (R, ρ) solves

    α_prune · E_kept[ G((κ − R|t| − ρ·sign(t)·v)/q) ] = 1,   G(c) = (1 + c²)Φ(c) + cφ(c),

and the max-margin student sits at the (R, ρ) that maximise κ; ε = arccos(R)/π. With θ = 0 the probe
is the teacher, ρ = 0, and this is the equation of Sorscher et al. (Sec. 2 and App. A); unpruned it
gives Opper et al.'s learning curve, ε·α → 0.500 at large α. The average is one-dimensional: the
stability's deterministic part is the projection u of (|t|, sign(t)·v) on (R, ρ), and a 2-D standard
normal restricted to a half-plane and a strip has an exact marginal along any direction
(a Gaussian times a difference of normal CDFs), integrated here by composite Gauss-Legendre
quadrature. κ(R) can be bimodal (for keep-hard at small f the student switches abruptly, near
α_prune ≈ 2, from fitting the kept examples in directions orthogonal to the teacher to aligning with
it), so the maximisation starts from a grid over ε.

Used by: chapter 03 (data pruning).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats
from scipy.optimize import nnls

from ..pruning import STRATEGIES
from ..seeds import generator


# ---------------------------------------------------------------------------------------------
# The model and its max-margin student, simulated
# ---------------------------------------------------------------------------------------------


def teacher(N: int, seed: int) -> np.ndarray:
    """The teacher: a unit vector uniformly distributed on the sphere in R^N. Used by chapter 03."""
    t = generator(seed, "teacher").standard_normal(N)
    return t / np.linalg.norm(t)


def teacher_student_data(N: int, P: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(X, y, T)``: ``P`` inputs x ~ N(0, I_N) (rows of X, shape (P, N)), labels y = sign(T·x).

    The inputs of a seed are a prefix of one stream: the data of a smaller P is the first rows of a
    larger one, so different α_tot of one seed are nested (common random numbers). Used by chapter 03.
    """
    if N < 1 or P < 1:
        raise ValueError(f"N and P must be >= 1, got {N}, {P}")
    T = teacher(N, seed)
    X = generator(seed, "inputs").standard_normal((P, N))
    y = np.sign(X @ T)
    y[y == 0] = 1.0  # probability zero, but keep labels in {-1, +1}
    return X, y, T


def probe(T: np.ndarray, theta: float, seed: int) -> np.ndarray:
    """A unit probe J at angle ``theta`` (radians) to the unit teacher T:
    J = cos θ·T + sin θ·u, with u a random unit vector orthogonal to T (paper Sec. 3). Used by chapter 03."""
    u = generator(seed, "probe").standard_normal(len(T))
    u -= (u @ T) * T
    u /= np.linalg.norm(u)
    return math.cos(theta) * T + math.sin(theta) * u


def margin_difficulty(X: np.ndarray, J: np.ndarray) -> np.ndarray:
    """Difficulty of each example under the probe J: −|J·x|/‖J‖ (small margin = hard). Used by chapter 03."""
    return -np.abs(X @ J) / np.linalg.norm(J)


@dataclass
class MaxMarginResult:
    """The max-margin perceptron w (unit norm), its margin κ = min_i y_i w·x_i, and solver facts.
    Used by chapter 03."""

    w: np.ndarray
    margin: float
    n_support: int
    rounds: int


def max_margin(X: np.ndarray, y: np.ndarray, *, working_size: int | None = None, tol: float = 1e-9,
               max_rounds: int = 100) -> MaxMarginResult:
    """Exact max-margin perceptron without bias (hard margin): maximise min_i y_i w·x_i over ‖w‖ = 1.

    Working-set NNLS (see the module docstring): start from the ``working_size`` (default 1.2·N)
    examples of lowest margin under the Hebbian direction Σ y_i x_i, solve the min-norm-point
    problem there, add every example whose margin is below κ(1 − tol), repeat. Raises if the data
    are not linearly separable through the origin. Used by chapter 03.
    """
    X = np.asarray(X, float)
    y = np.asarray(y, float)
    Z = y[:, None] * X  # (P, N): y_i x_i
    P, N = Z.shape
    k = min(P, working_size or int(1.2 * N) + 1)
    hebb = Z.sum(0)
    active = np.argsort(Z @ hebb, kind="stable")[:k]
    for rounds in range(1, max_rounds + 1):
        Za = Z[active]  # (k, N)
        A = np.vstack([Za.T, np.ones((1, len(active)))])  # (N + 1, k)
        b = np.zeros(N + 1)
        b[-1] = 1.0
        beta, _ = nnls(A, b, maxiter=50 * A.shape[1] + 100)
        u = Za.T @ (beta / beta.sum())  # min-norm point of the hull of the working set
        kappa = float(np.linalg.norm(u))
        if kappa < 1e-12:
            raise ValueError("data are not linearly separable through the origin")
        w = u / kappa
        margins = Z @ w  # (P,)
        violators = np.flatnonzero(margins < kappa * (1 - tol))
        violators = np.setdiff1d(violators, active)
        if len(violators) == 0:
            n_support = int(np.sum(beta > 0))
            return MaxMarginResult(w=w, margin=float(margins.min()), n_support=n_support, rounds=rounds)
        worst = violators[np.argsort(margins[violators], kind="stable")[:max(N, 1)]]
        keep = active[beta > 0]  # support vectors stay; the rest of the old set may go
        rest = np.setdiff1d(active, keep)
        rest = rest[np.argsort(margins[rest], kind="stable")[: max(0, k - len(keep))]]
        active = np.unique(np.concatenate([keep, worst, rest]))
    raise RuntimeError(f"max_margin did not converge in {max_rounds} rounds")


def overlap(w: np.ndarray, T: np.ndarray) -> float:
    """R = cos(angle between student and teacher). Used by chapter 03."""
    return float(w @ T / (np.linalg.norm(w) * np.linalg.norm(T)))


def perceptron_test_error(w: np.ndarray, T: np.ndarray) -> float:
    """Generalisation error arccos(R)/π of student w for teacher T on Gaussian inputs (exact).
    Used by chapter 03."""
    return float(np.arccos(np.clip(overlap(w, T), -1.0, 1.0)) / np.pi)


# ---------------------------------------------------------------------------------------------
# The replica-symmetric theory
# ---------------------------------------------------------------------------------------------

_SQRT_2PI = math.sqrt(2 * math.pi)


def gardner_G(c):
    """G(c) = ∫_{-∞}^{c} Dz (c − z)² = (1 + c²)Φ(c) + cφ(c): the Gardner integrand. Used by chapter 03."""
    c = np.asarray(c, float)
    return (1 + c * c) * special.ndtr(c) + c * np.exp(-0.5 * c * c) / _SQRT_2PI


@functools.lru_cache(maxsize=8)
def _quadrature(n_panels: int, order: int = 8, limit: float = 6.5):
    x, w = np.polynomial.legendre.leggauss(order)
    edges = np.linspace(-limit, limit, n_panels + 1)
    mid, half = 0.5 * (edges[1:] + edges[:-1]), 0.5 * (edges[1:] - edges[:-1])
    return (mid[:, None] + half[:, None] * x).ravel(), (half[:, None] * w).ravel()


def kept_cut(f: float, strategy: str) -> float:
    """The cut c on the probe's |field| that keeps a fraction f: keep-hard keeps |s| < c, keep-easy
    |s| > c. Used by chapter 03."""
    if not 0 < f <= 1:
        raise ValueError(f"f must be in (0, 1], got {f}")
    return float(stats.norm.ppf(0.5 + f / 2) if strategy == "hard" else stats.norm.ppf(1 - f / 2))


def _stability_density(R: float, rho: float, theta: float, f: float, strategy: str, n_panels: int):
    """Nodes x and normalised weights p of the kept distribution of R|t| + ρ·sign(t)·v."""
    u, w = _quadrature(n_panels)
    n = math.hypot(R, rho)
    # (a, b) = (|t|, sign(t)·v) is a 2-D standard normal on the half-plane a ≥ 0 (density doubled).
    # Coordinates along e1 = (R, ρ)/n (u) and e2 = (−ρ, R)/n (w'): a = (R u − ρ w')/n.
    lo, hi = np.full_like(u, -np.inf), np.full_like(u, np.inf)
    if rho > 0:
        hi = R * u / rho
    elif rho < 0:
        lo = R * u / rho
    else:
        hi = np.where(u >= 0, np.inf, -np.inf)
    half_plane = np.clip(special.ndtr(hi) - special.ndtr(lo), 0, None)
    if strategy == "random" or f >= 1:
        mass = half_plane
    else:  # the probe field s = cos θ·a + sin θ·b = A u + B w'
        A = (math.cos(theta) * R + math.sin(theta) * rho) / n
        B = (math.sin(theta) * R - math.cos(theta) * rho) / n
        c = kept_cut(f, strategy) if strategy == "hard" else kept_cut(1 - f, "hard")
        if abs(B) > 1e-14:
            e1, e2 = (-c - A * u) / B, (c - A * u) / B
            s_lo, s_hi = np.minimum(e1, e2), np.maximum(e1, e2)
            strip = np.clip(special.ndtr(np.minimum(hi, s_hi)) - special.ndtr(np.maximum(lo, s_lo)), 0, None)
        else:
            strip = np.where(np.abs(A * u) < c, half_plane, 0.0)
        mass = strip if strategy == "hard" else half_plane - strip
    p = np.exp(-0.5 * u * u) * mass * w
    return u * n, p / p.sum()


def _kappa(alpha: float, q: float, x: np.ndarray, p: np.ndarray) -> float:
    """The largest margin: the root in κ of α·Σ p·G((κ − x)/q) = 1 (increasing in κ)."""
    def excess(k):
        return alpha * float(p @ gardner_G((k - x) / q)) - 1.0

    lo, hi = -1.0, 1.0
    while excess(lo) > 0:
        lo *= 2
    while excess(hi) < 0:
        hi *= 2
    return optimize.brentq(excess, lo, hi, xtol=1e-13)


def theory_margin(alpha_prune: float, eps: float, lam: float, theta: float, f: float, strategy: str,
                  n_panels: int = 600) -> float:
    """κ at the order parameters R = cos(π·eps), ρ = lam·sin(π·eps) (lam in (−1, 1)). Used by chapter 03."""
    s = math.sin(math.pi * eps)
    R, rho = math.cos(math.pi * eps), lam * s
    q = s * math.sqrt(max(1 - lam * lam, 1e-300))
    x, p = _stability_density(R, rho, theta, f, strategy, n_panels)
    return _kappa(alpha_prune, q, x, p)


@functools.lru_cache(maxsize=4096)
def perceptron_theory_point(alpha_tot: float, f: float, strategy: str, theta_deg: float = 0.0,
                            n_panels: int = 600) -> dict:
    """The replica-symmetric saddle point of the max-margin student on the kept fraction f of
    α_tot·N examples: ``{"error", "R", "rho", "kappa"}`` (see the module docstring). Used by chapter 03."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    if alpha_tot <= 0 or not 0 < f <= 1:
        raise ValueError(f"need alpha_tot > 0 and 0 < f <= 1, got {alpha_tot}, {f}")
    alpha, theta = f * alpha_tot, math.radians(theta_deg)
    if f >= 1:
        strategy = "random"

    def neg(eps, lam=0.0):
        return -theory_margin(alpha, eps, lam, theta, f, strategy, n_panels)

    grid = np.concatenate([np.geomspace(1e-4, 0.05, 16), np.linspace(0.06, 0.5, 23)])
    values = [neg(e) for e in grid]
    i = int(np.argmin(values))
    lo, hi = (grid[i - 1] if i > 0 else 1e-7), grid[min(i + 1, len(grid) - 1)]
    best = optimize.minimize_scalar(neg, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10})
    eps, lam, kappa = float(best.x), 0.0, -float(best.fun)
    if theta_deg != 0 and strategy != "random":  # the student may lean towards the probe's direction
        # a coarse grid over (ε, λ) first (κ can have several maxima), then Nelder-Mead from the best
        # point in unbounded coordinates ε = 0.5·sigmoid(z₀), λ = tanh(z₁)
        coarse = [(e, l) for e in np.linspace(0.03, 0.47, 10) for l in np.linspace(-0.9, 0.9, 7)]
        values = [neg(e, l) for e, l in coarse]
        e0, l0 = coarse[int(np.argmin(values))]
        if -min(values) > kappa:
            eps, lam, kappa = e0, l0, -min(values)
        to_z = lambda e, l: [math.log(e / (0.5 - e)) if e < 0.5 else 12.0, math.atanh(max(min(l, 0.999), -0.999))]  # noqa: E731
        from_z = lambda z: (0.5 / (1 + math.exp(-z[0])), math.tanh(z[1]))  # noqa: E731
        res = optimize.minimize(lambda z: neg(*from_z(z)), to_z(eps, lam), method="Nelder-Mead",
                                options={"xatol": 1e-7, "fatol": 1e-10, "maxiter": 200})
        if -res.fun > kappa:
            (eps, lam), kappa = from_z(res.x), -float(res.fun)
    R = math.cos(math.pi * eps)
    return {"error": eps, "R": R, "rho": lam * math.sin(math.pi * eps), "kappa": kappa}


def perceptron_theory_error(alpha_tot: float, f: float, strategy: str, theta_deg: float = 0.0,
                            n_panels: int = 600) -> float:
    """Large-N test error arccos(R)/π of the max-margin student trained on the fraction ``f`` of
    α_tot·N examples kept by ``strategy`` ("random", "hard" or "easy") under a probe at ``theta_deg``
    degrees to the teacher — the replica-symmetric theory (module docstring). Used by chapter 03."""
    return perceptron_theory_point(float(alpha_tot), float(f), strategy, float(theta_deg), int(n_panels))["error"]
