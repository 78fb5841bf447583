"""Metrics that make — or unmake — "emergent" abilities, after Schaeffer, Miranda & Koyejo (2023).

"Are Emergent Abilities of Large Language Models a Mirage?" (NeurIPS 2023) argue that sharp,
unpredictable jumps of a task metric with model scale come from the metric, not from the model:
a model's per-token probability p(N) of the right token improves smoothly, but a metric that
needs every one of L tokens right (exact match ≈ p^L) turns that into a jump, while a metric
that counts wrong tokens (token edit distance ≈ L(1 − p)) stays smooth.

This module scores ONE fixed set of model outputs with every metric of the paper:

- from greedy outputs: :func:`exact_match`, :func:`token_edit_distance` (rapidfuzz Levenshtein);
- teacher-forced: :func:`target_token_probs` (p of each target token given the right prefix) and
  its product over the answer — the probability that sampling at temperature 1 writes the answer;
- on a multiple-choice variant: :func:`choice_log_probs`, :func:`multiple_choice_grade` and
  :func:`brier_score`;

plus the paper's mathematical model (:func:`predicted_exact_match`, :func:`predicted_edit_distance`),
BIG-Bench's emergence score (:func:`emergence_score`) and a PassUntil-style estimator of tiny pass
rates (:func:`pass_until`, Hu et al. 2024). Decoding and sampling are batched over problems.

The chapter's experiment lives here too: the run spec (:class:`ArithmeticRunSpec`) and run function
(:func:`run_arithmetic_model`), the profiles (:data:`PROFILES`, :data:`SMOKE_OVERRIDES`) and the
ladder of specs (:func:`ladder_specs`), tables for the figures (:func:`models_table`,
:func:`length_table`), the claims (:data:`CLAIMS`) and :func:`measure`, which turns the runs into one
:class:`~scalinglab.claims.Measurement` per claim (``measure_e1`` … ``measure_e6``, each with a
hierarchical bootstrap over seeds and test problems).

Used by: chapter 01 (emergence).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

if TYPE_CHECKING:  # annotations of the run spec (imported where the run executes)
    from ..data.arithmetic import ArithmeticTask
    from ..models import TransformerConfig
    from ..train import TrainConfig

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
    sequences are ~20 tokens long).
    """
    return _decode(model, prompts, answer_length, batch_size, lambda logits: logits.argmax(-1, keepdim=True))


@torch.no_grad()
def sample_answers(model: nn.Module, prompts: torch.Tensor, answer_length: int,
                   generator: torch.Generator, temperature: float = 1.0,
                   batch_size: int = 8192) -> torch.Tensor:
    """Answers sampled at ``temperature`` (ancestral sampling, batched): (n, answer_length) tokens.

    The noise comes from ``generator`` (a CPU generator), so results do not depend on the device.
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
    the probability that temperature-1 sampling writes exactly that answer.
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
    """Sum of teacher-forced log-probabilities of each choice: (n, P), (n, k, L) -> (n, k)."""
    n, k, L = choices.shape
    flat_prompts = prompts.repeat_interleave(k, dim=0)  # (n·k, P)
    p = target_token_probs(model, flat_prompts, choices.reshape(n * k, L), batch_size=batch_size)
    return p.log().sum(-1).reshape(n, k)  # (n·k, L) -> (n, k)


# ---------------------------------------------------------------------------------------------
# Metrics on fixed outputs
# ---------------------------------------------------------------------------------------------


def exact_match(predicted, target) -> np.ndarray:
    """1.0 where every token of a row matches, else 0.0: (n, L), (n, L) -> (n,). Discontinuous."""
    predicted, target = np.asarray(predicted), np.asarray(target)
    return np.all(predicted == target, axis=-1).astype(float)


def token_edit_distance(predicted, target) -> np.ndarray:
    """Levenshtein distance between token sequences, row by row (rapidfuzz): (n, L), (n, L) -> (n,)."""
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
    placed at random.
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
    """Normalise the choices' log-probabilities over the k choices (softmax per row): (n, k)."""
    lp = np.asarray(log_probs, float)
    lp = lp - lp.max(axis=1, keepdims=True)
    p = np.exp(lp)
    return p / p.sum(axis=1, keepdims=True)


def multiple_choice_grade(log_probs, correct) -> np.ndarray:
    """1.0 where the highest-scoring choice is the right one: (n, k), (n,) -> (n,). Discontinuous."""
    return (np.argmax(np.asarray(log_probs), axis=1) == np.asarray(correct)).astype(float)


def brier_score(probs, correct) -> np.ndarray:
    """Multi-class Brier score Σ_j (q_j − 1[j = right])² per question (Brier 1950; BIG-Bench's
    form): (n, k), (n,) -> (n,). 0 is perfect; uniform guessing over k choices gives 1 − 1/k."""
    probs = np.asarray(probs, float)
    onehot = np.zeros_like(probs)
    onehot[np.arange(len(probs)), np.asarray(correct)] = 1.0
    return np.sum((probs - onehot) ** 2, axis=1)


# ---------------------------------------------------------------------------------------------
# The paper's model and the emergence score
# ---------------------------------------------------------------------------------------------


def per_token_probability(per_token_loss):
    """p = exp(−L_CE): the probability of the right token implied by a per-token cross-entropy."""
    return np.exp(-np.asarray(per_token_loss, float))


def predicted_exact_match(p, answer_length):
    """Schaeffer et al. (2023) Sec. 2: exact match ≈ p^L if the L tokens are right independently."""
    return np.asarray(p, float) ** np.asarray(answer_length, float)


def predicted_edit_distance(p, answer_length):
    """Schaeffer et al. (2023) Sec. 2: token edit distance ≈ L(1 − p) (expected wrong tokens)."""
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
    """Outcome of :func:`pass_until` on n problems."""

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


# ---------------------------------------------------------------------------------------------
# One model of the chapter's family: the run spec, training, and every score of its fixed outputs
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalConfig:
    """What a run evaluates after training (every test problem is held out of training)."""

    default_digits: int  # operand length of the default test set
    n_test: int  # problems of the default test set
    large_factor: int  # the larger test set has large_factor × n_test problems
    n_choices: int  # choices of the multiple-choice variant (0: none)
    length_digits: tuple[int, ...]  # operand lengths of the target-length sweep
    n_length: int  # problems per length (at most the held-out part of that length's space)
    n_pass_until: int  # default problems sampled until success
    max_draws: int  # PassUntil budget per problem
    draws_per_round: int
    test_seed: int  # draws the test sets (derived from the chapter seed and the replicate)


@dataclass(frozen=True)
class ArithmeticRunSpec:
    """Every setting :func:`run_arithmetic_model` reads: one model of the ladder, one replicate.

    ``init_seed`` (model initialisation), ``train.seed`` (data order) and ``eval.test_seed`` are
    derived from the chapter seed with :func:`scalinglab.seeds.derive_seed`; ``replicate`` is the
    index they were derived from. Used by chapter 01.
    """

    model: "TransformerConfig"
    train: "TrainConfig"
    task: "ArithmeticTask"
    eval: EvalConfig
    init_seed: int
    replicate: int


def _rounded(a, digits: int = 7) -> list:
    return np.round(np.asarray(a, float), digits).tolist()


def score_outputs(model: nn.Module, problems, n_choices: int = 0, seed: int = 0,
                  per_problem: bool = True) -> dict:
    """Every metric of the chapter on ONE fixed set of outputs of ``model`` for ``problems``.

    Greedy answers give exact match and token edit distance; teacher forcing gives per-token
    target log-probabilities; a multiple-choice variant (same questions) gives the grade and Brier
    score. Returns means over problems and, with ``per_problem``, the per-problem values
    (``em``, ``ed`` and the (n, L) teacher-forced ``log_p``) that the intervals resample.
    Used by chapter 01.
    """
    answers = problems.answers
    L = answers.shape[1]
    greedy = greedy_decode(model, problems.prompts, L)
    probs = target_token_probs(model, problems.prompts, answers)  # (n, L)
    log_p = probs.clamp_min(1e-300).log().numpy()
    em = exact_match(greedy.numpy(), answers.numpy())
    ed = token_edit_distance(greedy.numpy(), answers.numpy())
    out = {
        "n": len(problems), "answer_length": L,
        "exact_match": float(em.mean()),
        "edit_distance": float(ed.mean()),
        "edit_similarity": float(1.0 - ed.mean() / L),  # 1 − ED/L
        "token_log_loss": float(-log_p.mean()),  # mean −log p over answer tokens (nats)
        "token_prob": float(probs.mean()),
        "sequence_prob": float(np.exp(log_p.sum(-1)).mean()),  # mean product of per-token probabilities
        "token_prob_by_position": probs.mean(0).tolist(),
    }
    if per_problem:
        out.update(em=em.astype(int).tolist(), ed=ed.astype(int).tolist(), log_p=_rounded(log_p))
    if n_choices:
        rng = np.random.default_rng([seed, 7])
        choices, correct = make_choices(answers, n_choices, rng)
        lp = choice_log_probs(model, problems.prompts, choices).numpy()
        out["mc_grade"] = float(multiple_choice_grade(lp, correct).mean())
        out["brier"] = float(brier_score(choice_probabilities(lp), correct).mean())
    return out


def run_arithmetic_model(spec: ArithmeticRunSpec) -> dict:
    """Train one transformer of the family on arithmetic and evaluate it (a run-store entry).

    Evaluation, all on held-out problems: the default test set (per-problem scores, multiple
    choice), a ``large_factor``× larger one (means), every length of ``eval.length_digits``
    (the target-length sweep, per problem) and sampling until success (PassUntil) on a subset, with
    each problem's exact sequence probability beside it. Used by chapter 01.
    """
    from ..data.arithmetic import make_problems, training_batch
    from ..devices import default_device
    from ..models import Transformer, lm_loss
    from ..train import seeded, train

    tc, ev, task = spec.train, spec.eval, spec.task
    import time

    device = default_device()
    cpu_start = time.process_time()
    model = seeded(lambda: Transformer(spec.model), spec.init_seed)
    result = train(model, tc, lambda g: training_batch(task, tc.batch_size, g), lm_loss, device=device)
    model.eval()
    out = {"non_embedding_params": model.num_params(non_embedding=True),
           "train_loss_final": float(np.mean(result.train_loss[-max(1, tc.steps // 20):])),
           "train_wall_s": result.wall_time_s, "train_cpu_s": time.process_time() - cpu_start}
    d = ev.default_digits
    default = make_problems(task, ev.n_test, d, seed=ev.test_seed)
    out["default"] = score_outputs(model, default, ev.n_choices, ev.test_seed)
    large = make_problems(task, ev.n_test * ev.large_factor, d, seed=ev.test_seed + 1)
    out["large"] = score_outputs(model, large, 0, per_problem=False)
    out["by_length"] = {}
    for n_digits in ev.length_digits:
        problems = make_problems(task, ev.n_length, n_digits, seed=ev.test_seed + 2)
        out["by_length"][str(n_digits)] = score_outputs(model, problems, 0)
    sub = make_problems(task, ev.n_pass_until, d, seed=ev.test_seed + 3)
    generator = torch.Generator().manual_seed(ev.test_seed + spec.init_seed % 1000)
    pu = pass_until(model, sub.prompts, sub.answers, ev.max_draws, generator, draws_per_round=ev.draws_per_round)
    q = target_token_probs(model, sub.prompts, sub.answers).prod(-1).numpy()
    out["pass_until"] = {"pass_rate": pu.pass_rate, "solved_fraction": float(pu.solved.mean()),
                         "total_draws": pu.total_draws, "n": len(sub), "max_draws": pu.max_draws,
                         "exact_sequence_prob": float(q.mean()),
                         "draws": pu.draws.tolist(), "solved": pu.solved.astype(int).tolist(),
                         "q": q.tolist()}
    out["cpu_s"] = time.process_time() - cpu_start  # this process's CPU time for the whole run
    return out


def run_cost(spec: ArithmeticRunSpec) -> float:
    """Relative cost of a run (non-embedding parameters × steps) for ``sweep(cost=)``. Used by chapter 01."""
    from ..models import non_embedding_params

    return float(non_embedding_params(spec.model) * spec.train.steps)


# ---------------------------------------------------------------------------------------------
# The chapter's experiment: profiles, the ladder of specs, tables for figures
# ---------------------------------------------------------------------------------------------

#: The chapter's settings per profile. ``ladder``: (n_layer, n_head, d_model) rungs, depth and width
#: growing together. Training problems grow mildly with size: steps(N) = steps · (N / N_max)^steps_exponent
#: (rounded to 50), so that the top of the ladder is not budget-limited while small models, which
#: stop improving early, cost little. At ``ci`` the ladder is dense where the carry is learned
#: (6.6k–25k parameters, a pilot at a separate seed): ES compares steps, and a transition that falls
#: between two widely spaced sizes looks like a jump under every metric. The 59k size of the previous
#: edition is dropped to pay for the two extra sizes; the 25k size already reaches exact match ≥ 0.9.
#: ``full`` tests seven-digit operands (L = 8), where the paper's model predicts a sharper exact match than
#: at L = 4 (:func:`predicted_es_ratio`); a ci-sized pilot with seven-digit operands left exact match near 0
#: at every size, so ``ci`` keeps three digits (L = 4). Not yet run on a GPU.
PROFILES = {
    "ci": dict(ladder=[(1, 1, 4), (1, 2, 8), (1, 2, 12), (1, 2, 16), (2, 2, 16), (2, 2, 20), (2, 2, 24), (2, 4, 28),
                       (2, 4, 32)],
               operation="mul", train_digits=(1, 2, 3), second_digits=1, second_min=2, default_digits=3,
               held_out_fraction=0.1, steps=2200, steps_exponent=0.2, batch_size=128, lr=1e-2, n_seeds=3,
               n_test=300, large_factor=10, n_length=300, n_pass_until=100, max_draws=1000, draws_per_round=64,
               n_bootstrap=1000),
    "full": dict(ladder=[(1, 1, 4), (1, 2, 8), (1, 2, 16), (2, 2, 24), (2, 4, 32), (3, 4, 48), (4, 4, 64), (4, 4, 96),
                         (6, 8, 128), (6, 8, 192)],
                 operation="mul", train_digits=(1, 3, 5, 7), second_digits=1, second_min=2, default_digits=7,
                 held_out_fraction=0.1, steps=6000, steps_exponent=0.2, batch_size=256, lr=1e-2, n_seeds=3,
                 n_test=800, large_factor=1, n_length=800, n_pass_until=300, max_draws=20000, draws_per_round=256,
                 n_bootstrap=2000),
}
#: ``smoke=True``: the full code path on a CPU in seconds (decides nothing).
SMOKE_OVERRIDES = dict(ladder=[(1, 1, 4), (1, 2, 8), (1, 2, 12)], steps=20, batch_size=32, n_seeds=2, n_test=40,
                       large_factor=2, n_length=30, n_pass_until=8, max_draws=16, draws_per_round=8,
                       n_bootstrap=50)


def steps_for(n_params: int, n_max: int, steps: int, exponent: float) -> int:
    """Training steps of a model of ``n_params`` in a ladder whose largest has ``n_max`` and trains
    ``steps``: steps · (n_params / n_max)^exponent, rounded to a multiple of 50 (at least 50 and
    never more than ``steps``; small step counts are kept as they are). Used by chapter 01."""
    if steps < 100:
        return steps
    raw = steps * (n_params / n_max) ** exponent
    return int(min(steps, max(50, 50 * round(raw / 50))))


def make_task(settings: dict):
    """The chapter's arithmetic task from a profile's settings. Used by chapter 01."""
    from ..data.arithmetic import ArithmeticTask

    return ArithmeticTask(operation=settings["operation"], digits=tuple(settings["train_digits"]),
                          reverse_answer=True, second_digits=settings["second_digits"],
                          second_min=settings["second_min"], held_out_fraction=settings["held_out_fraction"])


def model_config(task, n_layer: int, n_head: int, d_model: int):
    """A decoder of the ladder for ``task`` (14-token vocabulary, context = the longest problem)."""
    from ..data.arithmetic import VOCAB_SIZE
    from ..models import TransformerConfig

    return TransformerConfig(vocab_size=VOCAB_SIZE, context_length=task.max_length() - 1,
                             n_layer=n_layer, n_head=n_head, d_model=d_model)


def ladder_specs(settings: dict, seed: int) -> list[ArithmeticRunSpec]:
    """One spec per (replicate, rung): seeds derived from ``seed`` by named streams. Used by chapter 01."""
    from ..seeds import derive_seed
    from ..train import TrainConfig

    from ..models import non_embedding_params

    task = make_task(settings)
    sizes = [non_embedding_params(model_config(task, *rung)) for rung in settings["ladder"]]
    specs = []
    for r in range(settings["n_seeds"]):
        test_seed = derive_seed(seed, "emergence-test", r)
        ev = EvalConfig(default_digits=settings["default_digits"], n_test=settings["n_test"],
                        large_factor=settings["large_factor"], n_choices=4,
                        length_digits=tuple(settings["train_digits"]), n_length=settings["n_length"],
                        n_pass_until=settings["n_pass_until"], max_draws=settings["max_draws"],
                        draws_per_round=settings["draws_per_round"], test_seed=test_seed)
        for (n_layer, n_head, d_model), n_params in zip(settings["ladder"], sizes):
            steps = steps_for(n_params, max(sizes), settings["steps"], settings["steps_exponent"])
            tc = TrainConfig(steps=steps, batch_size=settings["batch_size"], lr=settings["lr"],
                             warmup_steps=steps // 20, schedule="cosine",
                             seed=derive_seed(seed, "emergence-data", r, d_model, n_layer))
            specs.append(ArithmeticRunSpec(model=model_config(task, n_layer, n_head, d_model), train=tc, task=task,
                                           eval=ev, init_seed=derive_seed(seed, "emergence-init", r, d_model, n_layer),
                                           replicate=r))
    return specs


def models_table(specs: list[ArithmeticRunSpec], results: list[dict]):
    """One row per trained model: size, replicate and every mean metric (default set, larger set,
    PassUntil). Used by chapter 01's figures."""
    import pandas as pd

    rows = []
    for spec, res in zip(specs, results):
        d = res["default"]
        rows.append({"N": res["non_embedding_params"], "replicate": spec.replicate,
                     "n_layer": spec.model.n_layer, "d_model": spec.model.d_model,
                     **{k: v for k, v in d.items() if not isinstance(v, list)},
                     "token_log_prob": -d["token_log_loss"],
                     "large_exact_match": res["large"]["exact_match"], "n_large": res["large"]["n"],
                     "pass_until": res["pass_until"]["pass_rate"],
                     "pass_until_exact": res["pass_until"]["exact_sequence_prob"],
                     "pass_until_draws": res["pass_until"]["total_draws"],
                     "train_loss": res["train_loss_final"], "train_s": res["train_wall_s"]})
    return pd.DataFrame(rows).sort_values(["N", "replicate"]).reset_index(drop=True)


def length_table(specs: list[ArithmeticRunSpec], results: list[dict]):
    """One row per (model, answer length): measured exact match and edit distance beside the paper's
    model from the measured per-position probabilities (∏ p_i and Σ (1 − p_i)). Used by chapter 01."""
    import pandas as pd

    rows = []
    for spec, res in zip(specs, results):
        for r in res["by_length"].values():
            p = np.asarray(r["token_prob_by_position"])
            rows.append({"N": res["non_embedding_params"], "replicate": spec.replicate, "L": r["answer_length"],
                         "exact_match": r["exact_match"], "edit_distance": r["edit_distance"],
                         "predicted_exact_match": float(np.prod(p)),
                         "predicted_edit_distance": float(np.sum(1 - p))})
    return pd.DataFrame(rows).sort_values(["N", "L", "replicate"]).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Measurements: each claim's statistic with a hierarchical bootstrap over seeds and problems
# ---------------------------------------------------------------------------------------------


@dataclass
class LadderData:
    """The per-problem scores of a ladder, grouped by replicate (seed).

    ``N`` (S,) sizes in increasing order; per replicate g: ``em[g]``, ``similarity[g]`` (1 − ED/L),
    ``loss[g]`` (mean −log p over the answer) and ``sequence_prob[g]`` (∏ p), each (n_g, S) on the
    replicate's default test set (the same problems for every size); ``pu_solved[g]``,
    ``pu_draws[g]``, ``pu_q[g]`` (k_g, S) from PassUntil; ``lengths[g]``: answer length ->
    (em (n,), ed (n,), log_p (n, L)) of the largest model. Used by chapter 01.
    """

    N: np.ndarray
    answer_length: int
    max_draws: int
    em: list = field(default_factory=list)
    similarity: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    sequence_prob: list = field(default_factory=list)
    pu_solved: list = field(default_factory=list)
    pu_draws: list = field(default_factory=list)
    pu_q: list = field(default_factory=list)
    lengths: list = field(default_factory=list)
    replicates: list = field(default_factory=list)


def ladder_data(specs: list[ArithmeticRunSpec], results: list[dict]) -> LadderData:
    """Collect the runs' per-problem scores into a :class:`LadderData`. Used by chapter 01."""
    sizes = sorted({res["non_embedding_params"] for res in results})
    replicates = sorted({spec.replicate for spec in specs})
    first = results[0]
    data = LadderData(N=np.asarray(sizes, float), answer_length=first["default"]["answer_length"],
                      max_draws=first["pass_until"]["max_draws"], replicates=replicates)
    for r in replicates:
        runs = {res["non_embedding_params"]: res for spec, res in zip(specs, results) if spec.replicate == r}
        missing = [n for n in sizes if n not in runs]
        if missing:
            raise ValueError(f"replicate {r} lacks sizes {missing}")
        cols = [runs[n] for n in sizes]
        L = data.answer_length
        log_p = np.stack([np.asarray(c["default"]["log_p"]) for c in cols], axis=1)  # (n, S, L)
        data.em.append(np.stack([c["default"]["em"] for c in cols], axis=1).astype(float))
        data.similarity.append(1.0 - np.stack([c["default"]["ed"] for c in cols], axis=1) / L)
        data.loss.append(-log_p.mean(-1))
        data.sequence_prob.append(np.exp(log_p.sum(-1)))
        data.pu_solved.append(np.stack([c["pass_until"]["solved"] for c in cols], axis=1).astype(float))
        data.pu_draws.append(np.stack([c["pass_until"]["draws"] for c in cols], axis=1).astype(float))
        data.pu_q.append(np.stack([c["pass_until"]["q"] for c in cols], axis=1).astype(float))
        top = cols[-1]["by_length"]
        data.lengths.append({v["answer_length"]: (np.asarray(v["em"], float), np.asarray(v["ed"], float),
                                                  np.asarray(v["log_p"], float)) for v in top.values()})
    return data


def _pooled_curve(groups: list[np.ndarray]) -> np.ndarray:
    """Mean over replicates of the per-replicate mean over problems: list of (n_g, S, ...) -> (S, ...)."""
    return np.mean([g.mean(0) for g in groups], axis=0)


#: E1's threshold on ES(exact match) / ES(1 − edit distance / L), and on the ratio the paper's model predicts.
E1_THRESHOLD = 3.0


def es_ratio(N, em_curve, similarity_curve, n_items: int, answer_length: int) -> float:
    """ES(exact match) / ES(1 − edit distance / L) on the same outputs (E1's statistic).

    Each typical step is floored at its metric's resolution on the pooled test set (1/n for exact
    match, 1/(L·n) for the edit similarity). NaN when the edit similarity does not improve with N
    (the ratio is then meaningless). Used by chapter 01.
    """
    es_em = emergence_score(N, em_curve, resolution=1.0 / n_items)
    es_sim = emergence_score(N, similarity_curve, resolution=1.0 / (n_items * answer_length))
    return float(es_em / es_sim) if es_sim > 0 else float("nan")


def predicted_es_ratio(N, similarity_curve, answer_length: int, n_items: int, measured_length: int | None = None) -> float:
    """E1's ratio as the paper's own model predicts it on this ladder, from the measured per-token
    accuracy alone: with s(N) = 1 − edit distance / L and L tokens right independently (Schaeffer et
    al. 2023, Sec. 2: exact match ≈ p^L, edit distance ≈ L(1 − p)), exact match is s^L, and the
    ratio is ES(s^``answer_length``) / ES(s), each step floored at its resolution as in
    :func:`es_ratio` (``measured_length``, default ``answer_length``, is the length s was measured
    at). It says how large a ratio the mechanism can produce on the sizes trained — for short
    answers and a steady climb of s it is small, whatever the models do. Used by chapter 01 (E1's
    precondition and the answer length the claim would need)."""
    s = np.clip(np.asarray(similarity_curve, float), 0.0, 1.0)
    return es_ratio(N, s ** answer_length, s, n_items, measured_length or answer_length)


def measure_e1(N, em: list, similarity: list, answer_length: int, *, n_bootstrap: int = 1000, seed: int = 0,
               seeds=None):
    """E1: ES ratio of the seed-mean curves, with a hierarchical bootstrap (seeds, then problems).

    ``em[g]``, ``similarity[g]``: (n_g, S) per-problem scores of replicate g. Preconditions: the
    largest exact match of the smallest size over replicates (``em_smallest``) and the smallest
    exact match of the largest size (``em_largest``) — the crossing must lie inside the ladder at
    every seed. Used by chapter 01.
    """
    from ..claims import Measurement
    from ..intervals import hierarchical_bootstrap

    N = np.asarray(N, float)
    n_items = sum(len(g) for g in em)

    def stat(groups):
        return es_ratio(N, _pooled_curve([g[..., 0] for g in groups]), _pooled_curve([g[..., 1] for g in groups]),
                        n_items, answer_length)

    groups = [np.stack([e, s], axis=-1) for e, s in zip(em, similarity)]  # (n, S, 2)
    estimate = stat(groups)
    interval = hierarchical_bootstrap(stat, groups, n_resamples=n_bootstrap, seed=seed)
    em_curve, sim_curve = _pooled_curve(em), _pooled_curve(similarity)
    per_seed = np.array([g.mean(0) for g in em])  # (G, S)
    by_length = {L: predicted_es_ratio(N, sim_curve, L, n_items, answer_length)
                 for L in sorted(set(range(2, 17)) | {answer_length})}
    needed = next((L for L, r in by_length.items() if r >= E1_THRESHOLD), None)
    return Measurement(estimate=estimate, interval=interval, seeds=list(seeds or range(len(em))),
                       preconditions={"em_smallest": float(per_seed[:, 0].max()),
                                      "em_largest": float(per_seed[:, -1].min()),
                                      "predicted_ratio": by_length[answer_length]},
                       details={"N": N.tolist(), "exact_match": em_curve.tolist(),
                                "edit_similarity": sim_curve.tolist(),
                                "ES_exact_match": emergence_score(N, em_curve, 1.0 / n_items),
                                "ES_edit_similarity": emergence_score(N, sim_curve, 1.0 / (n_items * answer_length)),
                                "exact_match_by_seed": per_seed.tolist(),
                                "predicted_ratio_by_length": {str(L): r for L, r in by_length.items()},
                                "length_needed": needed})


def loss_power_law(N, loss_curve) -> dict:
    """E2's fit: a pure power law (a line in log–log) of the per-token loss; R², Spearman ρ between
    log N and the per-token log-probability, and their minimum (the statistic). Used by chapter 01."""
    from ..fit import r_squared, spearman

    x, y = np.log(np.asarray(N, float)), np.log(np.asarray(loss_curve, float))
    slope, intercept = np.polyfit(x, y, 1)
    r2 = r_squared(y, intercept + slope * x)
    rho = spearman(x, -y)
    return {"alpha": float(-slope), "intercept": float(intercept), "r2_log": float(r2), "spearman_rho": float(rho),
            "statistic": float(min(r2, rho))}


def measure_e2(N, loss: list, *, n_bootstrap: int = 1000, seed: int = 0, seeds=None):
    """E2: min(R² of the log–log line, Spearman ρ) of the seed-mean per-token loss against N, with a
    hierarchical bootstrap. Precondition ``top_improving``: the relative drop of the per-token loss
    from the second-largest to the largest size (the top of the ladder is not budget-limited).
    Used by chapter 01."""
    from ..claims import Measurement
    from ..intervals import hierarchical_bootstrap

    N = np.asarray(N, float)
    curve = _pooled_curve(loss)
    fit = loss_power_law(N, curve)
    interval = hierarchical_bootstrap(lambda gs: loss_power_law(N, _pooled_curve(gs))["statistic"], loss,
                                      n_resamples=n_bootstrap, seed=seed)
    return Measurement(estimate=fit["statistic"], interval=interval, seeds=list(seeds or range(len(loss))),
                       preconditions={"top_improving": float(1.0 - curve[-1] / curve[-2])},
                       details={**fit, "N": N.tolist(), "token_log_loss": curve.tolist()})


def _squared_correlation(x, y) -> float:
    x, y = np.ravel(x), np.ravel(y)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1] ** 2)


def measure_e3(em: list, sequence_prob: list, *, n_bootstrap: int = 1000, seed: int = 0, seeds=None):
    """E3: squared Pearson correlation, across every trained model (size × seed), between greedy exact
    match and the mean product of teacher-forced per-token probabilities; hierarchical bootstrap.
    Used by chapter 01."""
    from ..claims import Measurement
    from ..intervals import hierarchical_bootstrap

    def stat(groups):
        means = np.array([g.mean(0) for g in groups])  # (G, S, 2)
        return _squared_correlation(means[..., 0], means[..., 1])

    groups = [np.stack([e, q], axis=-1) for e, q in zip(em, sequence_prob)]
    estimate = stat(groups)
    interval = hierarchical_bootstrap(stat, groups, n_resamples=n_bootstrap, seed=seed)
    return Measurement(estimate=estimate, interval=interval, seeds=list(seeds or range(len(em))),
                       details={"n_models": int(sum(g.shape[1] for g in em))})


def length_model_discrepancy(lengths: list[dict]) -> dict:
    """E4's statistic: the paper's model per length from the measured per-position probabilities p_i
    (pooled over replicates and problems) against the measured greedy metrics.

    ``lengths[g]``: answer length L -> (em (n,), ed (n,), log_p (n, L)). For each L: predicted exact
    match ∏ p_i and edit distance Σ (1 − p_i). The statistic is the worst discrepancy over lengths,
    max(|EM − ∏ p_i|, |ED − Σ(1 − p_i)| / L). Used by chapter 01.
    """
    Ls = sorted(lengths[0])
    rows = []
    for L in Ls:
        em = np.mean([g[L][0].mean() for g in lengths])
        ed = np.mean([g[L][1].mean() for g in lengths])
        p = np.mean([np.exp(g[L][2]).mean(0) for g in lengths], axis=0)  # (L,)
        pred_em, pred_ed = float(np.prod(p)), float(np.sum(1 - p))
        rows.append({"L": L, "exact_match": float(em), "predicted_exact_match": pred_em,
                     "edit_distance": float(ed), "predicted_edit_distance": pred_ed,
                     "discrepancy": float(max(abs(em - pred_em), abs(ed - pred_ed) / L))})
    return {"rows": rows, "statistic": max(r["discrepancy"] for r in rows)}


def measure_e4(lengths: list[dict], *, n_bootstrap: int = 1000, seed: int = 0, seeds=None):
    """E4: :func:`length_model_discrepancy` with a hierarchical bootstrap (replicates, then the problems
    of each length within them). Details: the slope of log exact match in L and the line R² of the
    edit distance in L (the geometric and linear shapes). Used by chapter 01."""
    from ..claims import Measurement
    from ..fit import r_squared
    from ..intervals import percentile_interval

    rng = np.random.default_rng(seed)
    G = len(lengths)
    samples = []
    for _ in range(n_bootstrap):
        picked = [lengths[g] for g in rng.integers(0, G, G)]
        resampled = []
        for g in picked:
            new = {}
            for L, (e, d, lp) in g.items():
                idx = rng.integers(0, len(e), len(e))
                new[L] = (e[idx], d[idx], lp[idx])
            resampled.append(new)
        samples.append(length_model_discrepancy(resampled)["statistic"])
    result = length_model_discrepancy(lengths)
    Ls = np.array([r["L"] for r in result["rows"]], float)
    em = np.array([r["exact_match"] for r in result["rows"]])
    ed = np.array([r["edit_distance"] for r in result["rows"]])
    details = {"rows": result["rows"]}
    if (em > 0).all():
        slope, icpt = np.polyfit(Ls, np.log(em), 1)
        details.update(log_em_slope=float(slope), log_em_r2=r_squared(np.log(em), icpt + slope * Ls))
    b, a = np.polyfit(Ls, ed, 1)
    details.update(edit_slope=float(b), edit_line_r2=r_squared(ed, a + b * Ls))
    return Measurement(estimate=result["statistic"], interval=percentile_interval(samples),
                       seeds=list(seeds or range(G)), preconditions={"n_lengths": float(len(Ls))}, details=details)


def expected_pass_until_successes(q, max_draws: int) -> np.ndarray:
    """P(a problem is solved within ``max_draws`` samples) = 1 − (1 − q)^max_draws, for exact
    per-sample success probabilities q (the product of teacher-forced probabilities). Used by chapter 01."""
    q = np.clip(np.asarray(q, float), 0.0, 1.0)
    return -np.expm1(max_draws * np.log1p(-np.minimum(q, 1 - 1e-16)))


def measure_e5(em: list, pu_solved: list, pu_q: list, max_draws: int, *, n_bootstrap: int = 1000, seed: int = 0,
               seeds=None):
    """E5: for the models whose greedy exact match is 0 on the default set, PassUntil's successes over
    the successes the exact sequence probabilities predict (1 = agreement); hierarchical bootstrap.

    Precondition ``expected_successes``: the predicted successes pooled over those models (the
    PassUntil budget must be large enough to resolve them at all). Used by chapter 01.
    """
    from ..claims import Measurement
    from ..intervals import hierarchical_bootstrap

    groups = []
    n_zero = 0
    for e, solved, q in zip(em, pu_solved, pu_q):
        zero = (e.mean(0) == 0).astype(float)  # (S,)
        n_zero += int(zero.sum())
        s = expected_pass_until_successes(q, max_draws)  # (k, S)
        groups.append(np.stack([solved * zero, s * zero], axis=-1))  # (k, S, 2)

    def stat(gs):
        observed = sum(g[..., 0].sum() for g in gs)
        expected = sum(g[..., 1].sum() for g in gs)
        return float(observed / expected) if expected > 0 else float("nan")

    expected = float(sum(g[..., 1].sum() for g in groups))
    interval = hierarchical_bootstrap(stat, groups, n_resamples=n_bootstrap, seed=seed)
    return Measurement(estimate=stat(groups), interval=interval, seeds=list(seeds or range(len(em))),
                       preconditions={"expected_successes": expected},
                       details={"n_zero_models": n_zero, "observed_successes": float(sum(g[..., 0].sum() for g in groups))})


def pass_until_line(N, solved_groups, draws_groups) -> dict:
    """E6's fit: the pooled PassUntil rate (successes / draws over replicates and problems) per size and
    the R² of the line log(rate) vs log N over the sizes with at least one success. Used by chapter 01."""
    from ..fit import r_squared

    successes = sum(g.sum(0) for g in solved_groups)
    draws = sum(g.sum(0) for g in draws_groups)
    rate = successes / draws
    ok = rate > 0
    out = {"rate": rate.tolist(), "n_resolved": int(ok.sum()), "r2": float("nan"), "slope": float("nan")}
    if ok.sum() >= 3:
        x, y = np.log(np.asarray(N, float)[ok]), np.log(rate[ok])
        slope, icpt = np.polyfit(x, y, 1)
        out.update(r2=r_squared(y, icpt + slope * x), slope=float(slope))
    return out


def measure_e6(N, pu_solved: list, pu_draws: list, *, n_bootstrap: int = 1000, seed: int = 0, seeds=None):
    """E6: R² of log(PassUntil rate) against log N, hierarchical bootstrap; precondition ``n_resolved``:
    the sizes with a non-zero rate. Used by chapter 01."""
    from ..claims import Measurement
    from ..intervals import hierarchical_bootstrap

    groups = [np.stack([s, d], axis=-1) for s, d in zip(pu_solved, pu_draws)]
    fit = pass_until_line(N, pu_solved, pu_draws)
    interval = hierarchical_bootstrap(lambda gs: pass_until_line(N, [g[..., 0] for g in gs],
                                                                 [g[..., 1] for g in gs])["r2"],
                                      groups, n_resamples=n_bootstrap, seed=seed)
    return Measurement(estimate=fit["r2"], interval=interval, seeds=list(seeds or range(len(groups))),
                       preconditions={"n_resolved": float(fit["n_resolved"])}, details={**fit, "N": list(map(float, N))})


def measure(specs: list[ArithmeticRunSpec], results: list[dict], seed: int, n_bootstrap: int = 1000) -> dict:
    """Every claim's :class:`~scalinglab.claims.Measurement` from the ladder's runs. Used by chapter 01."""
    from ..seeds import derive_seed

    data = ladder_data(specs, results)
    seeds = list(data.replicates)  # replicate indices (the derived seeds are in the specs)
    kw = dict(n_bootstrap=n_bootstrap, seeds=seeds)
    boot = {c: derive_seed(seed, "emergence-bootstrap", c) for c in ("E1", "E2", "E3", "E4", "E5", "E6")}
    return {
        "E1": measure_e1(data.N, data.em, data.similarity, data.answer_length, seed=boot["E1"], **kw),
        "E2": measure_e2(data.N, data.loss, seed=boot["E2"], **kw),
        "E3": measure_e3(data.em, data.sequence_prob, seed=boot["E3"], **kw),
        "E4": measure_e4(data.lengths, seed=boot["E4"], **kw),
        "E5": measure_e5(data.em, data.pu_solved, data.pu_q, data.max_draws, seed=boot["E5"], **kw),
        "E6": measure_e6(data.N, data.pu_solved, data.pu_draws, seed=boot["E6"], **kw),
    }


# ---------------------------------------------------------------------------------------------
# The claims, fixed before anything is trained
# ---------------------------------------------------------------------------------------------

def _claims():
    from ..claims import Claim, Precondition, Revision, at_least, at_most, between

    hier = "hierarchical bootstrap: seeds, then test problems within seeds (95 % percentile)"
    revised = "2026-12-01"
    return [
        Claim(id="E1",
              statement="Sharpness is made by the metric: on the same outputs, exact match jumps with scale "
                        "while token edit distance improves smoothly.",
              source="Schaeffer et al. 2023, Sec. 3 and Fig. 3 (2-digit multiplication, InstructGPT/GPT-3)",
              statistic="ES(exact match) / ES(1 − edit distance / L)",
              interval=hier, criterion=at_least(E1_THRESHOLD),
              preconditions=(
                  Precondition("em_smallest", "greedy exact match of the smallest model (highest over seeds)",
                               at_most(0.05)),
                  Precondition("em_largest", "greedy exact match of the largest model (lowest over seeds)",
                               at_least(0.5)),
                  Precondition("predicted_ratio", "the ratio the paper's model predicts on this ladder and "
                               "answer length, ES(s^L) / ES(s) with s = 1 − edit distance / L measured",
                               at_least(E1_THRESHOLD))),
              paper_value="qualitative (Fig. 3)", headline=True,
              revisions=(Revision(revised, "ES(exact match) ≥ 3 × ES(1 − edit distance / L) on the seed-mean point "
                                  "estimate, ES with an unfloored median step",
                                  "decided on a 95 % interval over seeds and problems; each curve's typical step is "
                                  "floored at its resolution on the pooled test set, because ES is infinite when "
                                  "more than half of the steps are exactly zero, and the crossing must lie inside "
                                  "the ladder at every seed (measured preconditions)"),
                         Revision(revised, "the same criterion with two preconditions (the crossing inside the "
                                  "ladder)",
                                  "a third precondition, that the paper's own model (exact match = s^L from the "
                                  "measured per-token accuracy s) predicts a ratio of at least 3 on the sizes "
                                  "and answer length trained: where it predicts less, a ratio below 3 is what the "
                                  "mechanism implies and cannot count against it. Added after seeds 0–3 at ci "
                                  "gave estimates of 0.9 to 1.7 with intervals reaching past 3 (verdicts split "
                                  "between not reproduced and inconclusive), where this prediction is about 1.4 to 2 at seeds 1–3; "
                                  "the seeds that test the revised claim are 4–6"),)),
        Claim(id="E2",
              statement="The model improves smoothly: per-token target log-loss falls as a power law in N.",
              source="Schaeffer et al. 2023, Sec. 2 (L_CE(N) = (N/c)^α) and Fig. 3",
              statistic="min(R² of log loss vs log N, Spearman ρ(log N, per-token log p))",
              interval=hier, criterion=at_least(0.9),
              preconditions=(Precondition("top_improving", "relative drop of the per-token loss from the "
                                          "second-largest to the largest model", at_least(0.05)),)),
        Claim(id="E3",
              statement="Exact match is what per-token probability predicts.",
              source="Schaeffer et al. 2023, Sec. 2 (exact match ≈ p^L)",
              statistic="R² (squared Pearson) of greedy exact match vs mean ∏ p_i, across trained models",
              interval=hier, criterion=at_least(0.9)),
        Claim(id="E4",
              statement="For a fixed model, the paper's per-token model predicts exact match (∏ p_i) and edit "
                        "distance (Σ (1 − p_i)) at every answer length.",
              source="Schaeffer et al. 2023, Sec. 2 and Fig. 2–3 (target length)",
              statistic="largest model: max over lengths of |EM − ∏ p_i| and |ED − Σ(1 − p_i)| / L",
              interval="hierarchical bootstrap: seeds, then the test problems of each length (95 % percentile)",
              criterion=at_most(0.1),
              preconditions=(Precondition("n_lengths", "answer lengths tested", at_least(3)),),
              revisions=(Revision(revised, "line R² ≥ 0.9 of log exact match vs L with a negative slope, and "
                                  "max/min of edit distance per token < 2",
                                  "the max/min ratio divides by zero when a length has edit distance 0, and one p "
                                  "for every length is an assumption the measured per-position probabilities "
                                  "make unnecessary: the paper's model is now tested with them directly"),)),
        Claim(id="E5",
              statement="A zero exact match is a resolution limit: sampling until success (PassUntil) finds the "
                        "small success probability that the model's token probabilities imply.",
              source="Schaeffer et al. 2023, Sec. 3 (resolution); Hu et al. 2024 (PassUntil)",
              statistic="models with greedy exact match 0: PassUntil successes / successes predicted by ∏ p_i",
              interval=hier, criterion=between(2 / 3, 1.5),
              preconditions=(Precondition("expected_successes", "successes the exact probabilities predict "
                                          "within the PassUntil budget, pooled", at_least(10)),),
              paper_value="PassUntil agrees with the exact pass rate (Hu et al. 2024, Sec. 3)",
              revisions=(Revision(revised, "every zero model gets a non-zero estimate, and the line's R² ≥ 0.8",
                                  "with the sampling budget used, any success probability above about 10⁻⁵ is found, "
                                  "so the first half could not fail; the estimate is now checked against the exact "
                                  "sequence probability, and the line is claim E6"),)),
        Claim(id="E6",
              statement="The PassUntil pass rate is smooth in scale: log rate is linear in log N.",
              source="Hu et al. 2024 (PassUntil, Fig. 1); Schaeffer et al. 2023, Sec. 3",
              statistic="R² of log(PassUntil rate) vs log N (pooled over seeds)",
              interval=hier, criterion=at_least(0.8),
              preconditions=(Precondition("n_resolved", "sizes with a non-zero PassUntil rate", at_least(4)),)),
    ]


#: The chapter's claims (E1 is the headline), fixed before anything is trained.
CLAIMS = _claims()
