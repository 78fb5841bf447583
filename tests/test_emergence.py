"""Tests of scalinglab.emergence (chapter 01): metrics, the paper's model, ES and PassUntil."""

import numpy as np
import pytest
import torch
import torch.nn as nn

from scalinglab.experiments import emergence as em
from scalinglab.data.arithmetic import VOCAB_SIZE, ArithmeticTask, make_problems


class FixedDistribution(nn.Module):
    """A 'language model' whose next-token distribution is the same at every position."""

    def __init__(self, probs):
        super().__init__()
        self.logits = nn.Parameter(torch.log(torch.as_tensor(probs, dtype=torch.float64)))

    def forward(self, idx):
        B, T = idx.shape
        return self.logits.expand(B, T, -1)


class CopyPrompt(nn.Module):
    """Predicts the token of the prompt at the same offset as the answer position (a 'perfect' model
    for answers equal to the first prompt tokens)."""

    def __init__(self, prompt_length, vocab=VOCAB_SIZE):
        super().__init__()
        self.P, self.vocab = prompt_length, vocab
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, idx):
        B, T = idx.shape
        logits = torch.full((B, T, self.vocab), -30.0)
        for t in range(T):
            k = t - (self.P - 1)  # answer index predicted at position t
            if 0 <= k < self.P:
                logits[torch.arange(B), t, idx[:, k]] = 30.0
        return logits


def test_exact_match_and_edit_distance():
    target = np.array([[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]])
    pred = np.array([[1, 2, 3, 4], [1, 2, 9, 4], [2, 3, 4, 1]])
    assert em.exact_match(pred, target).tolist() == [1.0, 0.0, 0.0]
    # one substitution; a rotation is one deletion + one insertion
    assert em.token_edit_distance(pred, target).tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError):
        em.token_edit_distance(pred[:, :3], target)


def test_brier_and_multiple_choice():
    probs = np.array([[1.0, 0, 0, 0], [0.25, 0.25, 0.25, 0.25], [0, 1.0, 0, 0]])
    correct = np.array([0, 0, 0])
    assert np.allclose(em.brier_score(probs, correct), [0.0, 0.75, 2.0])  # uniform: 1 - 1/k
    lp = np.log(probs + 1e-12)
    # a tie goes to the first choice (numpy argmax), which is the right one in row 2
    assert em.multiple_choice_grade(lp, correct).tolist() == [1.0, 1.0, 0.0]
    assert np.allclose(em.choice_probabilities(np.log([[1.0, 3.0]])), [[0.25, 0.75]])


def test_paper_model_matches_independent_tokens():
    p, L = 0.7, 5
    rng = np.random.default_rng(0)
    right = rng.random((200_000, L)) < p  # independent right/wrong tokens
    assert abs(right.all(1).mean() - em.predicted_exact_match(p, L)) < 5e-3
    assert abs((~right).sum(1).mean() - em.predicted_edit_distance(p, L)) < 1e-2
    assert np.isclose(em.per_token_probability(-np.log(0.7)), 0.7)


def test_emergence_score():
    x = np.arange(8)
    assert em.emergence_score(x, x.astype(float)) == pytest.approx(7.0)  # steady climb: n - 1
    assert em.emergence_score(x, -x.astype(float)) == pytest.approx(-7.0)
    jump = np.array([0, 0, 0, 0, 0, 0.01, 0.02, 1.0])
    assert em.emergence_score(x, jump) == np.inf  # over half of the steps are 0
    sharp = np.array([0.0, 0.001, 0.003, 0.004, 0.006, 0.01, 0.3, 1.0])
    assert em.emergence_score(x, sharp) > 100
    # order is by x, not by position
    assert em.emergence_score(x[::-1], x[::-1].astype(float)) == pytest.approx(7.0)
    assert em.emergence_score(x, np.ones(8)) == 0.0


def test_teacher_forced_probs_and_sampling_agree():
    probs = torch.tensor([0.5, 0.3, 0.2] + [0.0] * (VOCAB_SIZE - 3)) + 1e-12
    model = FixedDistribution(probs / probs.sum())
    prompts = torch.zeros((4, 3), dtype=torch.long)
    answers = torch.tensor([[0, 0], [0, 1], [2, 1], [1, 1]])
    p = em.target_token_probs(model, prompts, answers)
    assert torch.allclose(p, torch.tensor([[0.5, 0.5], [0.5, 0.3], [0.2, 0.3], [0.3, 0.3]], dtype=torch.float64), atol=1e-9)
    g = em.greedy_decode(model, prompts, 2)
    assert (g == 0).all()
    lp = em.choice_log_probs(model, prompts[:1], answers[None, :3])  # (1, 3)
    assert np.allclose(lp.numpy(), np.log([[0.25, 0.15, 0.06]]))
    samples = em.sample_answers(model, torch.zeros((20_000, 3), dtype=torch.long), 1, torch.Generator().manual_seed(0))
    freq = np.bincount(samples[:, 0].numpy(), minlength=3)[:3] / 20_000
    assert np.allclose(freq, [0.5, 0.3, 0.2], atol=0.015)


def test_pass_until_estimates_tiny_success_rates():
    # success probability per draw: 0.2 * 0.2 * 0.2 = 0.008 for answer (2, 2, 2)
    probs = torch.tensor([0.5, 0.3, 0.2] + [0.0] * (VOCAB_SIZE - 3)) + 1e-12
    model = FixedDistribution(probs / probs.sum())
    prompts = torch.zeros((300, 2), dtype=torch.long)
    answers = torch.full((300, 3), 2)
    result = em.pass_until(model, prompts, answers, max_draws=5000, generator=torch.Generator().manual_seed(1),
                           draws_per_round=50)
    assert result.solved.mean() > 0.99
    assert result.pass_rate == pytest.approx(0.008, rel=0.15)
    assert (result.draws <= 5000).all() and (result.draws >= 1).all()
    # the budget is respected exactly, and an impossible answer is never "solved"
    impossible = torch.full((5, 3), 7)
    r = em.pass_until(model, prompts[:5], impossible, max_draws=130, generator=torch.Generator().manual_seed(2),
                      draws_per_round=64)
    assert r.solved.sum() == 0 and (r.draws == 130).all() and r.pass_rate == 0.0


def test_perfect_model_scores_perfectly():
    prompts = torch.randint(0, 10, (50, 4))
    answers = prompts[:, :3].clone()
    model = CopyPrompt(prompt_length=4)
    g = em.greedy_decode(model, prompts, 3, batch_size=16)
    assert torch.equal(g, answers)
    p = em.target_token_probs(model, prompts, answers)
    assert torch.allclose(p, torch.ones_like(p), atol=1e-6)


def test_make_choices_distinct_and_marked():
    task = ArithmeticTask("mul", (4,), True, 1, 2)
    problems = make_problems(task, 40, 4, seed=3)
    choices, correct = em.make_choices(problems.answers, 4, np.random.default_rng(0))
    assert choices.shape == (40, 4, 5)
    for i in range(40):
        assert torch.equal(choices[i, correct[i]], problems.answers[i])
        assert len({tuple(c.tolist()) for c in choices[i]}) == 4


# ---------------------------------------------------------------------------------------------
# The chapter's experiment module: profiles, specs, the run function and every claim's controls
# ---------------------------------------------------------------------------------------------

import dataclasses

from scalinglab import params
from scalinglab.claims import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, judge
from scalinglab.runs import run_key

CLAIM = {c.id: c for c in em.CLAIMS}
N8 = np.geomspace(1e3, 6e4, 8)


def test_profiles_and_smoke_overrides():
    assert set(em.PROFILES) == {"ci", "full"}
    ci, full = em.PROFILES["ci"], em.PROFILES["full"]
    # full is the larger design: a wider ladder, more steps and a larger test set, longer answers
    assert len(full["ladder"]) > len(ci["ladder"]) and full["steps"] > ci["steps"] and full["n_test"] > ci["n_test"]
    assert max(full["train_digits"]) > max(ci["train_digits"]) and full["default_digits"] > ci["default_digits"]
    assert set(em.SMOKE_OVERRIDES) <= set(em.PROFILES["ci"]) and set(em.PROFILES["ci"]) == set(em.PROFILES["full"])
    smoke = params.select_profile("full", em.PROFILES, smoke=True, smoke_overrides=em.SMOKE_OVERRIDES)
    assert smoke["steps"] <= 50 and len(smoke["ladder"]) <= 3 and smoke["n_test"] <= 50
    assert em.PROFILES["ci"]["n_seeds"] >= 3 and em.PROFILES["full"]["n_seeds"] >= 3
    assert sum(c.headline for c in em.CLAIMS) == 1 and CLAIM["E1"].headline
    assert CLAIM["E4"].revisions and CLAIM["E5"].revisions


def test_ladder_specs_seeds_and_keys():
    settings = params.select_profile("ci", em.PROFILES)
    specs = em.ladder_specs(settings, seed=1)
    assert len(specs) == settings["n_seeds"] * len(settings["ladder"])
    assert len({s.init_seed for s in specs}) == len(specs)  # every model its own initialisation
    assert {s.replicate for s in specs} == set(range(settings["n_seeds"]))
    # within a replicate every size is scored on the same test problems; replicates differ
    assert len({(s.replicate, s.eval.test_seed) for s in specs}) == settings["n_seeds"]
    assert em.ladder_specs(settings, seed=1) == specs and em.ladder_specs(settings, seed=2) != specs
    # changing any field changes the run key (no hidden constant can serve a stale result)
    spec = specs[0]
    keys = {run_key(spec)}
    for changed in (dataclasses.replace(spec, init_seed=spec.init_seed + 1),
                    dataclasses.replace(spec, train=dataclasses.replace(spec.train, lr=0.02)),
                    dataclasses.replace(spec, task=dataclasses.replace(spec.task, held_out_fraction=0.2)),
                    dataclasses.replace(spec, eval=dataclasses.replace(spec.eval, max_draws=7))):
        keys.add(run_key(changed))
    assert len(keys) == 5
    assert em.run_cost(specs[-1]) > em.run_cost(specs[0])
    steps = [s.train.steps for s in specs if s.replicate == 0]
    assert steps == sorted(steps) and steps[-1] == settings["steps"] and all(t % 50 == 0 for t in steps)


def test_steps_for():
    assert em.steps_for(1000, 1000, 2200, 0.2) == 2200
    assert em.steps_for(10, 1000, 2200, 0.5) == 200  # 2200 / 10 = 220, rounded to 50
    assert em.steps_for(1, 10**9, 2200, 1.0) == 50  # never fewer than 50
    assert em.steps_for(5, 10, 20, 1.0) == 20  # smoke-sized step counts are kept


def test_run_arithmetic_model_and_tables():
    settings = params.select_profile("full", em.PROFILES, smoke=True, smoke_overrides=em.SMOKE_OVERRIDES)
    settings.update(ladder=[(1, 2, 8), (1, 2, 12)], steps=3, n_test=12, n_length=10, n_pass_until=4, max_draws=8)
    specs = em.ladder_specs(settings, seed=0)
    results = [em.run_arithmetic_model(s) for s in specs]
    r = results[0]
    L = specs[0].task.answer_length(settings["default_digits"])
    assert r["default"]["n"] == 12 and len(r["default"]["em"]) == 12
    assert np.asarray(r["default"]["log_p"]).shape == (12, L)
    assert set(r["by_length"]) == {str(d) for d in settings["train_digits"]}
    assert r["large"]["n"] == 12 * settings["large_factor"]
    assert len(r["pass_until"]["q"]) == 4 and max(r["pass_until"]["draws"]) <= 8
    assert r["cpu_s"] >= r["train_cpu_s"] > 0
    models = em.models_table(specs, results)
    assert len(models) == len(specs) and {"exact_match", "edit_similarity", "pass_until"} <= set(models)
    lengths = em.length_table(specs, results)
    assert sorted(lengths["L"].unique()) == sorted(specs[0].task.answer_length(d) for d in settings["train_digits"])
    data = em.ladder_data(specs, results)
    assert data.em[0].shape == (12, 2) and len(data.lengths) == settings["n_seeds"]
    measured = em.measure(specs, results, seed=0, n_bootstrap=20)
    assert set(measured) == set(CLAIM)


# --- synthetic ladders: every claim, through the chapter's measurement function -----------------

def _token_ladder(p_by_size, n=300, L=5, seeds=3, rng=None):
    """Per-problem scores of models whose L answer tokens are right independently with prob p(N)."""
    rng = rng or np.random.default_rng(0)
    em_g, sim_g, loss_g, q_g = [], [], [], []
    for _ in range(seeds):
        right = rng.random((n, len(p_by_size), L)) < np.asarray(p_by_size)[None, :, None]
        em_g.append(right.all(-1).astype(float))
        sim_g.append(right.mean(-1))  # substitutions only: 1 − ED/L = share of right tokens
        loss_g.append(np.broadcast_to(-np.log(p_by_size), (n, len(p_by_size))) * rng.lognormal(0, 0.05, (n, 1)))
        q_g.append(np.broadcast_to(np.asarray(p_by_size) ** L, (n, len(p_by_size))).copy())
    return em_g, sim_g, loss_g, q_g


def test_es_floor_keeps_the_score_finite():
    flat_then_jump = np.array([0, 0, 0, 0, 0, 0.01, 0.3, 0.9])
    assert em.emergence_score(N8, flat_then_jump) == np.inf
    assert np.isfinite(em.emergence_score(N8, flat_then_jump, resolution=1 / 900))
    # a similarity that falls with N makes the ratio meaningless (NaN); one that climbs one unit a step
    # gives ES(sim) = 7 against ES(em) = 0.9 / (1/900) = 810 (floored step)
    assert np.isnan(em.es_ratio(N8, flat_then_jump, -np.arange(8.0), 900, 5))
    assert em.es_ratio(N8, flat_then_jump, np.arange(8.0), 900, 5) == pytest.approx(810 / 7)


def test_e1_controls():
    # positive: a per-token probability climbing steadily, so exact match p^L (L = 12) is sharp and
    # 1 − ED/L smooth. (With L = 5 the same steady p gives a ratio of only about 2: ES needs most
    # of the rise in few steps.)
    p = np.linspace(0.45, 0.985, 8)
    em_g, sim_g, _, _ = _token_ladder(p, L=12)
    m = em.measure_e1(N8, em_g, sim_g, 12, n_bootstrap=300)
    assert m.preconditions["em_smallest"] <= 0.05 and m.preconditions["em_largest"] >= 0.5
    assert judge(CLAIM["E1"], m, "ci").verdict == REPRODUCED
    assert m.preconditions["predicted_ratio"] >= 3
    # negative: the same steady per-token climb, but a problem's tokens are right or wrong together
    # (errors perfectly correlated), so exact match climbs as steadily as 1 − ED/L: the paper's model
    # predicts a sharp exact match (the precondition holds) and the outputs do not show it.
    rng = np.random.default_rng(1)
    em_g, sim_g = [], []
    for _ in range(3):
        right = rng.random((300, 8)) < np.linspace(0.01, 0.985, 8)[None, :]  # one draw per problem and size
        em_g.append(right.astype(float))
        sim_g.append(right.astype(float))
    m = em.measure_e1(N8, em_g, sim_g, 12, n_bootstrap=300)
    assert m.preconditions["predicted_ratio"] >= 3
    assert judge(CLAIM["E1"], m, "ci").verdict == NOT_REPRODUCED
    # short answers: the same steady climb at L = 4 cannot give a ratio of 3 even under the paper's
    # model, so E1 is inconclusive there, not failed
    em_g, sim_g, _, _ = _token_ladder(np.linspace(0.2, 0.99, 8), L=4)
    m = em.measure_e1(N8, em_g, sim_g, 4, n_bootstrap=100)
    assert m.preconditions["predicted_ratio"] < 3 and m.details["length_needed"] > 4
    v = judge(CLAIM["E1"], m, "ci")
    assert v.verdict == INCONCLUSIVE and "predicted_ratio" in v.reason
    # the crossing outside the ladder: inconclusive, whatever the ratio
    em_g, sim_g, _, _ = _token_ladder(np.linspace(0.2, 0.8, 8))
    m = em.measure_e1(N8, em_g, sim_g, 5, n_bootstrap=100)
    assert m.preconditions["em_largest"] < 0.5 and "precondition failed" in judge(CLAIM["E1"], m, "ci").reason


def test_predicted_es_ratio_grows_with_answer_length():
    """The paper's model: for one steady per-token climb, exact match s^L is sharper the longer the
    answer, and ES(s^1) / ES(s) is exactly 1."""
    s = np.linspace(0.3, 0.99, 8)
    ratios = [em.predicted_es_ratio(N8, s, L, 900) for L in (1, 4, 8, 12)]
    assert ratios[0] == pytest.approx(1.0)
    assert ratios[1] < 3 <= ratios[3] and ratios == sorted(ratios)
    # a per-token curve that already jumps leaves nothing for the metric to sharpen
    jump = np.array([0.3, 0.3, 0.3, 0.3, 0.99, 0.99, 0.99, 0.99])
    assert em.predicted_es_ratio(N8, jump, 12, 900) < 3


def test_e2_controls():
    rng = np.random.default_rng(2)
    smooth = 2.0 * (N8 / N8[0]) ** -0.3
    loss_g = [smooth[None, :] * rng.lognormal(0, 0.1, (300, 8)) for _ in range(3)]
    m = em.measure_e2(N8, loss_g, n_bootstrap=300)
    assert m.details["alpha"] == pytest.approx(0.3, abs=0.03)
    assert judge(CLAIM["E2"], m, "ci").verdict == REPRODUCED
    zigzag = np.array([1.0, 0.5, 1.5, 0.4, 1.6, 0.3, 1.8, 1.0])
    loss_g = [zigzag[None, :] * rng.lognormal(0, 0.1, (300, 8)) for _ in range(3)]
    m = em.measure_e2(N8, loss_g, n_bootstrap=300)
    assert judge(CLAIM["E2"], m, "ci").verdict == NOT_REPRODUCED
    flat_top = smooth.copy()
    flat_top[-1] = flat_top[-2]
    m = em.measure_e2(N8, [flat_top[None, :] * rng.lognormal(0, 0.1, (300, 8)) for _ in range(3)], n_bootstrap=50)
    assert "precondition failed" in judge(CLAIM["E2"], m, "ci").reason  # budget-limited top


def test_e3_controls():
    p = np.linspace(0.25, 0.995, 8)
    em_g, _, _, q_g = _token_ladder(p)
    m = em.measure_e3(em_g, q_g, n_bootstrap=300)
    assert judge(CLAIM["E3"], m, "ci").verdict == REPRODUCED
    rng = np.random.default_rng(3)
    shuffled = [q[:, rng.permutation(8)] for q in q_g]  # the probabilities of other models
    m = em.measure_e3(em_g, [np.full_like(q, 0.3) + 0.01 * rng.random(q.shape) for q in shuffled], n_bootstrap=300)
    assert judge(CLAIM["E3"], m, "ci").verdict == NOT_REPRODUCED


def _lengths(p_pos, n=300, seeds=3, greedy_bonus=0.0, rng=None):
    """Per-length data of a model whose tokens are right independently with per-position p_pos[L]."""
    rng = rng or np.random.default_rng(4)
    out = []
    for _ in range(seeds):
        g = {}
        for L, p in p_pos.items():
            right = rng.random((n, L)) < np.clip(np.asarray(p) + greedy_bonus, 0, 1)
            g[L] = (right.all(1).astype(float), (~right).sum(1).astype(float), np.log(np.tile(p, (n, 1))))
        out.append(g)
    return out


def test_e4_controls():
    p_pos = {3: [0.99, 0.9, 0.95], 4: [0.99, 0.9, 0.85, 0.95], 5: [0.99, 0.9, 0.85, 0.8, 0.95]}
    m = em.measure_e4(_lengths(p_pos), n_bootstrap=300)
    assert judge(CLAIM["E4"], m, "ci").verdict == REPRODUCED
    assert m.details["log_em_slope"] < 0 and m.details["edit_slope"] > 0
    # greedy decoding right far more often than the per-token probabilities say
    m = em.measure_e4(_lengths(p_pos, greedy_bonus=0.3), n_bootstrap=300)
    assert judge(CLAIM["E4"], m, "ci").verdict == NOT_REPRODUCED
    # a length with edit distance 0 is fine (the previous edition's ratio divided by zero there)
    m = em.measure_e4(_lengths({2: [1.0, 1.0], 3: [0.99, 0.9, 0.95], 4: [0.99, 0.9, 0.85, 0.95]}), n_bootstrap=50)
    assert np.isfinite(m.estimate)


def _pass_until(q_by_size, n=100, max_draws=1000, seeds=3, boost=1.0, rng=None):
    rng = rng or np.random.default_rng(5)
    solved_g, draws_g, q_g = [], [], []
    for _ in range(seeds):
        q = np.tile(np.asarray(q_by_size, float), (n, 1)) * rng.lognormal(0, 0.3, (n, len(q_by_size)))
        q = np.clip(q, 1e-12, 1.0)
        first = rng.geometric(np.clip(q * boost, 0, 1))  # draw of the first success
        solved_g.append((first <= max_draws).astype(float))
        draws_g.append(np.minimum(first, max_draws).astype(float))
        q_g.append(q)
    return solved_g, draws_g, q_g


def test_e5_controls():
    q = [1e-5, 1e-4, 5e-4, 2e-3, 1e-2, 0.05, 0.3, 0.8]
    em_g = [np.zeros((300, 8)) for _ in range(3)]
    for e in em_g:
        e[:, 5:] = 1.0  # the three largest models answer right greedily
    solved, _, q_g = _pass_until(q)
    m = em.measure_e5(em_g, solved, q_g, 1000, n_bootstrap=300)
    assert m.preconditions["expected_successes"] >= 10 and m.details["n_zero_models"] == 15
    assert judge(CLAIM["E5"], m, "ci").verdict == REPRODUCED
    q = [1e-5, 3e-5, 1e-4, 2e-4, 3e-4, 0.05, 0.3, 0.8]  # zero models far from saturating the budget
    solved, _, q_g = _pass_until(q, boost=4.0)  # a sampler that succeeds 4× too often
    m = em.measure_e5(em_g, solved, q_g, 1000, n_bootstrap=300)
    assert judge(CLAIM["E5"], m, "ci").verdict == NOT_REPRODUCED
    assert em.expected_pass_until_successes([0.0, 1.0, 1e-3], 1000) == pytest.approx([0.0, 1.0, 1 - 0.999**1000])


def test_e6_controls():
    q = 1e-5 * (N8 / N8[0]) ** 2.5
    solved, draws, _ = _pass_until(np.minimum(q, 0.9), max_draws=2000)
    m = em.measure_e6(N8, solved, draws, n_bootstrap=300)
    assert m.preconditions["n_resolved"] >= 4
    assert judge(CLAIM["E6"], m, "ci").verdict == REPRODUCED
    zigzag = np.array([1e-3, 0.3, 1e-3, 0.3, 1e-3, 0.3, 1e-3, 0.3])
    solved, draws, _ = _pass_until(zigzag, max_draws=2000)
    m = em.measure_e6(N8, solved, draws, n_bootstrap=300)
    assert judge(CLAIM["E6"], m, "ci").verdict == NOT_REPRODUCED
