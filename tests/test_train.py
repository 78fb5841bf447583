import copy
import dataclasses
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


# --- the schedules' settings, snapshots and resumed branches -------------------------------------------

@pytest.mark.parametrize("field,value", [("cooldown_fraction", 0.0), ("cooldown_fraction", 1.5),
                                         ("cooldown_shape", "cubic"), ("step_milestones", (0.75, 0.5)),
                                         ("step_milestones", (0.5, 1.0)), ("step_factor", 0.0),
                                         ("min_lr_ratio", -0.1), ("schedule", "linear")])
def test_bad_schedule_settings_name_the_train_config_field(field, value):
    with pytest.raises(ValueError, match=rf"TrainConfig\.{field}"):
        TrainConfig(steps=10, batch_size=1, **{field: value})


def test_learning_rate_follows_the_new_schedules():
    # WSD over 50 steps, fraction 0.2: the peak up to step 40, then (1 − x) with x = (s − 40)/10
    wsd = TrainConfig(steps=50, batch_size=1, lr=0.2, warmup_steps=5, schedule="wsd", cooldown_shape="linear")
    assert learning_rate(2, wsd) == pytest.approx(0.2 * 3 / 5)
    assert learning_rate(40, wsd) == 0.2 and learning_rate(45, wsd) == pytest.approx(0.1)
    step = TrainConfig(steps=40, batch_size=1, lr=1.0, schedule="step", step_milestones=(0.5,), step_factor=0.25)
    assert learning_rate(19, step) == 1.0 and learning_rate(20, step) == 0.25


def _fixed_eval(batch=8):
    inputs, targets = _periodic_batches(batch=batch)(torch.Generator().manual_seed(123))

    def eval_fn(model):
        return {"val": float(lm_loss(model, (inputs, targets)))}
    return eval_fn


def _wsd(steps=30, shape="sqrt"):
    # cooldown_start(30, 0.2) = 24: the branch resumes the trunk at 24 completed steps
    return TrainConfig(steps=steps, batch_size=8, lr=1e-2, warmup_steps=3, schedule="wsd", cooldown_fraction=0.2,
                       cooldown_shape=shape, eval_every=4, seed=5)


def _trunk(steps=40, snapshot_at=(24,)):
    """A constant-rate run longer than the WSD run, with its snapshots: the WSD run's first 24 steps."""
    cfg = dataclasses.replace(_wsd(), steps=steps, schedule="constant")
    return train(_tiny_model(7), cfg, _periodic_batches(batch=8), lm_loss, _fixed_eval(), device="cpu",
                 snapshot_at=snapshot_at)


def test_a_branch_resumed_from_a_constant_trunk_is_the_wsd_run_from_scratch():
    scratch = train(_tiny_model(7), _wsd(), _periodic_batches(batch=8), lm_loss, _fixed_eval(), device="cpu")
    trunk = _trunk()
    assert set(trunk.snapshots) == {24} and trunk.snapshots[24].step == 24
    assert trunk.train_loss[:24] == scratch.train_loss[:24]  # warm-up then the peak: the same rates
    branch = train(_tiny_model(99), _wsd(), _periodic_batches(batch=8), lm_loss, _fixed_eval(), device="cpu",
                   resume=trunk.snapshots[24])  # the model's own init is overwritten by the snapshot
    assert branch.train_loss == scratch.train_loss[24:]  # exactly: number for number
    assert branch.final == scratch.final
    assert branch.history == [row for row in scratch.history if row["step"] > 24]
    assert [row["step"] for row in branch.history] == [28, 30]
    assert branch.steps == 30 and branch.tokens == 6 * 8 * 16  # the branch counts its own 6 steps only
    assert trunk.history[:6] == scratch.history[:6]  # evaluations at 4 … 24 agree too


# torch's Optimizer.load_state_dict keeps the state's tensors when their dtype and device already match (it
# casts with .to(), which returns the same tensor), so without a copy AdamW's in-place updates of exp_avg,
# exp_avg_sq and step would write into the snapshot that train(resume=...) was given, and a second branch from
# it would start from the first's end. train copies the snapshot before loading it; these two tests keep it so.


def test_resuming_leaves_the_snapshot_unchanged():
    trunk = _trunk()
    snap = trunk.snapshots[24]
    before = copy.deepcopy(snap.optimizer["state"])
    train(_tiny_model(), _wsd(), _periodic_batches(batch=8), lm_loss, device="cpu", resume=snap)
    for i, state in before.items():
        for k, v in state.items():
            assert torch.equal(snap.optimizer["state"][i][k], v), (i, k)


def test_resuming_twice_from_one_snapshot_gives_the_same_branch():
    """Two cooldown branches (e.g. the two shapes of chapter 07) resume from the same trunk snapshot: the first
    must not change the snapshot the second starts from."""
    scratch = train(_tiny_model(7), _wsd(shape="linear"), _periodic_batches(batch=8), lm_loss, _fixed_eval(),
                    device="cpu")
    trunk = _trunk()
    first = train(_tiny_model(), _wsd(shape="sqrt"), _periodic_batches(batch=8), lm_loss, _fixed_eval(),
                  device="cpu", resume=trunk.snapshots[24])
    second = train(_tiny_model(), _wsd(shape="linear"), _periodic_batches(batch=8), lm_loss, _fixed_eval(),
                   device="cpu", resume=trunk.snapshots[24])
    assert first.train_loss != second.train_loss  # different cooldowns
    assert second.train_loss == scratch.train_loss[24:]
    assert second.final == scratch.final


def test_snapshots_are_copies_and_resume_rejects_states_it_cannot_continue():
    trunk = _trunk(steps=12, snapshot_at=(0, 6, 12))
    assert sorted(trunk.snapshots) == [0, 6, 12]
    assert trunk.snapshots[0].ema is None and trunk.snapshots[12].ema == trunk.history[-1]["train_loss_ema"]
    first = trunk.snapshots[0].model
    assert any(not torch.equal(first[k], trunk.snapshots[12].model[k]) for k in first)  # later training moved on
    cfg = dataclasses.replace(_wsd(), steps=12, schedule="constant")
    with pytest.raises(ValueError, match="last step"):
        train(_tiny_model(), cfg, _periodic_batches(batch=8), lm_loss, device="cpu", resume=trunk.snapshots[12])
    with pytest.raises(ValueError, match="resume"):
        train(_tiny_model(), dataclasses.replace(cfg, steps=5), _periodic_batches(batch=8), lm_loss, device="cpu",
              resume=trunk.snapshots[6])
    with pytest.raises(ValueError, match="snapshot_at"):
        train(_tiny_model(), cfg, _periodic_batches(batch=8), lm_loss, device="cpu", snapshot_at=[13])
    with pytest.raises(ValueError, match="snapshot_at"):
        train(_tiny_model(), cfg, _periodic_batches(batch=8), lm_loss, device="cpu", snapshot_at=[-1])
    with pytest.raises(ValueError, match="snapshot_at"):  # a resumed run cannot snapshot before its first step
        train(_tiny_model(), cfg, _periodic_batches(batch=8), lm_loss, device="cpu", resume=trunk.snapshots[6],
              snapshot_at=[3])


def test_train_result_to_dict_leaves_out_the_snapshots():
    import json

    result = _trunk(steps=6, snapshot_at=(3,))
    assert set(result.snapshots) == {3}
    d = result.to_dict()
    assert "snapshots" not in d and d["train_loss"] == result.train_loss and d["steps"] == 6
    json.dumps(d)  # JSON-able: what the run store keeps
    assert set(result.snapshots) == {3}  # to_dict does not consume them
