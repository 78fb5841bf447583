"""Chapter 01's experiment: "emergent" abilities and their metrics, after Schaeffer, Miranda & Koyejo (2023).

"Are Emergent Abilities of Large Language Models a Mirage?" (NeurIPS 2023) argue that sharp,
unpredictable jumps of a task metric with model scale come from the metric, not from the model:
a model's per-token probability p(N) of the right token improves smoothly, but a metric that
needs every one of L tokens right (exact match ≈ p^L) turns that into a jump, while a metric
that counts wrong tokens (token edit distance ≈ L(1 − p)) stays smooth.

The metrics themselves are generic and live in :mod:`scalinglab.metrics` (decoding, exact match,
token edit distance, teacher-forced probabilities, multiple choice and the Brier score, the paper's
mathematical model, BIG-Bench's emergence score and PassUntil, Hu et al. 2024); this module imports
them, so that the chapter calls them as ``emergence.exact_match`` and the like. :func:`score_outputs`
scores ONE fixed set of a model's outputs with every one of them.

The chapter's experiment lives here: the run spec (:class:`ArithmeticRunSpec`) and run function
(:func:`run_arithmetic_model`), the profiles (:data:`PROFILES`, :data:`SMOKE_OVERRIDES`) and the
ladder of specs (:func:`ladder_specs`), tables for the figures (:func:`models_table`,
:func:`length_table`), the claims (:data:`CLAIMS`) and :func:`measure`, which turns the runs into one
:class:`~scalinglab.claims.Measurement` per claim (``measure_e1`` … ``measure_e6``, each with a
hierarchical bootstrap over seeds and test problems).

Used by: chapter 01 (emergence).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn as nn

from ..metrics import (PassUntilResult, brier_score, choice_log_probs, choice_probabilities,  # noqa: F401
                       emergence_score, exact_match, expected_pass_until_successes, greedy_decode,
                       make_choices, multiple_choice_grade, pass_until, per_token_probability,
                       predicted_edit_distance, predicted_exact_match, sample_answers, target_token_probs,
                       token_edit_distance)

if TYPE_CHECKING:  # annotations of the run spec (imported where the run executes)
    from ..data.arithmetic import ArithmeticTask
    from ..models import TransformerConfig
    from ..train import TrainConfig

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
           "train_wall_s": result.wall_time_s, "train_cpu_s": time.process_time() - cpu_start,
           **result.work(spec.model)}  # train_s and model_flops, for the book's status page
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
# Measurements: each claim's statistic per seed (or on the pooled curve), with a covering interval
# ---------------------------------------------------------------------------------------------


@dataclass
class LadderData:
    """The per-problem scores of a ladder, grouped by replicate (seed): what :func:`analyse` reads.

    ``N`` (S,) sizes in increasing order; per replicate g: ``em[g]``, ``similarity[g]`` (1 − ED/L),
    ``loss[g]`` (mean −log p over the answer) and ``sequence_prob[g]`` (∏ p), each (n_g, S), and
    ``log_p[g]`` (n_g, S, L) the teacher-forced log-probability of every answer token, on the replicate's
    default test set (the same problems for every size); ``pu_solved[g]``, ``pu_draws[g]``, ``pu_q[g]``
    (k_g, S) from PassUntil; ``lengths[g]``: answer length -> (em (n, S), ed (n, S), log_p (n, S, L)) for
    every size. Built from real runs by :func:`ladder_data` and from a synthetic world by :func:`simulate`.
    Used by chapter 01.
    """

    N: np.ndarray
    answer_length: int
    max_draws: int
    em: list = field(default_factory=list)
    similarity: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    sequence_prob: list = field(default_factory=list)
    log_p: list = field(default_factory=list)
    pu_solved: list = field(default_factory=list)
    pu_draws: list = field(default_factory=list)
    pu_q: list = field(default_factory=list)
    lengths: list = field(default_factory=list)
    replicates: list = field(default_factory=list)


def ladder_data(specs: list[ArithmeticRunSpec], results: list[dict]) -> LadderData:
    """Collect the runs' per-problem scores into a :class:`LadderData` (a pure reshaping). Used by chapter 01."""
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
        data.log_p.append(log_p)
        data.pu_solved.append(np.stack([c["pass_until"]["solved"] for c in cols], axis=1).astype(float))
        data.pu_draws.append(np.stack([c["pass_until"]["draws"] for c in cols], axis=1).astype(float))
        data.pu_q.append(np.stack([c["pass_until"]["q"] for c in cols], axis=1).astype(float))
        by_length = {}
        for key in cols[0]["by_length"]:
            v = [c["by_length"][key] for c in cols]
            by_length[v[0]["answer_length"]] = (np.stack([x["em"] for x in v], axis=1).astype(float),
                                                np.stack([x["ed"] for x in v], axis=1).astype(float),
                                                np.stack([np.asarray(x["log_p"], float) for x in v], axis=1))
        data.lengths.append(by_length)
    return data


def _pooled_curve(groups: list[np.ndarray]) -> np.ndarray:
    """Mean over replicates of the per-replicate mean over problems: list of (n_g, S, ...) -> (S, ...)."""
    return np.mean([g.mean(0) for g in groups], axis=0)


#: E1's threshold on ES(exact match) / ES(1 − edit distance / L) in the previous edition (kept for
#: :func:`es_ratio`'s exercise; the claim now decides on :func:`per_token_forecast`).
E1_THRESHOLD = 3.0
#: E3 and E4's tolerance on exact match (a share of problems): the previous edition's E4 threshold.
EM_TOLERANCE = 0.1
#: E1's tolerance on the mean forecast error of exact match, from the simulation audit at ``ci``: three seeds'
#: t interval is about 0.25 wide in the mirage world (:data:`WORLDS` ``paper``), which meets ±0.25 in about 85 %
#: of simulated ladders (±0.2: about 75 %, ±0.1: under half), while a per-token curve that jumps
#: (``emergence``) gives errors near 0.9.
E1_TOLERANCE = 0.25


def es_ratio(N, em_curve, similarity_curve, n_items: int, answer_length: int) -> float:
    """ES(exact match) / ES(1 − edit distance / L) on the same outputs (the previous edition's E1).

    Each typical step is floored at its metric's resolution on the pooled test set (1/n for exact
    match, 1/(L·n) for the edit similarity). NaN when the edit similarity does not improve with N
    (the ratio is then meaningless). Used by chapter 01 (an exercise).
    """
    es_em = emergence_score(N, em_curve, resolution=1.0 / n_items)
    es_sim = emergence_score(N, similarity_curve, resolution=1.0 / (n_items * answer_length))
    return float(es_em / es_sim) if es_sim > 0 else float("nan")


def predicted_es_ratio(N, similarity_curve, answer_length: int, n_items: int, measured_length: int | None = None) -> float:
    """The ES ratio the paper's model predicts from a per-token accuracy curve s(N): ES(s^L) / ES(s)
    (exact match s^L when L tokens are right independently; Schaeffer et al. 2023, Sec. 2), each step
    floored as in :func:`es_ratio`. For short answers and a steady climb of s it is small, whatever the
    models do. Used by chapter 01 (an exercise)."""
    s = np.clip(np.asarray(similarity_curve, float), 0.0, 1.0)
    return es_ratio(N, s ** answer_length, s, n_items, measured_length or answer_length)


def fit_sizes(n_sizes: int) -> int:
    """How many of the smallest sizes E1 fits the per-token curve on: the lower half of the ladder,
    rounded up (5 of 9 at ``ci``, 5 of 10 at ``full``); the rest are forecast. Fixed by the design, not by
    the outcome. Used by chapter 01."""
    return n_sizes - n_sizes // 2


def per_token_forecast(N, similarity_curve, answer_length: int, n_fit: int, n_items: int) -> dict:
    """E1's forecast from the per-token accuracy s(N) = 1 − edit distance / L of the ``n_fit`` smallest
    sizes alone: the paper's form −ln s = (N/c)^−α (Schaeffer et al. 2023, Sec. 2, with s in the place of
    p), a line of ln(−ln s) against ln N fitted there and extended to the larger sizes, where exact match is
    forecast as s^L. s is clipped to [1/(2nL), 1 − 1/(2nL)] (the resolution of n problems of L tokens).
    Returns the forecast per size and its parameters. Used by chapter 01."""
    N = np.asarray(N, float)
    res = 1.0 / (2.0 * n_items * answer_length)
    s = np.clip(np.asarray(similarity_curve, float), res, 1.0 - res)
    x, y = np.log(N), np.log(-np.log(s))
    if n_fit < 2:  # a line needs two sizes (a smoke ladder of two): nothing to forecast from
        nan = np.full(len(N), np.nan)
        return {"alpha": float("nan"), "s_forecast": nan, "em_forecast": nan}
    slope, icpt = np.polyfit(x[:n_fit], y[:n_fit], 1)
    s_hat = np.exp(-np.exp(icpt + slope * x))
    return {"alpha": float(-slope), "s_forecast": s_hat, "em_forecast": s_hat ** answer_length}


def forecast_error(N, em_curve, similarity_curve, answer_length: int, n_fit: int, n_items: int) -> float:
    """E1's statistic on one curve: the mean over the forecast sizes (all but the ``n_fit`` smallest) of
    exact match − s^L, s forecast from the small sizes' per-token accuracy (:func:`per_token_forecast`);
    positive when exact match rises above what the small models' per-token accuracy predicts (a jump the
    per-token trend did not foresee), negative when it falls short. Signed, so that its noise is symmetric
    and a t interval over seeds covers. Used by chapter 01."""
    f = per_token_forecast(N, similarity_curve, answer_length, n_fit, n_items)
    em_curve = np.asarray(em_curve, float)
    return float(np.mean(em_curve[n_fit:] - f["em_forecast"][n_fit:]))


def measure_e1(N, em: list, similarity: list, answer_length: int, seeds=None):
    """E1: :func:`forecast_error` of each seed's ladder (its own per-token curve forecasts its own exact
    match), Student's t over seeds. Preconditions (the design can test the claim): the crossing lies
    inside the ladder — greedy exact match (mean over seeds) of the smallest size at most 0.05 and of the
    largest at least 0.5. Used by chapter 01."""
    from ..claims import Measurement
    from ..intervals import t_interval

    N = np.asarray(N, float)
    n_fit = fit_sizes(len(N))
    per_seed = np.array([forecast_error(N, e.mean(0), s.mean(0), answer_length, n_fit, len(e))
                         for e, s in zip(em, similarity)])
    em_by_seed = np.array([e.mean(0) for e in em])  # (G, S)
    pooled = per_token_forecast(N, _pooled_curve(similarity), answer_length, n_fit, sum(len(e) for e in em))
    return Measurement(estimate=float(per_seed.mean()), interval=t_interval(per_seed),
                       seeds=list(seeds if seeds is not None else range(len(em))),
                       preconditions={"em_smallest": float(em_by_seed[:, 0].mean()),
                                      "em_largest": float(em_by_seed[:, -1].mean())},
                       details={"N": N.tolist(), "n_fit": n_fit, "per_seed": per_seed.tolist(),
                                "exact_match": _pooled_curve(em).tolist(),
                                "edit_similarity": _pooled_curve(similarity).tolist(),
                                "em_forecast_pooled": pooled["em_forecast"].tolist(), "alpha_pooled": pooled["alpha"],
                                "exact_match_by_seed": em_by_seed.tolist()})


def loss_power_law(N, loss_curve) -> dict:
    """E2's fit: a pure power law (a line in log–log) of the per-token loss, L_CE = (N/c)^−α; its R² in
    log space (the statistic) and α. Used by chapter 01."""
    from ..fit import r_squared, spearman

    x, y = np.log(np.asarray(N, float)), np.log(np.asarray(loss_curve, float))
    slope, intercept = np.polyfit(x, y, 1)
    r2 = r_squared(y, intercept + slope * x)
    return {"alpha": float(-slope), "intercept": float(intercept), "r2_log": float(r2),
            "spearman_rho": float(spearman(x, -y)), "statistic": float(r2)}


def measure_e2(N, loss: list, seeds=None):
    """E2: R² of the log–log line of the seed-mean per-token loss against N, bias-corrected by the
    delete-one-seed jackknife, with its jackknife t interval: the seed noise left in a mean of G seeds can
    only lower the R² of an exact power law, by an amount of order 1/G, which the correction removes (the
    uncorrected interval covered the truth in 91 % of the audit's paper world, the corrected one in 96 %).
    The uncorrected R² is ``r2_log``. Reported beside it (``top_improving``): the relative drop of the
    per-token loss from the second-largest to the largest size. Used by chapter 01."""
    from ..claims import Measurement
    from ..intervals import jackknife_bias_corrected, jackknife_interval

    N = np.asarray(N, float)
    curve = _pooled_curve(loss)
    fit = loss_power_law(N, curve)

    def r2(groups):
        return loss_power_law(N, _pooled_curve(groups))["statistic"]

    interval = jackknife_interval(r2, list(loss), bias_corrected=True)
    return Measurement(estimate=jackknife_bias_corrected(r2, list(loss)), interval=interval,
                       seeds=list(seeds if seeds is not None else range(len(loss))),
                       details={**fit, "N": N.tolist(), "token_log_loss": curve.tolist(),
                                "top_improving": float(1.0 - curve[-1] / curve[-2])})


def independent_token_discrepancy(em, log_p) -> np.ndarray:
    """|exact match − ∏_i p̄_i| per size, with p̄_i the mean over problems of the teacher-forced
    probability of answer position i (the paper's model: L tokens right independently, Sec. 2).
    ``em`` (n, S), ``log_p`` (n, S, L) -> (S,). Used by chapter 01 (E3, E4)."""
    p_bar = np.exp(np.asarray(log_p, float)).mean(0)  # (S, L)
    return np.abs(np.asarray(em, float).mean(0) - p_bar.prod(-1))


def measure_e3(em: list, log_p: list, seeds=None):
    """E3: per seed, the largest over sizes of :func:`independent_token_discrepancy` at the default answer
    length; Student's t over seeds. Used by chapter 01."""
    from ..claims import Measurement
    from ..intervals import t_interval

    per_size = np.array([independent_token_discrepancy(e, lp) for e, lp in zip(em, log_p)])  # (G, S)
    per_seed = per_size.max(1)
    return Measurement(estimate=float(per_seed.mean()), interval=t_interval(per_seed),
                       seeds=list(seeds if seeds is not None else range(len(em))),
                       details={"per_seed": per_seed.tolist(), "by_size": per_size.mean(0).tolist(),
                                "predicted_exact_match": np.mean([np.exp(lp).mean(0).prod(-1) for lp in log_p],
                                                                 0).tolist(),
                                "exact_match": _pooled_curve(em).tolist()})


def length_model_discrepancy(lengths: dict) -> dict:
    """E4's statistic on one seed: the paper's model per (size, answer length) from the measured
    per-position probabilities p_i against the measured greedy metrics — predicted exact match ∏ p_i and
    edit distance Σ (1 − p_i) — and the worst discrepancy, max(|EM − ∏ p_i|, |ED − Σ(1 − p_i)| / L), over
    every size and length. ``lengths``: L -> (em (n, S), ed (n, S), log_p (n, S, L)). Used by chapter 01."""
    rows = []
    for L in sorted(lengths):
        e, d, lp = lengths[L]
        p = np.exp(np.asarray(lp, float)).mean(0)  # (S, L)
        pred_em, pred_ed = p.prod(-1), (1 - p).sum(-1)
        disc = np.maximum(np.abs(e.mean(0) - pred_em), np.abs(d.mean(0) - pred_ed) / L)
        rows.append({"L": int(L), "exact_match": e.mean(0).tolist(), "predicted_exact_match": pred_em.tolist(),
                     "edit_distance": d.mean(0).tolist(), "predicted_edit_distance": pred_ed.tolist(),
                     "discrepancy": disc.tolist()})
    return {"rows": rows, "statistic": float(max(max(r["discrepancy"]) for r in rows))}


def measure_e4(lengths: list[dict], seeds=None):
    """E4: :func:`length_model_discrepancy` of each seed, Student's t over seeds. Precondition
    ``n_lengths``: answer lengths tested (a design fact). Used by chapter 01."""
    from ..claims import Measurement
    from ..intervals import t_interval

    per_seed = np.array([length_model_discrepancy(g)["statistic"] for g in lengths])
    return Measurement(estimate=float(per_seed.mean()), interval=t_interval(per_seed),
                       seeds=list(seeds if seeds is not None else range(len(lengths))),
                       preconditions={"n_lengths": float(len(lengths[0]))},
                       details={"per_seed": per_seed.tolist(), "rows": length_model_discrepancy(lengths[0])["rows"]})


def resolved_decades(solved, draws, max_draws: int) -> float:
    """How many decades one model's PassUntil rate (successes / draws over its k problems) lies above the
    smallest rate its budget can show at all, one success in k · ``max_draws`` draws: log10(rate · k ·
    max_draws); a model that never succeeds counts half a success (about −0.3). Used by chapter 01 (E5)."""
    solved, draws = np.asarray(solved, float), np.asarray(draws, float)
    rate = max(float(solved.sum()), 0.5) / float(draws.sum())
    return float(np.log10(rate * len(solved) * max_draws))


def measure_e5(em: list, pu_solved: list, pu_draws: list, max_draws: int, seeds=None):
    """E5: per seed, :func:`resolved_decades` of the smallest model; Student's t over seeds. Precondition
    ``em_smallest``: the smallest model's greedy exact match (mean over seeds) is at most 0.05, so that
    it reads as near zero on the default test set. Used by chapter 01."""
    from ..claims import Measurement
    from ..intervals import t_interval

    per_seed = np.array([resolved_decades(s[:, 0], d[:, 0], max_draws) for s, d in zip(pu_solved, pu_draws)])
    return Measurement(estimate=float(per_seed.mean()), interval=t_interval(per_seed),
                       seeds=list(seeds if seeds is not None else range(len(em))),
                       preconditions={"em_smallest": float(np.mean([e[:, 0].mean() for e in em]))},
                       details={"per_seed": per_seed.tolist(),
                                "solved_by_size": _pooled_curve(pu_solved).tolist()})


def pass_until_rates(solved_groups, draws_groups) -> np.ndarray:
    """The pooled PassUntil rate per size (successes / draws over replicates and problems), clipped to
    [1/(2·draws), 1 − 1/(2·draws)] so that a size with no success (or no failure) stays finite. Used by chapter 01."""
    successes = sum(g.sum(0) for g in solved_groups)
    draws = sum(g.sum(0) for g in draws_groups)
    half = 0.5 / draws
    return np.clip(successes / draws, half, 1 - half)


def pass_until_line(N, solved_groups, draws_groups) -> dict:
    """E6's fit: Hu et al.'s task scaling law −ln(rate) = (N/c)^−α — a line of ln(−ln rate) against ln N —
    over every size (:func:`pass_until_rates`), with its R² (the statistic). Used by chapter 01."""
    from ..fit import r_squared

    rate = pass_until_rates(solved_groups, draws_groups)
    x, y = np.log(np.asarray(N, float)), np.log(-np.log(rate))
    slope, icpt = np.polyfit(x, y, 1)
    return {"rate": rate.tolist(), "r2": r_squared(y, icpt + slope * x), "alpha": float(-slope)}


def measure_e6(N, pu_solved: list, pu_draws: list, seeds=None):
    """E6: R² of :func:`pass_until_line` on the pooled rates, delete-one-seed jackknife t. Used by chapter 01."""
    from ..claims import Measurement
    from ..intervals import jackknife_interval

    groups = [np.stack([s, d], axis=-1) for s, d in zip(pu_solved, pu_draws)]
    fit = pass_until_line(N, pu_solved, pu_draws)
    interval = jackknife_interval(lambda gs: pass_until_line(N, [g[..., 0] for g in gs], [g[..., 1] for g in gs])["r2"],
                                  groups)
    return Measurement(estimate=fit["r2"], interval=interval,
                       seeds=list(seeds if seeds is not None else range(len(groups))),
                       details={**fit, "N": list(map(float, N))})


def analyse(observed: LadderData, settings: dict, seed: int = 0) -> dict:
    """Every claim's :class:`~scalinglab.claims.Measurement` from a ladder's per-problem scores — the real
    runs' (:func:`ladder_data`) or a synthetic world's (:func:`simulate`), unchanged. No resampling, so
    ``settings`` and ``seed`` do not enter. Used by chapter 01 and its simulation audit."""
    d = observed
    seeds = list(d.replicates)
    return {
        "E1": measure_e1(d.N, d.em, d.similarity, d.answer_length, seeds=seeds),
        "E2": measure_e2(d.N, d.loss, seeds=seeds),
        "E3": measure_e3(d.em, d.log_p, seeds=seeds),
        "E4": measure_e4(d.lengths, seeds=seeds),
        "E5": measure_e5(d.em, d.pu_solved, d.pu_draws, d.max_draws, seeds=seeds),
        "E6": measure_e6(d.N, d.pu_solved, d.pu_draws, seeds=seeds),
    }


def measure(specs: list[ArithmeticRunSpec], results: list[dict], seed: int, settings: dict | None = None) -> dict:
    """:func:`analyse` of the ladder's runs (:func:`ladder_data`). Used by chapter 01."""
    return analyse(ladder_data(specs, results), settings or {}, seed)


# ---------------------------------------------------------------------------------------------
# The simulation audit: synthetic worlds, shaped exactly like the ladder
# ---------------------------------------------------------------------------------------------

from ..audit import World  # noqa: E402  (after the measurements, which the audit does not need)


@dataclass(frozen=True, kw_only=True)
class EmergenceWorld(World):
    """A synthetic truth for chapter 01's ladder. Used by chapter 01's audit.

    Per-token loss (nats) of the family: the paper's power law L_CE(N) = (N/``c``)^−``alpha`` (Schaeffer et al.
    2023, Sec. 2), or, with ``jump_N`` set, a per-token curve that itself jumps: ln L_CE moves from
    ln ``loss_before`` to ln ``loss_after`` as a logistic in ln N centred on ``jump_N`` with width ``jump_width``.
    The per-token probability p = exp(−L_CE) of every answer token; each trained model's logit p is
    shifted by ``sigma_model`` × a standard normal (one draw per model), each (problem, position) by
    ``sigma_token``; answers of one digit fewer are ``length_shift`` easier in logit. A greedy answer token
    is right with its teacher-forced probability, independently across positions (the paper's model) —
    or, with ``correlated``, one uniform draw per problem decides all its tokens (errors perfectly
    correlated: exact match ≈ p, not p^L). With ``zero_below`` set, models smaller than that can never
    write the last answer digit (its probability is 0): the small models' "zero" is real.

    Noise levels: ``sigma_model`` = 0.5 makes three seeds' exact match at the largest ci size span
    about 0.87–0.96, against 0.86–1.00 measured over the chapter's three seeds at ci (seed 0);
    ``sigma_token`` = 0.3 is an assumption (no real run separates it from the model shift). The defaults
    put the ci ladder's exact match near 0 at the smallest size (p = 0.2) and near 0.93 at the largest
    (p = 0.982), as in the real runs.
    """

    alpha: float = 0.9735  # ln(1.61 / 0.018) / ln(25472 / 252): p from 0.2 to 0.982 over the ci ladder
    c: float = 411.0  # 252 · 1.61^(1/α): L_CE = 1.61 nats at the smallest ci size
    jump_N: float | None = None
    jump_width: float = 0.15
    loss_before: float = 1.61
    loss_after: float = 0.018
    correlated: bool = False
    zero_below: float | None = None
    sigma_model: float = 0.5
    sigma_token: float = 0.3
    length_shift: float = 0.7

    def token_loss(self, N) -> np.ndarray:
        """L_CE(N): the family's mean per-token loss (nats) at sizes N."""
        lnN = np.log(np.asarray(N, float))
        if self.jump_N is None:
            return (np.asarray(N, float) / self.c) ** -self.alpha
        z = 1.0 / (1.0 + np.exp(-(lnN - np.log(self.jump_N)) / self.jump_width))
        return np.exp(np.log(self.loss_before) * (1 - z) + np.log(self.loss_after) * z)


WORLDS = {
    "paper": EmergenceWorld(description="the mirage: per-token loss a power law (N/c)^−α, tokens right "
                                        "independently, so exact match p^L rises sharply while p rises smoothly"),
    "emergence": EmergenceWorld(jump_N=8183.0, description="true emergence: the per-token loss itself jumps "
                                                           "(from 1.61 to 0.018 nats within one ladder step, "
                                                           "around N = 8.2k, where the ci ladder is dense)"),
    "correlated": EmergenceWorld(correlated=True, description="the paper's smooth per-token curve, but a problem's "
                                                              "tokens are right or wrong together (exact match ≈ p)"),
    "floor": EmergenceWorld(zero_below=2500.0, description="the paper's curve, but models below N = 2.5k can never "
                                                          "write the last digit: their zero is real, not resolution"),
}


def ladder_sizes(settings: dict) -> np.ndarray:
    """The non-embedding sizes N of the ladder at ``settings`` (as the real runs report them). Used by chapter 01."""
    from ..models import non_embedding_params

    task = make_task(settings)
    return np.array(sorted(non_embedding_params(model_config(task, *rung)) for rung in settings["ladder"]), float)


def _answer_lengths(settings: dict) -> tuple[int, list[int]]:
    task = make_task(settings)
    return task.answer_length(settings["default_digits"]), [task.answer_length(d) for d in settings["train_digits"]]


def _simulate_scores(world: EmergenceWorld, model_logit, n: int, L: int, N, rng) -> tuple:
    """Per-problem scores of one replicate's models at answer length L: em (n, S), ed (n, S), log_p (n, S, L)."""
    S = len(N)
    logit = model_logit[None, :, None] + world.sigma_token * rng.standard_normal((n, S, L))
    log_p = -np.logaddexp(0.0, -logit)  # log sigmoid
    if world.zero_below is not None:
        dead = np.asarray(N) < world.zero_below
        log_p[:, dead, -1] = -40.0  # the last digit is never right
    u = rng.random((n, S, 1)) if world.correlated else rng.random((n, S, L))
    right = np.log(u) < log_p
    em = right.all(-1).astype(float)
    ed = (~right).sum(-1).astype(float)  # substitutions only (greedy answers have the right length)
    return em, ed, log_p


def simulate(world: EmergenceWorld, settings: dict, seed: int) -> LadderData:
    """A synthetic ladder shaped exactly like the real one at ``settings`` (its sizes, seeds, test sets,
    lengths and PassUntil budget), from ``world``. Used by chapter 01's audit."""
    rng = np.random.default_rng(seed)
    N = ladder_sizes(settings)
    L, lengths = _answer_lengths(settings)
    p = np.exp(-world.token_loss(N))
    base = np.log(p) - np.log1p(-p)  # logit p
    data = LadderData(N=N, answer_length=L, max_draws=int(settings["max_draws"]),
                      replicates=list(range(int(settings["n_seeds"]))))
    n, k, M = int(settings["n_test"]), int(settings["n_pass_until"]), int(settings["max_draws"])
    for _ in data.replicates:
        model = base + world.sigma_model * rng.standard_normal(len(N))
        em, ed, log_p = _simulate_scores(world, model, n, L, N, rng)
        data.em.append(em)
        data.similarity.append(1.0 - ed / L)
        data.loss.append(-log_p.mean(-1))
        data.sequence_prob.append(np.exp(log_p.sum(-1)))
        data.log_p.append(log_p)
        _, _, lp_pu = _simulate_scores(world, model, k, L, N, rng)
        q = np.exp(lp_pu.sum(-1))  # (k, S): temperature-1 success probability of each problem
        first = rng.geometric(np.clip(q, 1e-12, 1.0))  # q below 1e-12 is never found within the budget
        data.pu_solved.append((first <= M).astype(float))
        data.pu_draws.append(np.minimum(first, M).astype(float))
        data.pu_q.append(q)
        by_length = {}
        for Lx in lengths:
            shifted = model + world.length_shift * (L - Lx)
            by_length[Lx] = _simulate_scores(world, shifted, int(settings["n_length"]), Lx, N, rng)
        data.lengths.append(by_length)
    return data


def truth(world: EmergenceWorld, settings: dict) -> dict:
    """Each claim's statistic in ``world`` at ``settings``' design: the chapter's own estimate on one
    simulated ladder of 200 seeds (:func:`scalinglab.audit.monte_carlo_truth`) — for per-seed statistics
    the mean a seed's value has, for pooled ones their large-sample limit. Used by chapter 01's audit."""
    from ..audit import monte_carlo_truth

    return monte_carlo_truth(__import__(__name__, fromlist=["simulate"]), world, settings, "n_seeds", 200)


# ---------------------------------------------------------------------------------------------
# The claims, fixed before anything is trained
# ---------------------------------------------------------------------------------------------

def _claims():
    from ..claims import Claim, Precondition, Revision, at_least, at_most, between

    seed_t = "Student's t over seeds (one value per seed's ladder), 95 %"
    jack = "delete-one-seed jackknife of the seed-mean curve's statistic, Student's t on seeds − 1 df, 95 %"
    jack_bc = ("delete-one-seed jackknife of the seed-mean curve's statistic, centred on its bias-corrected "
               "estimate, Student's t on seeds − 1 df, 95 %")
    revised = "2026-12-01"
    audit_date = "2026-12-04"
    crossing = (Precondition("em_smallest", "greedy exact match of the smallest model (mean over seeds)",
                             at_most(0.05)),
                Precondition("em_largest", "greedy exact match of the largest model (mean over seeds)",
                             at_least(0.5)))
    return [
        Claim(id="E1",
              statement="The sharp rise of exact match is predictable from the per-token metric: the per-token "
                        "accuracy of the smaller models, extended along the paper's smooth law, forecasts the "
                        "larger models' exact match as s^L.",
              source="Schaeffer et al. 2023, Sec. 2 (L_CE = (N/c)^α, exact match ≈ p^L) and Fig. 3",
              statistic="mean over the larger half of the ladder of exact match − s^L, s forecast by a line of "
                        "ln(−ln s) in ln N fitted to the smaller half (s = 1 − edit distance / L)",
              interval=seed_t, criterion=between(-E1_TOLERANCE, E1_TOLERANCE), method="seed_t", rivals=("emergence",),
              preconditions=crossing, paper_value="qualitative (Fig. 3)", headline=True,
              revisions=(Revision(revised, "ES(exact match) ≥ 3 × ES(1 − edit distance / L) on the seed-mean point "
                                  "estimate, ES with an unfloored median step",
                                  "decided on a 95 % interval; each curve's typical step floored at its resolution"),
                         Revision(audit_date, "ES(exact match) / ES(1 − edit distance / L) ≥ 3, hierarchical "
                                  "bootstrap, with a precondition that the paper's model predicts a ratio ≥ 3 from "
                                  "the measured per-token curve",
                                  "the precondition was computed from the curve it guards, so the claim was "
                                  "inconclusive for every outcome at L = 4 (the mirage, true emergence and linear "
                                  "curves alike); ES's median step is fragile and a bootstrap over three seeds "
                                  "does not cover. The paper's falsifiable content is that the per-token metric "
                                  "changes predictably: the simulation audit shows that an out-of-sample "
                                  "forecast of exact match from the smaller half of the ladder separates the "
                                  "mirage from a per-token curve that jumps (errors near 0.9); the tolerance ±0.25 is "
                                  "the audit's (three seeds' t interval is about 0.25 wide, so ±0.1 leaves the "
                                  "mirage reproduced in under half of simulated ci ladders); chosen on the audit "
                                  "before the runs that test it. The crossing preconditions now take the mean over "
                                  "seeds (the highest and lowest seed moved with the number of seeds)"))),
        Claim(id="E2",
              statement="The model improves smoothly: per-token target log-loss falls as a power law in N.",
              source="Schaeffer et al. 2023, Sec. 2 (L_CE(N) = (N/c)^α) and Fig. 3",
              statistic="R² of the line of log per-token loss against log N (seed-mean curve), "
                        "bias-corrected by the delete-one-seed jackknife",
              interval=jack_bc, criterion=at_least(0.9), method="jackknife_bc_t", rivals=("emergence",),
              revisions=(Revision(audit_date, "min(R² of log loss vs log N, Spearman ρ) ≥ 0.9, hierarchical bootstrap, "
                                  "with a precondition that the loss drops ≥ 5 % from the second-largest to the "
                                  "largest model",
                                  "Spearman's ρ is 1 for any monotone curve, so it could not fail; the bootstrap "
                                  "over three seeds does not cover; the precondition, one model against the next, "
                                  "failed on seed noise in a third of simulated ladders of every world (a flat top "
                                  "already lowers the R²)"),
                         Revision(audit_date, "the same R² ≥ 0.9, jackknife t interval centred on the "
                                              "uncorrected R² of the seed-mean curve",
                                  "seed noise in a mean of three seeds lowers the R² of an exact power law, so that "
                                  "interval covered the truth in 91.4 % of 1000 simulated paper-world ladders "
                                  "(below the 92 % bar); centred on the jackknife's bias-corrected R² it covers "
                                  "96 %. The threshold is unchanged"),)),
        Claim(id="E3",
              statement="Across the ladder, exact match is what the per-token probabilities predict for tokens "
                        "right independently: ∏_i p̄_i, with p̄_i the mean teacher-forced probability of position i.",
              source="Schaeffer et al. 2023, Sec. 2 (exact match ≈ p^L)",
              statistic="per seed, max over sizes of |exact match − ∏_i p̄_i| at the default answer length",
              interval=seed_t, criterion=at_most(EM_TOLERANCE), method="seed_t", rivals=("correlated",),
              revisions=(Revision(audit_date, "R² of exact match vs mean ∏ p_i ≥ 0.9 across models",
                                  "a correlation of two monotone curves is high whatever their relation, and the "
                                  "statement says exact match is what the per-token probability predicts: the "
                                  "statistic is now the discrepancy itself"),)),
        Claim(id="E4",
              statement="At every size and answer length, the paper's per-token model predicts exact match (∏ p_i) "
                        "and edit distance (Σ (1 − p_i)).",
              source="Schaeffer et al. 2023, Sec. 2 and Fig. 2–3 (target length)",
              statistic="per seed, max over sizes and lengths of |EM − ∏ p_i| and |ED − Σ(1 − p_i)| / L",
              interval=seed_t, criterion=at_most(EM_TOLERANCE), method="seed_t", rivals=("correlated",),
              preconditions=(Precondition("n_lengths", "answer lengths tested", at_least(3)),),
              revisions=(Revision(revised, "line R² ≥ 0.9 of log exact match vs L with a negative slope, and "
                                  "max/min of edit distance per token < 2",
                                  "the max/min ratio divides by zero when a length has edit distance 0; the paper's "
                                  "model is now tested with the measured per-position probabilities"),
                         Revision(audit_date, "the largest model only, hierarchical bootstrap",
                                  "at the largest size both sides are near 1 and a world with perfectly correlated "
                                  "token errors passed; every size is used now")),),
        Claim(id="E5",
              statement="A zero exact match is a resolution limit: sampling until success (PassUntil) finds "
                        "right answers for the smallest model, whose greedy exact match reads zero.",
              source="Schaeffer et al. 2023, Sec. 3 (resolution); Hu et al. 2024 (PassUntil)",
              statistic="decades by which the smallest model's PassUntil rate exceeds the smallest rate the "
                        "budget can show (one success in all its draws): log10(rate × problems × budget)",
              interval=seed_t, criterion=at_least(1.0), method="seed_t", rivals=("floor",),
              preconditions=(crossing[0],),
              paper_value="small models' accuracy is non-zero with more samples (Sec. 3)",
              revisions=(Revision(revised, "every zero model gets a non-zero estimate, and the line's R² ≥ 0.8",
                                  "the estimate was checked against the exact sequence probability"),
                         Revision(audit_date, "PassUntil successes / successes predicted by ∏ p_i between 2/3 and "
                                  "1.5", "temperature-1 sampling succeeds with probability ∏ p_i by the definition "
                                  "of sampling, so the ratio tested the sampler (now a unit test), not the paper; the "
                                  "claim is now that the smallest model's zero is a floor of the measurement, "
                                  "audited against a world where it really cannot answer")),),
        Claim(id="E6",
              statement="The PassUntil pass rate follows a smooth task scaling law over the whole ladder: "
                        "−ln(rate) = (N/c)^−α.",
              source="Hu et al. 2024 (PassUntil, Sec. 4); Schaeffer et al. 2023, Sec. 3",
              statistic="R² of ln(−ln rate) against ln N over every size (seed-mean pooled rate)",
              interval=jack, criterion=at_least(0.8), method="jackknife_t", rivals=("emergence",),
              revisions=(Revision(audit_date, "R² of log rate vs log N over sizes with a non-zero rate, at least 4 "
                                  "of them (precondition)", "the precondition counted the outcome it guards; every "
                                  "size now enters, a size with no success at the floor of the measurement, and "
                                  "the law is Hu et al.'s form"),)),
    ]


#: The chapter's claims (E1 is the headline), fixed before anything is trained.
CLAIMS = _claims()
