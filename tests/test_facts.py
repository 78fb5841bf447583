"""Tests of scalinglab.data.facts (chapter 06): random facts with a known information content."""

import numpy as np
import pytest
import torch

from scalinglab.data.facts import IGNORE, FactSet, lm_tensors, random_facts, random_token_strings


def test_random_facts_shape_content_and_information():
    facts = random_facts(200, 6, 16, seed=3, name_length=3, name_symbols=10)
    assert isinstance(facts, FactSet)
    assert facts.names.shape == (200, 3) and facts.values.shape == (200, 6)
    assert facts.n_facts == 1200
    assert facts.bits_per_fact == 4.0  # log2 16
    assert facts.total_bits == 1200 * 4.0
    assert facts.names.min() >= 0 and facts.names.max() < 10
    assert facts.values.min() >= 0 and facts.values.max() < 16
    assert len({tuple(n) for n in facts.names}) == 200  # distinct names
    assert facts.vocab_size == 26 and facts.sequence_length == 9


def test_random_facts_is_seeded():
    a = random_facts(50, 4, 8, seed=1)
    b = random_facts(50, 4, 8, seed=1)
    c = random_facts(50, 4, 8, seed=2)
    assert np.array_equal(a.names, b.names) and np.array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)


def test_values_are_uniform_over_the_choices():
    facts = random_facts(4000, 8, 4, seed=0)
    counts = np.bincount(facts.values.ravel(), minlength=4) / facts.n_facts
    assert np.allclose(counts, 0.25, atol=0.01)
    # attributes are independent of one another (no pattern to generalise from)
    agree = (facts.values[:, 0] == facts.values[:, 1]).mean()
    assert abs(agree - 0.25) < 0.03


def test_names_need_enough_space_and_large_spaces_work():
    with pytest.raises(ValueError):
        random_facts(30, 2, 4, seed=0, name_length=2, name_symbols=5)  # only 25 names
    facts = random_facts(1000, 1, 2, seed=0, name_length=6, name_symbols=32)  # 32^6 > 1e7: rejection path
    assert len({tuple(n) for n in facts.names}) == 1000


@pytest.mark.parametrize("bad", [dict(n_individuals=0), dict(n_values=1), dict(n_attributes=True)])
def test_random_facts_rejects_bad_arguments(bad):
    args = dict(n_individuals=10, n_attributes=2, n_values=4, seed=0)
    args.update(bad)
    with pytest.raises(ValueError):
        random_facts(**args)


def test_tokens_and_lm_tensors_target_the_values_only():
    facts = random_facts(5, 3, 4, seed=0, name_length=2, name_symbols=7)
    tokens = facts.tokens()
    assert tokens.shape == (5, 5)
    assert (tokens[:, :2] < 7).all() and (tokens[:, 2:] >= 7).all()
    assert np.array_equal(tokens[:, 2:] - 7, facts.values)
    x, y = lm_tensors(facts)
    assert x.shape == y.shape == (5, 4)
    assert (y[:, :1] == IGNORE).all()  # predicting the second name symbol is not a fact
    assert torch.equal(y[:, 1:], torch.from_numpy(tokens[:, 2:]))
    assert torch.equal(x, torch.from_numpy(tokens[:, :-1]))


def test_with_values_keeps_names():
    facts = random_facts(20, 3, 4, seed=0)
    other = facts.with_values(np.zeros((20, 3), dtype=np.int64))
    assert np.array_equal(other.names, facts.names) and (other.values == 0).all()
    with pytest.raises(ValueError):
        facts.with_values(np.zeros((3, 20)))


def test_random_token_strings():
    s = random_token_strings(100, 16, 64, seed=5)
    assert s.shape == (100, 16) and s.min() >= 0 and s.max() < 64
    assert np.array_equal(s, random_token_strings(100, 16, 64, seed=5))
    with pytest.raises(ValueError):
        random_token_strings(0, 16, 64, seed=5)
