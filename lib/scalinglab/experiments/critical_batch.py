"""Chapter 04 (critical batch size): the task, the run specs, the sweeps and the measurements.

- :func:`steps_to_target`, :func:`fit_step_batch_law` — S(B), the number of steps to reach a target
  loss at batch size B, and the fit S(B) = S_min·(1 + B_crit/B) (McCandlish et al. 2018, Eq. 2.11);
- :class:`TeacherTask` — a streaming teacher–student classification: fresh examples every step,
  held-out loss measured against the teacher's probabilities, so targets are held-out losses and no
  finite training set can be memorised;
- :class:`BatchSizeFamilySpec` / :func:`train_batch_size_family` — every learning rate × seed of one
  batch size trained as one stacked family; :class:`NoiseRunSpec` / :func:`noise_scale_along_training`
  — one student with the noise scale measured at checkpoints (the run functions of :func:`scalinglab.runs.sweep`);
- :func:`main_specs`, :func:`widening_specs` — the sweep over batch sizes, with every learning-rate grid
  widened until its best rate is interior (or the next rate fails);
- :func:`steps_table` (:class:`StepsTable`) and the figure-data functions; :func:`b6_reference_specs`,
  :func:`b6_targets`, :func:`b6_specs`, :func:`b6_frame` — the data × model experiment (Zhang et al. 2025);
- :data:`PROFILES`, :data:`SMOKE_OVERRIDES`, :data:`CLAIMS` and :func:`measure` (one function per
  claim: :func:`measure_b1` … :func:`measure_b6`), which turn the runs into the claims' measurements.

The noise-scale estimators themselves are generic and live in :mod:`scalinglab.noise_scale`.

Used by: chapter 04 (critical batch size).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..claims import Claim, Measurement, Precondition, Revision, at_least, at_most
from ..devices import threads_for
from ..intervals import t_interval
from ..noise_scale import hessian_noise_scale, two_batch_noise_scale
from ..seeds import derive_seed

REVISED = "2026-12-01"

# --------------------------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------------------------

#: The chapter's settings per profile. Learning rates: a log grid of ``n_lrs`` rates spaced by
#: ``lr_factor`` around lr_centre·(B/lr_ref_batch)^lr_exponent, widened by ``widen_by`` rates at a time
#: (at most ``max_widenings`` times) wherever the best rate sits on an edge. Steps: at most
#: ``max_steps_base + max_steps_scale / B``. Targets: held-out losses ``excess_targets`` nats above
#: the Bayes loss. ``noise_*``: the noise-scale runs (one per seed); ``b6_*``: the data × model sweep.
PROFILES = {
    "ci": dict(
        batch_sizes=[2**i for i in range(11)], hidden=(64, 64), n_seeds=6,
        n_lrs=7, lr_factor=2.0, lr_centre=4e-3, lr_ref_batch=16, lr_exponent=0.4, widen_by=2, max_widenings=3,
        excess_targets=[1.0, 0.8, 0.6, 0.45, 0.35], n_heldout=2048, eval_per_octave=8,
        max_steps_base=200, max_steps_scale=15_000,
        noise_seeds=4, noise_batch_size=32, noise_steps=600, noise_checkpoints=9, noise_per_example=4096,
        noise_hessian=2048, noise_vectors=64, noise_two_batch=(16, 1024, 12),
        b6_widths=[32, 64, 128], b6_batch_sizes=[2, 8, 32, 128, 512], b6_ref_batch=32,
        b6_ref_steps=[50, 100, 200], b6_seeds=2, b6_n_lrs=5),
    "full": dict(
        batch_sizes=[2**i for i in range(13)], hidden=(128, 128), n_seeds=5,
        n_lrs=9, lr_factor=2.0, lr_centre=4e-3, lr_ref_batch=16, lr_exponent=0.4, widen_by=2, max_widenings=4,
        excess_targets=[1.0, 0.8, 0.6, 0.45, 0.35, 0.3], n_heldout=8192, eval_per_octave=12,
        max_steps_base=800, max_steps_scale=60_000,
        noise_seeds=5, noise_batch_size=32, noise_steps=2000, noise_checkpoints=16, noise_per_example=65536,
        noise_hessian=8192, noise_vectors=256, noise_two_batch=(16, 4096, 32),
        b6_widths=[32, 64, 128, 256, 512], b6_batch_sizes=[1, 4, 16, 64, 256, 1024, 4096], b6_ref_batch=32,
        b6_ref_steps=[50, 100, 200, 400, 800], b6_seeds=3, b6_n_lrs=7),
}

#: ``smoke=True``: the same code path with tiny sizes and step counts (decides nothing).
SMOKE_OVERRIDES = dict(
    batch_sizes=[1, 4, 16, 64], hidden=(16, 16), n_seeds=2, n_lrs=3, max_widenings=1, excess_targets=[1.4, 1.3, 1.2],
    n_heldout=256, eval_per_octave=2, max_steps_base=20, max_steps_scale=200,
    noise_seeds=2, noise_batch_size=16, noise_steps=20, noise_checkpoints=4, noise_per_example=256,
    noise_hessian=128, noise_vectors=8, noise_two_batch=(8, 64, 2),
    b6_widths=[16, 32], b6_batch_sizes=[2, 8, 32], b6_ref_batch=8, b6_ref_steps=[10, 20], b6_seeds=2, b6_n_lrs=3)

#: The teacher of the chapter's task (its ``seed`` is the chapter's seed).
TASK = dict(input_dim=32, n_classes=10, teacher_width=256, logit_scale=6.0)

# --------------------------------------------------------------------------------------------
# The claims
# --------------------------------------------------------------------------------------------

_T_SEEDS = "Student t over the seed replicates (each seed a whole S(B) sweep; the learning rate of every cell chosen on the seed mean)"
_EDGE = Precondition("lr_edge_share", "share of (batch size, target) cells whose best learning rate is on an edge of its grid "
                     "(or that no rate reached)", at_most(0.2))
_BEND = Precondition("bend_inside", "share of targets whose fitted B_crit lies inside the swept batch sizes", at_least(1.0))

CLAIMS = [
    Claim(id="B1", statement="Steps to a target loss follow S(B) = S_min (1 + B_crit/B) once the learning rate is "
                             "re-tuned per batch size.",
          source="McCandlish et al. 2018, Eq. 2.11 and Fig. 4; Shallue et al. 2019, Fig. 1",
          statistic="R² of the fit in log S, worst target, mean over seeds",
          interval=_T_SEEDS, criterion=at_least(0.95), preconditions=(_EDGE, _BEND), headline=True,
          revisions=(Revision(REVISED, "R² of the fit in log space ≥ 0.95 for every target (point estimates)",
                              "a point estimate of R² says nothing about how far it is from the threshold; per-seed fits "
                              "give it an interval, and with the learning rate on the edge of its grid each S(B) was an "
                              "upper bound, so the grid must first contain the optimum"),)),
    Claim(id="B2", statement="The step–batch law predicts S at batch sizes it was not fitted on, better than a power law "
                             "in B with as many parameters.",
          source="McCandlish et al. 2018, Eq. 2.11 and Sec. 2.2 (the law's functional form)",
          statistic="out-of-sample error ratio: power law S = a·B^(−b) / step–batch law (mean |log S_pred − log S| at "
                    "the held-out batch sizes), geometric mean over seeds",
          interval=_T_SEEDS + ", on the log of the ratio", criterion=at_least(1.0), preconditions=(_EDGE, _BEND),
          revisions=(Revision(REVISED, "median over B of (S/S_min − 1)(E/E_min − 1) in [0.5, 2] for every target",
                              "the product is ≈ 1 for any curve that already fits the law (B1), so it could not fail on "
                              "its own; a prediction at batch sizes left out of the fit, against a rival of the same "
                              "size, tests the law's shape and can fail"),)),
    Claim(id="B3", statement="The critical batch size grows as the target loss falls.",
          source="McCandlish et al. 2018, Sec. 3.3 and Fig. 7; Kaplan et al. 2020, Eq. 6.4",
          statistic="B_crit(hardest target) / B_crit(easiest target), geometric mean over seeds",
          interval=_T_SEEDS + ", on the log of the ratio", criterion=at_least(1.0), preconditions=(_EDGE, _BEND),
          revisions=(Revision(REVISED, "B_crit strictly increases as the target decreases, over all targets (≥ 3)",
                              "the order of three point estimates decides nothing when neighbouring values lie within "
                              "each other's noise; the ratio across the whole range of targets, with a seed interval, is "
                              "one statistic that can fail either way"),)),
    Claim(id="B4", statement="The gradient noise scale grows as the loss falls during training.",
          source="McCandlish et al. 2018, Sec. 3.3, Fig. 5",
          statistic="slope of log B_simple (exact, per-example gradients) against log(held-out loss − Bayes loss) along "
                    "a run, mean over runs",
          interval="Student t over independent runs (one per seed)", criterion=at_most(0.0),
          preconditions=(Precondition("loss_range", "smallest factor by which a run's excess held-out loss falls "
                                      "between its first and last checkpoint", at_least(2.0)),),
          revisions=(Revision(REVISED, "Spearman ρ(B_simple, −held-out loss) ≥ 0.9 along one run",
                              "a rank correlation over a handful of checkpoints of one run has no interval, and its "
                              "threshold measures the estimator's smoothness rather than the claim; the claim is a "
                              "direction, which the slope over several runs tests with an interval"),)),
    Claim(id="B5", statement="The noise scale predicts the critical batch size within an order of magnitude.",
          source="McCandlish et al. 2018, Sec. 3, Fig. 6",
          statistic="largest |log₁₀(B_noise / B_crit)| over the targets, mean over seeds (B_noise read at each target's "
                    "loss from a log–log line through the run's checkpoints)",
          interval="Student t over seeds (noise run r paired with sweep replicate r)", criterion=at_most(1.0),
          preconditions=(_EDGE, Precondition("noise_covers_targets", "share of (run, target) pairs whose target loss "
                                             "lies inside the run's range of held-out losses", at_least(1.0))),
          revisions=(Revision(REVISED, "B_noise/B_crit in [0.1, 10] for every target (point estimates, B_noise "
                                       "interpolated between two checkpoints)",
                              "the same order-of-magnitude criterion, now with an interval over seeds, measured on "
                              "learning-rate grids that contain the optimum (before, B_crit was an upper bound), and "
                              "with B_noise read from a line through all checkpoints rather than from the two nearest, "
                              "whose scatter is larger than the effect"),)),
    Claim(id="B6", statement="The critical batch size grows with data size much more than with model size.",
          source="Zhang et al. 2025 (ICLR), How Does Critical Batch Size Scale in Pre-training?, Sec. 4",
          statistic="log–log slope of B_crit against the data budget D (fixed model) minus that against the "
                    "parameter count N (fixed D), mean over seeds",
          interval="Student t over seeds (each seed its own reference runs and batch-size sweeps)",
          criterion=at_least(0.0), preconditions=(Precondition("lr_edge_share_b6", "share of (width, batch size, "
                                                               "target) cells whose best learning rate is on an edge "
                                                               "of its grid (or that no rate reached)", at_most(0.2)),),
          decided_by=("full",),
          revisions=(Revision(REVISED, "slope in D > slope in N (point estimates)",
                              "the same comparison, decided on an interval over seeds"),)),
]

# --------------------------------------------------------------------------------------------
# Steps to target and the step–batch law
# --------------------------------------------------------------------------------------------


def steps_to_target(steps: Sequence[float], losses: Sequence[float], target: float) -> float:
    """The first step at which ``losses`` reach ``target`` (≤), interpolated; ``inf`` if never.

    Between the last evaluation above the target (s₀, L₀) and the first at or below it (s₁, L₁)
    the loss is taken as linear in log(step). Non-finite losses (a diverged run) never reach it.
    Used by chapter 04.
    """
    steps = np.asarray(steps, float)
    losses = np.asarray(losses, float)
    hit = np.nonzero(np.isfinite(losses) & (losses <= target))[0]
    if len(hit) == 0:
        return float("inf")
    i = int(hit[0])
    if i == 0:
        return float(steps[0])
    s0, s1, l0, l1 = steps[i - 1], steps[i], losses[i - 1], losses[i]
    if not np.isfinite(l0) or l0 == l1:
        return float(s1)
    frac = (l0 - target) / (l0 - l1)
    return float(np.exp(np.log(s0) + frac * (np.log(s1) - np.log(s0))))


@dataclass
class StepBatchFit:
    """S(B) = S_min (1 + B_crit / B) fitted in log space; E_min = S_min · B_crit. Used by chapter 04."""

    s_min: float
    b_crit: float
    e_min: float
    r2_log: float
    n_points: int

    def steps(self, batch_size) -> np.ndarray:
        return self.s_min * (1.0 + self.b_crit / np.asarray(batch_size, float))

    def examples(self, batch_size) -> np.ndarray:
        return self.e_min * (1.0 + np.asarray(batch_size, float) / self.b_crit)

    def to_dict(self) -> dict:
        return asdict(self)


def fit_step_batch_law(batch_sizes, steps) -> StepBatchFit:
    """Least squares of log S = log S_min + log(1 + B_crit/B) over (log S_min, log B_crit).

    Points with infinite S (target never reached) are dropped. R² is that of log S. Used by chapter 04.
    """
    from scipy import optimize

    from ..fit import r_squared

    b = np.asarray(batch_sizes, float)
    s = np.asarray(steps, float)
    keep = np.isfinite(s) & (s > 0)
    b, s = b[keep], s[keep]
    if len(b) < 3:
        raise ValueError(f"need at least 3 batch sizes that reach the target, got {len(b)}")
    log_s = np.log(s)

    def residuals(theta):
        return theta[0] + np.log1p(np.exp(theta[1]) / b) - log_s

    best = None
    for log_bcrit0 in np.log([1.0, 10.0, 100.0, 1000.0]):
        theta0 = np.array([np.log(s.min()), log_bcrit0])
        res = optimize.least_squares(residuals, theta0, method="lm")
        if best is None or res.cost < best.cost:
            best = res
    s_min, b_crit = float(np.exp(best.x[0])), float(np.exp(best.x[1]))
    pred = best.x[0] + np.log1p(b_crit / b)
    return StepBatchFit(s_min=s_min, b_crit=b_crit, e_min=s_min * b_crit,
                        r2_log=r_squared(log_s, pred), n_points=int(len(b)))


def out_of_sample_errors(batch_sizes, steps) -> tuple[float, float]:
    """Held-out errors of the step–batch law and of a power law S = a·B^(−b), both fitted on the batch
    sizes of even rank (the smallest, the third, …) and judged on the others.

    ``steps`` is (n_B,) or (n_B, n_targets); each target is fitted on its own. The error is the mean
    |log S_pred − log S| over the held-out batch sizes (and targets). Returns ``(law, power_law)``;
    NaN where a fit has fewer than 3 finite points. Used by chapter 04 (claim B2).
    """
    b = np.asarray(batch_sizes, float)
    s = np.asarray(steps, float)
    s = s[:, None] if s.ndim == 1 else s
    order = np.argsort(b)
    fit_idx, test_idx = order[0::2], order[1::2]
    err_law, err_pow = [], []
    for j in range(s.shape[1]):
        bf, sf = b[fit_idx], s[fit_idx, j]
        bt, st = b[test_idx], s[test_idx, j]
        ok_f, ok_t = np.isfinite(sf) & (sf > 0), np.isfinite(st) & (st > 0)
        if ok_f.sum() < 3 or ok_t.sum() < 1:
            return float("nan"), float("nan")
        law = fit_step_batch_law(bf[ok_f], sf[ok_f])
        err_law.extend(np.abs(np.log(law.steps(bt[ok_t])) - np.log(st[ok_t])))
        slope, intercept = np.polyfit(np.log(bf[ok_f]), np.log(sf[ok_f]), 1)
        err_pow.extend(np.abs(intercept + slope * np.log(bt[ok_t]) - np.log(st[ok_t])))
    return float(np.mean(err_law)), float(np.mean(err_pow))


# --------------------------------------------------------------------------------------------
# The chapter's task: streaming teacher-student classification
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeacherTask:
    """Inputs x ~ N(0, I_d); labels drawn from softmax(logit_scale · teacher(x)), teacher a random tanh MLP.

    Every batch is fresh (an endless stream), and the held-out loss is the cross-entropy against
    the teacher's probabilities on a fixed held-out sample of inputs — the expected loss over label
    noise, which never rewards memorisation. Its floor is the teacher's mean entropy (the Bayes
    loss), reported by :meth:`bayes_loss`. The teacher's weights and the held-out inputs come from
    the seed streams "teacher" and "heldout" of ``seed``. Used by chapter 04.
    """

    input_dim: int = 32
    n_classes: int = 10
    teacher_width: int = 256
    logit_scale: float = 4.0
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    def _teacher(self):
        g = torch.Generator().manual_seed(derive_seed(self.seed, "teacher"))
        w1 = torch.randn(self.input_dim, self.teacher_width, generator=g) / math.sqrt(self.input_dim)
        b1 = 0.5 * torch.randn(self.teacher_width, generator=g)
        w2 = torch.randn(self.teacher_width, self.n_classes, generator=g) / math.sqrt(self.teacher_width)
        return w1, b1, w2

    def _teacher_cached(self):
        cache = _TEACHER_CACHE.get(self)
        if cache is None:
            cache = _TEACHER_CACHE[self] = self._teacher()
        return cache

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Teacher class probabilities, shape (..., n_classes)."""
        w1, b1, w2 = (t.to(x.dtype) for t in self._teacher_cached())
        return torch.softmax(self.logit_scale * (torch.tanh(x @ w1 + b1) @ w2), dim=-1)

    def sample(self, n: int, generator: torch.Generator, dtype=torch.float32):
        """``n`` fresh examples: inputs (n, d) and labels (n,), drawn with ``generator`` only."""
        x = torch.randn(n, self.input_dim, generator=generator)
        u = torch.rand(n, 1, generator=generator)
        cdf = self.probabilities(x).cumsum(dim=1)
        y = (cdf < u).sum(dim=1).clamp(max=self.n_classes - 1)  # inverse-CDF sampling
        return x.to(dtype), y

    def heldout(self, n: int, dtype=torch.float32):
        """A fixed held-out sample: inputs (n, d) and teacher probabilities (n, C)."""
        g = torch.Generator().manual_seed(derive_seed(self.seed, "heldout"))
        x = torch.randn(n, self.input_dim, generator=g)
        return x.to(dtype), self.probabilities(x).to(dtype)

    def bayes_loss(self, n: int = 16384) -> float:
        """The lowest achievable held-out loss: the teacher's mean entropy (on the held-out inputs)."""
        _, p = self.heldout(n, torch.float64)
        return float(-(p * torch.log(p.clamp_min(1e-300))).sum(1).mean())


_TEACHER_CACHE: dict = {}


def make_task(seed: int) -> TeacherTask:
    """The chapter's teacher (:data:`TASK`) for the chapter's ``seed``. Used by chapter 04."""
    return TeacherTask(**TASK, seed=seed)


def heldout_cross_entropy(logits: torch.Tensor, probabilities: torch.Tensor) -> torch.Tensor:
    """Mean over examples of −Σ_c p_c log q_c; ``logits`` (..., n, C) -> shape (...). Used by chapter 04."""
    return -(probabilities * torch.log_softmax(logits, dim=-1)).sum(-1).mean(-1)


def example_cross_entropy(logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of one example (logits (C,), integer label): the per-example loss ℓ. Used by chapter 04."""
    return F.cross_entropy(logits.unsqueeze(0), label.unsqueeze(0))


def eval_step_grid(max_steps: int, per_octave: int) -> list[int]:
    """Evaluation steps spaced evenly in log(step): about ``per_octave`` per doubling. Used by chapter 04."""
    n = max(2, int(math.ceil(per_octave * math.log2(max(2, max_steps)))) + 1)
    return sorted({int(round(s)) for s in np.geomspace(1, max_steps, n)})


def steps_to_targets_table(histories: list, targets: Sequence[float], key: str = "heldout") -> np.ndarray:
    """Steps to each target for each model: array (K, n_targets), ``inf`` where never reached. Used by chapter 04."""
    out = np.full((len(histories), len(targets)), np.inf)
    for k, rows in enumerate(histories):
        steps = [r["step"] for r in rows]
        losses = [r[key] for r in rows]
        for j, t in enumerate(targets):
            out[k, j] = steps_to_target(steps, losses, t)
    return out


def best_over_learning_rates(steps: np.ndarray, lr_index: Sequence[int], n_lrs: int) -> tuple:
    """S per target: min over learning rates of the mean over seeds (``inf`` unless all seeds reach).

    ``steps`` is (K, n_targets) with model k trained at learning rate ``lr_index[k]``. Returns
    ``(best_steps (n_targets,), best_lr_index (n_targets,))``; the index is −1 where no learning
    rate reached the target with every seed. Used by chapter 04.
    """
    lr_index = np.asarray(lr_index)
    means = np.stack([steps[lr_index == i].mean(axis=0) for i in range(n_lrs)])  # (n_lrs, T)
    best = means.min(axis=0)
    arg = np.where(np.isfinite(best), means.argmin(axis=0), -1)
    return best, arg


def make_stop_rule(targets: Sequence[float], lr_index: Sequence[int], n_lrs: int,
                   key: str = "heldout") -> Callable[[list], bool]:
    """A ``stop_fn`` for :func:`scalinglab.families.train_family` that ends a family's training as
    soon as the best learning rate (mean over seeds) is known for every target.

    With evaluations up to step s, a learning rate whose seeds have not all reached a target has a
    mean of at least (reached steps + s·unreached)/n_seeds. Once the best complete mean is below
    every such bound, continuing cannot change S for any target. Diverged models never reach.
    Used by chapter 04.
    """
    lr_index = np.asarray(lr_index)

    def stop(histories: list) -> bool:
        current = histories[0][-1]["step"]
        table = steps_to_targets_table(histories, targets, key)  # (K, T)
        alive = np.array([math.isfinite(rows[-1].get(key, float("nan"))) for rows in histories])
        for j in range(len(targets)):
            best_done, bound = np.inf, np.inf
            for i in range(n_lrs):
                members = lr_index == i
                col = table[members, j]
                if np.all(np.isfinite(col)):
                    best_done = min(best_done, col.mean())
                elif np.all(alive[members] | np.isfinite(col)):
                    bound = min(bound, np.where(np.isfinite(col), col, current).mean())
            if not best_done <= bound:
                return False
        return True

    return stop


def log_grid(center: float, n: int, factor: float) -> list[float]:
    """``n`` values spaced by ``factor`` in log space, centred on ``center``. Used by chapter 04."""
    offsets = np.arange(n) - (n - 1) / 2
    return [float(center * factor**o) for o in offsets]


def _round(x: float) -> float:
    """Six significant digits: learning rates that print and hash the same however they were computed."""
    return float(f"{x:.6g}")


# --------------------------------------------------------------------------------------------
# Run specs and run functions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchSizeFamilySpec:
    """One batch size of a critical-batch sweep: every learning rate × seed replicate, one family.

    Model k = (replicate j, rate i), replicate-major. Replicate j's students start from
    ``init_seeds[j]`` and read the data stream ``data_seeds[j]``, whatever their learning rate (common
    random numbers). Training stops once S is known for every target (held-out losses), and at
    ``max_steps`` at the latest; ``eval_extra`` are steps always evaluated. Used by chapter 04.
    """

    task: TeacherTask
    hidden: tuple[int, ...]
    batch_size: int
    lrs: tuple[float, ...]
    replicates: tuple[int, ...]
    init_seeds: tuple[int, ...]
    data_seeds: tuple[int, ...]
    max_steps: int
    eval_per_octave: int
    n_heldout: int
    targets: tuple[float, ...]
    beta1: float = 0.9
    beta2: float = 0.999
    dtype: str = "float32"
    eval_extra: tuple[int, ...] = ()

    def __post_init__(self):
        if not len(self.replicates) == len(self.init_seeds) == len(self.data_seeds):
            raise ValueError("replicates, init_seeds and data_seeds must have the same length")
        if not self.lrs or not self.replicates:
            raise ValueError("a family needs at least one learning rate and one replicate")


def family_cost(spec: BatchSizeFamilySpec) -> float:
    """A rough cost of a family (for :func:`scalinglab.runs.sweep`'s ``cost``). Used by chapter 04."""
    return spec.max_steps * (1.0 + spec.batch_size * len(spec.lrs) * len(spec.replicates) / 4096)


def train_batch_size_family(spec: BatchSizeFamilySpec) -> dict:
    """Train one :class:`BatchSizeFamilySpec` and return per-model evaluation histories and steps to targets.

    Returns ``members`` ([{lr, replicate}] in model order), ``steps`` (evaluation steps),
    ``heldout`` (per model), ``steps_to_target`` (per model and target, None = not reached),
    ``diverged``, ``steps_run``, ``wall_time_s``. Module-level so that worker processes and Dask
    workers can run it. Used by: chapter 04, through :func:`scalinglab.runs.sweep`.
    """
    from ..families import build_mlp_family, train_family
    from ..models import MLPConfig
    from ..train import TrainConfig

    task = spec.task
    config = MLPConfig(input_dim=task.input_dim, hidden=tuple(spec.hidden), n_classes=task.n_classes)
    lrs = list(spec.lrs)
    dtype = getattr(torch, spec.dtype)
    members = [(i, j) for j in range(len(spec.replicates)) for i in range(len(lrs))]  # (rate, replicate)
    lr_index = [i for i, _ in members]
    family = build_mlp_family(config, [spec.init_seeds[j] for _, j in members], dtype=dtype)
    dev = family.weights[0].device
    B = int(spec.batch_size)
    configs = [TrainConfig(steps=int(spec.max_steps), batch_size=B, lr=lrs[i], weight_decay=0.0,
                           beta1=spec.beta1, beta2=spec.beta2, schedule="constant", grad_clip=None,
                           seed=spec.data_seeds[j]) for i, j in members]
    generators = [torch.Generator().manual_seed(int(s)) for s in spec.data_seeds]
    per_replicate = len(lrs)

    def stacked_batch():
        xs, ys = zip(*(task.sample(B, g, dtype) for g in generators))
        x = torch.stack(xs).repeat_interleave(per_replicate, dim=0)  # (n_replicates, B, d) -> (K, B, d)
        y = torch.stack(ys).repeat_interleave(per_replicate, dim=0)
        return x.to(dev), y.to(dev)

    x_eval, p_eval = task.heldout(int(spec.n_heldout), dtype)
    x_eval, p_eval = x_eval.to(dev), p_eval.to(dev)

    def eval_fn(fam):
        return {"heldout": heldout_cross_entropy(fam(x_eval), p_eval)}

    targets = list(spec.targets)
    eval_steps = set(eval_step_grid(int(spec.max_steps), int(spec.eval_per_octave)))
    eval_steps |= {int(s) for s in spec.eval_extra if s <= spec.max_steps}
    result = train_family(family, configs, None, eval_fn=eval_fn, eval_steps=sorted(eval_steps),
                          stop_fn=make_stop_rule(targets, lr_index, len(lrs)), device=dev,
                          stacked_batch_fn=stacked_batch,
                          n_threads=threads_for(B * len(members) * max(config.hidden)))
    table = steps_to_targets_table(result.histories, targets)
    return {
        "members": [{"lr": lrs[i], "replicate": spec.replicates[j]} for i, j in members],
        "steps": [r["step"] for r in result.histories[0]],
        "heldout": [[r["heldout"] for r in rows] for rows in result.histories],
        "steps_to_target": [[None if not math.isfinite(v) else v for v in row] for row in table.tolist()],
        "diverged": result.diverged,
        "steps_run": result.steps,
        "wall_time_s": result.wall_time_s,
    }


@dataclass(frozen=True)
class NoiseRunSpec:
    """One student trained at a constant rate, with the noise scale measured at ``n_checkpoints`` steps
    spaced evenly in log(step). Estimator sizes: ``n_per_example`` examples for the exact per-example
    estimate, ``n_hessian`` for the independent batch that defines H, ``n_vectors`` deviations for
    tr(HΣ), ``two_batch`` = (B_small, B_big, repeats). Every estimate draws fresh examples from the
    stream ``probe_seed`` (never the training batches). Used by chapter 04."""

    task: TeacherTask
    hidden: tuple[int, ...]
    batch_size: int
    lr: float
    replicate: int
    init_seed: int
    data_seed: int
    probe_seed: int
    steps: int
    n_checkpoints: int
    n_heldout: int
    n_per_example: int
    n_hessian: int
    n_vectors: int
    two_batch: tuple[int, int, int]
    beta1: float = 0.9
    beta2: float = 0.999


def noise_scale_along_training(spec: NoiseRunSpec) -> dict:
    """Train one student and measure the noise scale at its checkpoints.

    Returns, per checkpoint: step, held-out loss, B_simple (exact and two-batch), B_noise, |G|², tr Σ,
    GᵀHG, tr(HΣ). Module-level for the run store. Used by: chapter 04, claims B4 and B5.
    """
    from ..families import build_mlp_family, train_family
    from ..models import MLPConfig
    from ..train import TrainConfig

    task = spec.task
    config = MLPConfig(input_dim=task.input_dim, hidden=tuple(spec.hidden), n_classes=task.n_classes)
    family = build_mlp_family(config, [spec.init_seed])
    dev = family.weights[0].device
    B, steps = int(spec.batch_size), int(spec.steps)
    cfg = TrainConfig(steps=steps, batch_size=B, lr=float(spec.lr), weight_decay=0.0, beta1=spec.beta1,
                      beta2=spec.beta2, schedule="constant", grad_clip=None, seed=spec.data_seed)
    x_eval, p_eval = (t.to(dev) for t in task.heldout(int(spec.n_heldout)))
    probe = torch.Generator().manual_seed(spec.probe_seed)
    b_small, b_big, repeats = (int(v) for v in spec.two_batch)
    checkpoints = sorted({int(round(s)) for s in np.geomspace(1, steps, int(spec.n_checkpoints))})
    records: list[dict] = []

    def measure_here(fam):
        model = fam.member(0)
        with torch.enable_grad():
            x, y = (t.to(dev) for t in task.sample(int(spec.n_per_example), probe))
            xh, yh = (t.to(dev) for t in task.sample(int(spec.n_hessian), probe))
            exact = hessian_noise_scale(model, example_cross_entropy, x, y, xh, yh, n_vectors=int(spec.n_vectors))
            two = two_batch_noise_scale(model, example_cross_entropy,
                                        lambda n: tuple(t.to(dev) for t in task.sample(n, probe)),
                                        b_small, b_big, repeats)
        heldout = float(heldout_cross_entropy(model(x_eval), p_eval))
        records.append({"heldout": heldout, "b_simple_exact": exact.b_simple, "b_simple_two_batch": two.b_simple,
                        "b_noise": exact.b_noise, "grad_sq": exact.grad_sq, "trace_cov": exact.trace_cov,
                        "ghg": exact.ghg, "trace_h_cov": exact.trace_h_cov})
        return {"heldout": torch.tensor([heldout])}

    gen = torch.Generator().manual_seed(spec.data_seed)

    def stacked_batch():
        x, y = task.sample(B, gen)
        return x[None].to(dev), y[None].to(dev)

    result = train_family(family, [cfg], None, eval_fn=measure_here, eval_steps=checkpoints, device=dev,
                          stacked_batch_fn=stacked_batch, n_threads=threads_for(B * max(config.hidden)))
    for rec, row in zip(records, result.histories[0]):
        rec["step"] = row["step"]
    return {"checkpoints": records, "wall_time_s": result.wall_time_s}


# --------------------------------------------------------------------------------------------
# The sweeps: specs from the settings, and learning-rate grids widened until interior
# --------------------------------------------------------------------------------------------


def lr_grid(batch_size: int, settings: dict, n_lrs: int | None = None) -> tuple[float, ...]:
    """The initial learning-rate grid of one batch size: ``n_lrs`` rates spaced by ``lr_factor``
    around lr_centre·(B/lr_ref_batch)^lr_exponent (Adam's best rate grows about like B^0.4 here).
    Used by chapter 04."""
    centre = settings["lr_centre"] * (batch_size / settings["lr_ref_batch"]) ** settings["lr_exponent"]
    return tuple(_round(v) for v in log_grid(centre, n_lrs or settings["n_lrs"], settings["lr_factor"]))


def max_steps(batch_size: int, settings: dict) -> int:
    """The step budget of a batch size: max_steps_base + max_steps_scale / B. Used by chapter 04."""
    return int(settings["max_steps_base"] + settings["max_steps_scale"] / batch_size)


def family_spec(settings: dict, task: TeacherTask, seed: int, batch_size: int, targets: Sequence[float], *,
                lrs: Sequence[float] | None = None, hidden: Sequence[int] | None = None, n_seeds: int | None = None,
                stream: str = "sweep", n_lrs: int | None = None, steps: int | None = None,
                eval_extra: Sequence[int] = ()) -> BatchSizeFamilySpec:
    """A :class:`BatchSizeFamilySpec` from the profile's settings; seeds from the streams
    ``<stream>-init`` and ``<stream>-data`` of ``seed``, one per replicate. Used by chapter 04."""
    replicates = tuple(range(n_seeds or settings["n_seeds"]))
    return BatchSizeFamilySpec(
        task=task, hidden=tuple(hidden or settings["hidden"]), batch_size=int(batch_size),
        lrs=tuple(lrs) if lrs is not None else lr_grid(batch_size, settings, n_lrs), replicates=replicates,
        init_seeds=tuple(derive_seed(seed, f"{stream}-init", r) for r in replicates),
        data_seeds=tuple(derive_seed(seed, f"{stream}-data", r) for r in replicates),
        max_steps=int(steps or max_steps(batch_size, settings)), eval_per_octave=int(settings["eval_per_octave"]),
        n_heldout=int(settings["n_heldout"]), targets=tuple(_round(t) for t in targets),
        eval_extra=tuple(int(s) for s in eval_extra))


def main_specs(settings: dict, task: TeacherTask, seed: int, targets: Sequence[float]) -> list[BatchSizeFamilySpec]:
    """Experiment 1's families: one per batch size of the profile. Used by chapter 04."""
    return [family_spec(settings, task, seed, B, targets) for B in settings["batch_sizes"]]


def _group_key(spec: BatchSizeFamilySpec):
    return (spec.hidden, spec.batch_size, spec.targets, spec.init_seeds, spec.data_seeds, spec.task, spec.max_steps)


@dataclass
class MergedFamily:
    """All the families of one (width, batch size, targets, seeds): their rates merged and sorted.
    Used by chapter 04 (through :func:`merge_families`)."""

    batch_size: int
    hidden: tuple
    lrs: np.ndarray  # (n_lrs,) ascending
    steps: np.ndarray  # (n_lrs, n_replicates, n_targets), inf = not reached
    replicates: list
    targets: tuple
    steps_run: int
    wall_time_s: float

    @property
    def mean(self) -> np.ndarray:
        """(n_lrs, n_targets): mean over replicates (inf unless every replicate reached)."""
        return self.steps.mean(axis=1)

    @property
    def best(self) -> np.ndarray:
        """(n_targets,): index of the best rate (mean over replicates), −1 where no rate reached."""
        m = self.mean
        return np.where(np.isfinite(m.min(axis=0)), m.argmin(axis=0), -1)


def merge_families(specs: Sequence[BatchSizeFamilySpec], results: Sequence[dict]) -> list[MergedFamily]:
    """Group families that differ only in their learning rates and merge each group's rates.
    Used by chapter 04."""
    groups: dict = {}
    for spec, res in zip(specs, results):
        groups.setdefault(_group_key(spec), []).append((spec, res))
    merged = []
    for key, members in groups.items():
        spec0 = members[0][0]
        rows: dict = {}
        for spec, res in members:
            for m, row in zip(res["members"], res["steps_to_target"]):
                rows.setdefault(float(m["lr"]), {})[int(m["replicate"])] = [np.inf if v is None else v for v in row]
        lrs = np.array(sorted(rows))
        steps = np.array([[rows[lr][r] for r in spec0.replicates] for lr in lrs], float)
        merged.append(MergedFamily(batch_size=spec0.batch_size, hidden=spec0.hidden, lrs=lrs, steps=steps,
                                   replicates=list(spec0.replicates), targets=spec0.targets,
                                   steps_run=int(max(res["steps_run"] for _, res in members)),
                                   wall_time_s=float(sum(res["wall_time_s"] for _, res in members))))
    return merged


def widening_specs(specs: Sequence[BatchSizeFamilySpec], results: Sequence[dict],
                   settings: dict) -> list[BatchSizeFamilySpec]:
    """The families that extend every grid whose best rate (for some target) is its top or bottom
    value: ``widen_by`` more rates beyond that edge, same seeds and data streams. Empty when every best
    rate is interior — a rate whose neighbour failed (diverged, or never reached the target) is
    interior, since that neighbour is in the grid. Used by chapter 04 (the notebook calls it until it
    returns nothing, at most ``max_widenings`` times)."""
    by_key = {_group_key(s): s for s in specs}
    factor, k = settings["lr_factor"], settings["widen_by"]
    extra = []
    for key, fam in zip(_keys_in_order(specs), merge_families(specs, results)):
        best = fam.best
        spec0 = by_key[key]
        n = len(fam.lrs)
        if np.any(best == n - 1):
            top = fam.lrs[-1]
            extra.append(replace(spec0, lrs=tuple(_round(top * factor ** (i + 1)) for i in range(k))))
        if np.any(best == 0):
            bottom = fam.lrs[0]
            extra.append(replace(spec0, lrs=tuple(_round(bottom / factor ** (i + 1)) for i in range(k))[::-1]))
    return extra


def _keys_in_order(specs):
    seen = []
    for s in specs:
        key = _group_key(s)
        if key not in seen:
            seen.append(key)
    return seen


# --------------------------------------------------------------------------------------------
# From runs to tables (figure data)
# --------------------------------------------------------------------------------------------


@dataclass
class StepsTable:
    """Steps to target per (seed replicate, batch size, target), at each cell's best learning rate.

    The best rate of a cell is chosen on the mean over replicates (Shallue et al.'s re-tuning);
    ``per_seed`` holds every replicate's steps at that rate, so that a statistic can be computed per
    replicate. ``on_edge`` marks cells whose best rate is the top or bottom of its (widened) grid, or
    that no rate reached. Used by chapter 04.
    """

    batch_sizes: np.ndarray  # (n_B,)
    targets: np.ndarray  # (n_T,) held-out losses
    excess: np.ndarray  # (n_T,) targets − Bayes loss
    per_seed: np.ndarray  # (n_seeds, n_B, n_T); inf where not reached
    best_lr: np.ndarray  # (n_B, n_T); NaN where no rate reached
    on_edge: np.ndarray  # (n_B, n_T) bool
    lr_range: np.ndarray  # (n_B, 2): the grid's smallest and largest rate
    n_lrs: np.ndarray  # (n_B,)
    seeds: list
    steps_run: np.ndarray | None = None  # (n_B,)

    @property
    def mean(self) -> np.ndarray:
        """(n_B, n_T): mean over replicates."""
        return self.per_seed.mean(axis=0)

    @property
    def edge_share(self) -> float:
        return float(np.mean(self.on_edge))


def steps_table(specs: Sequence[BatchSizeFamilySpec], results: Sequence[dict], bayes: float,
                hidden: Sequence[int] | None = None) -> StepsTable:
    """The :class:`StepsTable` of a sweep (families of one width, ``hidden`` if the sweep has several).
    Used by chapter 04."""
    fams = [f for f in merge_families(specs, results) if hidden is None or tuple(f.hidden) == tuple(hidden)]
    fams.sort(key=lambda f: f.batch_size)
    if not fams:
        raise ValueError("steps_table: no families")
    n_seeds, n_t = fams[0].steps.shape[1], fams[0].steps.shape[2]
    per_seed = np.full((n_seeds, len(fams), n_t), np.inf)
    best_lr = np.full((len(fams), n_t), np.nan)
    on_edge = np.ones((len(fams), n_t), bool)
    for b, fam in enumerate(fams):
        for j, i in enumerate(fam.best):
            if i < 0:
                continue
            per_seed[:, b, j] = fam.steps[i, :, j]
            best_lr[b, j] = fam.lrs[i]
            on_edge[b, j] = i == 0 or i == len(fam.lrs) - 1
    targets = np.asarray(fams[0].targets, float)
    return StepsTable(batch_sizes=np.array([f.batch_size for f in fams], float), targets=targets,
                      excess=targets - bayes, per_seed=per_seed, best_lr=best_lr, on_edge=on_edge,
                      lr_range=np.array([[f.lrs[0], f.lrs[-1]] for f in fams]),
                      n_lrs=np.array([len(f.lrs) for f in fams]), seeds=list(fams[0].replicates),
                      steps_run=np.array([f.steps_run for f in fams]))


def _t_summary(values: Sequence[float]) -> tuple[float, float, float]:
    """Mean and t-interval over seeds; NaN unless every value is finite (and there are ≥ 2)."""
    v = np.asarray(values, float)
    if v.size < 2 or not np.all(np.isfinite(v)):
        return float(np.mean(v)) if v.size and np.all(np.isfinite(v)) else float("nan"), float("nan"), float("nan")
    lo, hi = t_interval(v)
    return float(v.mean()), lo, hi


def steps_frame(table: StepsTable):
    """One row per (batch size, target): S (mean over seeds) with its 95 % t-interval, E = B·S, the best
    rate, the grid and whether the best rate is on its edge. Used by chapter 04 (figure and table)."""
    import pandas as pd

    rows = []
    for b, B in enumerate(table.batch_sizes):
        for j, e in enumerate(table.excess):
            s = table.per_seed[:, b, j]
            mean, lo, hi = _t_summary(s)
            rows.append({"B": int(B), "excess target": float(e), "S": mean, "S_lo": lo, "S_hi": hi,
                         "E": mean * B, "best lr": table.best_lr[b, j], "grid lo": table.lr_range[b, 0],
                         "grid hi": table.lr_range[b, 1], "rates": int(table.n_lrs[b]),
                         "lr at grid edge": bool(table.on_edge[b, j])})
    return pd.DataFrame(rows)


def _safe_fit(batch_sizes, steps) -> StepBatchFit | None:
    try:
        return fit_step_batch_law(batch_sizes, steps)
    except ValueError:
        return None


def mean_fits(table: StepsTable) -> list[StepBatchFit | None]:
    """The step–batch law fitted to the seed-mean S(B) of each target (None: too few points). Used by chapter 04."""
    return [_safe_fit(table.batch_sizes, table.mean[:, j]) for j in range(len(table.targets))]


def per_seed_fits(table: StepsTable) -> list[list[StepBatchFit | None]]:
    """The law fitted to each replicate's S(B): ``[replicate][target]``. Used by chapter 04."""
    return [[_safe_fit(table.batch_sizes, table.per_seed[r, :, j]) for j in range(len(table.targets))]
            for r in range(table.per_seed.shape[0])]


def fit_frame(table: StepsTable):
    """Per target: S_min, E_min, B_crit and R² of the fit to the seed mean, and B_crit's geometric mean
    and t-interval over per-seed fits. Used by chapter 04."""
    import pandas as pd

    seed_fits = per_seed_fits(table)
    rows = []
    for j, (e, f) in enumerate(zip(table.excess, mean_fits(table))):
        logs = [math.log(fs[j].b_crit) if fs[j] is not None else float("nan") for fs in seed_fits]
        m, lo, hi = _t_summary(logs)
        rows.append({"excess target": float(e), "held-out target": float(table.targets[j]),
                     "S_min": f.s_min if f else float("nan"), "E_min": f.e_min if f else float("nan"),
                     "B_crit": f.b_crit if f else float("nan"), "R² (log S)": f.r2_log if f else float("nan"),
                     "B_crit (seeds)": math.exp(m) if math.isfinite(m) else float("nan"),
                     "B_crit lo": math.exp(lo) if math.isfinite(lo) else float("nan"),
                     "B_crit hi": math.exp(hi) if math.isfinite(hi) else float("nan")})
    return pd.DataFrame(rows)


def noise_specs(settings: dict, task: TeacherTask, seed: int, lr: float) -> list[NoiseRunSpec]:
    """Experiment 2's runs, one per seed replicate (streams ``noise-init``/``noise-data``/``noise-probe``).
    Used by chapter 04."""
    return [NoiseRunSpec(task=task, hidden=tuple(settings["hidden"]), batch_size=int(settings["noise_batch_size"]),
                         lr=_round(lr), replicate=r, init_seed=derive_seed(seed, "noise-init", r),
                         data_seed=derive_seed(seed, "noise-data", r), probe_seed=derive_seed(seed, "noise-probe", r),
                         steps=int(settings["noise_steps"]), n_checkpoints=int(settings["noise_checkpoints"]),
                         n_heldout=int(settings["n_heldout"]), n_per_example=int(settings["noise_per_example"]),
                         n_hessian=int(settings["noise_hessian"]), n_vectors=int(settings["noise_vectors"]),
                         two_batch=tuple(int(v) for v in settings["noise_two_batch"]))
            for r in range(int(settings["noise_seeds"]))]


def noise_lr(table: StepsTable, batch_size: int, settings: dict) -> float:
    """The rate of the noise runs: the best rate, at the sweep's batch size nearest ``batch_size``, for
    the hardest target, so that the runs reach every target's loss (the grid's centre if no rate
    reached it). Used by chapter 04."""
    b = int(np.argmin(np.abs(np.log(table.batch_sizes) - math.log(batch_size))))
    lr = table.best_lr[b, int(np.argmin(table.excess))]
    return float(lr) if math.isfinite(lr) else float(lr_grid(batch_size, settings, 1)[0])


def noise_frame(specs: Sequence[NoiseRunSpec], results: Sequence[dict], bayes: float):
    """All checkpoints of the noise runs, one row each, with ``excess`` = held-out loss − Bayes loss.
    Used by chapter 04."""
    import pandas as pd

    rows = [{"replicate": spec.replicate, **rec} for spec, res in zip(specs, results) for rec in res["checkpoints"]]
    df = pd.DataFrame(rows)
    df["excess"] = df["heldout"] - bayes
    return df


def loglog_line(x, y) -> tuple[float, float]:
    """(slope, intercept) of log y on log x over the points where both are positive and finite;
    NaN with fewer than 3. Used by chapter 04."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if ok.sum() < 3:
        return float("nan"), float("nan")
    slope, intercept = np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)
    return float(slope), float(intercept)


def noise_at_targets(noise, excess: Sequence[float], column: str = "b_noise") -> np.ndarray:
    """(n_runs, n_targets): each run's ``column`` at each target's excess loss, from the run's log–log
    line of ``column`` against excess loss. Used by chapter 04."""
    out = []
    for _, run in noise.groupby("replicate", sort=True):
        slope, intercept = loglog_line(run["excess"], run[column])
        out.append([math.exp(intercept + slope * math.log(e)) if math.isfinite(slope) and e > 0 else float("nan")
                    for e in excess])
    return np.array(out, float)


def noise_compare_frame(table: StepsTable, noise):
    """Per target: B_crit (fit to the seed mean), B_noise and B_simple read from the runs' lines
    (geometric mean over runs), and their ratios. Used by chapter 04 (figure and table)."""
    import pandas as pd

    fits = mean_fits(table)
    bn = noise_at_targets(noise, table.excess, "b_noise")
    bs = noise_at_targets(noise, table.excess, "b_simple_exact")
    gm = lambda a: float(np.exp(np.mean(np.log(a)))) if np.all(np.isfinite(a)) and np.all(a > 0) else float("nan")
    rows = []
    for j, e in enumerate(table.excess):
        bc = fits[j].b_crit if fits[j] else float("nan")
        rows.append({"excess target": float(e), "B_crit": bc, "B_noise": gm(bn[:, j]), "B_simple": gm(bs[:, j]),
                     "B_noise / B_crit": gm(bn[:, j]) / bc, "B_simple / B_crit": gm(bs[:, j]) / bc})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Experiment 3 (B6): data size against model size
# --------------------------------------------------------------------------------------------


def n_params(task: TeacherTask, hidden: Sequence[int]) -> int:
    """Parameter count of a student of widths ``hidden``. Used by chapter 04."""
    from ..models import MLP, MLPConfig

    return MLP(MLPConfig(input_dim=task.input_dim, hidden=tuple(hidden), n_classes=task.n_classes)).num_params()


def b6_reference_specs(settings: dict, task: TeacherTask, seed: int) -> list[BatchSizeFamilySpec]:
    """One reference family per width at B_ref, trained to the largest reference step count (target 0:
    never reached, so no early stop), evaluated at every reference step. Used by chapter 04."""
    steps = [int(s) for s in settings["b6_ref_steps"]]
    return [family_spec(settings, task, seed, settings["b6_ref_batch"], [0.0], hidden=(w, w),
                        n_seeds=settings["b6_seeds"], stream="b6", n_lrs=settings["b6_n_lrs"], steps=max(steps),
                        eval_extra=steps) for w in settings["b6_widths"]]


def b6_targets(ref_specs: Sequence[BatchSizeFamilySpec], ref_results: Sequence[dict],
               ref_steps: Sequence[int]) -> list[list[float]]:
    """Per width: the held-out loss after each reference step count (D = B_ref·s examples), of the best
    rate (mean over replicates). These are Zhang et al.'s data-size targets. Used by chapter 04."""
    out = []
    for spec, res in zip(ref_specs, ref_results):
        lr_of = np.array([m["lr"] for m in res["members"]])
        heldout = np.array(res["heldout"], float)  # (K, n_evals)
        row = []
        for s in ref_steps:
            at = res["steps"].index(int(s))
            means = [np.mean(heldout[lr_of == lr, at]) for lr in spec.lrs]
            row.append(float(np.nanmin(means)))
        out.append(row)
    return out


def b6_specs(settings: dict, task: TeacherTask, seed: int, targets: Sequence[Sequence[float]]) -> list[BatchSizeFamilySpec]:
    """The batch-size sweep of every width, with that width's data-size targets. Used by chapter 04."""
    return [family_spec(settings, task, seed, B, t, hidden=(w, w), n_seeds=settings["b6_seeds"], stream="b6",
                        n_lrs=settings["b6_n_lrs"])
            for w, t in zip(settings["b6_widths"], targets) for B in settings["b6_batch_sizes"]]


def b6_frame(specs: Sequence[BatchSizeFamilySpec], results: Sequence[dict], settings: dict, task: TeacherTask,
             bayes: float):
    """One row per (width, data budget D): N, D, the target, B_crit per replicate (``b_crit_r<k>``), their
    geometric mean and t-interval; and the share of cells with the best rate on a grid edge.
    Returns ``(frame, edge_share)``. Used by chapter 04."""
    import pandas as pd

    rows, edges = [], []
    for w in settings["b6_widths"]:
        table = steps_table(specs, results, bayes, hidden=(w, w))
        edges.append(table.on_edge.ravel())
        fits = per_seed_fits(table)
        for j, s_ref in enumerate(settings["b6_ref_steps"]):
            per = [f[j].b_crit if f[j] is not None else float("nan") for f in fits]
            m, lo, hi = _t_summary(np.log(per))
            row = {"width": w, "N": n_params(task, (w, w)), "D": int(settings["b6_ref_batch"] * s_ref),
                   "target": float(table.targets[j]), "B_crit": math.exp(m) if math.isfinite(m) else float("nan"),
                   "B_crit lo": math.exp(lo) if math.isfinite(lo) else float("nan"),
                   "B_crit hi": math.exp(hi) if math.isfinite(hi) else float("nan")}
            row.update({f"b_crit_r{r}": v for r, v in enumerate(per)})
            rows.append(row)
    return pd.DataFrame(rows), float(np.mean(np.concatenate(edges)))


def b6_axes(frame, settings: dict):
    """The two axes of B6: the middle width at every D (data axis) and every width at the middle D
    (model axis). Used by chapter 04."""
    widths, steps = settings["b6_widths"], settings["b6_ref_steps"]
    mid_w = widths[len(widths) // 2]
    mid_d = int(settings["b6_ref_batch"] * steps[len(steps) // 2])
    return frame[frame["width"] == mid_w], frame[frame["D"] == mid_d]


# --------------------------------------------------------------------------------------------
# Measurements: one per claim
# --------------------------------------------------------------------------------------------


def _measurement(values: Sequence[float], seeds, preconditions: dict, details: dict, log: bool = False) -> Measurement:
    """Mean and t-interval over seeds of per-seed ``values`` (of their logs, reported back on the
    original scale, with ``log=True``)."""
    v = np.asarray(values, float)
    if log:
        v = np.where(v > 0, np.log(np.where(v > 0, v, 1.0)), np.nan)
    m, lo, hi = _t_summary(v)
    if log:
        m, lo, hi = (math.exp(x) if math.isfinite(x) else float("nan") for x in (m, lo, hi))
    return Measurement(estimate=m, interval=(lo, hi), seeds=list(seeds), preconditions=preconditions,
                       details={**details, "per_seed": [float(x) for x in values]})


def _bend_inside(table: StepsTable) -> float:
    fits = mean_fits(table)
    lo, hi = table.batch_sizes.min(), table.batch_sizes.max()
    return float(np.mean([f is not None and lo <= f.b_crit <= hi for f in fits]))


def _sweep_preconditions(table: StepsTable) -> dict:
    return {"lr_edge_share": table.edge_share, "bend_inside": _bend_inside(table)}


def measure_b1(table: StepsTable) -> Measurement:
    """B1: per replicate, the law's R² (log S) at its worst target; mean and t-interval over replicates.
    Used by chapter 04."""
    worst = [min((f.r2_log if f is not None else float("nan")) for f in fits) for fits in per_seed_fits(table)]
    return _measurement(worst, table.seeds, _sweep_preconditions(table),
                        {"b_crit": [f.b_crit if f else None for f in mean_fits(table)]})


def measure_b2(table: StepsTable) -> Measurement:
    """B2: per replicate, the power law's out-of-sample error over the step–batch law's (both fitted on
    the batch sizes of even rank, judged on the others, all targets); geometric mean and t-interval
    over replicates (on logs). Used by chapter 04."""
    ratios, law_errors = [], []
    for r in range(table.per_seed.shape[0]):
        law, power = out_of_sample_errors(table.batch_sizes, table.per_seed[r])
        ratios.append(power / max(law, 1e-9) if math.isfinite(law) else float("nan"))
        law_errors.append(law)
    return _measurement(ratios, table.seeds, _sweep_preconditions(table),
                        {"law_error": law_errors}, log=True)


def measure_b3(table: StepsTable) -> Measurement:
    """B3: per replicate, B_crit at the hardest target over B_crit at the easiest; geometric mean and
    t-interval over replicates (on logs). Used by chapter 04."""
    hard, easy = int(np.argmin(table.excess)), int(np.argmax(table.excess))
    ratios = []
    for fits in per_seed_fits(table):
        ok = fits[hard] is not None and fits[easy] is not None
        ratios.append(fits[hard].b_crit / fits[easy].b_crit if ok else float("nan"))
    return _measurement(ratios, table.seeds, _sweep_preconditions(table),
                        {"b_crit": [f.b_crit if f else None for f in mean_fits(table)]}, log=True)


def measure_b4(noise) -> Measurement:
    """B4: per noise run, the slope of log B_simple (exact) on log(excess held-out loss) over its
    checkpoints; mean and t-interval over runs. Precondition: the smallest factor by which a run's
    excess loss fell from its first to its last checkpoint. Used by chapter 04."""
    slopes, falls, seeds = [], [], []
    for rep, run in noise.groupby("replicate", sort=True):
        run = run.sort_values("step")
        slopes.append(loglog_line(run["excess"], run["b_simple_exact"])[0])
        first, last = float(run["excess"].iloc[0]), float(run["excess"].iloc[-1])
        falls.append(first / last if last > 0 else float("inf"))
        seeds.append(int(rep))
    two = [loglog_line(r["excess"], r["b_simple_two_batch"])[0] for _, r in noise.groupby("replicate", sort=True)]
    return _measurement(slopes, seeds, {"loss_range": float(min(falls))}, {"slope_two_batch": two})


def measure_b5(table: StepsTable, noise) -> Measurement:
    """B5: pairing noise run r with sweep replicate r, the largest |log₁₀(B_noise/B_crit)| over targets
    (B_noise from run r's log–log line, B_crit from replicate r's fit); mean and t-interval over pairs.
    Used by chapter 04."""
    bn = noise_at_targets(noise, table.excess, "b_noise")
    fits = per_seed_fits(table)
    n = min(len(bn), len(fits))
    worst = []
    for r in range(n):
        logs = [abs(math.log10(bn[r, j] / fits[r][j].b_crit)) if fits[r][j] is not None and bn[r, j] > 0
                else float("nan") for j in range(len(table.targets))]
        worst.append(max(logs))
    inside = []
    for _, run in noise.groupby("replicate", sort=True):
        lo, hi = float(run["excess"].min()), float(run["excess"].max())
        inside.extend(lo <= e <= hi for e in table.excess)
    compare = noise_compare_frame(table, noise)
    return _measurement(worst, table.seeds[:n], {"lr_edge_share": table.edge_share,
                                                 "noise_covers_targets": float(np.mean(inside))},
                        {"b_noise_over_b_crit": compare["B_noise / B_crit"].tolist(),
                         "b_simple_over_b_crit": compare["B_simple / B_crit"].tolist()})


def measure_b6(frame, settings: dict, edge_share: float) -> Measurement:
    """B6: per replicate, the log–log slope of B_crit against D (middle width) minus that against N
    (middle D); mean and t-interval over replicates. Used by chapter 04."""
    data_axis, model_axis = b6_axes(frame, settings)
    cols = sorted(c for c in frame.columns if c.startswith("b_crit_r"))
    diffs, sd, sn = [], [], []
    for c in cols:
        a = loglog_line(data_axis["D"], data_axis[c])[0] if len(data_axis) >= 3 else _slope2(data_axis["D"], data_axis[c])
        b = loglog_line(model_axis["N"], model_axis[c])[0] if len(model_axis) >= 3 else _slope2(model_axis["N"], model_axis[c])
        sd.append(a)
        sn.append(b)
        diffs.append(a - b)
    return _measurement(diffs, list(range(len(cols))), {"lr_edge_share_b6": edge_share},
                        {"slope_data": sd, "slope_model": sn})


def _slope2(x, y) -> float:
    """Log–log slope through two points (the smoke profile's axes)."""
    x, y = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    return float((y[-1] - y[0]) / (x[-1] - x[0])) if len(x) == 2 and np.all(np.isfinite(y)) else float("nan")


def measure(table: StepsTable, noise, b6: tuple, settings: dict) -> dict[str, Measurement]:
    """Every claim's :class:`Measurement`: ``b6`` is :func:`b6_frame`'s ``(frame, edge_share)``.
    Used by chapter 04."""
    frame, edge = b6
    return {"B1": measure_b1(table), "B2": measure_b2(table), "B3": measure_b3(table), "B4": measure_b4(noise),
            "B5": measure_b5(table, noise), "B6": measure_b6(frame, settings, edge)}
