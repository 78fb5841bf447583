import math

import pytest
import torch

from scalinglab.models import Transformer, TransformerConfig, lm_loss
from scalinglab.train import TrainConfig, learning_rate, seeded, train


def _periodic_batches(vocab=8, context=16, batch=16):
    def batch_fn(generator):
        start = torch.randint(0, vocab, (batch, 1), generator=generator)
        seq = (start + torch.arange(context + 1)) % vocab  # a deterministic cycle to learn
        return seq[:, :-1], seq[:, 1:]
    return batch_fn


def _tiny_model(seed=0):
    cfg = TransformerConfig(vocab_size=8, context_length=16, n_layer=1, n_head=2, d_model=16)
    return seeded(lambda: Transformer(cfg), seed)


def test_tiny_training_run_lowers_the_loss():
    model = _tiny_model()
    result = train(model, TrainConfig(steps=60, batch_size=16, lr=1e-2, warmup_steps=5), _periodic_batches(),
                   lm_loss, device="cpu")
    first = sum(result.train_loss[:5]) / 5
    last = sum(result.train_loss[-5:]) / 5
    assert last < 0.5 * first


def test_training_is_deterministic():
    cfg = TrainConfig(steps=20, batch_size=8, lr=3e-3, seed=3)
    a = train(_tiny_model(1), cfg, _periodic_batches(batch=8), lm_loss, device="cpu").train_loss
    b = train(_tiny_model(1), cfg, _periodic_batches(batch=8), lm_loss, device="cpu").train_loss
    c = train(_tiny_model(2), cfg, _periodic_batches(batch=8), lm_loss, device="cpu").train_loss
    assert a == b
    assert a != c


def test_periodic_evaluation_rows():
    calls = []

    def eval_fn(model):
        calls.append(model.training)
        return {"val": 1.0}

    result = train(_tiny_model(), TrainConfig(steps=10, batch_size=4, eval_every=4), _periodic_batches(batch=4),
                   lm_loss, eval_fn, device="cpu")
    assert [row["step"] for row in result.history] == [4, 8, 10]
    assert calls == [False, False, False]  # evaluated in eval mode
    assert result.final["val"] == 1.0


def test_learning_rate_schedule():
    cfg = TrainConfig(steps=100, batch_size=1, lr=1.0, warmup_steps=10, min_lr_ratio=0.1)
    assert learning_rate(0, cfg) == pytest.approx(0.1)
    assert learning_rate(9, cfg) == pytest.approx(1.0)
    assert learning_rate(10, cfg) == pytest.approx(1.0)
    assert learning_rate(100, cfg) == pytest.approx(0.1)
    mid = learning_rate(55, cfg)
    assert mid == pytest.approx(0.1 + 0.45 * (1 + math.cos(math.pi * 0.5)))
    constant = TrainConfig(steps=100, batch_size=1, lr=0.5, schedule="constant")
    assert learning_rate(99, constant) == 0.5


def test_bad_train_config_is_rejected():
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(steps=10, batch_size=1, schedule="linear")
    with pytest.raises(ValueError, match="warmup_steps"):
        TrainConfig(steps=10, batch_size=1, warmup_steps=11)


def test_divergence_raises():
    def bad_loss(model, batch):
        return lm_loss(model, batch) * float("nan")

    with pytest.raises(FloatingPointError, match="step 0"):
        train(_tiny_model(), TrainConfig(steps=3, batch_size=4), _periodic_batches(batch=4), bad_loss, device="cpu")


def test_step_time_leaves_out_evaluation():
    import time

    def slow_eval(model):
        time.sleep(0.2)
        return {"val": 0.0}

    result = train(_tiny_model(), TrainConfig(steps=4, batch_size=4, eval_every=2), _periodic_batches(batch=4),
                   lm_loss, slow_eval, device="cpu")
    assert 0 < result.step_time_s < result.wall_time_s - 0.35  # two evaluations of 0.2 s are not counted
    inputs, _ = _periodic_batches(batch=4)(torch.Generator().manual_seed(0))
    assert result.tokens == 4 * inputs.numel()  # every step's input positions, for the run's model FLOPs


def test_matmul_throughput_is_measured_and_cached():
    from scalinglab.devices import matmul_flops_per_s

    first = matmul_flops_per_s("cpu", torch.get_num_threads(), n=256, repeats=2)
    assert 1e8 < first < 1e14  # FLOP/s: between a slow phone and a large GPU
    assert matmul_flops_per_s("cpu", torch.get_num_threads(), n=256, repeats=2) == first  # cached
