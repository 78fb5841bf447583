import pytest
import torch

from scalinglab.models import (MLP, MLPConfig, Transformer, TransformerConfig, embedding_params, lm_loss,
                               non_embedding_params)


@pytest.mark.parametrize("n_layer,n_head,d_model,vocab,ctx", [(1, 2, 16, 256, 64), (4, 4, 128, 65, 64),
                                                              (3, 3, 48, 100, 32)])
def test_parameter_counts_match_formula(n_layer, n_head, d_model, vocab, ctx):
    cfg = TransformerConfig(vocab_size=vocab, context_length=ctx, n_layer=n_layer, n_head=n_head, d_model=d_model)
    model = Transformer(cfg)
    total = sum(p.numel() for p in model.parameters())
    assert model.num_params(non_embedding=True) == non_embedding_params(cfg)
    assert total == non_embedding_params(cfg) + embedding_params(cfg)
    # Kaplan et al.'s leading term 12·L·d² is within the bias/LayerNorm corrections.
    approx = 12 * n_layer * d_model**2
    assert approx <= non_embedding_params(cfg) <= approx + 20 * n_layer * d_model


def test_untied_embeddings_counted():
    cfg = TransformerConfig(tie_embeddings=False, d_model=32, n_head=2)
    model = Transformer(cfg)
    assert sum(p.numel() for p in model.parameters()) == non_embedding_params(cfg) + embedding_params(cfg)


def test_config_validation_names_the_field():
    with pytest.raises(ValueError, match="divisible by n_head"):
        TransformerConfig(d_model=30, n_head=4)
    with pytest.raises(ValueError, match="n_layer"):
        TransformerConfig(n_layer=0)


def test_transformer_is_causal():
    torch.manual_seed(0)
    model = Transformer(TransformerConfig(vocab_size=20, context_length=16, n_layer=2, n_head=2, d_model=16)).eval()
    x = torch.randint(0, 20, (2, 16))
    y = x.clone()
    y[:, 10:] = (y[:, 10:] + 1) % 20  # change only the future
    with torch.no_grad():
        a, b = model(x), model(y)
    assert torch.allclose(a[:, :10], b[:, :10], atol=1e-6)
    assert not torch.allclose(a[:, 10:], b[:, 10:])


def test_lm_loss_ignores_masked_targets():
    torch.manual_seed(0)
    model = Transformer(TransformerConfig(vocab_size=10, context_length=8, n_layer=1, n_head=1, d_model=8))
    x = torch.randint(0, 10, (3, 8))
    t = torch.full((3, 8), -100)
    t[:, -1] = 1
    loss = lm_loss(model, (x, t))
    logits = model(x)[:, -1]
    assert torch.allclose(loss, torch.nn.functional.cross_entropy(logits, torch.ones(3, dtype=torch.long)))


def test_mlp_shapes_and_count():
    model = MLP(MLPConfig(input_dim=40, hidden=(64, 32), n_classes=10))
    assert model(torch.zeros(5, 40)).shape == (5, 10)
    assert model.num_params() == 40 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10


def test_cnn1d_shapes_and_count():
    from scalinglab.models import CNN1D, CNN1DConfig

    cfg = CNN1DConfig(input_length=40, channels=(8, 16), kernel_sizes=(5, 3), stride=2, n_classes=10)
    assert cfg.feature_length() == 10  # 40 -> 20 -> 10
    model = CNN1D(cfg)
    assert model(torch.zeros(5, 40)).shape == (5, 10)
    assert model.num_params() == (1 * 8 * 5 + 8) + (8 * 16 * 3 + 16) + (16 * 10 * 10 + 10)
    with pytest.raises(ValueError, match="same"):
        CNN1DConfig(channels=(8, 8), kernel_sizes=(5,))
    with pytest.raises(ValueError, match="positive"):
        CNN1DConfig(channels=(0,), kernel_sizes=(3,))
