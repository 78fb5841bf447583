"""Batched families train each model exactly as a sequential run would."""

import math
import os

import numpy as np
import pytest
import torch

os.environ.setdefault("SCALINGLAB_THREADS", "1")  # tiny models: one thread is fastest, above all on a busy machine

from scalinglab.families import (StackedAdamW, StackedMLP, VmapFamily, build_mlp_family,
                                 clip_grad_norm_per_model, group_by_shape, stacked_classification_loss,
                                 train_family)
from scalinglab.models import MLP, MLPConfig, classification_loss
from scalinglab.train import TrainConfig, seeded, train

CONFIG = MLPConfig(input_dim=8, hidden=(16, 16), n_classes=3)


def _make_batch_fn(dtype):
    teacher = torch.Generator().manual_seed(123)
    w = torch.randn(8, 3, generator=teacher, dtype=torch.float64)

    def batch_fn(g):
        x = torch.randn(6, 8, generator=g, dtype=torch.float64)
        y = torch.multinomial(torch.softmax(2 * x @ w, dim=1), 1, generator=g).squeeze(1)
        return x.to(dtype), y

    return batch_fn


def _eval_x(dtype):
    return torch.randn(64, 8, generator=torch.Generator().manual_seed(9), dtype=torch.float64).to(dtype)


def _run_both(dtype, configs, init_seeds):
    batch_fn = _make_batch_fn(dtype)
    xe = _eval_x(dtype)
    ye = torch.arange(64) % 3
    sequential = []
    for cfg, s in zip(configs, init_seeds):
        model = seeded(lambda: MLP(CONFIG), s).to(dtype)
        res = train(model, cfg, batch_fn, classification_loss,
                    eval_fn=lambda m: {"val": torch.nn.functional.cross_entropy(m(xe), ye)}, device="cpu")
        sequential.append(res)
    family = build_mlp_family(CONFIG, init_seeds, dtype=dtype, device="cpu")

    def eval_fn(fam):
        logits = fam(xe)  # (K, 64, 3)
        K = logits.shape[0]
        ce = torch.nn.functional.cross_entropy(logits.reshape(-1, 3), ye.repeat(K), reduction="none")
        return {"val": ce.view(K, -1).mean(1)}

    fam = train_family(family, configs, batch_fn, eval_fn=eval_fn, device="cpu")
    return sequential, fam


def _configs():
    # per-model learning rates, weight decays and data seeds; shared steps, schedule and clipping
    return [TrainConfig(steps=40, batch_size=6, lr=lr, weight_decay=wd, seed=s, warmup_steps=5,
                        grad_clip=0.5, eval_every=10)
            for lr, wd, s in [(1e-2, 0.1, 0), (3e-3, 0.0, 1), (3e-2, 0.1, 2), (1e-3, 0.3, 0)]]


def test_family_matches_sequential_float64():
    configs = _configs()
    sequential, fam = _run_both(torch.float64, configs, init_seeds=[10, 11, 12, 13])
    for k, res in enumerate(sequential):
        np.testing.assert_allclose(fam.train_loss[k], res.train_loss, rtol=0, atol=1e-10)
        np.testing.assert_allclose([h["val"] for h in fam.histories[k]], [h["val"] for h in res.history],
                                   rtol=0, atol=1e-10)
    # the models really differ (otherwise the comparison would be vacuous)
    assert abs(fam.train_loss[0][-1] - fam.train_loss[2][-1]) > 1e-3


def test_family_matches_sequential_float32_loosely():
    configs = _configs()
    sequential, fam = _run_both(torch.float32, configs, init_seeds=[10, 11, 12, 13])
    for k, res in enumerate(sequential):
        np.testing.assert_allclose(fam.train_loss[k], res.train_loss, rtol=0, atol=2e-3)


def test_clipping_is_per_model_not_global():
    p = torch.nn.Parameter(torch.zeros(2, 3))
    p.grad = torch.tensor([[3.0, 4.0, 0.0], [0.03, 0.04, 0.0]])  # norms 5 and 0.05
    norms = clip_grad_norm_per_model([p], max_norm=1.0)
    np.testing.assert_allclose(norms.numpy(), [5.0, 0.05], rtol=1e-6)
    np.testing.assert_allclose(p.grad[0].norm().item(), 1.0, rtol=1e-5)
    np.testing.assert_allclose(p.grad[1].numpy(), [0.03, 0.04, 0.0], rtol=1e-6)  # untouched


def test_stacked_adamw_matches_torch_adamw_per_model():
    torch.manual_seed(0)
    w = torch.randn(3, 4, 5, dtype=torch.float64)
    grads = [torch.randn(3, 4, 5, dtype=torch.float64) for _ in range(4)]
    lrs, wds = [1e-2, 1e-3, 3e-2], [0.1, 0.0, 0.5]
    stacked = torch.nn.Parameter(w.clone())
    opt = StackedAdamW([stacked], [True], betas=(0.9, 0.99))
    for g in grads:
        stacked.grad = g.clone()
        opt.step(torch.tensor(lrs, dtype=torch.float64), torch.tensor(wds, dtype=torch.float64))
    for k in range(3):
        single = torch.nn.Parameter(w[k].clone())
        ref = torch.optim.AdamW([single], lr=lrs[k], weight_decay=wds[k], betas=(0.9, 0.99), foreach=False)
        for g in grads:
            single.grad = g[k].clone()
            ref.step()
        np.testing.assert_allclose(stacked[k].detach().numpy(), single.detach().numpy(), atol=1e-14)


def test_family_of_seeds_matches_sequential_float64():
    # equal learning rates and decays: the optimiser's one-call path (the mixed path is tested above)
    configs = [TrainConfig(steps=30, batch_size=6, lr=1e-2, weight_decay=0.1, seed=s, warmup_steps=5,
                           grad_clip=0.5, eval_every=10) for s in (0, 1, 2)]
    sequential, fam = _run_both(torch.float64, configs, init_seeds=[20, 21, 22])
    for k, res in enumerate(sequential):
        np.testing.assert_allclose(fam.train_loss[k], res.train_loss, rtol=0, atol=1e-10)


def test_stacked_adamw_one_call_path_is_torch_fused_adamw():
    torch.manual_seed(1)
    w = torch.randn(3, 4, 5)
    grads = [torch.randn(3, 4, 5) for _ in range(5)]
    stacked = torch.nn.Parameter(w.clone())
    opt = StackedAdamW([stacked], [True], betas=(0.9, 0.99))
    for g in grads:
        stacked.grad = g.clone()
        opt.step([1e-2] * 3, [0.1] * 3)
    for k in range(3):
        single = torch.nn.Parameter(w[k].clone())
        ref = torch.optim.AdamW([single], lr=1e-2, weight_decay=0.1, betas=(0.9, 0.99), fused=True)
        for g in grads:
            single.grad = g[k].clone()
            ref.step()
        torch.testing.assert_close(stacked[k].detach(), single.detach(), rtol=1e-6, atol=1e-7)


def test_inactive_model_is_left_bit_for_bit_unchanged():
    torch.manual_seed(2)
    stacked = torch.nn.Parameter(torch.randn(3, 4, 5))
    bias = torch.nn.Parameter(torch.randn(3, 1, 5))
    opt = StackedAdamW([stacked, bias], [True, False])
    before = stacked.detach().clone(), bias.detach().clone()
    stacked.grad = torch.randn(3, 4, 5)
    stacked.grad[1] = float("nan")  # a diverged model's gradient must not leak into its weights
    bias.grad = torch.randn(3, 1, 5)
    opt.step([1e-2, 1e-2, 1e-2], [0.1, 0.1, 0.1], active=[True, False, True])
    assert torch.equal(stacked[1], before[0][1]) and torch.equal(bias[1], before[1][1])
    assert not torch.equal(stacked[0], before[0][0]) and not torch.equal(bias[2], before[1][2])
    assert torch.isfinite(stacked).all()


def test_clipping_leaves_small_gradients_untouched():
    p = torch.nn.Parameter(torch.zeros(2, 3))
    g = torch.tensor([[0.3, 0.4, 0.0], [0.0, 0.1, 0.2]])
    p.grad = g.clone()
    clip_grad_norm_per_model([p], max_norm=1.0)
    assert torch.equal(p.grad, g)


def test_diverging_model_is_frozen_and_others_continue():
    configs = [TrainConfig(steps=30, batch_size=6, lr=lr, seed=0, grad_clip=None, schedule="constant")
               for lr in (1e-2, 1e6)]
    family = build_mlp_family(CONFIG, [0, 0], dtype=torch.float64, device="cpu")
    batch_fn = _make_batch_fn(torch.float64)

    def poisoned_loss(fam, batch):
        losses = stacked_classification_loss(fam, batch)
        # model 1 "diverges" at its 5th loss evaluation
        poisoned_loss.calls += 1
        if poisoned_loss.calls >= 5:
            losses = losses * torch.tensor([1.0, float("nan")], dtype=losses.dtype)
        return losses

    poisoned_loss.calls = 0
    fam = train_family(family, configs, batch_fn, loss_fn=poisoned_loss, device="cpu")
    assert fam.diverged == [False, True]
    assert all(math.isfinite(v) for v in fam.train_loss[0])
    assert torch.isfinite(family.weights[0][0]).all()


def test_member_roundtrip_and_shapes():
    models = [seeded(lambda: MLP(CONFIG), s) for s in (1, 2)]
    stacked = StackedMLP.from_models(models)
    x = torch.randn(5, 8)
    out = stacked(x)
    assert out.shape == (2, 5, 3)
    for k, m in enumerate(models):
        torch.testing.assert_close(out[k], m(x))
        torch.testing.assert_close(stacked.member(k)(x), m(x))
    with pytest.raises(ValueError, match="same MLPConfig"):
        StackedMLP.from_models([MLP(CONFIG), MLP(MLPConfig(input_dim=8, hidden=(32, 32), n_classes=3))])


def test_vmap_family_matches_members():
    models = [seeded(lambda: MLP(CONFIG), s) for s in (1, 2, 3)]
    fam = VmapFamily(models)
    x = torch.randn(3, 5, 8)
    out = fam(x)
    for k, m in enumerate(models):
        torch.testing.assert_close(out[k], m(x[k]))
        m2 = MLP(CONFIG)
        m2.load_state_dict(fam.member_state(k))
        torch.testing.assert_close(m2(x[k]), m(x[k]))
    assert fam.decay_mask() == [True, False, True, False, True, False]


def test_vmap_family_trains_like_sequential():
    configs = _configs()[:2]
    batch_fn = _make_batch_fn(torch.float64)
    seq = [train(seeded(lambda: MLP(CONFIG), s).double(), c, batch_fn, classification_loss, device="cpu")
           for c, s in zip(configs, (5, 6))]
    fam = VmapFamily([seeded(lambda: MLP(CONFIG), s).double() for s in (5, 6)])
    res = train_family(fam, configs, batch_fn, device="cpu")
    for k in range(2):
        np.testing.assert_allclose(res.train_loss[k], seq[k].train_loss, atol=1e-10)


def test_vmap_family_of_transformers_with_tied_weights_trains_like_sequential():
    # the output layer shares the embedding matrix: the family must keep them tied
    from scalinglab.models import Transformer, TransformerConfig, lm_loss

    from scalinglab.families import stacked_lm_loss

    cfg = TransformerConfig(vocab_size=11, context_length=8, n_layer=1, n_head=2, d_model=8)

    def batch_fn(g):
        tokens = torch.randint(0, 11, (4, 9), generator=g)
        targets = tokens[:, 1:].clone()
        targets[:, :3] = -100  # ignored positions, as in the arithmetic task's prompts
        return tokens[:, :-1], targets

    configs = [TrainConfig(steps=12, batch_size=4, lr=1e-2, seed=s, warmup_steps=2) for s in (0, 1)]
    seq = [train(seeded(lambda: Transformer(cfg), 30 + k).double(), c, batch_fn, lm_loss, device="cpu")
           for k, c in enumerate(configs)]
    models = [seeded(lambda: Transformer(cfg), 30 + k).double() for k in range(2)]
    fam = VmapFamily(models)
    res = train_family(fam, configs, batch_fn, loss_fn=stacked_lm_loss, device="cpu")
    for k in range(2):
        np.testing.assert_allclose(res.train_loss[k], seq[k].train_loss, rtol=0, atol=1e-10)
        member = fam.member(k)
        x = batch_fn(torch.Generator().manual_seed(5))[0]
        trained = seeded(lambda: Transformer(cfg), 30 + k).double()
        train(trained, configs[k], batch_fn, lm_loss, device="cpu")
        torch.testing.assert_close(member(x), trained(x), rtol=0, atol=1e-9)


def test_mismatched_shared_settings_rejected():
    family = build_mlp_family(CONFIG, [0, 1], device="cpu")
    configs = [TrainConfig(steps=5, batch_size=6), TrainConfig(steps=6, batch_size=6)]
    with pytest.raises(ValueError, match="steps"):
        train_family(family, configs, _make_batch_fn(torch.float32), device="cpu")


def test_group_by_shape():
    cfgs = [MLPConfig(hidden=(64,)), MLPConfig(hidden=(128,)), MLPConfig(hidden=(64,))]
    assert group_by_shape(cfgs) == {MLPConfig(hidden=(64,)): [0, 2], MLPConfig(hidden=(128,)): [1]}


def test_stacked_transformer_trains_like_sequential_float64():
    from scalinglab.families import StackedTransformer, build_transformer_family, stacked_lm_loss
    from scalinglab.models import Transformer, TransformerConfig, lm_loss

    for tie in (True, False):
        cfg = TransformerConfig(vocab_size=11, context_length=8, n_layer=2, n_head=2, d_model=8, tie_embeddings=tie)

        def batch_fn(g):
            tokens = torch.randint(0, 11, (4, 9), generator=g)
            targets = tokens[:, 1:].clone()
            targets[:, :3] = -100
            return tokens[:, :-1], targets

        configs = [TrainConfig(steps=10, batch_size=4, lr=lr, seed=s, warmup_steps=2, weight_decay=wd)
                   for s, lr, wd in ((0, 1e-2, 0.1), (1, 3e-3, 0.0), (2, 1e-2, 0.1))]
        seq = [train(seeded(lambda: Transformer(cfg), 40 + k).double(), c, batch_fn, lm_loss, device="cpu")
               for k, c in enumerate(configs)]
        fam = build_transformer_family(cfg, [40, 41, 42], dtype=torch.float64, device="cpu")
        assert isinstance(fam, StackedTransformer)
        res = train_family(fam, configs, batch_fn, loss_fn=stacked_lm_loss, device="cpu")
        for k in range(3):
            np.testing.assert_allclose(res.train_loss[k], seq[k].train_loss, rtol=0, atol=1e-10)
            trained = seeded(lambda: Transformer(cfg), 40 + k).double()
            train(trained, configs[k], batch_fn, lm_loss, device="cpu")
            x = batch_fn(torch.Generator().manual_seed(5))[0]
            torch.testing.assert_close(fam.member(k)(x), trained(x), rtol=0, atol=1e-9)
        assert len(fam.ordered_parameters()) == len(fam.decay_mask()) == len(list(fam.parameters()))
