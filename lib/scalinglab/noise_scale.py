"""The gradient noise scale and the critical batch size (McCandlish, Kaplan, Amodei et al. 2018).

Notation (McCandlish et al., "An Empirical Model of Large-Batch Training", Sec. 2): the loss is an
average over examples, L(θ) = E_x[ℓ(θ; x)]; G = ∇L is the true gradient, g_i = ∇ℓ(θ; x_i) a
per-example gradient, Σ = Cov[g_i] their covariance and H = ∇²L the Hessian. Then

- the **noise scale** B_noise = tr(HΣ) / (GᵀHG) (their Eq. 2.6): the batch size at which a step's
  expected loss improvement is half of the noise-free one;
- the **simple noise scale** B_simple = tr(Σ) / |G|² (Eq. 2.8): the same with H ∝ I;
- the **step–batch law** S(B) = S_min·(1 + B_crit/B), or (S/S_min − 1)(E/E_min − 1) = 1 with
  E = B·S and B_crit = E_min/S_min (Eq. 2.11), where S is the number of steps to reach a target loss.

Estimators here:

- :func:`per_example_noise_scale` — exact: per-example gradients with ``torch.func.vmap(grad)``,
  unbiased tr Σ (n−1 denominator) and unbiased |G|² = |ḡ|² − tr Σ / n.
- :func:`two_batch_estimates` / :func:`two_batch_noise_scale` — the paper's Appendix A: from the
  squared norms of gradients at two batch sizes B_small < B_big,
  |G|² ≈ (B_big|G_big|² − B_small|G_small|²)/(B_big − B_small) and
  tr Σ ≈ (|G_small|² − |G_big|²)/(1/B_small − 1/B_big); numerator and denominator are averaged
  separately over repeats before their ratio is taken.
- :func:`hessian_noise_scale` — B_noise with Hessian-vector products (forward-over-reverse
  ``torch.func.jvp`` of ``grad``).

All three estimators are checked in ``tests/test_noise_scale.py`` on linear regression with
Gaussian inputs, where G, Σ and H are known in closed form (:func:`linear_regression_truth`).

The step–batch law's measurement and fit live in :mod:`scalinglab.batch_law`; chapter 04's task lives in
``scalinglab.experiments.critical_batch``.

Used by: chapter 04 (critical batch size), through ``scalinglab.experiments.critical_batch``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn as nn

# --------------------------------------------------------------------------------------------
# Gradients as flat vectors
# --------------------------------------------------------------------------------------------

ExampleLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (output, target) -> scalar


def _params(model: nn.Module) -> dict:
    return {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}


def per_example_gradients(model: nn.Module, example_loss: ExampleLoss, inputs: torch.Tensor,
                          targets: torch.Tensor, chunk: int = 512) -> torch.Tensor:
    """Per-example gradients as a matrix of shape (n, P) (P = number of parameters).

    ``example_loss(output, target)`` is the loss of ONE example (e.g. cross-entropy of one row of
    logits); gradients come from ``torch.func.vmap(torch.func.grad(...))`` in chunks of ``chunk``.
    """
    from torch.func import functional_call, grad, vmap

    params = _params(model)
    buffers = {n: b.detach() for n, b in model.named_buffers()}

    def loss_one(p, x, y):
        out = functional_call(model, (p, buffers), (x.unsqueeze(0),))
        return example_loss(out.squeeze(0), y)

    per_example = vmap(grad(loss_one), in_dims=(None, 0, 0))
    rows = []
    for start in range(0, len(inputs), chunk):
        g = per_example(params, inputs[start:start + chunk], targets[start:start + chunk])
        rows.append(torch.cat([v.reshape(v.shape[0], -1) for v in g.values()], dim=1))  # (chunk, P)
    return torch.cat(rows)


def batch_gradient(model: nn.Module, example_loss: ExampleLoss, inputs: torch.Tensor,
                   targets: torch.Tensor) -> torch.Tensor:
    """Gradient of the mean loss over a batch, as a flat vector of length P."""
    from torch.func import functional_call, grad

    params = _params(model)
    buffers = {n: b.detach() for n, b in model.named_buffers()}

    def mean_loss(p):
        out = functional_call(model, (p, buffers), (inputs,))
        return torch.vmap(example_loss)(out, targets).mean()

    g = grad(mean_loss)(params)
    return torch.cat([v.reshape(-1) for v in g.values()])


# --------------------------------------------------------------------------------------------
# Estimators
# --------------------------------------------------------------------------------------------


@dataclass
class NoiseScale:
    """An estimate of |G|², tr Σ (and optionally the Hessian-weighted terms) at one point."""

    grad_sq: float  # |G|² (unbiased)
    trace_cov: float  # tr Σ (unbiased)
    b_simple: float  # tr Σ / |G|²
    n_examples: int
    method: str
    ghg: float = float("nan")  # GᵀHG
    trace_h_cov: float = float("nan")  # tr(HΣ)
    b_noise: float = float("nan")  # tr(HΣ) / GᵀHG

    def to_dict(self) -> dict:
        return asdict(self)


def noise_scale_from_gradients(grads: torch.Tensor) -> NoiseScale:
    """B_simple from n per-example gradients (rows of ``grads``), both terms unbiased.

    tr Σ = Σ_i |g_i − ḡ|² / (n − 1); since E|ḡ|² = |G|² + tr Σ / n, |G|² = |ḡ|² − tr Σ / n.
    """
    n = grads.shape[0]
    if n < 2:
        raise ValueError("need at least 2 per-example gradients")
    g = grads.double()
    mean = g.mean(dim=0)
    trace_cov = float(((g - mean) ** 2).sum() / (n - 1))
    grad_sq = float(mean @ mean) - trace_cov / n
    return NoiseScale(grad_sq=grad_sq, trace_cov=trace_cov, b_simple=trace_cov / grad_sq,
                      n_examples=n, method="per-example (exact)")


def _gradient_moments(model: nn.Module, example_loss: ExampleLoss, inputs: torch.Tensor,
                      targets: torch.Tensor, keep: int = 0, chunk: int = 1024) -> dict:
    """Per-example gradient sums, streamed in chunks so that n can be large (memory O(chunk·P)).

    Returns the sums of g_i over the first and the second half of the examples, Σ|g_i|², n, and
    the first ``keep`` gradients themselves (a random sample, since examples are i.i.d.).
    """
    n = len(inputs)
    half = n // 2
    sum_a = sum_b = None
    sum_sq = 0.0
    kept = []
    for start in range(0, n, chunk):
        g = per_example_gradients(model, example_loss, inputs[start:start + chunk],
                                  targets[start:start + chunk], chunk=chunk).double()  # (c, P)
        idx = torch.arange(start, start + len(g))
        in_a = idx < half
        part_a, part_b = g[in_a].sum(0), g[~in_a].sum(0)
        sum_a = part_a if sum_a is None else sum_a + part_a
        sum_b = part_b if sum_b is None else sum_b + part_b
        sum_sq += float((g * g).sum())
        if keep and sum(len(k) for k in kept) < keep:
            kept.append(g[: keep - sum(len(k) for k in kept)])
    return {"sum_a": sum_a, "sum_b": sum_b, "sum_sq": sum_sq, "n": n, "half": half,
            "kept": torch.cat(kept) if kept else None}


def _moments_noise_scale(m: dict) -> NoiseScale:
    n = m["n"]
    if n < 2:
        raise ValueError("need at least 2 per-example gradients")
    mean = (m["sum_a"] + m["sum_b"]) / n
    trace_cov = (m["sum_sq"] - n * float(mean @ mean)) / (n - 1)
    grad_sq = float(mean @ mean) - trace_cov / n
    return NoiseScale(grad_sq=grad_sq, trace_cov=trace_cov, b_simple=trace_cov / grad_sq,
                      n_examples=n, method="per-example (exact)")


def per_example_noise_scale(model: nn.Module, example_loss: ExampleLoss, inputs: torch.Tensor,
                            targets: torch.Tensor, chunk: int = 1024) -> NoiseScale:
    """B_simple computed exactly from the per-example gradients of a batch (``torch.func``).

    Same estimator as :func:`noise_scale_from_gradients`, streamed over chunks of examples.
    """
    return _moments_noise_scale(_gradient_moments(model, example_loss, inputs, targets, chunk=chunk))


def two_batch_estimates(grad_sq_small: float, grad_sq_big: float, b_small: int, b_big: int):
    """McCandlish et al. App. A: unbiased |G|² and tr Σ from E|G_B|² = |G|² + tr Σ / B at two B.

    Returns ``(grad_sq, trace_cov)``. Pass averages over many batches of |G_small|², |G_big|².
    """
    if not 0 < b_small < b_big:
        raise ValueError(f"need 0 < b_small < b_big, got {b_small}, {b_big}")
    grad_sq = (b_big * grad_sq_big - b_small * grad_sq_small) / (b_big - b_small)
    trace_cov = (grad_sq_small - grad_sq_big) / (1.0 / b_small - 1.0 / b_big)
    return grad_sq, trace_cov


def two_batch_noise_scale(model: nn.Module, example_loss: ExampleLoss,
                          sample: Callable[[int], tuple], b_small: int, b_big: int,
                          repeats: int) -> NoiseScale:
    """B_simple by the two-batch estimator at the model's current parameters.

    ``sample(n)`` draws n fresh examples ``(inputs, targets)``. Each repeat draws one batch of
    ``b_big`` and uses its first ``b_small`` examples as the small batch (as data-parallel training
    does: one device's batch inside the all-reduced batch). |G_small|² and |G_big|² are averaged
    over the repeats first; the ratio is taken last (the paper's advice: a ratio of averages).
    """
    small, big = [], []
    for _ in range(repeats):
        x, y = sample(b_big)
        g_small = batch_gradient(model, example_loss, x[:b_small], y[:b_small])
        g_big = batch_gradient(model, example_loss, x, y)
        small.append(float(g_small @ g_small))
        big.append(float(g_big @ g_big))
    grad_sq, trace_cov = two_batch_estimates(float(np.mean(small)), float(np.mean(big)), b_small, b_big)
    return NoiseScale(grad_sq=grad_sq, trace_cov=trace_cov, b_simple=trace_cov / grad_sq,
                      n_examples=repeats * b_big, method=f"two-batch ({b_small}, {b_big})")


def hessian_vector_products(model: nn.Module, example_loss: ExampleLoss, inputs: torch.Tensor,
                            targets: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
    """H·v for each row v of ``vectors`` (m, P), H the Hessian of the mean loss on the batch.

    Forward-over-reverse: Hv = d/dε ∇L(θ + εv) at ε = 0, i.e. ``jvp(grad(L), θ, v)``, vmapped over v.
    """
    from torch.func import functional_call, grad, jvp, vmap

    params = _params(model)
    buffers = {n: b.detach() for n, b in model.named_buffers()}
    names = list(params)
    shapes = [params[n].shape for n in names]
    sizes = [params[n].numel() for n in names]

    def unflatten(v):
        return {n: t.view(s) for n, t, s in zip(names, torch.split(v, sizes), shapes)}

    def mean_loss(p):
        out = functional_call(model, (p, buffers), (inputs,))
        return torch.vmap(example_loss)(out, targets).mean()

    def hvp(v):
        _, hv = jvp(grad(mean_loss), (params,), (unflatten(v),))
        return torch.cat([hv[n].reshape(-1) for n in names])

    return vmap(hvp)(vectors.to(next(iter(params.values())).dtype))


def hessian_noise_scale(model: nn.Module, example_loss: ExampleLoss, inputs: torch.Tensor,
                        targets: torch.Tensor, hessian_inputs: torch.Tensor,
                        hessian_targets: torch.Tensor, n_vectors: int = 64, chunk: int = 1024) -> NoiseScale:
    """B_noise = tr(HΣ)/GᵀHG, with B_simple from the same per-example gradients.

    The per-example gradients of the batch (``inputs``, ``targets``, n examples) give ḡ and the
    deviations d_i = g_i − ḡ; H is the Hessian of the mean loss on a SEPARATE batch
    (``hessian_inputs``), so that it is independent of the gradients. Unbiased pieces:
    GᵀHG ≈ ḡ_Aᵀ H ḡ_B with ḡ_A, ḡ_B the means of two disjoint halves (independent, so no noise
    term), and tr(HΣ) ≈ mean over ``n_vectors`` examples of d_iᵀ H d_i · n/(n − 1). Examples are
    i.i.d., so the first ``n_vectors`` are a random sample.
    """
    moments = _gradient_moments(model, example_loss, inputs, targets, keep=n_vectors, chunk=chunk)
    base = _moments_noise_scale(moments)
    n, half = moments["n"], moments["half"]
    g_a, g_b = moments["sum_a"] / half, moments["sum_b"] / (n - half)
    mean = (moments["sum_a"] + moments["sum_b"]) / n
    deviations = moments["kept"] - mean  # (m, P)
    dtype = next(model.parameters()).dtype
    vectors = torch.cat([g_a[None], deviations]).to(dtype)
    hv = hessian_vector_products(model, example_loss, hessian_inputs, hessian_targets, vectors).double()
    ghg = float(g_b @ hv[0])
    trace_h_cov = float((deviations * hv[1:]).sum(1).mean()) * n / (n - 1)
    base.ghg, base.trace_h_cov = ghg, trace_h_cov
    base.b_noise = trace_h_cov / ghg
    base.method = "per-example + Hessian-vector products"
    return base


# --------------------------------------------------------------------------------------------
# Closed-form truth for tests: linear regression with Gaussian inputs
# --------------------------------------------------------------------------------------------


def linear_regression_truth(residual: np.ndarray, input_var: np.ndarray, noise_var: float) -> dict:
    """Exact G, Σ, H terms for ℓ = ½(wᵀx − y)², x ~ N(0, Λ = diag(input_var)), y = w*ᵀx + ε.

    With r = w − w*, g = x(xᵀr − ε), Isserlis' theorem gives G = Λr, H = Λ and
    Σ = Λrrᵀ Λ + (rᵀΛr + σ²) Λ. Hence |G|² = |Λr|², tr Σ = |Λr|² + (rᵀΛr + σ²) tr Λ,
    GᵀHG = rᵀΛ³r and tr(HΣ) = rᵀΛ³r + (rᵀΛr + σ²) tr Λ².
    """
    r, lam = np.asarray(residual, float), np.asarray(input_var, float)
    lam_r = lam * r
    quad = float(r @ lam_r)
    grad_sq = float(lam_r @ lam_r)
    trace_cov = grad_sq + (quad + noise_var) * float(lam.sum())
    ghg = float(lam_r @ (lam * lam_r))
    trace_h_cov = ghg + (quad + noise_var) * float((lam**2).sum())
    return {"grad_sq": grad_sq, "trace_cov": trace_cov, "b_simple": trace_cov / grad_sq,
            "ghg": ghg, "trace_h_cov": trace_h_cov, "b_noise": trace_h_cov / ghg}


# --------------------------------------------------------------------------------------------
# Steps to target and the step–batch law
# --------------------------------------------------------------------------------------------
