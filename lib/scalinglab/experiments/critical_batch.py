"""Chapter 04 (critical batch size): the step–batch law, the streaming teacher task, and the sweeps.

- :func:`steps_to_target`, :func:`fit_step_batch_law` — S(B), the number of steps to reach a target
  loss at batch size B, and the fit S(B) = S_min·(1 + B_crit/B) (McCandlish et al. 2018, Eq. 2.11);
- :class:`TeacherTask` — a streaming teacher–student classification: fresh examples every step,
  held-out loss measured against the teacher's probabilities, so targets are held-out losses and no
  finite training set can be memorised;
- :func:`train_batch_size_family`, :func:`noise_scale_along_training` — the chapter's run functions.

The noise-scale estimators themselves are generic and live in :mod:`scalinglab.noise_scale`.

Used by: chapter 04 (critical batch size).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..devices import threads_for
from ..noise_scale import hessian_noise_scale, two_batch_noise_scale

def steps_to_target(steps: Sequence[float], losses: Sequence[float], target: float) -> float:
    """The first step at which ``losses`` reach ``target`` (≤), interpolated; ``inf`` if never.

    Between the last evaluation above the target (s₀, L₀) and the first at or below it (s₁, L₁)
    the loss is taken as linear in log(step). Non-finite losses (a diverged run) never reach it.
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
    """S(B) = S_min (1 + B_crit / B) fitted in log space; E_min = S_min · B_crit."""

    s_min: float
    b_crit: float
    e_min: float
    r2_log: float
    n_points: int

    def steps(self, batch_size) -> np.ndarray:
        return self.s_min * (1.0 + self.b_crit / np.asarray(batch_size, float))

    def examples(self, batch_size) -> np.ndarray:
        return self.e_min * (1.0 + np.asarray(batch_size, float) / self.b_crit)

    def tradeoff(self, batch_size, steps) -> np.ndarray:
        """(S/S_min − 1)(E/E_min − 1) per point: 1 on the paper's hyperbola."""
        b, s = np.asarray(batch_size, float), np.asarray(steps, float)
        return (s / self.s_min - 1.0) * (b * s / self.e_min - 1.0)

    def to_dict(self) -> dict:
        return asdict(self)


def fit_step_batch_law(batch_sizes, steps) -> StepBatchFit:
    """Least squares of log S = log S_min + log(1 + B_crit/B) over (log S_min, log B_crit).

    Points with infinite S (target never reached) are dropped. R² is that of log S.
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


# --------------------------------------------------------------------------------------------
# The chapter's task: streaming teacher-student classification
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeacherTask:
    """Inputs x ~ N(0, I_d); labels drawn from softmax(teacher(x)), teacher a random tanh MLP.

    Every batch is fresh (an endless stream), and the held-out loss is the cross-entropy against
    the teacher's probabilities on a fixed held-out sample of inputs — the expected loss over label
    noise, which never rewards memorisation. Its floor is the teacher's mean entropy (the Bayes
    loss), reported by :meth:`bayes_loss`.
    """

    input_dim: int = 32
    n_classes: int = 10
    teacher_width: int = 256
    logit_scale: float = 4.0
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    def _teacher(self):
        g = torch.Generator().manual_seed(10_000 + self.seed)
        w1 = torch.randn(self.input_dim, self.teacher_width, generator=g) / math.sqrt(self.input_dim)
        b1 = 0.5 * torch.randn(self.teacher_width, generator=g)
        w2 = torch.randn(self.teacher_width, self.n_classes, generator=g) / math.sqrt(self.teacher_width)
        return w1, b1, w2

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Teacher class probabilities, shape (..., n_classes)."""
        w1, b1, w2 = (t.to(x.dtype) for t in self._teacher_cached())
        return torch.softmax(self.logit_scale * (torch.tanh(x @ w1 + b1) @ w2), dim=-1)

    def _teacher_cached(self):
        cache = _TEACHER_CACHE.get(self)
        if cache is None:
            cache = _TEACHER_CACHE[self] = self._teacher()
        return cache

    def sample(self, n: int, generator: torch.Generator, dtype=torch.float32):
        """``n`` fresh examples: inputs (n, d) and labels (n,), drawn with ``generator`` only."""
        x = torch.randn(n, self.input_dim, generator=generator)
        u = torch.rand(n, 1, generator=generator)
        cdf = self.probabilities(x).cumsum(dim=1)
        y = (cdf < u).sum(dim=1).clamp(max=self.n_classes - 1)  # inverse-CDF sampling
        return x.to(dtype), y

    def heldout(self, n: int, dtype=torch.float32):
        """A fixed held-out sample: inputs (n, d) and teacher probabilities (n, C)."""
        g = torch.Generator().manual_seed(20_000 + self.seed)
        x = torch.randn(n, self.input_dim, generator=g)
        return x.to(dtype), self.probabilities(x).to(dtype)

    def bayes_loss(self, n: int = 16384) -> float:
        """The lowest achievable held-out loss: the teacher's mean entropy (on the held-out inputs)."""
        _, p = self.heldout(n, torch.float64)
        return float(-(p * torch.log(p.clamp_min(1e-300))).sum(1).mean())


_TEACHER_CACHE: dict = {}


def heldout_cross_entropy(logits: torch.Tensor, probabilities: torch.Tensor) -> torch.Tensor:
    """Mean over examples of −Σ_c p_c log q_c; ``logits`` (..., n, C) -> shape (...)."""
    return -(probabilities * torch.log_softmax(logits, dim=-1)).sum(-1).mean(-1)


def example_cross_entropy(logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of one example (logits (C,), integer label): the per-example loss ℓ."""
    return F.cross_entropy(logits.unsqueeze(0), label.unsqueeze(0))


def eval_step_grid(max_steps: int, per_octave: int) -> list[int]:
    """Evaluation steps spaced evenly in log(step): about ``per_octave`` per doubling."""
    n = max(2, int(math.ceil(per_octave * math.log2(max(2, max_steps)))) + 1)
    return sorted({int(round(s)) for s in np.geomspace(1, max_steps, n)})


def steps_to_targets_table(histories: list, targets: Sequence[float], key: str = "heldout") -> np.ndarray:
    """Steps to each target for each model: array (K, n_targets), ``inf`` where never reached."""
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
    rate reached the target with every seed.
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
    """``n`` values spaced by ``factor`` in log space, centred on ``center``."""
    offsets = np.arange(n) - (n - 1) / 2
    return [float(center * factor**o) for o in offsets]


def train_batch_size_family(spec: dict) -> dict:
    """One batch size of the critical-batch sweep: every learning rate × seed as ONE family.

    ``spec`` (JSON-able, the run-store key): ``task`` (:class:`TeacherTask` fields), ``hidden``
    (student widths), ``batch_size``, ``lrs``, ``seeds``, ``max_steps``, ``eval_per_octave``,
    ``n_heldout``, ``targets`` (held-out losses; training stops once S is known for all of them),
    ``beta1``, ``beta2``, ``dtype``, optionally ``eval_extra`` (steps always evaluated). Models that differ only in learning rate share the data stream
    of their seed (common random numbers). Returns per-model evaluation histories and the steps to
    each target. Module-level so that process pools and dask workers can run it.

    Used by: chapter 04 (critical batch size), through :func:`scalinglab.runs.sweep`.
    """
    from ..families import build_mlp_family, train_family
    from ..models import MLPConfig
    from ..train import TrainConfig

    task = TeacherTask(**spec["task"])
    config = MLPConfig(input_dim=task.input_dim, hidden=tuple(spec["hidden"]), n_classes=task.n_classes)
    lrs, seeds = list(spec["lrs"]), list(spec["seeds"])
    dtype = getattr(torch, spec.get("dtype", "float32"))
    device = torch.device(spec["device"]) if spec.get("device") else None
    members = [(i, s) for s in seeds for i in range(len(lrs))]  # model k = (lr index, seed)
    lr_index = [i for i, _ in members]
    family = build_mlp_family(config, [1000 * s + 7 for _, s in members], dtype=dtype, device=device)
    dev = family.weights[0].device
    configs = [TrainConfig(steps=int(spec["max_steps"]), batch_size=int(spec["batch_size"]), lr=lrs[i],
                           weight_decay=0.0, beta1=spec["beta1"], beta2=spec["beta2"],
                           schedule="constant", grad_clip=None, seed=s) for i, s in members]
    generators = [torch.Generator().manual_seed(100_003 * s + 17) for s in seeds]
    per_seed = len(lrs)
    B = int(spec["batch_size"])

    def stacked_batch():
        xs, ys = zip(*(task.sample(B, g, dtype) for g in generators))
        x = torch.stack(xs).repeat_interleave(per_seed, dim=0)  # (n_seeds, B, d) -> (K, B, d)
        y = torch.stack(ys).repeat_interleave(per_seed, dim=0)
        return x.to(dev), y.to(dev)

    x_eval, p_eval = task.heldout(int(spec["n_heldout"]), dtype)
    x_eval, p_eval = x_eval.to(dev), p_eval.to(dev)

    def eval_fn(fam):
        return {"heldout": heldout_cross_entropy(fam(x_eval), p_eval)}

    targets = list(spec["targets"])
    eval_steps = set(eval_step_grid(int(spec["max_steps"]), int(spec["eval_per_octave"])))
    eval_steps |= {int(s) for s in spec.get("eval_extra", [])}
    result = train_family(family, configs, None, eval_fn=eval_fn, eval_steps=sorted(eval_steps),
                          stop_fn=make_stop_rule(targets, lr_index, len(lrs)), device=dev,
                          stacked_batch_fn=stacked_batch, n_threads=threads_for(B * len(members) * max(config.hidden)))
    table = steps_to_targets_table(result.histories, targets)
    return {
        "members": [{"lr": lrs[i], "seed": s} for i, s in members],
        "steps": [[r["step"] for r in rows] for rows in result.histories][0],
        "heldout": [[r["heldout"] for r in rows] for rows in result.histories],
        "steps_to_target": [[None if not math.isfinite(v) else v for v in row] for row in table.tolist()],
        "diverged": result.diverged,
        "steps_run": result.steps,
        "wall_time_s": result.wall_time_s,
    }


def noise_scale_along_training(spec: dict) -> dict:
    """Train one student and measure the noise scale at checkpoints spaced evenly in log(step).

    ``spec``: ``task``, ``hidden``, ``batch_size``, ``lr``, ``seed``, ``steps``, ``n_checkpoints``,
    ``n_heldout``, ``beta1``, ``beta2`` and the estimator sizes ``n_per_example`` (examples for the
    exact per-example estimate), ``n_hessian`` (the independent batch that defines H), ``n_vectors``
    (deviations d_i used for tr(HΣ)), ``two_batch`` = [B_small, B_big, repeats]. Every estimate uses
    fresh examples from the stream (never the training batches). Returns, per checkpoint: step,
    held-out loss, B_simple (exact and two-batch), B_noise, |G|², tr Σ. Module-level for the run store.

    Used by: chapter 04 (critical batch size), claims B4 and B5.
    """
    from ..families import build_mlp_family, train_family
    from ..models import MLPConfig
    from ..train import TrainConfig

    task = TeacherTask(**spec["task"])
    config = MLPConfig(input_dim=task.input_dim, hidden=tuple(spec["hidden"]), n_classes=task.n_classes)
    device = torch.device(spec["device"]) if spec.get("device") else None
    family = build_mlp_family(config, [1000 * int(spec["seed"]) + 7], device=device)
    dev = family.weights[0].device
    B, steps = int(spec["batch_size"]), int(spec["steps"])
    cfg = TrainConfig(steps=steps, batch_size=B, lr=float(spec["lr"]), weight_decay=0.0,
                      beta1=spec["beta1"], beta2=spec["beta2"], schedule="constant", grad_clip=None,
                      seed=int(spec["seed"]))
    x_eval, p_eval = (t.to(dev) for t in task.heldout(int(spec["n_heldout"])))
    probe = torch.Generator().manual_seed(777_000 + int(spec["seed"]))
    b_small, b_big, repeats = (int(v) for v in spec["two_batch"])
    checkpoints = sorted({int(round(s)) for s in np.geomspace(1, steps, int(spec["n_checkpoints"]))})
    records: list[dict] = []

    def measure(fam):
        model = fam.member(0)
        with torch.enable_grad():
            x, y = (t.to(dev) for t in task.sample(int(spec["n_per_example"]), probe))
            xh, yh = (t.to(dev) for t in task.sample(int(spec["n_hessian"]), probe))
            exact = hessian_noise_scale(model, example_cross_entropy, x, y, xh, yh,
                                        n_vectors=int(spec["n_vectors"]), generator=probe)
            two = two_batch_noise_scale(model, example_cross_entropy,
                                        lambda n: tuple(t.to(dev) for t in task.sample(n, probe)),
                                        b_small, b_big, repeats)
        heldout = float(heldout_cross_entropy(model(x_eval), p_eval))
        records.append({"heldout": heldout, "b_simple_exact": exact.b_simple, "b_simple_two_batch": two.b_simple,
                        "b_noise": exact.b_noise, "grad_sq": exact.grad_sq, "trace_cov": exact.trace_cov,
                        "ghg": exact.ghg, "trace_h_cov": exact.trace_h_cov})
        return {"heldout": torch.tensor([heldout])}

    gen = torch.Generator().manual_seed(100_003 * int(spec["seed"]) + 17)

    def stacked_batch():
        x, y = task.sample(B, gen)
        return x[None].to(dev), y[None].to(dev)

    result = train_family(family, [cfg], None, eval_fn=measure, eval_steps=checkpoints, device=dev,
                          stacked_batch_fn=stacked_batch,
                          n_threads=spec.get("n_threads") or threads_for(B * max(config.hidden)))
    for rec, row in zip(records, result.histories[0]):
        rec["step"] = row["step"]
    return {"checkpoints": records, "wall_time_s": result.wall_time_s}
