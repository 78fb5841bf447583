"""Learning-rate schedules, and the learning-rate areas of the annealing law.

Every schedule of the book is a multiplier of the peak rate, a pure function of the step, after a linear
warm-up that all schedules share:

- ``"cosine"``: half a cosine from the peak down to ``min_lr_ratio`` at the run's last step (Loshchilov &
  Hutter 2017, *SGDR*; the usual language-model schedule, e.g. Hoffmann et al. 2022 Sec. 3);
- ``"constant"``: the peak rate to the end;
- ``"wsd"``: warm-up, **stable** at the peak, then a **decay** (cooldown) over the last ``cooldown_fraction`` of
  the run down to zero (Hägele et al. 2024, *Scaling Laws and Compute-Optimal Training Beyond Fixed Training
  Durations*, Sec. 3 and Eq. 1). The cooldown's shape is ``"linear"``, ``"sqrt"`` — their (1 − √x), which
  falls fast at first and slowly at the end, and which they find better than linear (their Fig. 4) — or
  ``"cosine"``;
- ``"step"``: the peak rate multiplied by ``step_factor`` at each of the ``step_milestones`` (fractions of the
  run), the classic step decay (Goyal et al. 2017).

Because a WSD run is the constant-rate run until its cooldown starts, one constant-rate **trunk** with
cooldown **branches** gives WSD runs of many lengths for the price of one (:func:`scalinglab.train.train`
takes a snapshot of the trunk and resumes a branch from it).

For Tissue et al.'s (2024) *Scaling Law with Learning Rate Annealing*, L(s) = L₀ + A·S₁^(−α) − C·S₂,
:func:`annealing_areas` computes the two areas of a schedule: S₁, the sum of the rates so far (their
"forward area"), and S₂, the sum of an annealing momentum m_i = λ·m_(i−1) + (η_(i−1) − η_i) of the rate's
decrease (their Eq. 4; they use λ ≈ 0.999 on runs of tens of thousands of steps). Rate increases during
warm-up do not count as annealing (m is fed only decreases).

Used by: :mod:`scalinglab.train` and :mod:`scalinglab.families` (every chapter that trains a model), and
chapter 07 (learning-rate schedules).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SCHEDULES = ("cosine", "constant", "wsd", "step")
COOLDOWN_SHAPES = ("linear", "sqrt", "cosine")


def check_schedule(schedule: str, *, cooldown_fraction: float = 0.2, cooldown_shape: str = "sqrt",
                   min_lr_ratio: float = 0.1, step_milestones: Sequence[float] = (0.5, 0.75),
                   step_factor: float = 0.1 ** 0.5, owner: str = "schedule") -> None:
    """Raise ``ValueError`` naming the bad setting and the allowed values (``owner`` prefixes the names)."""
    if schedule not in SCHEDULES:
        raise ValueError(f"{owner}.schedule must be one of {SCHEDULES}, got {schedule!r}")
    if cooldown_shape not in COOLDOWN_SHAPES:
        raise ValueError(f"{owner}.cooldown_shape must be one of {COOLDOWN_SHAPES}, got {cooldown_shape!r}")
    if not 0.0 < cooldown_fraction <= 1.0:
        raise ValueError(f"{owner}.cooldown_fraction must be in (0, 1], got {cooldown_fraction!r}")
    if not 0.0 <= min_lr_ratio <= 1.0:
        raise ValueError(f"{owner}.min_lr_ratio must be in [0, 1], got {min_lr_ratio!r}")
    milestones = list(step_milestones)
    if any(not 0.0 < m < 1.0 for m in milestones) or any(b <= a for a, b in zip(milestones, milestones[1:])):
        raise ValueError(f"{owner}.step_milestones must be increasing fractions in (0, 1), got {step_milestones!r}")
    if not 0.0 < step_factor <= 1.0:
        raise ValueError(f"{owner}.step_factor must be in (0, 1], got {step_factor!r}")


def cooldown_start(steps: int, cooldown_fraction: float) -> int:
    """The first step (0-based) of a WSD run's cooldown: the last ``round(cooldown_fraction·steps)`` steps cool
    down. A trunk branched at this step and a WSD run from scratch see the same rates before it."""
    return steps - int(round(cooldown_fraction * steps))


def cooldown_multiplier(progress: float, shape: str) -> float:
    """The cooldown's rate multiplier at ``progress`` ∈ [0, 1] through it: 1 at the start, 0 at the end.
    ``"linear"``: 1 − x; ``"sqrt"``: 1 − √x (Hägele et al. 2024, Sec. 3); ``"cosine"``: (1 + cos πx)/2."""
    x = min(1.0, max(0.0, progress))
    if shape == "linear":
        return 1.0 - x
    if shape == "sqrt":
        return 1.0 - math.sqrt(x)
    if shape == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * x))
    raise ValueError(f"cooldown shape must be one of {COOLDOWN_SHAPES}, got {shape!r}")


def rate(step: int, steps: int, peak: float, schedule: str = "cosine", *, warmup_steps: int = 0,
         min_lr_ratio: float = 0.1, cooldown_fraction: float = 0.2, cooldown_shape: str = "sqrt",
         step_milestones: Sequence[float] = (0.5, 0.75), step_factor: float = 0.1 ** 0.5) -> float:
    """The learning rate at ``step`` (0-based) of a run of ``steps`` steps whose peak rate is ``peak``.

    A linear warm-up (peak·(step + 1)/warmup_steps) over the first ``warmup_steps`` steps, then ``schedule``
    (see the module docstring). The cosine would reach ``min_lr_ratio``·peak one step after the last (the
    book's formula since its first chapter, kept exactly). The WSD cooldown starts at the peak on its first
    step and would reach 0 one step after the last, so that no step is spent at rate 0.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if warmup_steps and step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    if schedule == "constant":
        return peak
    if schedule == "cosine":
        decay_steps = max(1, steps - warmup_steps)
        progress = min(1.0, (step - warmup_steps) / decay_steps)
        floor = min_lr_ratio * peak
        return floor + 0.5 * (peak - floor) * (1.0 + math.cos(math.pi * progress))
    if schedule == "wsd":
        start = max(warmup_steps, cooldown_start(steps, cooldown_fraction))
        if step < start:
            return peak
        return peak * cooldown_multiplier((step - start) / max(1, steps - start), cooldown_shape)
    if schedule == "step":
        drops = sum(step >= int(round(m * steps)) for m in step_milestones)
        return peak * step_factor ** drops
    raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")


def multiplier(step: int, steps: int, schedule: str = "cosine", **kwargs) -> float:
    """:func:`rate` as a multiple of the peak rate (``kwargs`` as for :func:`rate`)."""
    return rate(step, steps, 1.0, schedule, **kwargs)


def rates(steps: int, peak: float, schedule: str = "cosine", **kwargs) -> np.ndarray:
    """The whole schedule: the learning rate at every step 0 … steps − 1 (``kwargs`` as for :func:`rate`)."""
    return np.array([rate(s, steps, peak, schedule, **kwargs) for s in range(steps)], float)


def annealing_areas(lr: Sequence[float], decay: float = 0.999) -> tuple[np.ndarray, np.ndarray]:
    """Tissue et al. (2024)'s two areas after each step of the rates ``lr`` (one per step, in order).

    Returns ``(S1, S2)``, arrays of the same length as ``lr``: S1[s] = Σ_{i≤s} η_i, the forward area, and
    S2[s] = Σ_{i≤s} m_i with m_i = λ·m_(i−1) + max(0, η_(i−1) − η_i) and m_0 = 0 (λ = ``decay``): the
    annealing area, a momentum of the rate's decrease. With λ = 0, S2 is the rate's total fall so far; as λ
    → 1 it approaches the area between the peak and the schedule. Increases (warm-up) are not annealing.
    """
    eta = np.asarray(lr, float)
    if eta.ndim != 1 or eta.size == 0:
        raise ValueError("lr must be a non-empty 1-D sequence of learning rates")
    if not 0.0 <= decay < 1.0:
        raise ValueError(f"decay (λ) must be in [0, 1), got {decay!r}")
    from scipy.signal import lfilter

    s1 = np.cumsum(eta)
    drop = np.concatenate([[0.0], np.maximum(0.0, eta[:-1] - eta[1:])])
    m = lfilter([1.0], [1.0, -decay], drop)  # m_i = λ·m_(i−1) + drop_i
    return s1, np.cumsum(m)


# --- the annealing law (Tissue et al. 2024) and its rivals -----------------------------------------------

#: The grids the fits search: the momentum λ of the annealing area (Tissue et al. use 0.999 on runs of tens
#: of thousands of steps; runs of hundreds of steps need a shorter memory) and the exponent α.
DECAYS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)
ALPHAS = tuple(float(a) for a in np.geomspace(0.02, 3.0, 60))


@dataclass(frozen=True)
class AnnealingFit:
    """A fitted L = L₀ + A·x^(−α) − C·S₂: ``form`` ``"annealing"`` (x = S₁, Tissue et al.'s law), ``"area"``
    (x = S₁ and C = 0: the forward area alone) or ``"steps"`` (x = the step count, C = 0: the schedule does not
    matter). ``decay`` is λ of the annealing area (``nan`` where C = 0); ``sse`` the sum of squared residuals
    on the points fitted."""

    form: str
    L0: float
    A: float
    alpha: float
    C: float
    decay: float
    sse: float
    n_points: int

    def predict(self, lr: Sequence[float], steps) -> np.ndarray:
        """The loss after ``steps`` (numbers of completed steps, each ≥ 1) of the schedule ``lr`` (one rate per
        step from the first)."""
        steps = np.asarray(steps, int)
        if self.form == "steps":
            x = steps.astype(float)
            s2 = np.zeros_like(x)
        else:
            s1, s2_all = annealing_areas(lr, 0.0 if not math.isfinite(self.decay) else self.decay)
            x, s2 = s1[steps - 1], s2_all[steps - 1]
        return self.L0 + self.A * x ** (-self.alpha) - self.C * s2


def _best_linear(x: np.ndarray, s2: np.ndarray | None, loss: np.ndarray, alphas: Sequence[float]):
    """Non-negative least squares of loss on [1, x^(−α), −S₂] (or [1, x^(−α)]) for every α at once: the
    coefficients of A and C must be ≥ 0, so every subset of the columns that keeps the intercept is solved
    (normal equations, pseudo-inverse) and the best admissible one kept — for three columns this is the exact
    constrained optimum. Returns the best (sse, L0, A, α, C) over ``alphas``."""
    a = np.asarray(alphas, float)
    power = x[None, :] ** (-a[:, None])  # (n_alpha, n_points)
    ones = np.ones_like(power)
    cols = [ones, power] + ([np.broadcast_to(-s2, power.shape)] if s2 is not None else [])
    yy = float(loss @ loss)
    best = (math.inf, math.nan, math.nan, math.nan, 0.0)
    subsets = ([0, 1, 2], [0, 1], [0, 2], [0]) if s2 is not None else ([0, 1], [0])
    for keep in subsets:
        X = np.stack([cols[k] for k in keep], axis=2)  # (n_alpha, n_points, k)
        gram = np.einsum("anj,ank->ajk", X, X)
        rhs = np.einsum("anj,n->aj", X, loss)
        coef = np.einsum("ajk,ak->aj", np.linalg.pinv(gram), rhs)
        sse = yy - 2 * np.einsum("aj,aj->a", coef, rhs) + np.einsum("aj,ajk,ak->a", coef, gram, coef)
        ok = np.all(coef[:, 1:] >= 0, axis=1) if len(keep) > 1 else np.ones(len(a), bool)
        if not ok.any():
            continue
        k = int(np.argmin(np.where(ok, sse, np.inf)))
        if sse[k] < best[0] - 1e-15:
            full = dict(zip(keep, coef[k]))
            best = (float(max(sse[k], 0.0)), float(full[0]), float(full.get(1, 0.0)), float(a[k]),
                    float(full.get(2, 0.0)))
    return best


def fit_annealing_law(curves, form: str = "annealing", decays: Sequence[float] = DECAYS,
                      alphas: Sequence[float] = ALPHAS) -> AnnealingFit:
    """Fit L = L₀ + A·x^(−α) − C·S₂ to ``curves``: a list of ``(lr, steps, loss)``, each one run's schedule
    (one rate per step) and its losses after ``steps`` completed steps. ``form`` as in :class:`AnnealingFit`.
    For each λ of ``decays`` and α of ``alphas`` the coefficients (L₀, A ≥ 0, C ≥ 0) are linear least squares;
    the pair with the smallest sum of squared residuals wins (a grid, so the fit is deterministic and has no
    starting point to choose). Tissue et al. (2024) fit the same form on one or two curves. Used by chapter 07.
    """
    if form not in ("annealing", "area", "steps"):
        raise ValueError(f"form must be 'annealing', 'area' or 'steps', got {form!r}")
    if not curves:
        raise ValueError("fit_annealing_law needs at least one curve")
    loss = np.concatenate([np.asarray(c[2], float) for c in curves])
    steps = [np.asarray(c[1], int) for c in curves]
    if any(np.any(s < 1) or np.any(s > len(c[0])) for s, c in zip(steps, curves)):
        raise ValueError("every step must lie in [1, len(lr)]")
    if form == "steps":
        x = np.concatenate(steps).astype(float)
        sse, L0, A, alpha, _ = _best_linear(x, None, loss, alphas)
        return AnnealingFit(form, L0, A, alpha, 0.0, math.nan, sse, loss.size)
    best = None
    for decay in (decays if form == "annealing" else (0.0,)):
        parts = [annealing_areas(c[0], decay) for c in curves]
        x = np.concatenate([p[0][s - 1] for p, s in zip(parts, steps)])
        s2 = np.concatenate([p[1][s - 1] for p, s in zip(parts, steps)]) if form == "annealing" else None
        sse, L0, A, alpha, C = _best_linear(x, s2, loss, alphas)
        if best is None or sse < best.sse:
            best = AnnealingFit(form, L0, A, alpha, C, decay if form == "annealing" else math.nan, sse, loss.size)
    return best
