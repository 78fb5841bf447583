"""benchmarks/bench_chapters.py: groups a sweep's replicates, captures the chapter's own training setup and
times it both ways (on a smoke ladder, a few steps: the timing itself is never asserted)."""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_chapters as bc  # noqa: E402
from scalinglab import params  # noqa: E402
from scalinglab.experiments import emergence as em  # noqa: E402
from scalinglab.models import Transformer, lm_loss  # noqa: E402
from scalinglab.train import seeded  # noqa: E402


def _smoke_specs():
    settings = params.select_profile("ci", em.PROFILES, smoke=True, smoke_overrides=em.SMOKE_OVERRIDES)
    return em.ladder_specs(settings, 0)


def test_shape_key_groups_one_sizes_replicates_and_nothing_else():
    specs = _smoke_specs()
    groups = {}
    for s in specs:
        groups.setdefault(bc.shape_key(s), []).append(s)
    assert len(groups) == len({s.model for s in specs})  # one group per size
    for members in groups.values():
        assert sorted(s.replicate for s in members) == sorted({s.replicate for s in specs})
        assert len({s.init_seed for s in members}) == len(members)  # the replicates differ in their seeds only


def test_capture_returns_the_chapters_initial_model_config_and_batches_without_training():
    spec = _smoke_specs()[1]
    model, config, batch_fn, loss_fn = bc.capture(em, em.run_arithmetic_model, spec)
    reference = seeded(lambda: Transformer(spec.model), spec.init_seed)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), reference.state_dict().values()))
    assert config == spec.train and loss_fn is lm_loss
    inputs, targets = batch_fn(torch.Generator().manual_seed(0))
    assert inputs.shape[0] == spec.train.batch_size and inputs.shape == targets.shape
    import scalinglab.train as train_module
    from scalinglab.train import train

    assert train_module.train is train  # the real train() is back


def test_both_timings_run_on_a_members_group():
    specs = [s for s in _smoke_specs() if s.model == _smoke_specs()[0].model]
    members = [bc.capture(em, em.run_arithmetic_model, s) for s in specs]
    assert bc.time_one_by_one(members, 20) > 0 and bc.time_stacked(members, 20) > 0
