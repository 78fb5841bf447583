"""Fitting scaling laws the careful way.

The saturating power law y = E + A·x^(−α) is fitted as Hoffmann et al. (2022, Chinchilla,
Approach 3) and its replication by Besiroglu et al. (2024) do: in log space,
log ŷ = LSE(e, a − α·log x) with E = exp(e), A = exp(a); a Huber loss (δ = 1e-3) on the log
residuals; L-BFGS from a grid of starting points, keeping the best; bootstrap confidence
intervals. :meth:`PowerLawFit.report` lists what Li et al. (2025, "(Mis)Fitting") ask papers to
report: the form, the loss, the optimiser, the initialisation grid, the points used, how x was
counted, and how the intervals were made.

The two-variable law L(N, D) = E + A/N^α + B/D^β (:class:`ChinchillaLaw`) is fitted the same way by
:func:`fit_chinchilla_law` (Approach 3 as Besiroglu et al. 2024 redid it).

Used by: chapter 00 (L(N)), chapter 05 (L(N, D)), and every chapter that fits a trend (01 emergence, 02 inverse
scaling, 03 data pruning, 04 critical batch size).
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field

import functools

import numpy as np
from scipy import optimize, stats
from threadpoolctl import threadpool_limits


def _single_threaded_blas(fn):
    """Run ``fn`` with one BLAS thread: these fits are tiny, and a multi-threaded OpenBLAS spins
    its idle threads between L-BFGS calls (measured: 12× the CPU time on a busy 2-core machine)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return fn(*args, **kwargs)
    return wrapper


def huber(r: np.ndarray, delta: float) -> np.ndarray:
    """Huber loss: r²/2 inside |r| ≤ δ, δ(|r| − δ/2) outside."""
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


def huber_grad(r: np.ndarray, delta: float) -> np.ndarray:
    return np.clip(r, -delta, delta)


def r_squared(y: np.ndarray, y_hat: np.ndarray) -> float:
    """Coefficient of determination 1 − SS_res/SS_tot."""
    y, y_hat = np.asarray(y, float), np.asarray(y_hat, float)
    ss_tot = np.sum((y - y.mean()) ** 2)
    if ss_tot == 0:
        return float("nan")
    return float(1.0 - np.sum((y - y_hat) ** 2) / ss_tot)


def _log_prediction(theta: np.ndarray, log_x: np.ndarray, fit_E: bool) -> np.ndarray:
    e, a, alpha = theta
    if not fit_E:
        return a - alpha * log_x
    return np.logaddexp(e, a - alpha * log_x)  # log(E + A·x^(−α)) = LSE(e, a − α·log x)


def _objective(theta, log_x, log_y, delta, fit_E):
    """Summed Huber loss of the log residuals, divided by δ so that gradients are O(1) and
    L-BFGS's stopping rule does not fire early when δ is small. Returns (loss, gradient)."""
    e, a, alpha = theta
    pred = _log_prediction(theta, log_x, fit_E)
    r = log_y - pred
    g = huber_grad(r, delta) / delta
    if fit_E:
        w_e = np.exp(e - pred)  # share of E in the prediction
        w_a = np.exp(a - alpha * log_x - pred)
    else:
        w_e = np.zeros_like(pred)
        w_a = np.ones_like(pred)
    grad = -np.array([np.sum(g * w_e), np.sum(g * w_a), -np.sum(g * w_a * log_x)])
    return float(np.sum(huber(r, delta)) / delta), grad


@dataclass
class PowerLawFit:
    """Result of :func:`fit_power_law`: y = E + A·x^(−α)."""

    E: float
    A: float
    alpha: float
    ci: dict  # parameter -> [lo, hi] (95 % by default)
    r2_log: float  # R² of log y against the fit, in log space
    rmse_log: float
    n_points: int
    x_min: float
    x_max: float
    fit_E: bool
    loss: str
    delta: float
    optimizer: str
    n_starts: int
    bootstrap: str
    n_bootstrap: int
    confidence: float
    seed: int
    x_label: str = "x"
    bootstrap_alphas: list = field(default_factory=list, repr=False)

    def predict(self, x) -> np.ndarray:
        """The fitted law E + A·x^(−α) at ``x`` (raw units, any shape), e.g. beyond the fitted range."""
        return self.E + self.A * np.asarray(x, float) ** (-self.alpha)

    def alpha_ci_excludes_zero(self) -> bool:
        lo, hi = self.ci["alpha"]
        return bool(lo > 0 or hi < 0)

    def report(self) -> dict:
        """The fit as the (Mis)Fitting checklist asks for it."""
        return {
            "form": "y = E + A * x^(-alpha)" if self.fit_E else "y = A * x^(-alpha)",
            "x": self.x_label,
            "points": self.n_points,
            "x range": f"{self.x_min:.3g} – {self.x_max:.3g}",
            "loss": f"{self.loss} on log residuals (delta = {self.delta:g})",
            "optimizer": self.optimizer,
            "initialisation": f"grid of {self.n_starts} starts, best kept",
            "intervals": f"{self.n_bootstrap} bootstrap refits ({self.bootstrap}), "
                         f"{100 * self.confidence:.0f} % percentile",
            "E": self.E, "A": self.A, "alpha": self.alpha,
            "alpha CI": tuple(self.ci["alpha"]),
            "E CI": tuple(self.ci["E"]),
            "R2 (log space)": self.r2_log,
            "RMSE (log space)": self.rmse_log,
        }

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("bootstrap_alphas")
        return d


def _fit_once(log_x, log_y, delta, fit_E, starts):
    best = None
    for theta0 in starts:
        res = optimize.minimize(_objective, np.asarray(theta0, float), args=(log_x, log_y, delta, fit_E),
                                jac=True, method="L-BFGS-B",
                                bounds=[(-30, 30), (-50, 50), (-5.0, 10.0)],
                                options={"gtol": 1e-9, "ftol": 1e-13, "maxiter": 300})
        if best is None or res.fun < best.fun:
            best = res
    return best.x


def _start_grid(log_y: np.ndarray, fit_E: bool) -> list:
    y_min = float(np.exp(log_y.min()))
    alphas = [0.05, 0.2, 0.5, 1.0, 2.0]
    if not fit_E:
        return [(0.0, float(log_y.mean()), al) for al in alphas]
    e_grid = np.log([1e-3 * y_min, 0.5 * y_min, 0.9 * y_min])
    a_grid = [float(log_y.max()) - 2.0, float(log_y.max()), float(log_y.max()) + 2.0]
    return [(e, a, al) for e, a, al in itertools.product(e_grid, a_grid, alphas)]


@_single_threaded_blas
def fit_power_law(x, y, *, fit_E: bool = True, delta: float = 1e-3, n_bootstrap: int = 200,
                  bootstrap: str = "residuals", confidence: float = 0.95, seed: int = 0,
                  x_label: str = "x") -> PowerLawFit:
    """Fit y = E + A·x^(−α) (or A·x^(−α) with ``fit_E=False``) to positive data.

    ``bootstrap``: ``"residuals"`` refits the fitted curve plus resampled log residuals (the
    design — which x were measured — stays fixed, which suits a handful of model sizes);
    ``"pairs"`` resamples (x, y) points, as Besiroglu et al. did with hundreds of points.
    x is divided by its geometric mean inside the fit for conditioning; E, A, α refer to raw x.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("x and y must be 1-D arrays of the same length")
    if len(x) < 3:
        raise ValueError(f"need at least 3 points to fit a power law, got {len(x)}")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("x and y must be positive")
    if bootstrap not in ("residuals", "pairs"):
        raise ValueError(f"bootstrap must be one of 'residuals', 'pairs'; got {bootstrap!r}")
    x_ref = float(np.exp(np.mean(np.log(x))))
    log_x = np.log(x / x_ref)
    log_y = np.log(y)
    starts = _start_grid(log_y, fit_E)
    theta = _fit_once(log_x, log_y, delta, fit_E, starts)
    pred = _log_prediction(theta, log_x, fit_E)
    residuals = log_y - pred

    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(n_bootstrap):
        if bootstrap == "residuals":
            ly = pred + rng.choice(residuals, size=len(residuals), replace=True)
            lx = log_x
        else:
            idx = rng.integers(0, len(x), len(x))
            if len(np.unique(x[idx])) < 3:
                continue
            lx, ly = log_x[idx], log_y[idx]
        # Warm start from the full fit, plus one distant start as a guard against a wrong basin.
        samples.append(_fit_once(lx, ly, delta, fit_E, [theta, starts[len(starts) // 2]]))
    samples = np.array(samples) if samples else np.empty((0, 3))

    def to_raw(t):
        e, a, alpha = t[..., 0], t[..., 1], t[..., 2]
        E = np.exp(e) if fit_E else np.zeros_like(e)
        return E, np.exp(a) * x_ref ** alpha, alpha

    E, A, alpha = (float(v) for v in to_raw(theta))
    q = [(1 - confidence) / 2 * 100, (1 + confidence) / 2 * 100]
    ci = {}
    if len(samples):
        for name, values in zip(("E", "A", "alpha"), to_raw(samples)):
            lo, hi = np.percentile(values, q)
            ci[name] = [float(lo), float(hi)]
    else:
        ci = {k: [float("nan"), float("nan")] for k in ("E", "A", "alpha")}
    return PowerLawFit(
        E=E, A=A, alpha=alpha, ci=ci, r2_log=r_squared(log_y, pred),
        rmse_log=float(np.sqrt(np.mean(residuals**2))), n_points=len(x),
        x_min=float(x.min()), x_max=float(x.max()), fit_E=fit_E, loss="Huber", delta=delta,
        optimizer="L-BFGS-B (scipy)", n_starts=len(starts), bootstrap=bootstrap,
        n_bootstrap=len(samples), confidence=confidence, seed=seed, x_label=x_label,
        bootstrap_alphas=[float(v) for v in to_raw(samples)[2]] if len(samples) else [],
    )


@dataclass
class LineFit:
    """Least-squares line y = intercept + slope·x, with a bootstrap interval for the slope."""

    slope: float
    intercept: float
    r2: float
    slope_ci: list
    n_points: int

    def predict(self, x) -> np.ndarray:
        return self.intercept + self.slope * np.asarray(x, float)

    def to_dict(self) -> dict:
        return asdict(self)


@_single_threaded_blas
def fit_line(x, y, *, n_bootstrap: int = 1000, confidence: float = 0.95, seed: int = 0) -> LineFit:
    """Ordinary least squares with a pairs-bootstrap percentile interval for the slope.

    For a log-log slope pass log x and log y. Used by chapters 01-04 for trends across sizes.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if len(x) < 3:
        raise ValueError(f"need at least 3 points to fit a line, got {len(x)}")
    slope, intercept = np.polyfit(x, y, 1)
    rng = np.random.default_rng(seed)
    slopes = []
    for _ in range(n_bootstrap):
        idx = rng.integers(0, len(x), len(x))
        if np.ptp(x[idx]) == 0:
            continue
        slopes.append(np.polyfit(x[idx], y[idx], 1)[0])
    q = [(1 - confidence) / 2 * 100, (1 + confidence) / 2 * 100]
    lo, hi = np.percentile(slopes, q) if slopes else (float("nan"), float("nan"))
    return LineFit(slope=float(slope), intercept=float(intercept),
                   r2=r_squared(y, intercept + slope * x), slope_ci=[float(lo), float(hi)],
                   n_points=len(x))


def spearman(x, y) -> float:
    """Spearman rank correlation (scipy)."""
    return float(stats.spearmanr(x, y).statistic)


# --- the two-variable law L(N, D) -----------------------------------------------------------


@dataclass(frozen=True)
class ChinchillaLaw:
    """L(N, D) = E + A/N^α + B/D^β (Hoffmann et al. 2022, Eq. 2), N counted in TOTAL parameters.

    With C = 6·N·D the loss-minimising allocation is N_opt = G·(C/6)^a, D_opt = (C/6)/N_opt with
    a = β/(α+β) and G = (αA/(βB))^(1/(α+β)) (their Eq. 4). Used by chapter 05.
    """

    E: float
    A: float
    B: float
    alpha: float
    beta: float

    def loss(self, n, d) -> np.ndarray:
        n, d = np.asarray(n, float), np.asarray(d, float)
        return self.E + self.A * n ** (-self.alpha) + self.B * d ** (-self.beta)

    @property
    def a(self) -> float:
        """The compute-optimal exponent of N: β/(α+β)."""
        return self.beta / (self.alpha + self.beta)

    def optimal_n(self, compute) -> np.ndarray:
        """N_opt(C) for C = 6·N·D FLOPs (closed form); NaN unless α, β > 0."""
        if not (self.alpha > 0 and self.beta > 0):
            return np.full(np.shape(compute), np.nan)
        g = (self.alpha * self.A / (self.beta * self.B)) ** (1.0 / (self.alpha + self.beta))
        return g * (np.asarray(compute, float) / 6.0) ** self.a

    def optimal_d(self, compute) -> np.ndarray:
        return np.asarray(compute, float) / (6.0 * self.optimal_n(compute))

    def to_dict(self) -> dict:
        return {"E": self.E, "A": self.A, "B": self.B, "alpha": self.alpha, "beta": self.beta}


@dataclass
class SurfaceFit:
    """Result of :func:`fit_chinchilla_law`: the fitted :class:`ChinchillaLaw`, a = β/(α+β) and its
    bootstrap samples, and what the (Mis)Fitting checklist asks to report."""

    law: ChinchillaLaw
    a: float
    a_samples: list
    params_ci: dict
    n_points: int
    n_starts: int
    delta: float
    rmse_log: float
    bootstrap: str

    @property
    def a_interval(self) -> tuple[float, float]:
        from .intervals import percentile_interval

        return percentile_interval(self.a_samples)

    def report(self) -> dict:
        return {"form": "L = E + A/N^alpha + B/D^beta", "loss": f"Huber (delta = {self.delta:g}) on log-loss, summed",
                "optimizer": "L-BFGS-B (scipy)", "initialisation": f"grid of {self.n_starts} starts, best kept",
                "points": self.n_points, "intervals": self.bootstrap, **self.law.to_dict(), "a": self.a,
                "RMSE (log space)": self.rmse_log}


def _surface_objective(theta, log_n, log_d, log_y, delta):
    """Summed Huber loss (÷ δ) of log y − LSE(e, a − α log N, b − β log D) and its gradient."""
    e, a, b, alpha, beta = theta
    t_n = a - alpha * log_n
    t_d = b - beta * log_d
    pred = np.logaddexp(np.logaddexp(e, t_n), t_d)
    r = log_y - pred
    g = huber_grad(r, delta) / delta
    w_e, w_n, w_d = np.exp(e - pred), np.exp(t_n - pred), np.exp(t_d - pred)
    grad = -np.array([np.sum(g * w_e), np.sum(g * w_n), np.sum(g * w_d),
                      -np.sum(g * w_n * log_n), -np.sum(g * w_d * log_d)])
    return float(np.sum(huber(r, delta)) / delta), grad


_SURFACE_BOUNDS = [(-10, 5), (-30, 30), (-30, 30), (0.0, 3.0), (0.0, 3.0)]


def _fit_surface_once(log_n, log_d, log_y, delta, starts):
    best = None
    for theta0 in starts:
        res = optimize.minimize(_surface_objective, np.asarray(theta0, float), args=(log_n, log_d, log_y, delta),
                                jac=True, method="L-BFGS-B", bounds=_SURFACE_BOUNDS,
                                options={"gtol": 1e-10, "ftol": 1e-14, "maxiter": 500})
        if best is None or res.fun < best.fun:
            best = res
    return best.x


def _surface_starts(log_y) -> list:
    y_min = float(np.exp(log_y.min()))
    e_grid = np.log([0.3 * y_min, 0.8 * y_min])
    ab_grid = np.log([0.05 * y_min, 0.5 * y_min])
    exps = [0.2, 0.5, 1.0]
    return [(e, a, b, al, be) for e, a, b, al, be in itertools.product(e_grid, ab_grid, ab_grid, exps, exps)]


@_single_threaded_blas
def fit_chinchilla_law(n, d, loss, *, resampled_losses=None, n_bootstrap: int = 200, delta: float = 1e-3,
                       seed: int = 0, starts=None) -> SurfaceFit:
    """Fit L(N, D) = E + A/N^α + B/D^β (Approach 3) as Besiroglu et al. (2024): the log-sum-exp form
    log L̂ = LSE(e, a − α log N, b − β log D), a Huber loss (δ) on log residuals summed over points,
    L-BFGS-B from a grid of 72 starts, the best kept; N and D are divided by their geometric means
    inside the fit (A and B refer to raw N, D).

    Bootstrap: ``resampled_losses`` (an array (B, n_points) of losses redrawn by the caller, e.g. by
    :func:`scalinglab.isoflop.seed_noise_resamples`) is refitted row by row; without it, ``n_bootstrap`` pairs-bootstrap
    resamples of the points. Each refit starts from the full fit and one grid start. ``starts``: laws
    (:class:`ChinchillaLaw`) to start from instead of the grid — e.g. the fit to all points, for the
    leave-one-out refits of a jackknife (:mod:`scalinglab.runtable`). Used by chapter 05 and
    :mod:`scalinglab.runtable`.
    """
    n, d, y = (np.asarray(v, float) for v in (n, d, loss))
    if not (n.shape == d.shape == y.shape) or n.ndim != 1:
        raise ValueError("n, d and loss must be 1-D arrays of the same length")
    if len(n) < 6:
        raise ValueError(f"need at least 6 points to fit five parameters, got {len(n)}")
    if np.any(n <= 0) or np.any(d <= 0) or np.any(y <= 0):
        raise ValueError("n, d and loss must be positive")
    n_ref, d_ref = float(np.exp(np.log(n).mean())), float(np.exp(np.log(d).mean()))
    log_n, log_d, log_y = np.log(n / n_ref), np.log(d / d_ref), np.log(y)
    if starts is None:
        starts = _surface_starts(log_y)
    else:  # laws in raw units -> the fit's parameters (N, D scaled by their geometric means)
        starts = [(np.log(s.E), np.log(s.A) - s.alpha * np.log(n_ref), np.log(s.B) - s.beta * np.log(d_ref),
                   s.alpha, s.beta) for s in starts]
    theta = _fit_surface_once(log_n, log_d, log_y, delta, starts)

    def to_law(t):
        e, a, b, alpha, beta = t
        return ChinchillaLaw(E=float(np.exp(e)), A=float(np.exp(a) * n_ref ** alpha),
                             B=float(np.exp(b) * d_ref ** beta), alpha=float(alpha), beta=float(beta))

    def exponent(t):
        s = t[3] + t[4]
        return float(t[4] / s) if s > 0 else float("nan")

    warm = [theta, starts[len(starts) // 2]]
    samples = []
    if resampled_losses is not None:
        for row in np.asarray(resampled_losses, float):
            samples.append(_fit_surface_once(log_n, log_d, np.log(row), delta, warm))
        how = f"{len(samples)} refits to losses redrawn with the runs' seed noise"
    else:
        rng = np.random.default_rng(seed)
        for _ in range(n_bootstrap):
            idx = rng.integers(0, len(n), len(n))
            samples.append(_fit_surface_once(log_n[idx], log_d[idx], log_y[idx], delta, warm))
        how = f"{n_bootstrap} pairs-bootstrap refits"
    samples = np.array(samples) if samples else np.empty((0, 5))
    from .intervals import percentile_interval

    laws = [to_law(t) for t in samples]
    params_ci = {name: list(percentile_interval([getattr(l, name) for l in laws]))
                 for name in ("E", "A", "B", "alpha", "beta")}
    pred = np.logaddexp(np.logaddexp(theta[0], theta[1] - theta[3] * log_n), theta[2] - theta[4] * log_d)
    return SurfaceFit(law=to_law(theta), a=exponent(theta), a_samples=[exponent(t) for t in samples],
                      params_ci=params_ci, n_points=len(n), n_starts=len(starts), delta=delta,
                      rmse_log=float(np.sqrt(np.mean((log_y - pred) ** 2))), bootstrap=how)
