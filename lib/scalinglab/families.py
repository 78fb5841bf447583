"""Batched model families: train K models of one shape at once, as one stacked model.

A sweep over learning rates × seeds (× anything that does not change a parameter's shape) trains
K small models that each leave the CPU idle between tiny matrix products. Stacking them turns K
small products into one batched product (``torch.baddbmm``) and K optimiser steps into one fused
step. On 2 CPU cores, 16 MLPs of widths 64-256 train ~2× faster as four families in one process
than one after another, and ~3× faster with the families spread over two single-thread workers
(``benchmarks/bench_families.py``).

Two ways to stack:

- :class:`StackedMLP` — the book's :class:`~scalinglab.models.MLP` written by hand with batched
  matrix products: weights of shape ``(K, fan_in, fan_out)``. The fastest for MLP families.
- :class:`VmapFamily` — any ``nn.Module`` via ``torch.func.stack_module_state`` +
  ``functional_call`` + ``vmap`` (e.g. a family of small transformers; tied weights stay tied).
  Dropout draws differently per model (``randomness="different"``). Exact (tested), but on a CPU
  it does not pay for transformers: for chapter 01's arithmetic transformers (widths 8-56, two
  seeds) it ran at 0.8-1.0× the speed of one after another — vmap adds overhead to every op, and
  torch 2.13 has no vmap rule for CPU attention, so that op runs model by model. Chapter 01
  therefore trains its seeds one after another, on two single-thread workers.

Both are trained by :func:`train_family`, which reproduces :func:`scalinglab.train.train` model by
model: the same AdamW (decoupled weight decay on matrices only), the same learning-rate schedule,
gradient clipping **per model** (a global clip would let one model's large gradient shrink the
others' steps), and one seeded ``torch.Generator`` per model for its data order. The per-model
losses are **summed** before ``backward`` (not averaged) so that each model receives exactly its
own gradient. In float64 the per-model loss curves equal sequential training to ~1e-12 (tested).

Group-by-shape rule: a family holds models whose parameters have identical shapes. Models of
different widths go into different families, one per width (:func:`group_by_shape`); padding
every model to the widest wastes the gain (a 64-wide model padded to 256 costs 16× its FLOPs).

Per model: initial weights (``init_seeds``), data order (``TrainConfig.seed``), learning rate and
weight decay. Shared by the family: steps, batch size, schedule shape, betas, clipping threshold.

Used by: chapter 03 (data pruning: the models of one size and seed, one per kept subset, train as
one family), chapter 04 (critical batch size: every batch size's learning rates × seeds train as one
family) and ``benchmarks/bench_families.py``.
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .models import MLP, MLPConfig, Transformer, TransformerConfig
from .train import (TrainConfig, configure_threads, default_device, learning_rate, progress_bar,
                    seeded)

# --------------------------------------------------------------------------------------------
# Stacked models
# --------------------------------------------------------------------------------------------


class StackedMLP(nn.Module):
    """K MLPs of one :class:`MLPConfig` as stacked tensors, evaluated with ``torch.baddbmm``.

    Parameters: ``weights[i]`` of shape (K, fan_in, fan_out) and ``biases[i]`` of shape
    (K, 1, fan_out) — the transpose of ``nn.Linear``'s (fan_out, fan_in), so that
    ``x @ W`` needs no transpose. ``forward`` takes (K, B, input_dim), one batch per model, or
    (B, input_dim) shared by all models, and returns logits of shape (K, B, n_classes).
    """

    def __init__(self, config: MLPConfig, n_models: int):
        super().__init__()
        self.config = config
        self.n_models = n_models
        widths = [config.input_dim, *config.hidden, config.n_classes]
        self.weights = nn.ParameterList(
            nn.Parameter(torch.zeros(n_models, a, b)) for a, b in zip(widths[:-1], widths[1:]))
        self.biases = nn.ParameterList(
            nn.Parameter(torch.zeros(n_models, 1, b)) for b in widths[1:])

    @classmethod
    def from_models(cls, models: Sequence[MLP]) -> "StackedMLP":
        """Stack copies of ``models`` (all with the same config); the originals are untouched."""
        config = models[0].config
        if any(m.config != config for m in models):
            raise ValueError("StackedMLP.from_models: every model must have the same MLPConfig "
                             "(group models by shape first, see group_by_shape)")
        stacked = cls(config, len(models))
        linears = [[layer for layer in m.net if isinstance(layer, nn.Linear)] for m in models]
        ref = next(models[0].parameters())
        stacked.to(dtype=ref.dtype, device=ref.device)
        with torch.no_grad():
            for i in range(len(stacked.weights)):
                stacked.weights[i].copy_(torch.stack([lin[i].weight.T for lin in linears]))
                stacked.biases[i].copy_(torch.stack([lin[i].bias[None, :] for lin in linears]))
        return stacked

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:  # (B, in) shared by all models -> (K, B, in) without copying
            x = x.unsqueeze(0).expand(self.n_models, -1, -1)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b, x, w)  # (K, B, fan_in) @ (K, fan_in, fan_out) + (K, 1, fan_out)
            if i < last:
                x = F.relu(x)
        return x

    def decay_mask(self) -> list[bool]:
        """Which parameters get weight decay: the matrices (as in :func:`train.make_optimizer`)."""
        return [True] * len(self.weights) + [False] * len(self.biases)

    def ordered_parameters(self) -> list[nn.Parameter]:
        return [*self.weights, *self.biases]

    def member(self, k: int) -> MLP:
        """Model ``k`` as an ordinary :class:`MLP` (a copy)."""
        model = MLP(self.config).to(dtype=self.weights[0].dtype, device=self.weights[0].device)
        linears = [layer for layer in model.net if isinstance(layer, nn.Linear)]
        with torch.no_grad():
            for lin, w, b in zip(linears, self.weights, self.biases):
                lin.weight.copy_(w[k].T)
                lin.bias.copy_(b[k, 0])
        return model


class VmapFamily(nn.Module):
    """K copies of any module, stacked with ``torch.func.stack_module_state`` and run with ``vmap``.

    ``forward(*inputs)`` takes inputs with a leading model dimension K (one batch per model) and
    returns outputs with a leading K. Buffers are stacked too (not trained). Slower than
    :class:`StackedMLP` for MLPs, but works for every architecture.
    """

    def __init__(self, models: Sequence[nn.Module]):
        super().__init__()
        from torch.func import stack_module_state

        shapes = [tuple((n, tuple(p.shape)) for n, p in m.named_parameters()) for m in models]
        if any(s != shapes[0] for s in shapes):
            raise ValueError("VmapFamily: every model must have the same parameter names and shapes")
        params, buffers = stack_module_state(list(models))
        self.n_models = len(models)
        self._names = list(params.keys())
        self.stacked = nn.ParameterList(nn.Parameter(params[n].detach().clone()) for n in self._names)
        self._buffer_names = list(buffers.keys())
        for i, n in enumerate(self._buffer_names):
            self.register_buffer(f"_buffer_{i}", buffers[n].detach().clone())
        # The template whose parameters functional_call replaces. Not moved to the meta device:
        # Module.to("meta") re-creates each parameter and so unties tied weights (e.g. a
        # transformer's embedding and output layer), which functional_call must see tied.
        base = copy.deepcopy(models[0]).requires_grad_(False)
        self._base = [base]  # a list, so that the template is not a registered submodule

    def _buffers_dict(self) -> dict:
        return {n: getattr(self, f"_buffer_{i}") for i, n in enumerate(self._buffer_names)}

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        from torch.func import functional_call, vmap

        base = self._base[0]
        params = dict(zip(self._names, self.stacked))

        def one(p, b, *xs):
            return functional_call(base, (p, b), xs)

        with warnings.catch_warnings():
            # torch 2.13 has no vmap batching rule for CPU scaled-dot-product attention: vmap runs
            # that one op model by model (everything else stays batched) and warns on every call.
            warnings.filterwarnings("ignore", message=".*not yet implemented the batching rule for "
                                                      "aten::_scaled_dot_product")
            return vmap(one, randomness="different")(params, self._buffers_dict(), *inputs)

    def decay_mask(self) -> list[bool]:
        return [p.dim() >= 3 for p in self.stacked]  # the member's matrices have dim >= 2

    def ordered_parameters(self) -> list[nn.Parameter]:
        return list(self.stacked)

    def member_state(self, k: int) -> dict:
        """Model ``k``'s parameters and buffers by name (copies), for ``load_state_dict``. A tied
        parameter appears once, under its first name."""
        state = {n: p[k].detach().clone() for n, p in zip(self._names, self.stacked)}
        state.update({n: b[k].detach().clone() for n, b in self._buffers_dict().items()})
        return state

    def member(self, k: int) -> nn.Module:
        """Model ``k`` as an ordinary module (a copy of the template with its weights)."""
        model = copy.deepcopy(self._base[0]).requires_grad_(True).to(self.stacked[0].device)
        state = self.member_state(k)
        missing, unexpected = model.load_state_dict(state, strict=False)
        tied = set(model.state_dict()) - set(state)  # second names of tied parameters
        if unexpected or set(missing) - tied:
            raise RuntimeError(f"VmapFamily.member: unexpected {unexpected}, missing {missing}")
        return model


class StackedTransformer(nn.Module):
    """K decoder-only transformers of one :class:`~scalinglab.models.TransformerConfig`, written by hand with
    batched matrix products (``torch.baddbmm``) — the transformer's counterpart of :class:`StackedMLP`.

    Every weight has a leading model dimension K; a linear layer's weight is stored as (K, fan_in, fan_out)
    (the transpose of ``nn.Linear``'s) and its bias as (K, 1, fan_out). Attention runs once for all models,
    with the models folded into the batch: (K·B, n_head, T, head_dim). ``forward(idx)`` takes token ids of
    shape (K, B, T), one batch per model, and returns logits of shape (K, B, T, vocab_size). Model k
    computes exactly what :class:`~scalinglab.models.Transformer` computes with its weights (tested in
    float64: the same loss curves as training the K models one after another). Tied embeddings stay tied.
    """

    def __init__(self, config: TransformerConfig, n_models: int):
        super().__init__()
        self.config = config
        self.n_models = K = n_models
        C, V, T, L = config.d_model, config.vocab_size, config.context_length, config.n_layer
        H = config.mlp_ratio * C

        def param(*shape):
            return nn.Parameter(torch.zeros(K, *shape))

        self.token_embedding = param(V, C)
        self.position_embedding = param(T, C)
        self.unembedding = None if config.tie_embeddings else param(C, V)
        self.ln_attn_w, self.ln_attn_b = nn.ParameterList(param(C) for _ in range(L)), nn.ParameterList(param(C) for _ in range(L))
        self.qkv_w, self.qkv_b = nn.ParameterList(param(C, 3 * C) for _ in range(L)), nn.ParameterList(param(1, 3 * C) for _ in range(L))
        self.proj_w, self.proj_b = nn.ParameterList(param(C, C) for _ in range(L)), nn.ParameterList(param(1, C) for _ in range(L))
        self.ln_mlp_w, self.ln_mlp_b = nn.ParameterList(param(C) for _ in range(L)), nn.ParameterList(param(C) for _ in range(L))
        self.up_w, self.up_b = nn.ParameterList(param(C, H) for _ in range(L)), nn.ParameterList(param(1, H) for _ in range(L))
        self.down_w, self.down_b = nn.ParameterList(param(H, C) for _ in range(L)), nn.ParameterList(param(1, C) for _ in range(L))
        self.ln_final_w, self.ln_final_b = param(C), param(C)

    # (stacked name, per-block?, the Transformer parameter it holds, transpose?)
    _LAYOUT = [("qkv_w", "attn.qkv.weight", True), ("qkv_b", "attn.qkv.bias", False),
               ("proj_w", "attn.proj.weight", True), ("proj_b", "attn.proj.bias", False),
               ("up_w", "mlp.up.weight", True), ("up_b", "mlp.up.bias", False),
               ("down_w", "mlp.down.weight", True), ("down_b", "mlp.down.bias", False),
               ("ln_attn_w", "ln_attn.weight", False), ("ln_attn_b", "ln_attn.bias", False),
               ("ln_mlp_w", "ln_mlp.weight", False), ("ln_mlp_b", "ln_mlp.bias", False)]

    def _pairs(self, model: Transformer):
        """(stacked tensor slot, the member's tensor as stored here) for every parameter of ``model``."""
        state = dict(model.named_parameters(remove_duplicate=False))
        out = [(self.token_embedding, state["token_embedding.weight"]),
               (self.position_embedding, state["position_embedding.weight"]),
               (self.ln_final_w, state["ln_final.weight"]), (self.ln_final_b, state["ln_final.bias"])]
        if self.unembedding is not None:
            out.append((self.unembedding, state["unembedding.weight"].T))
        for i in range(self.config.n_layer):
            for name, member, transpose in self._LAYOUT:
                t = state[f"blocks.{i}.{member}"]
                if name.endswith("_b") and not name.startswith("ln"):
                    t = t[None, :]
                out.append((getattr(self, name)[i], t.T if transpose else t))
        return out

    @classmethod
    def from_models(cls, models: Sequence[Transformer]) -> "StackedTransformer":
        """Stack copies of ``models`` (all with the same config); the originals are untouched."""
        config = models[0].config
        if any(m.config != config for m in models):
            raise ValueError("StackedTransformer.from_models: every model must have the same TransformerConfig "
                             "(group models by shape first, see group_by_shape)")
        stacked = cls(config, len(models))
        ref = next(models[0].parameters())
        stacked.to(dtype=ref.dtype, device=ref.device)
        with torch.no_grad():
            per_model = [stacked._pairs(m) for m in models]
            for j, (slot, _) in enumerate(per_model[0]):
                slot.copy_(torch.stack([pairs[j][1] for pairs in per_model]))
        return stacked

    def member(self, k: int) -> Transformer:
        """Model ``k`` as an ordinary :class:`~scalinglab.models.Transformer` (a copy)."""
        model = Transformer(self.config).to(dtype=self.token_embedding.dtype, device=self.token_embedding.device)
        with torch.no_grad():
            for slot, t in self._pairs(model):
                t.copy_(slot[k])  # t is a view (or transposed view) of the member's parameter
        return model

    @staticmethod
    def _layer_norm(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        # x: (K, B, T, C); w, b: (K, C) -> broadcast over (B, T)
        x = F.layer_norm(x, x.shape[-1:], eps=1e-5)
        return x * w[:, None, None, :] + b[:, None, None, :]

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        K, B, T = idx.shape
        cfg = self.config
        if K != self.n_models:
            raise ValueError(f"StackedTransformer: a batch for {K} models, the family has {self.n_models}")
        if T > cfg.context_length:
            raise ValueError(f"sequence length {T} exceeds context_length {cfg.context_length}")
        C, V, nh = cfg.d_model, cfg.vocab_size, cfg.n_head
        offsets = (torch.arange(K, device=idx.device) * V).view(K, 1, 1)
        x = F.embedding(idx + offsets, self.token_embedding.view(K * V, C))  # (K, B, T, C)
        x = x + self.position_embedding[:, None, :T, :]
        x = F.dropout(x, cfg.dropout, self.training)
        for i in range(cfg.n_layer):
            h = self._layer_norm(x, self.ln_attn_w[i], self.ln_attn_b[i]).reshape(K, B * T, C)
            qkv = torch.baddbmm(self.qkv_b[i], h, self.qkv_w[i])  # (K, B·T, 3C)
            q, k, v = qkv.view(K * B, T, 3 * C).split(C, dim=2)  # each (K·B, T, C)
            # (K·B, T, C) -> (K·B, n_head, T, head_dim)
            q, k, v = (t.view(K * B, T, nh, C // nh).transpose(1, 2) for t in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                               dropout_p=cfg.dropout if self.training else 0.0)
            y = y.transpose(1, 2).reshape(K, B * T, C)  # (K·B, n_head, T, hd) -> (K, B·T, C)
            x = x + torch.baddbmm(self.proj_b[i], y, self.proj_w[i]).view(K, B, T, C)
            h = self._layer_norm(x, self.ln_mlp_w[i], self.ln_mlp_b[i]).reshape(K, B * T, C)
            u = F.gelu(torch.baddbmm(self.up_b[i], h, self.up_w[i]))  # (K, B·T, mlp_ratio·C)
            u = torch.baddbmm(self.down_b[i], u, self.down_w[i]).view(K, B, T, C)
            x = x + F.dropout(u, cfg.dropout, self.training)
        h = self._layer_norm(x, self.ln_final_w, self.ln_final_b).reshape(K, B * T, C)
        out = self.token_embedding.transpose(1, 2) if self.unembedding is None else self.unembedding  # (K, C, V)
        return torch.bmm(h, out).view(K, B, T, V)

    def ordered_parameters(self) -> list[nn.Parameter]:
        return [slot for slot, _ in self._pairs_of_shapes()]

    def _pairs_of_shapes(self):
        # the stacked slots in _pairs order, with whether the member's tensor is a matrix (decayed)
        slots = [(self.token_embedding, True), (self.position_embedding, True), (self.ln_final_w, False),
                 (self.ln_final_b, False)]
        if self.unembedding is not None:
            slots.append((self.unembedding, True))
        for i in range(self.config.n_layer):
            for name, _, transpose in self._LAYOUT:
                slots.append((getattr(self, name)[i], transpose))
        return slots

    def decay_mask(self) -> list[bool]:
        """Weight decay on the members' matrices only (weights and embeddings), as :func:`train.make_optimizer`."""
        return [matrix for _, matrix in self._pairs_of_shapes()]


def build_transformer_family(config: TransformerConfig, init_seeds: Sequence[int], dtype=torch.float32,
                             device: torch.device | str | None = None) -> StackedTransformer:
    """A :class:`StackedTransformer` whose model k has exactly the initial weights of
    ``seeded(lambda: Transformer(config), init_seeds[k])`` — the same as a sequential run would use."""
    device = torch.device(device) if device is not None else default_device()
    models = [seeded(lambda: Transformer(config), int(s)).to(dtype=dtype) for s in init_seeds]
    return StackedTransformer.from_models(models).to(device)


def build_mlp_family(config: MLPConfig, init_seeds: Sequence[int], dtype=torch.float32,
                     device: torch.device | str | None = None) -> StackedMLP:
    """A :class:`StackedMLP` whose model k has exactly the initial weights of
    ``seeded(lambda: MLP(config), init_seeds[k])`` — the same as a sequential run would use."""
    device = torch.device(device) if device is not None else default_device()
    models = [seeded(lambda: MLP(config), int(s)).to(dtype=dtype) for s in init_seeds]
    return StackedMLP.from_models(models).to(device)


def group_by_shape(configs: Sequence, key: Callable = lambda c: c) -> dict:
    """Indices of ``configs`` grouped by shape: ``{shape_key: [i, ...]}`` in first-seen order.

    The rule: models share a family only when every parameter has the same shape (for the MLP,
    the same :class:`MLPConfig`); different widths train as separate families.
    """
    groups: dict = {}
    for i, c in enumerate(configs):
        groups.setdefault(key(c), []).append(i)
    return groups


# --------------------------------------------------------------------------------------------
# Optimiser and clipping for stacked parameters
# --------------------------------------------------------------------------------------------


def clip_grad_norm_per_model(params: Sequence[torch.Tensor], max_norm: float) -> torch.Tensor:
    """Clip each model's gradient (leading dimension K) to norm ``max_norm``; return the K norms.

    Model k's norm is taken over all of its parameters, exactly as
    ``torch.nn.utils.clip_grad_norm_`` does for one model: the norm of each parameter, then the
    norm of those norms; scale = max_norm / (norm + 1e-6), capped at 1. Gradients that need no
    scaling are left untouched (torch multiplies them by 1.0, which changes nothing).
    """
    grads = [p.grad for p in params if p.grad is not None]
    K = grads[0].shape[0]
    per_param = torch.stack([torch.linalg.vector_norm(g.reshape(K, -1), dim=1) for g in grads])  # (n, K)
    norms = torch.linalg.vector_norm(per_param, dim=0)  # (K,)
    scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    if bool((scale < 1.0).any()):
        for g in grads:
            g.mul_(scale.view(K, *([1] * (g.dim() - 1))))
    return norms


class StackedAdamW:
    """AdamW for stacked parameters with a learning rate and weight decay per model.

    The update is PyTorch's ``AdamW`` (Loshchilov & Hutter 2019, decoupled decay) applied to each
    model's slice: p ← p·(1 − lr_k·wd_k); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
    p ← p − lr_k · m̂ / (√v̂ + ε), with bias-corrected m̂, v̂. Weight decay applies only where
    ``decay_mask`` is true (matrices).

    Speed: an element-wise AdamW written in PyTorch makes ~11 passes over every tensor, which on
    a CPU costs more than the forward and backward of a small MLP. So the update runs in PyTorch's
    fused AdamW kernel (``torch._fused_adamw_``, the one behind ``AdamW(fused=True)``: one pass).
    That kernel takes one learning rate per call, hence two paths:

    - every model active with the same lr and weight decay (seeds of one configuration): one call
      on the whole stacked tensors — the same arithmetic as ``AdamW(fused=True)`` model by model;
    - otherwise: the kernel runs with lr = 1 and no decay, giving p′ = p − u (u the Adam
      direction); then p ← lr_k·p′ + (1 − lr_k − lr_k·wd_k)·p = p − lr_k·wd_k·p − lr_k·u,
      two broadcast passes. A model with ``active[k]`` false gets lr 0 and a zero gradient, so its
      weights stay bit-for-bit unchanged (e.g. after it diverged).
    """

    def __init__(self, params: Sequence[torch.Tensor], decay_mask: Sequence[bool],
                 betas=(0.9, 0.95), eps: float = 1e-8):
        self.params = list(params)
        self.decay_mask = list(decay_mask)
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.n_models = self.params[0].shape[0]
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        # the step count, read by the kernel from a float32 scalar tensor (as torch.optim keeps it)
        self._step = torch.zeros((), dtype=torch.float32, device=self.params[0].device)

    def _fused(self, idx: list[int], lr: float, weight_decay: float) -> None:
        if not idx:
            return
        torch._fused_adamw_(
            [self.params[i] for i in idx], [self.params[i].grad for i in idx],
            [self.exp_avg[i] for i in idx], [self.exp_avg_sq[i] for i in idx], [],
            [self._step] * len(idx), lr=lr, beta1=self.beta1, beta2=self.beta2,
            weight_decay=weight_decay, eps=self.eps, amsgrad=False, maximize=False)

    @torch.no_grad()
    def step(self, lr: Sequence[float], weight_decay: Sequence[float],
             active: Sequence[bool] | None = None) -> None:
        """One update with model k's learning rate ``lr[k]`` and decay ``weight_decay[k]``;
        models with ``active[k]`` false are left unchanged."""
        lr = [float(v) for v in (lr.tolist() if isinstance(lr, torch.Tensor) else lr)]
        weight_decay = [float(v) for v in (weight_decay.tolist() if isinstance(weight_decay, torch.Tensor)
                                           else weight_decay)]
        K = self.n_models
        active = [True] * K if active is None else [bool(a) for a in (
            active.tolist() if isinstance(active, torch.Tensor) else active)]
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        decay = [i for i in live if self.decay_mask[i]]
        no_decay = [i for i in live if not self.decay_mask[i]]
        self._step += 1
        if all(active) and len(set(lr)) == 1 and len(set(weight_decay)) == 1:
            self._fused(decay, lr[0], weight_decay[0])
            self._fused(no_decay, lr[0], 0.0)
            return
        dev, dtype = self.params[0].device, self.params[0].dtype
        lr_k = torch.tensor([l if a else 0.0 for l, a in zip(lr, active)], dtype=dtype, device=dev)
        keep = {True: 1.0 - lr_k * (1.0 + torch.tensor(weight_decay, dtype=dtype, device=dev)),
                False: 1.0 - lr_k}
        frozen = None if all(active) else torch.tensor([not a for a in active], device=dev)
        before = [self.params[i].detach().clone() for i in live]
        for i in live:
            view = (K,) + (1,) * (self.params[i].dim() - 1)
            if frozen is not None:  # a zero gradient keeps the direction u finite
                self.params[i].grad.masked_fill_(frozen.view(view), 0.0)
        self._fused(live, 1.0, 0.0)  # p' = p - u
        for i, p_old in zip(live, before):
            p = self.params[i]
            view = (K,) + (1,) * (p.dim() - 1)
            p.mul_(lr_k.view(view)).addcmul_(p_old, keep[self.decay_mask[i]].view(view))


# --------------------------------------------------------------------------------------------
# Training loop
# --------------------------------------------------------------------------------------------


def stacked_classification_loss(family: nn.Module, batch) -> torch.Tensor:
    """Per-model mean cross-entropy, shape (K,), of a stacked batch (x: (K, B, in), y: (K, B))."""
    inputs, labels = batch
    logits = family(inputs)  # (K, B, C)
    K, B, C = logits.shape
    per_example = F.cross_entropy(logits.reshape(K * B, C), labels.reshape(K * B), reduction="none")
    return per_example.view(K, B).mean(dim=1)


def stacked_lm_loss(family: nn.Module, batch) -> torch.Tensor:
    """Per-model mean next-token cross-entropy, shape (K,), of a stacked language-model batch
    (inputs (K, B, T), targets (K, B, T) with -100 where no token counts): model k's value is
    :func:`scalinglab.models.lm_loss` of its own batch. For :class:`VmapFamily` of language models
    (tested; no chapter uses it yet, see the module notes on speed)."""
    inputs, targets = batch
    logits = family(inputs)  # (K, B, T, V)
    K, V = logits.shape[0], logits.shape[-1]
    per_token = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=-100,
                                reduction="none").view(K, -1)  # (K, B·T), 0 where ignored
    counted = (targets.view(K, -1) != -100).sum(dim=1)  # (K,)
    return per_token.sum(dim=1) / counted


@dataclass
class FamilyResult:
    """What a family run produced, per model (lists of length K)."""

    histories: list  # per model: rows {step, examples, train_loss_ema, lr, eval metrics...}
    train_loss: list  # per model: every step's training loss
    diverged: list  # per model: True if its loss became non-finite (it was frozen from then on)
    wall_time_s: float
    steps: int  # steps actually run (fewer than configured when stopped early)

    def to_dict(self) -> dict:
        return asdict(self)


def _check_family_configs(configs: Sequence[TrainConfig]) -> None:
    shared = ("steps", "batch_size", "beta1", "beta2", "warmup_steps", "schedule", "min_lr_ratio",
              "grad_clip", "eval_every", "cooldown_fraction", "cooldown_shape", "step_milestones", "step_factor")
    for name in shared:
        values = {getattr(c, name) for c in configs}
        if len(values) > 1:
            raise ValueError(f"train_family: TrainConfig.{name} must be the same for every model of a "
                             f"family, got {sorted(values, key=str)}")


def _stack_batches(batches: list):
    first = batches[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(batches)
    if isinstance(first, (tuple, list)):
        return type(first)(_stack_batches([b[i] for b in batches]) for i in range(len(first)))
    raise TypeError(f"batch_fn must return tensors or tuples of tensors, got {type(first)}")


def train_family(
    family: nn.Module,
    configs: Sequence[TrainConfig],
    batch_fn: Callable[[torch.Generator], object] | None,
    loss_fn: Callable[[nn.Module, object], torch.Tensor] = stacked_classification_loss,
    eval_fn: Callable[[nn.Module], dict] | None = None,
    eval_steps: Sequence[int] | None = None,
    stop_fn: Callable[[list], bool] | None = None,
    device: torch.device | str | None = None,
    progress: bool = False,
    desc: str = "family",
    stacked_batch_fn: Callable[[], object] | None = None,
    n_threads: int | None = None,
) -> FamilyResult:
    """Train the K models of ``family`` (a :class:`StackedMLP` or :class:`VmapFamily`) in place.

    ``configs[k]`` is model k's :class:`TrainConfig`; ``batch_fn(generator)`` draws ONE model's
    batch (as for :func:`scalinglab.train.train`) and is called once per model per step with that
    model's generator, seeded from ``configs[k].seed``; the K batches are stacked along a new
    leading dimension. ``loss_fn(family, stacked_batch)`` returns the K per-model losses.
    ``eval_fn(family)`` returns ``{name: tensor of shape (K,)}`` (run under ``no_grad``, eval mode)
    at the steps in ``eval_steps`` (default: every ``eval_every`` steps and the last). After each
    evaluation ``stop_fn(histories)`` may end training early (e.g. once every target is reached).
    With equal configs this gives, model by model, the same numbers as :func:`train.train`.

    Instead of ``batch_fn``, ``stacked_batch_fn()`` may return the whole stacked batch at once
    (leading dimension K): faster when K is large and models share data streams (e.g. models that
    differ only in learning rate see the same batches — common random numbers).
    ``n_threads`` overrides :func:`scalinglab.devices.configure_threads` on the CPU (tiny families
    run fastest on one thread, above all on a busy machine).
    """
    if (batch_fn is None) == (stacked_batch_fn is None):
        raise ValueError("train_family: give exactly one of batch_fn and stacked_batch_fn")
    configs = list(configs)
    K = len(configs)
    if K != getattr(family, "n_models", K):
        raise ValueError(f"train_family: {K} configs for a family of {family.n_models} models")
    _check_family_configs(configs)
    cfg0 = configs[0]
    device = torch.device(device) if device is not None else default_device()
    if device.type == "cpu":
        configure_threads(n_threads)
    family.to(device)
    params = family.ordered_parameters()
    optimizer = StackedAdamW(params, family.decay_mask(), betas=(cfg0.beta1, cfg0.beta2))
    weight_decay = [c.weight_decay for c in configs]
    generators = [torch.Generator().manual_seed(c.seed) for c in configs]
    if eval_steps is None:
        every = cfg0.eval_every
        eval_steps = set(range(every, cfg0.steps + 1, every)) if every else set()
    eval_steps = {int(s) for s in eval_steps if 1 <= s <= cfg0.steps} | {cfg0.steps}

    histories: list[list[dict]] = [[] for _ in range(K)]
    losses: list[list[float]] = [[] for _ in range(K)]
    active = [True] * K  # false once a model's loss is not finite: it is frozen from then on
    active_mask = None  # the same as a tensor, built when the first model drops out
    ema = [None] * K
    start = time.perf_counter()
    family.train()
    bar = progress_bar(cfg0.steps, desc, enabled=progress)
    steps_run = 0
    for step in range(cfg0.steps):
        lrs = [learning_rate(step, c) for c in configs]
        if stacked_batch_fn is not None:
            batch = stacked_batch_fn()
        else:
            batch = _stack_batches([batch_fn(g) for g in generators])
        batch = batch.to(device) if isinstance(batch, torch.Tensor) else type(batch)(b.to(device) for b in batch)
        per_model = loss_fn(family, batch)  # (K,)
        for p in params:
            p.grad = None
        # Sum, not mean: d(sum)/d(theta_k) = d(loss_k)/d(theta_k), model k's own gradient.
        objective = per_model if active_mask is None else torch.where(
            active_mask, per_model, torch.zeros_like(per_model))  # frozen models get no gradient
        objective.sum().backward()
        if cfg0.grad_clip:
            clip_grad_norm_per_model(params, cfg0.grad_clip)
        values = per_model.detach().cpu().tolist()
        if not all(math.isfinite(v) for v in values):
            active = [a and math.isfinite(v) for a, v in zip(active, values)]
            active_mask = torch.tensor(active, device=device)
        optimizer.step(lrs, weight_decay, active)
        for k, value in enumerate(values):
            losses[k].append(value)
            if math.isfinite(value):
                ema[k] = value if ema[k] is None else 0.9 * ema[k] + 0.1 * value
        bar.update(1)
        steps_run = step + 1
        if steps_run in eval_steps:
            metrics = {}
            if eval_fn is not None:
                family.eval()
                with torch.no_grad():
                    metrics = {n: v.detach().cpu().tolist() for n, v in eval_fn(family).items()}
                family.train()
            for k in range(K):
                row = {"step": steps_run, "examples": steps_run * cfg0.batch_size,
                       "train_loss_ema": ema[k] if active[k] else float("nan"), "lr": lrs[k]}
                row.update({n: (v[k] if active[k] else float("nan")) for n, v in metrics.items()})
                histories[k].append(row)
            if stop_fn is not None and stop_fn(histories):
                break
    bar.close()
    return FamilyResult(histories=histories, train_loss=losses, diverged=[not a for a in active],
                        wall_time_s=time.perf_counter() - start, steps=steps_run)
