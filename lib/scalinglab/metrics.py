"""Scoring a language model's answers: the metrics of "emergent" abilities, and PassUntil.

Schaeffer, Miranda & Koyejo (2023, "Are Emergent Abilities of Large Language Models a Mirage?",
NeurIPS) argue that a sharp, unpredictable jump of a task metric with model scale can come from the
metric rather than from the model: a model's per-token probability p(N) of the right token improves
smoothly, but a metric that needs every one of L tokens right (exact match ≈ p^L) turns that into a
jump, while a metric that counts wrong tokens (token edit distance ≈ L(1 − p)) stays smooth. This
module scores ONE fixed set of model outputs with every metric of the paper:

- decoding, batched over prompts of one length: :func:`greedy_decode` and :func:`sample_answers`
  (ancestral sampling, its noise from a CPU generator);
- from greedy outputs: :func:`exact_match`, :func:`token_edit_distance` (rapidfuzz Levenshtein);
- teacher-forced: :func:`target_token_probs` (p of each target token given the right prefix) and
  its product over the answer — the probability that sampling at temperature 1 writes the answer;
- on a multiple-choice variant (:func:`make_choices`): :func:`choice_log_probs`,
  :func:`choice_probabilities`, :func:`multiple_choice_grade` and :func:`brier_score`;
- the paper's mathematical model of independent tokens (:func:`per_token_probability`,
  :func:`predicted_exact_match`, :func:`predicted_edit_distance`) and BIG-Bench's emergence score
  (:func:`emergence_score`, Srivastava et al. 2022), with which the paper measures sharpness.

PassUntil, after Hu et al. (2024, "Unlock predictable scaling from emergent abilities"), resolves
pass rates far below 1/n that n greedy answers cannot show: :func:`pass_until` samples each problem
until its first right answer (a :class:`PassUntilResult`), and :func:`expected_pass_until_successes`
is what the exact sequence probabilities predict for it.

A model is any ``torch.nn.Module`` that maps token ids (b, T) to next-token logits (b, T, V);
prompts are (n, P) and answers (n, L) integer tensors.

Used by: chapter 01 (emergence).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------
# Model outputs (batched over problems; one forward pass per answer token)
# ---------------------------------------------------------------------------------------------


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _decode(model: nn.Module, prompts: torch.Tensor, answer_length: int, batch_size: int,
            next_token) -> torch.Tensor:
    """Extend every prompt by ``answer_length`` tokens chosen by ``next_token(logits (b, V)) -> (b, 1)``."""
    model.eval()
    device = _device_of(model)
    out = []
    for start in range(0, len(prompts), batch_size):
        seq = prompts[start: start + batch_size].to(device)  # (b, P)
        for _ in range(answer_length):
            logits = model(seq)[:, -1, :]  # (b, V)
            seq = torch.cat([seq, next_token(logits).to(device)], dim=1)  # (b, P + t + 1)
        out.append(seq[:, prompts.shape[1]:].cpu())
    return torch.cat(out)


@torch.no_grad()
def greedy_decode(model: nn.Module, prompts: torch.Tensor, answer_length: int,
                  batch_size: int = 4096) -> torch.Tensor:
    """Greedy answers: (n, prompt_len) prompts -> (n, answer_length) tokens (argmax over the vocabulary).

    All prompts have the same length, so a batch grows one column per step; no KV cache (the
    sequences are ~20 tokens long). Used by chapter 01.
    """
    return _decode(model, prompts, answer_length, batch_size, lambda logits: logits.argmax(-1, keepdim=True))


@torch.no_grad()
def sample_answers(model: nn.Module, prompts: torch.Tensor, answer_length: int,
                   generator: torch.Generator, temperature: float = 1.0,
                   batch_size: int = 8192) -> torch.Tensor:
    """Answers sampled at ``temperature`` (ancestral sampling, batched): (n, answer_length) tokens.

    The noise comes from ``generator`` (a CPU generator), so results do not depend on the device.
    Used by chapter 01.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")

    def sample(logits):
        probs = F.softmax(logits.float() / temperature, dim=-1).cpu()  # (b, V)
        return torch.multinomial(probs, 1, generator=generator)  # (b, 1)

    return _decode(model, prompts, answer_length, batch_size, sample)


@torch.no_grad()
def target_token_probs(model: nn.Module, prompts: torch.Tensor, answers: torch.Tensor,
                       batch_size: int = 4096) -> torch.Tensor:
    """Teacher-forced probability of each target token given the prompt and the RIGHT prefix.

    (n, P) prompts and (n, L) answers -> (n, L) probabilities (float64). The product over a row is
    the probability that temperature-1 sampling writes exactly that answer. Used by chapter 01.
    """
    model.eval()
    device = _device_of(model)
    P = prompts.shape[1]
    out = []
    for start in range(0, len(prompts), batch_size):
        seq = torch.cat([prompts[start: start + batch_size], answers[start: start + batch_size]], 1).to(device)
        logits = model(seq[:, :-1])[:, P - 1:, :]  # (b, L, V): positions that predict the answer
        log_probs = F.log_softmax(logits.double(), dim=-1)
        target = seq[:, P:]  # (b, L)
        out.append(log_probs.gather(-1, target[..., None]).squeeze(-1).exp().cpu())
    return torch.cat(out)


@torch.no_grad()
def choice_log_probs(model: nn.Module, prompts: torch.Tensor, choices: torch.Tensor,
                     batch_size: int = 4096) -> torch.Tensor:
    """Sum of teacher-forced log-probabilities of each choice: (n, P), (n, k, L) -> (n, k). Used by chapter 01."""
    n, k, L = choices.shape
    flat_prompts = prompts.repeat_interleave(k, dim=0)  # (n·k, P)
    p = target_token_probs(model, flat_prompts, choices.reshape(n * k, L), batch_size=batch_size)
    return p.log().sum(-1).reshape(n, k)  # (n·k, L) -> (n, k)


# ---------------------------------------------------------------------------------------------
# Metrics on fixed outputs
# ---------------------------------------------------------------------------------------------


def exact_match(predicted, target) -> np.ndarray:
    """1.0 where every token of a row matches, else 0.0: (n, L), (n, L) -> (n,). Discontinuous.
    Used by chapter 01."""
    predicted, target = np.asarray(predicted), np.asarray(target)
    return np.all(predicted == target, axis=-1).astype(float)


def token_edit_distance(predicted, target) -> np.ndarray:
    """Levenshtein distance between token sequences, row by row (rapidfuzz): (n, L), (n, L) -> (n,).
    Used by chapter 01."""
    from rapidfuzz.distance import Levenshtein
    from rapidfuzz.process import cpdist

    predicted, target = np.asarray(predicted), np.asarray(target)
    if predicted.shape != target.shape:
        raise ValueError(f"shapes differ: {predicted.shape} vs {target.shape}")
    return np.asarray(cpdist(predicted.tolist(), target.tolist(), scorer=Levenshtein.distance,
                             workers=1), dtype=float)


def make_choices(answers: torch.Tensor, n_choices: int, rng: np.random.Generator) -> tuple[torch.Tensor, np.ndarray]:
    """A multiple-choice variant: the right answer and ``n_choices − 1`` distinct near misses.

    Each distractor changes one or two answer tokens to other digits (the plausible mistakes of
    an arithmetic model). Returns choices (n, k, L) and the index of the right one (n,), which is
    placed at random. Used by chapter 01.
    """
    n, L = answers.shape
    if n_choices < 2:
        raise ValueError(f"n_choices must be >= 2, got {n_choices}")
    if n_choices > 1 + 9 * L:
        raise ValueError(f"cannot make {n_choices - 1} distinct one-token changes of a {L}-token answer")
    choices = np.empty((n, n_choices, L), dtype=np.int64)
    correct = rng.integers(0, n_choices, n)
    base = answers.numpy()
    for i in range(n):
        seen = {tuple(base[i])}
        options = [base[i]]
        while len(options) < n_choices:
            wrong = base[i].copy()
            for pos in rng.choice(L, size=rng.integers(1, min(2, L) + 1), replace=False):
                wrong[pos] = (wrong[pos] + rng.integers(1, 10)) % 10
            if tuple(wrong) not in seen:
                seen.add(tuple(wrong))
                options.append(wrong)
        order = list(range(1, n_choices))
        rng.shuffle(order)
        order.insert(correct[i], 0)
        choices[i] = np.stack([options[j] for j in order])
    return torch.from_numpy(choices), correct


def choice_probabilities(log_probs) -> np.ndarray:
    """Normalise the choices' log-probabilities over the k choices (softmax per row): (n, k).
    Used by chapter 01."""
    lp = np.asarray(log_probs, float)
    lp = lp - lp.max(axis=1, keepdims=True)
    p = np.exp(lp)
    return p / p.sum(axis=1, keepdims=True)


def multiple_choice_grade(log_probs, correct) -> np.ndarray:
    """1.0 where the highest-scoring choice is the right one: (n, k), (n,) -> (n,). Discontinuous.
    Used by chapter 01."""
    return (np.argmax(np.asarray(log_probs), axis=1) == np.asarray(correct)).astype(float)


def brier_score(probs, correct) -> np.ndarray:
    """Multi-class Brier score Σ_j (q_j − 1[j = right])² per question (Brier 1950; BIG-Bench's
    form): (n, k), (n,) -> (n,). 0 is perfect; uniform guessing over k choices gives 1 − 1/k.
    Used by chapter 01."""
    probs = np.asarray(probs, float)
    onehot = np.zeros_like(probs)
    onehot[np.arange(len(probs)), np.asarray(correct)] = 1.0
    return np.sum((probs - onehot) ** 2, axis=1)


# ---------------------------------------------------------------------------------------------
# The paper's model and the emergence score
# ---------------------------------------------------------------------------------------------


def per_token_probability(per_token_loss):
    """p = exp(−L_CE): the probability of the right token implied by a per-token cross-entropy.
    Used by chapter 01."""
    return np.exp(-np.asarray(per_token_loss, float))


def predicted_exact_match(p, answer_length):
    """Schaeffer et al. (2023) Sec. 2: exact match ≈ p^L if the L tokens are right independently.
    Used by chapter 01."""
    return np.asarray(p, float) ** np.asarray(answer_length, float)


def predicted_edit_distance(p, answer_length):
    """Schaeffer et al. (2023) Sec. 2: token edit distance ≈ L(1 − p) (expected wrong tokens).
    Used by chapter 01."""
    return np.asarray(answer_length, float) * (1.0 - np.asarray(p, float))


def emergence_score(x, y, resolution: float = 0.0) -> float:
    """BIG-Bench's emergence score (Srivastava et al. 2022, App.; used by Schaeffer et al. Fig. 5).

    With models sorted by scale x:
    ES = sign(argmax y − argmin y) · (max y − min y) / sqrt(median_i (y_i − y_{i−1})²).
    A steady climb over n models scores about n − 1; a flat curve with one jump scores far more
    (infinite when over half of the steps are exactly zero). ``resolution`` > 0 floors the typical
    step at the smallest change the measurement can show (e.g. one problem of the pooled test set),
    so that the score stays finite: a step below the resolution is indistinguishable from zero.
    Ties in x keep their given order. Used by chapter 01.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
        raise ValueError("x and y must be 1-D arrays of equal length >= 2")
    if resolution < 0:
        raise ValueError(f"resolution must be >= 0, got {resolution}")
    y = y[np.argsort(x, kind="stable")]
    spread = y.max() - y.min()
    if spread == 0:
        return 0.0
    sign = np.sign(np.argmax(y) - np.argmin(y))
    typical_step = max(np.sqrt(np.median(np.diff(y) ** 2)), resolution)
    if typical_step == 0:
        return float(sign * np.inf)
    return float(sign * spread / typical_step)


# ---------------------------------------------------------------------------------------------
# Resolution: sampling until success (PassUntil)
# ---------------------------------------------------------------------------------------------


@dataclass
class PassUntilResult:
    """Outcome of :func:`pass_until` on n problems. Used by chapter 01."""

    draws: np.ndarray  # (n,) samples drawn for each problem (≤ max_draws)
    solved: np.ndarray  # (n,) 1.0 if a sample was right before the budget ran out
    max_draws: int

    @property
    def pass_rate(self) -> float:
        """Maximum-likelihood pass rate for a common p: successes / draws (p^s (1 − p)^(draws − s))."""
        return float(self.solved.sum() / self.draws.sum())

    @property
    def total_draws(self) -> int:
        return int(self.draws.sum())

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(draws=self.draws.tolist(), solved=self.solved.tolist(), pass_rate=self.pass_rate)
        return d


def pass_until(model: nn.Module, prompts: torch.Tensor, answers: torch.Tensor, max_draws: int,
               generator: torch.Generator, draws_per_round: int = 8, temperature: float = 1.0) -> PassUntilResult:
    """Sample answers for each problem until the first right one, or ``max_draws`` samples.

    After Hu et al. (2024, "Unlock predictable scaling from emergent abilities", PassUntil): a pass
    rate far below 1/n is invisible to n greedy answers, but sampling until success measures it.
    Every round draws ``draws_per_round`` samples for each unsolved problem in one batch; draws
    after the first success in a round are not counted, so the result equals strict
    one-at-a-time sampling. With a common per-problem success probability q the number of draws
    is geometric and successes / draws is its maximum-likelihood estimate; at temperature 1 q is
    the product of the teacher-forced target probabilities (see :func:`target_token_probs`).
    Used by chapter 01.
    """
    if max_draws < 1 or draws_per_round < 1:
        raise ValueError("max_draws and draws_per_round must be >= 1")
    n, L = answers.shape
    draws = np.zeros(n, dtype=np.int64)
    solved = np.zeros(n, dtype=float)
    active = np.arange(n)
    while len(active):
        m = int(min(draws_per_round, max_draws - draws[active].min()))
        batch_prompts = prompts[active].repeat_interleave(m, dim=0)  # (a·m, P)
        samples = sample_answers(model, batch_prompts, L, generator, temperature)  # (a·m, L)
        right = (samples == answers[active].repeat_interleave(m, dim=0)).all(-1).numpy().reshape(len(active), m)
        room = max_draws - draws[active]  # draws each problem may still take
        allowed = np.arange(m)[None, :] < room[:, None]  # (a, m)
        right &= allowed
        first = np.where(right.any(1), right.argmax(1) + 1, np.minimum(room, m))
        draws[active] += first
        solved[active] = right.any(1).astype(float)
        active = active[(solved[active] == 0) & (draws[active] < max_draws)]
    return PassUntilResult(draws=draws, solved=solved, max_draws=max_draws)


def expected_pass_until_successes(q, max_draws: int) -> np.ndarray:
    """P(a problem is solved within ``max_draws`` samples) = 1 − (1 − q)^max_draws, for exact
    per-sample success probabilities q (the product of teacher-forced probabilities). Used by chapter 01."""
    q = np.clip(np.asarray(q, float), 0.0, 1.0)
    return -np.expm1(max_draws * np.log1p(-np.minimum(q, 1 - 1e-16)))
