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
