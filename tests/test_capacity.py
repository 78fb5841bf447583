"""Tests of scalinglab.capacity: value cross-entropies in bits, stored bits (clipped and unclipped), the
chance control, bits per parameter and weight quantisation, on hand-made models whose answers are known."""

import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from scalinglab import capacity
from scalinglab.data.facts import random_facts
from scalinglab.models import Transformer, TransformerConfig


class LookupTable(nn.Module):
    """A perfect memoriser: finds the individual by its name and puts all mass on the true value."""

    def __init__(self, facts):
        super().__init__()
        self.facts = facts
        self.index = {tuple(n): i for i, n in enumerate(facts.names.tolist())}

    def forward(self, idx):
        B, T = idx.shape
        f = self.facts
        logits = torch.full((B, T, f.vocab_size), -1e4)
        tokens = torch.from_numpy(f.tokens())
        for b in range(B):
            i = self.index[tuple(idx[b, : f.name_length].tolist())]
            for t in range(T):
                logits[b, t, tokens[i, t + 1]] = 1e4
        return logits


class Uniform(nn.Module):
    """The same distribution everywhere: uniform over the values (``values_only``) or over every token."""

    def __init__(self, facts, values_only=True):
        super().__init__()
        self.facts, self.values_only = facts, values_only

    def forward(self, idx):
        B, T = idx.shape
        logits = torch.zeros(B, T, self.facts.vocab_size)
        if self.values_only:
            logits[..., : self.facts.name_symbols] = -float("inf")
        return logits


class FavoursValueZero(nn.Module):
    """Knows nothing about the facts: at every position it gives value 0 probability ``p`` and every other
    value (1 − p)/(K − 1), the name symbols nothing. A parameter holds the logits (so the model has a device)."""

    def __init__(self, facts, p):
        super().__init__()
        K = facts.n_values
        probs = torch.zeros(facts.vocab_size, dtype=torch.float64)
        probs[facts.name_symbols:] = (1 - p) / (K - 1)
        probs[facts.name_symbols] = p
        self.logits = nn.Parameter(torch.log(probs).float())

    def forward(self, idx):
        B, T = idx.shape
        return self.logits.expand(B, T, -1)


@pytest.fixture(scope="module")
def facts():
    return random_facts(40, 5, 8, seed=0, name_length=2, name_symbols=10)


# --- moved from the chapter's tests ----------------------------------------------------------------------

def test_a_lookup_table_stores_exactly_facts_times_log2_k(facts):
    ce = capacity.value_ce_bits(LookupTable(facts), facts)
    assert ce.shape == (40, 5) and np.all(ce == 0.0)
    assert capacity.stored_bits(ce, facts.bits_per_fact) == facts.n_facts * math.log2(8)
    assert capacity.stored_bits(ce, facts.bits_per_fact, clip=False) == facts.total_bits


def test_a_uniform_model_stores_zero_bits(facts):
    ce = capacity.value_ce_bits(Uniform(facts), facts)
    assert np.allclose(ce, 3.0)  # log2 8
    assert capacity.stored_bits(ce, facts.bits_per_fact) == pytest.approx(0.0, abs=1e-9)
    ce_all = capacity.value_ce_bits(Uniform(facts, values_only=False), facts)  # uniform over all 18 tokens
    assert np.allclose(ce_all, math.log2(18))
    assert capacity.stored_bits(ce_all, facts.bits_per_fact) == 0.0
    assert capacity.stored_bits(ce_all, facts.bits_per_fact, clip=False) < 0  # unclipped it is negative


def test_clipping_and_the_chance_control(facts):
    ce = np.array([0.0, 1.0, 5.0])  # knows one fact, half-knows one, confidently wrong on one
    assert capacity.stored_bits(ce, 3.0) == 3.0 + 2.0
    assert capacity.stored_bits(ce, 3.0, clip=False) == 3.0 + 2.0 - 2.0
    # the lookup table on fresh values: right only where a fresh value happens to equal the old one
    control = facts.with_values(np.random.default_rng(1).integers(0, 8, size=facts.values.shape))
    table = LookupTable(facts)
    same = (control.values == facts.values).sum()
    net = capacity.net_stored_bits(capacity.value_ce_bits(table, facts), capacity.value_ce_bits(table, control), 3.0)
    assert net == pytest.approx(facts.total_bits - 3.0 * same)
    e = capacity.evaluate_capacity(table, facts, control)
    assert e["stored_bits"] == facts.total_bits and e["accuracy"] == 1.0
    assert e["net_bits"] == pytest.approx(net)


def test_bits_per_parameter():
    assert capacity.bits_per_parameter(2000.0, 1000) == 2.0
    with pytest.raises(ValueError):
        capacity.bits_per_parameter(1.0, 0)


def test_quantize_weights_rounds_matrices_and_keeps_the_original():
    # chapter 06's ci transformer of width 16: 32 name symbols + 32 values, context 3 + 32 − 1, one layer, one head
    model = Transformer(TransformerConfig(vocab_size=64, context_length=34, n_layer=1, n_head=1, d_model=16))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    q8, q4 = capacity.quantize_weights(model, 8), capacity.quantize_weights(model, 4)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])  # the original is untouched
    w, w8, w4 = model.blocks[0].mlp.up.weight, q8.blocks[0].mlp.up.weight, q4.blocks[0].mlp.up.weight
    assert len(torch.unique(w8)) <= 255 and len(torch.unique(w4)) <= 15
    err8, err4 = (w8 - w).abs().max(), (w4 - w).abs().max()
    assert err8 <= w.abs().max() / 127 / 2 + 1e-7 and err4 > err8
    assert torch.equal(q4.blocks[0].mlp.up.bias, model.blocks[0].mlp.up.bias)  # biases stay
    with pytest.raises(ValueError):
        capacity.quantize_weights(model, 1)


# --- hand-worked cases -------------------------------------------------------------------------------------

def test_value_ce_bits_of_a_fixed_distribution_is_minus_log2_of_its_probability(facts):
    p = 0.6
    model = FavoursValueZero(facts, p)
    ce = capacity.value_ce_bits(model, facts)
    expected = np.where(facts.values == 0, -math.log2(p), -math.log2((1 - p) / 7))  # value tokens, not names
    assert ce.dtype == np.float64 and ce.shape == facts.values.shape
    assert np.allclose(ce, expected, atol=1e-5)
    # batching does not change the answer, and the model's training flag is restored
    model.train()
    assert np.array_equal(capacity.value_ce_bits(model, facts, batch_size=7), ce) and model.training
    model.eval()
    capacity.value_ce_bits(model, facts)
    assert not model.training


def test_a_model_that_knows_nothing_gains_only_chance_bits_that_the_control_removes(facts):
    p = 0.6
    model = FavoursValueZero(facts, p)
    control = facts.with_values(np.random.default_rng(2).integers(0, 8, size=facts.values.shape))
    saving_zero = 3.0 - (-math.log2(p))  # 2.263 bits on every fact whose value is 0
    saving_other = 3.0 - (-math.log2((1 - p) / 7))  # −1.13 bits on every other fact
    zeros, control_zeros = int((facts.values == 0).sum()), int((control.values == 0).sum())
    assert zeros > 0 and control_zeros > 0 and zeros != control_zeros
    e = capacity.evaluate_capacity(model, facts, control)
    assert e["stored_bits"] == pytest.approx(zeros * saving_zero, rel=1e-5)
    assert e["stored_bits_unclipped"] == pytest.approx(
        zeros * saving_zero + (facts.n_facts - zeros) * saving_other, rel=1e-5)
    assert e["control_bits"] == pytest.approx(control_zeros * saving_zero, rel=1e-5)
    assert e["net_bits"] == pytest.approx((zeros - control_zeros) * saving_zero, abs=1e-3)
    assert e["accuracy"] == pytest.approx(zeros / facts.n_facts)  # CE < 1 bit only on the favoured value


def test_stored_and_net_bits_by_hand():
    ce = [[0.5, 4.0], [3.0, 1.0]]  # savings over log2 8 = 3: 2.5, −1, 0, 2
    assert capacity.stored_bits(ce, 3.0) == pytest.approx(4.5)
    assert capacity.stored_bits(ce, 3.0, clip=False) == pytest.approx(3.5)
    assert capacity.stored_bits(np.zeros(0), 3.0) == 0.0
    # train: 3 + 3 + 0; control: 1 + 0 + 0 (a chance saving) → net 5; a control that does better gives < 0
    assert capacity.net_stored_bits([0.0, 0.0, 3.0], [2.0, 3.0, 3.5], 3.0) == pytest.approx(5.0)
    assert capacity.net_stored_bits([3.0, 3.0], [0.0, 3.0], 3.0) == pytest.approx(-3.0)


def test_bits_per_parameter_divides_as_floats():
    assert capacity.bits_per_parameter(3, 2) == 1.5 and isinstance(capacity.bits_per_parameter(3, 2), float)
    with pytest.raises(ValueError):
        capacity.bits_per_parameter(1.0, -5)


def test_quantize_weights_by_hand():
    layer = nn.Linear(2, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, -0.4], [0.3, 0.0]]))
        layer.bias.copy_(torch.tensor([0.123, -0.456]))
    q4 = capacity.quantize_weights(layer, 4)  # 7 levels a side: scale 1/7, w·7 = 7, −2.8, 2.1, 0
    assert torch.allclose(q4.weight, torch.tensor([[7.0, -3.0], [2.0, 0.0]]) / 7)
    q2 = capacity.quantize_weights(layer, 2)  # one level a side: scale 1
    assert torch.equal(q2.weight, torch.tensor([[1.0, -0.0], [0.0, 0.0]]))
    assert torch.equal(q4.bias, layer.bias) and q4 is not layer
    with torch.no_grad():
        layer.weight.zero_()
    assert torch.equal(capacity.quantize_weights(layer, 8).weight, torch.zeros(2, 2))  # a zero matrix stays zero
