"""Knowledge capacity: how many bits about a table of random facts a model holds, and per parameter.

A table of random facts (:class:`scalinglab.data.facts.FactSet`) gives each value uniformly one of K
choices, so a value carries log₂ K bits that only memorisation can recover, and the information a model
has stored about the table can be read off its losses. This module holds that accounting:

- :func:`value_ce_bits`: the cross-entropy in bits of every value under a model (its full next-token
  distribution over the vocabulary, given the name and the earlier values);
- :func:`stored_bits`: Σ over facts of the saving log₂ K − CE over guessing. Unclipped (``clip=False``)
  the sum is a lower bound on the information the weights hold about the values: a code that uses the
  model spends Σ CE bits on them, so the model must supply the rest — the papers' loss-based measure
  (Allen-Zhu & Li 2024's lower bound on the bits stored; Morris et al. 2025's compression argument).
  Clipped at 0 per fact (the default), confident errors on facts the model does not know cannot cancel
  the facts it does know, but chance savings on unknown facts are counted;
- :func:`net_stored_bits`: the clipped sum on the training facts minus the same sum on a **control**
  table — the same names with values drawn afresh, never trained on — which removes those chance
  savings; :func:`evaluate_capacity` reports all of these for one model, with its accuracy;
- :func:`bits_per_parameter`: stored bits over a parameter count, the capacity ratio of both papers
  (who count all parameters);
- :func:`quantize_weights`: a copy of a model with its weight matrices rounded to b-bit symmetric
  integers (one scale per tensor), to measure how much of the stored knowledge survives int8 and int4
  quantisation, as Allen-Zhu & Li ask.

A model is any ``torch.nn.Module`` that maps token ids (b, T) to next-token logits (b, T, V) over the
fact table's vocabulary.

Papers: Allen-Zhu, Z. & Li, Y. (2024). "Physics of Language Models: Part 3.3, Knowledge Capacity Scaling
Laws." arXiv:2404.05405 (ICLR 2025). Morris, J. X., Sitawarin, C., Guo, C., Kokhlikyan, N., Suh, G. E.,
Rush, A. M., Chaudhuri, K. & Mahloujifar, S. (2025). "How much do language models memorize?"
arXiv:2505.24832.

Used by: chapter 06 (knowledge capacity).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .data.facts import IGNORE, FactSet, lm_tensors


def value_ce_bits(model: nn.Module, facts: FactSet, batch_size: int = 1024) -> np.ndarray:
    """(individuals, attributes) cross-entropy in bits of each value under ``model`` (its full
    next-token distribution, given the name and the earlier values). Used by chapter 06."""
    inputs, targets = lm_tensors(facts)
    try:
        device = next(model.parameters()).device
    except StopIteration:  # a parameter-free model (e.g. a lookup table in a test)
        device = torch.device("cpu")
    out = []
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for x, y in zip(inputs.split(batch_size), targets.split(batch_size)):
            logp = F.log_softmax(model(x.to(device)).float(), dim=-1)
            picked = logp.gather(-1, y.clamp(min=0).to(device).unsqueeze(-1)).squeeze(-1)
            ce = -picked[:, facts.name_length - 1:] / math.log(2)  # the value positions
            out.append(ce.cpu().numpy())
    model.train(was_training)
    ce = np.concatenate(out, axis=0).astype(np.float64)
    assert (targets[:, facts.name_length - 1:] != IGNORE).all()
    return ce


def stored_bits(ce_bits, bits_per_fact: float, clip: bool = True) -> float:
    """Σ over facts of (log₂ K − CE in bits), each term clipped at 0 (``clip=True``); unclipped, the
    sum is a lower bound on the information the model holds about the values. Used by chapter 06."""
    saving = bits_per_fact - np.asarray(ce_bits, dtype=np.float64)
    if clip:
        saving = np.clip(saving, 0.0, None)
    return float(saving.sum())


def net_stored_bits(train_ce_bits, control_ce_bits, bits_per_fact: float) -> float:
    """Clipped stored bits on the training facts minus the same on control facts (the same names,
    values never seen): the chance savings that clipping counts are removed. Used by chapter 06."""
    return stored_bits(train_ce_bits, bits_per_fact) - stored_bits(control_ce_bits, bits_per_fact)


def bits_per_parameter(bits: float, n_params: int) -> float:
    """Stored bits divided by a parameter count. Used by chapter 06."""
    if n_params <= 0:
        raise ValueError(f"bits_per_parameter: n_params must be positive, got {n_params}")
    return float(bits) / float(n_params)


def quantize_weights(model: nn.Module, bits: int) -> nn.Module:
    """A copy of ``model`` whose weight matrices and embeddings (every parameter with ≥ 2 dimensions)
    are rounded to ``bits``-bit symmetric integers with one scale per tensor (max |w| ↦ 2^(bits−1) − 1);
    biases and layer norms stay in floating point. Used by chapter 06 (int8, int4)."""
    import copy

    if bits < 2:
        raise ValueError(f"quantize_weights: bits must be >= 2, got {bits}")
    levels = 2 ** (bits - 1) - 1
    quantized = copy.deepcopy(model)
    with torch.no_grad():
        for p in quantized.parameters():
            if p.dim() >= 2:
                scale = p.abs().max() / levels
                if scale > 0:
                    p.copy_(torch.round(p / scale).clamp(-levels, levels) * scale)
    return quantized


def evaluate_capacity(model: nn.Module, facts: FactSet, control: FactSet) -> dict:
    """Stored bits of ``model`` on ``facts`` (clipped, unclipped, control, net). Used by chapter 06."""
    train_ce = value_ce_bits(model, facts)
    control_ce = value_ce_bits(model, control)
    b = facts.bits_per_fact
    return {"stored_bits": stored_bits(train_ce, b), "stored_bits_unclipped": stored_bits(train_ce, b, clip=False),
            "control_bits": stored_bits(control_ce, b), "net_bits": net_stored_bits(train_ce, control_ce, b),
            "accuracy": float((train_ce < 1.0).mean())}
