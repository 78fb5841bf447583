"""Tests of scalinglab.metrics: decoding and teacher forcing, the metrics of fixed outputs, the paper's
model of independent tokens, the emergence score and PassUntil."""

import numpy as np
import pytest
import torch
import torch.nn as nn

from scalinglab import metrics
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
    assert metrics.exact_match(pred, target).tolist() == [1.0, 0.0, 0.0]
    # one substitution; a rotation is one deletion + one insertion
    assert metrics.token_edit_distance(pred, target).tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError):
        metrics.token_edit_distance(pred[:, :3], target)


def test_brier_and_multiple_choice():
    probs = np.array([[1.0, 0, 0, 0], [0.25, 0.25, 0.25, 0.25], [0, 1.0, 0, 0]])
    correct = np.array([0, 0, 0])
    assert np.allclose(metrics.brier_score(probs, correct), [0.0, 0.75, 2.0])  # uniform: 1 - 1/k
    lp = np.log(probs + 1e-12)
    # a tie goes to the first choice (numpy argmax), which is the right one in row 2
    assert metrics.multiple_choice_grade(lp, correct).tolist() == [1.0, 1.0, 0.0]
    assert np.allclose(metrics.choice_probabilities(np.log([[1.0, 3.0]])), [[0.25, 0.75]])


def test_paper_model_matches_independent_tokens():
    p, L = 0.7, 5
    rng = np.random.default_rng(0)
    right = rng.random((200_000, L)) < p  # independent right/wrong tokens
    assert abs(right.all(1).mean() - metrics.predicted_exact_match(p, L)) < 5e-3
    assert abs((~right).sum(1).mean() - metrics.predicted_edit_distance(p, L)) < 1e-2
    assert np.isclose(metrics.per_token_probability(-np.log(0.7)), 0.7)


def test_emergence_score():
    x = np.arange(8)
    assert metrics.emergence_score(x, x.astype(float)) == pytest.approx(7.0)  # steady climb: n - 1
    assert metrics.emergence_score(x, -x.astype(float)) == pytest.approx(-7.0)
    jump = np.array([0, 0, 0, 0, 0, 0.01, 0.02, 1.0])
    assert metrics.emergence_score(x, jump) == np.inf  # over half of the steps are 0
    sharp = np.array([0.0, 0.001, 0.003, 0.004, 0.006, 0.01, 0.3, 1.0])
    assert metrics.emergence_score(x, sharp) > 100
    # order is by x, not by position
    assert metrics.emergence_score(x[::-1], x[::-1].astype(float)) == pytest.approx(7.0)
    assert metrics.emergence_score(x, np.ones(8)) == 0.0


def test_teacher_forced_probs_and_sampling_agree():
    probs = torch.tensor([0.5, 0.3, 0.2] + [0.0] * (VOCAB_SIZE - 3)) + 1e-12
    model = FixedDistribution(probs / probs.sum())
    prompts = torch.zeros((4, 3), dtype=torch.long)
    answers = torch.tensor([[0, 0], [0, 1], [2, 1], [1, 1]])
    p = metrics.target_token_probs(model, prompts, answers)
    assert torch.allclose(p, torch.tensor([[0.5, 0.5], [0.5, 0.3], [0.2, 0.3], [0.3, 0.3]], dtype=torch.float64), atol=1e-9)
    g = metrics.greedy_decode(model, prompts, 2)
    assert (g == 0).all()
    lp = metrics.choice_log_probs(model, prompts[:1], answers[None, :3])  # (1, 3)
    assert np.allclose(lp.numpy(), np.log([[0.25, 0.15, 0.06]]))
    samples = metrics.sample_answers(model, torch.zeros((20_000, 3), dtype=torch.long), 1, torch.Generator().manual_seed(0))
    freq = np.bincount(samples[:, 0].numpy(), minlength=3)[:3] / 20_000
    assert np.allclose(freq, [0.5, 0.3, 0.2], atol=0.015)


def test_pass_until_estimates_tiny_success_rates():
    # success probability per draw: 0.2 * 0.2 * 0.2 = 0.008 for answer (2, 2, 2)
    probs = torch.tensor([0.5, 0.3, 0.2] + [0.0] * (VOCAB_SIZE - 3)) + 1e-12
    model = FixedDistribution(probs / probs.sum())
    prompts = torch.zeros((300, 2), dtype=torch.long)
    answers = torch.full((300, 3), 2)
    result = metrics.pass_until(model, prompts, answers, max_draws=5000, generator=torch.Generator().manual_seed(1),
                           draws_per_round=50)
    assert result.solved.mean() > 0.99
    assert result.pass_rate == pytest.approx(0.008, rel=0.15)
    assert (result.draws <= 5000).all() and (result.draws >= 1).all()
    # the budget is respected exactly, and an impossible answer is never "solved"
    impossible = torch.full((5, 3), 7)
    r = metrics.pass_until(model, prompts[:5], impossible, max_draws=130, generator=torch.Generator().manual_seed(2),
                      draws_per_round=64)
    assert r.solved.sum() == 0 and (r.draws == 130).all() and r.pass_rate == 0.0


def test_perfect_model_scores_perfectly():
    prompts = torch.randint(0, 10, (50, 4))
    answers = prompts[:, :3].clone()
    model = CopyPrompt(prompt_length=4)
    g = metrics.greedy_decode(model, prompts, 3, batch_size=16)
    assert torch.equal(g, answers)
    p = metrics.target_token_probs(model, prompts, answers)
    assert torch.allclose(p, torch.ones_like(p), atol=1e-6)


def test_make_choices_distinct_and_marked():
    task = ArithmeticTask("mul", (4,), True, 1, 2)
    problems = make_problems(task, 40, 4, seed=3)
    choices, correct = metrics.make_choices(problems.answers, 4, np.random.default_rng(0))
    assert choices.shape == (40, 4, 5)
    for i in range(40):
        assert torch.equal(choices[i, correct[i]], problems.answers[i])
        assert len({tuple(c.tolist()) for c in choices[i]}) == 4


def test_pass_until_matches_the_exact_sequence_probability():
    """Temperature-1 sampling succeeds with probability ∏ p_i, so PassUntil's successes match
    expected_pass_until_successes (chapter 01's check of its sampler)."""
    probs = torch.tensor([0.6, 0.3, 0.1] + [0.0] * (VOCAB_SIZE - 3)) + 1e-12
    model = FixedDistribution(probs / probs.sum())
    answers = torch.tensor([[2, 2, 1]] * 400)  # q = 0.1 · 0.1 · 0.3 = 0.003
    prompts = torch.zeros((400, 2), dtype=torch.long)
    q = metrics.target_token_probs(model, prompts, answers).prod(-1).numpy()
    assert q == pytest.approx(np.full(400, 0.003), rel=1e-6)
    r = metrics.pass_until(model, prompts, answers, max_draws=300, generator=torch.Generator().manual_seed(3),
                      draws_per_round=64)
    expected = metrics.expected_pass_until_successes(q, 300).sum()  # 400 · (1 − 0.997^300) ≈ 237
    assert abs(r.solved.sum() - expected) < 4 * np.sqrt(expected * (1 - expected / 400))
    assert metrics.expected_pass_until_successes([0.0, 1.0, 1e-3], 1000) == pytest.approx([0.0, 1.0, 1 - 0.999**1000])


# --- hand-worked cases and direct formulas ------------------------------------------------------

def _levenshtein(a, b) -> int:
    """The textbook dynamic programme (Wagner & Fischer 1974), for comparison."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def test_token_edit_distance_hand_worked_and_against_the_textbook_recursion():
    target = np.array([[1, 2, 3, 4, 5]] * 5)
    pred = np.array([[1, 2, 3, 4, 5],   # equal: 0
                     [5, 4, 3, 2, 1],   # reversed: four substitutions (the middle token stays)
                     [0, 1, 2, 3, 4],   # shifted right by one: one insertion + one deletion
                     [9, 9, 9, 9, 9],   # nothing in common: five substitutions
                     [1, 3, 2, 4, 5]])  # two neighbours swapped: two substitutions
    assert metrics.token_edit_distance(pred, target).tolist() == [0.0, 4.0, 2.0, 5.0, 2.0]
    assert metrics.exact_match(pred, target).tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 3, (200, 6)), rng.integers(0, 3, (200, 6))
    assert metrics.token_edit_distance(a, b).tolist() == [float(_levenshtein(x, y)) for x, y in zip(a, b)]
    # exact match is 1 exactly where the edit distance is 0
    assert np.array_equal(metrics.exact_match(a, b), (metrics.token_edit_distance(a, b) == 0).astype(float))


def test_paper_model_and_brier_formulas():
    p = np.array([0.1, 0.5, 0.9])
    assert np.allclose(metrics.predicted_exact_match(p, 3), [0.001, 0.125, 0.729])
    assert np.allclose(metrics.predicted_edit_distance(p, 3), [2.7, 1.5, 0.3])
    assert np.allclose(metrics.predicted_exact_match(0.5, np.array([1, 2, 4])), [0.5, 0.25, 0.0625])
    assert np.allclose(metrics.per_token_probability([0.0, np.log(2.0)]), [1.0, 0.5])
    # Brier: Σ_j (q_j − 1[j = right])²; 0.6/0.3/0.1 with the second right: 0.36 + 0.49 + 0.01
    assert metrics.brier_score([[0.6, 0.3, 0.1]], [1]) == pytest.approx([0.86])
    # softmax is invariant to a shift of the log-probabilities and sums to 1
    lp = np.array([[-1000.0, -1001.0, -1002.0]])
    q = metrics.choice_probabilities(lp)
    assert np.allclose(q, metrics.choice_probabilities(lp + 1000.0)) and q.sum() == pytest.approx(1.0)
    assert np.allclose(q, np.exp([0, -1, -2]) / np.exp([0, -1, -2]).sum())


def test_emergence_score_formula_and_resolution():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    y = np.array([0.0, 0.1, 0.3, 0.4, 1.0])
    # steps 0.1, 0.2, 0.1, 0.6: median of squares (0.01 + 0.04) / 2 = 0.025; spread 1.0
    assert metrics.emergence_score(x, y) == pytest.approx(1.0 / np.sqrt(0.025))
    flat_then_jump = np.array([0.0, 0.0, 0.0, 0.0, 1.0])
    assert metrics.emergence_score(x, flat_then_jump) == np.inf
    # the resolution floors the typical step: 1.0 / 0.1
    assert metrics.emergence_score(x, flat_then_jump, resolution=0.1) == pytest.approx(10.0)
    # a resolution below the typical step changes nothing
    assert metrics.emergence_score(x, y, resolution=1e-3) == pytest.approx(metrics.emergence_score(x, y))
    with pytest.raises(ValueError):
        metrics.emergence_score(x, y, resolution=-1.0)
    with pytest.raises(ValueError):
        metrics.emergence_score(x[:1], y[:1])


def test_expected_pass_until_successes_is_one_minus_the_chance_of_all_failures():
    q = np.array([0.0, 1e-6, 0.003, 0.1, 0.5, 0.999])
    for n in (1, 7, 300, 10_000):
        assert np.allclose(metrics.expected_pass_until_successes(q, n), 1 - (1 - q) ** n, rtol=1e-9, atol=1e-15)
    # tiny q: about n · q, where 1 − (1 − q)^n loses digits
    assert metrics.expected_pass_until_successes([1e-15], 10) == pytest.approx([1e-14], rel=1e-6)


def test_pass_until_result_rate_and_record():
    r = metrics.PassUntilResult(draws=np.array([3, 10, 1]), solved=np.array([1.0, 0.0, 1.0]), max_draws=10)
    # two successes in 14 draws: the maximum-likelihood rate of a common p
    assert r.pass_rate == pytest.approx(2 / 14) and r.total_draws == 14
    d = r.to_dict()
    assert d == {"draws": [3, 10, 1], "solved": [1.0, 0.0, 1.0], "max_draws": 10, "pass_rate": pytest.approx(2 / 14)}


def test_pass_until_counts_draws_to_the_first_success():
    # a model that is always right is solved at its first draw; one that is never right uses the whole budget
    model = CopyPrompt(prompt_length=3)
    prompts = torch.randint(0, 10, (6, 3))
    r = metrics.pass_until(model, prompts, prompts[:, :2].clone(), max_draws=5,
                           generator=torch.Generator().manual_seed(0), draws_per_round=4)
    assert r.solved.tolist() == [1.0] * 6 and r.draws.tolist() == [1] * 6
    wrong = (prompts[:, :2] + 1) % 10
    r = metrics.pass_until(model, prompts, wrong, max_draws=5, generator=torch.Generator().manual_seed(0),
                           draws_per_round=4)
    assert r.solved.sum() == 0 and r.draws.tolist() == [5] * 6
    with pytest.raises(ValueError):
        metrics.pass_until(model, prompts, wrong, max_draws=0, generator=torch.Generator())


def test_sampling_is_seeded_and_greedy_takes_the_argmax():
    probs = torch.tensor([0.1, 0.2, 0.7] + [0.0] * (VOCAB_SIZE - 3)) + 1e-12
    model = FixedDistribution(probs / probs.sum())
    prompts = torch.zeros((50, 2), dtype=torch.long)
    a = metrics.sample_answers(model, prompts, 3, torch.Generator().manual_seed(5), batch_size=7)
    b = metrics.sample_answers(model, prompts, 3, torch.Generator().manual_seed(5), batch_size=7)
    c = metrics.sample_answers(model, prompts, 3, torch.Generator().manual_seed(6), batch_size=7)
    assert a.shape == (50, 3) and torch.equal(a, b) and not torch.equal(a, c)  # the generator decides
    assert set(a.unique().tolist()) <= {0, 1, 2}  # tokens of zero probability are never drawn
    assert (metrics.greedy_decode(model, prompts, 3) == 2).all()
    with pytest.raises(ValueError):
        metrics.sample_answers(model, prompts, 1, torch.Generator(), temperature=0.0)


def test_make_choices_rejects_impossible_designs():
    answers = torch.tensor([[1, 2]])
    with pytest.raises(ValueError):
        metrics.make_choices(answers, 1, np.random.default_rng(0))
    with pytest.raises(ValueError):
        metrics.make_choices(answers, 1 + 9 * 2 + 1, np.random.default_rng(0))
