"""Tests of scalinglab.flops: the closed forms of Kaplan et al. (2020, Table 1) and PaLM (App. B), and the exact
count term by term — against a count by hand, the closed forms' identities, the 6N limit, and torch's own
FLOP counter on a forward and a backward pass of the library's transformer."""

import dataclasses

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from scalinglab.flops import (ELEMENTWISE_FLOPS, FlopCount, flops_per_token, forward_flops_per_token,
                              kaplan_forward_flops, nominal_flops, training_flops_per_token)
from scalinglab.models import Transformer, TransformerConfig, non_embedding_params

CONFIGS = [dict(n_layer=1, n_head=1, d_model=4, vocab_size=3, context_length=2),
           dict(n_layer=4, n_head=4, d_model=128, vocab_size=65, context_length=64),
           dict(n_layer=3, n_head=3, d_model=48, vocab_size=100, context_length=32, mlp_ratio=2, tie_embeddings=False),
           dict(n_layer=2, n_head=2, d_model=16, vocab_size=256, context_length=64, mlp_ratio=3)]


def _bias_and_norm_params(cfg: TransformerConfig) -> int:
    """The parameters in N that multiply nothing: per layer the biases of qkv (3d), of the output projection
    (d) and of the MLP (d_ff + d), and two layer norms' weights and biases (4d); then the final norm (2d)."""
    d, d_ff = cfg.d_model, cfg.mlp_ratio * cfg.d_model
    return cfg.n_layer * (3 * d + d + d_ff + d + 4 * d) + 2 * d


# --------------------------------------------------------------------------- the closed forms

def test_flops_per_token_conventions():
    cfg = TransformerConfig(n_layer=4, n_head=4, d_model=128, context_length=64)
    N = non_embedding_params(cfg)
    assert flops_per_token(cfg, "kaplan") == 6 * N + 6 * 4 * 64 * 128
    assert flops_per_token(cfg, "palm") == 6 * N + 12 * 4 * 64 * 128
    with pytest.raises(ValueError, match="convention"):
        flops_per_token(cfg, "bogus")


@pytest.mark.parametrize("shape", CONFIGS)
def test_kaplan_forward_is_a_third_of_the_kaplan_training_count(shape):
    cfg = TransformerConfig(**shape)
    N, L, T, d = non_embedding_params(cfg), cfg.n_layer, cfg.context_length, cfg.d_model
    assert kaplan_forward_flops(cfg) == 2 * N + 2 * L * T * d
    assert 3 * kaplan_forward_flops(cfg) == flops_per_token(cfg, "kaplan")


def test_nominal_flops_is_six_n_d():
    assert nominal_flops(1_000, 20) == 120_000
    assert nominal_flops(70e9, 1.4e12) == pytest.approx(5.88e23)  # Chinchilla's budget


# --------------------------------------------------------------------------- the exact count

def test_a_tiny_config_counted_by_hand():
    # n_layer=1, d_model=4, n_head=1, context T=2, vocab V=3, d_ff = 4·4 = 16. Forward, per token, 2 per multiply-add:
    #   qkv 2·4·12 = 96; scores QK^T 2·d·T = 16; values 2·d·T = 16; output projection 2·4·4 = 32;
    #   MLP 2·4·16 + 2·16·4 = 256; unembedding 2·4·3 = 24: matmuls 440, training 3·440 = 1320.
    #   Causal: each query sees (T + 1)/2 = 1.5 keys on average, so scores and values 2·4·1.5 = 12 each: 432.
    # Elementwise (ELEMENTWISE_FLOPS): embedding sum 4; in the layer two layer norms 2·7·4 = 56, biases
    #   12 + 4 + 16 + 4 = 36, residual adds 8, scale + softmax (1 + 3)·1 head·2 keys = 8, GELU 8·16 = 128;
    #   final norm 7·4 = 28; log-softmax 3·3 = 9: 4 + 56 + 36 + 8 + 8 + 128 + 28 + 9 = 277 (causal: 275).
    # Kaplan: N = 4·16 + 4·4 + 2·4·16 + 16 + 4 + 16 + 8 = 252, C_forward = 2·252 + 2·1·2·4 = 520.
    cfg = TransformerConfig(**CONFIGS[0])
    fwd = forward_flops_per_token(cfg)
    assert fwd == FlopCount(qkv=96, attention_scores=16, attention_values=16, attention_output=32, mlp=256,
                            unembedding=24, embedding=0, elementwise=277)
    assert fwd.matmul == 440 and fwd.total == 717
    assert training_flops_per_token(cfg).matmul == 1320
    causal = forward_flops_per_token(cfg, causal=True)
    assert (causal.attention_scores, causal.attention_values, causal.matmul, causal.elementwise) == (12, 12, 432, 275)
    assert non_embedding_params(cfg) == 252 and kaplan_forward_flops(cfg) == 520
    assert ELEMENTWISE_FLOPS == {"add": 1, "layer_norm": 7, "attention_scale": 1, "softmax": 3, "gelu": 8,
                                 "log_softmax": 3}


@pytest.mark.parametrize("shape", CONFIGS)
def test_matmuls_less_the_unembedding_are_kaplans_table_1_to_the_bias_terms(shape):
    # Kaplan's 2N counts 2 FLOPs per non-embedding parameter: exactly the weight matrices' matmuls (qkv,
    # output projection, MLP) plus 2 for each bias and layer-norm parameter, which multiply nothing. Its one
    # attention row, 2·n_layer·n_ctx·d_attn, is QK^T; the weighted sum of the values, as much again, it
    # leaves out (PaLM counts it). So, exactly:
    #   matmul − unembedding = C_forward(Kaplan) − 2·(bias and norm parameters) + 2·n_layer·n_ctx·d_model.
    cfg = TransformerConfig(**shape)
    L, T, d, d_ff = cfg.n_layer, cfg.context_length, cfg.d_model, cfg.mlp_ratio * cfg.d_model
    assert _bias_and_norm_params(cfg) == non_embedding_params(cfg) - L * (4 * d * d + 2 * d * d_ff)
    fwd = forward_flops_per_token(cfg)
    assert fwd.unembedding == 2 * d * cfg.vocab_size and fwd.embedding == 0
    assert fwd.matmul - fwd.unembedding == kaplan_forward_flops(cfg) - 2 * _bias_and_norm_params(cfg) + 2 * L * T * d
    assert fwd.attention_scores == fwd.attention_values == 2 * L * T * d
    # and PaLM's training count, which has both attention matmuls, to 6 per bias and norm parameter:
    train = training_flops_per_token(cfg)
    assert train.matmul - train.unembedding == flops_per_token(cfg, "palm") - 6 * _bias_and_norm_params(cfg)


@pytest.mark.parametrize("shape", CONFIGS)
def test_training_is_three_forward_passes_term_by_term(shape):
    cfg = TransformerConfig(**shape)
    fwd, train = forward_flops_per_token(cfg), training_flops_per_token(cfg)
    for f in dataclasses.fields(FlopCount):
        assert getattr(train, f.name) == 3 * getattr(fwd, f.name), f.name
    assert train.total == 3 * fwd.total and train.to_dict()["matmul"] == train.matmul


@pytest.mark.parametrize("shape", CONFIGS)
def test_causal_counts_the_average_keys_and_exact_false_drops_the_elementwise(shape):
    cfg = TransformerConfig(**shape)
    T = cfg.context_length
    full, causal = training_flops_per_token(cfg), training_flops_per_token(cfg, causal=True)
    assert causal.attention_scores == pytest.approx(full.attention_scores * (T + 1) / (2 * T), rel=1e-15)
    assert causal.attention_values == pytest.approx(full.attention_values * (T + 1) / (2 * T), rel=1e-15)
    assert (causal.qkv, causal.attention_output, causal.mlp, causal.unembedding) == \
           (full.qkv, full.attention_output, full.mlp, full.unembedding)
    assert causal.elementwise < full.elementwise
    matmuls = training_flops_per_token(cfg, exact=False)
    assert matmuls.elementwise == 0 and matmuls.total == matmuls.matmul == full.matmul
    assert full.elementwise > 0 and full.total == full.matmul + full.elementwise
    one = TransformerConfig(**{**shape, "context_length": 1})  # one token sees one key either way
    assert training_flops_per_token(one, causal=True) == training_flops_per_token(one)


def test_the_ratio_to_6n_approaches_one_as_the_model_widens():
    # At a fixed context (T = 64, 24 layers, V = 256) everything beyond 6N — attention 12·L·T·d, the
    # unembedding 6·d·V, the elementwise terms — grows like d while 6N grows like d², so exact/6N − 1 ∝ 1/d:
    # it halves with every doubling of d_model and is below 0.5 % at d_model = 4096.
    ratios = []
    for d in (128, 256, 512, 1024, 2048, 4096):
        cfg = TransformerConfig(vocab_size=256, context_length=64, n_layer=24, n_head=d // 64, d_model=d)
        ratios.append(training_flops_per_token(cfg).total / nominal_flops(non_embedding_params(cfg), 1))
    assert all(r > 1 for r in ratios)
    assert all(a > b for a, b in zip(ratios, ratios[1:]))  # a monotone approach
    assert ratios[0] > 1.05 and ratios[-1] < 1.005
    for a, b in zip(ratios, ratios[1:]):
        assert (a - 1) / (b - 1) == pytest.approx(2.0, abs=0.05)


def test_config_must_be_a_transformer_config():
    with pytest.raises(TypeError, match="TransformerConfig"):
        training_flops_per_token({"d_model": 4})


# --------------------------------------------------------------------------- against torch's counter

def _torch_flops(model, idx, backward: bool) -> int:
    # FlopCounterMode counts aten.mm and aten.addmm (2·m·k·n: a Linear's bias add is not counted) and aten.bmm;
    # embeddings (look-ups) and elementwise operations not at all. With the MATH backend, scaled dot-product
    # attention runs as two bmm over the full T × T scores, the causal mask applied afterwards; torch's table
    # has no entry for CPU's fused attention kernel, which would count as 0.
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        out = model(idx)
        if backward:
            out.sum().backward()
    return counter.get_total_flops()


@pytest.mark.parametrize("shape", [CONFIGS[0], dict(n_layer=2, n_head=2, d_model=8, vocab_size=7, context_length=6),
                                   dict(n_layer=1, n_head=2, d_model=8, vocab_size=5, context_length=4, mlp_ratio=3,
                                        tie_embeddings=False)])
def test_matmuls_equal_torchs_flop_counter_forward_and_backward(shape):
    # So torch counts exactly FlopCount.matmul at causal=False, per token of full windows: B·T tokens; and with
    # the backward pass (gradients of every matmul's input and weight) exactly three times that.
    cfg = TransformerConfig(**shape)
    torch.manual_seed(0)
    model = Transformer(cfg)
    B, T = 3, cfg.context_length
    idx = torch.randint(cfg.vocab_size, (B, T))
    assert _torch_flops(model, idx, backward=False) == B * T * forward_flops_per_token(cfg).matmul
    assert _torch_flops(model, idx, backward=True) == B * T * training_flops_per_token(cfg).matmul
