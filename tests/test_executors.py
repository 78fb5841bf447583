"""A chapter's sweep on worker processes and on a Dask LocalCluster gives the in-process results,
writes to the store atomically, and a re-run skips finished runs."""

import json
import os

import pytest

from scalinglab.experiments.critical_batch import BatchSizeFamilySpec, TeacherTask, train_batch_size_family
from scalinglab.runs import RunStore, run_key, sweep


def _specs():
    task = TeacherTask(input_dim=8, n_classes=4, teacher_width=16, logit_scale=3.0, seed=0)
    return [BatchSizeFamilySpec(task=task, hidden=(8,), batch_size=B, lrs=(3e-3, 1e-2), replicates=(0,),
                                init_seeds=(7,), data_seeds=(17,), max_steps=60, eval_per_octave=2, n_heldout=128,
                                targets=(1.25,), dtype="float64")
            for B in (4, 16)]


def _strip(result):
    out = dict(result)
    out.pop("wall_time_s")
    return out


@pytest.fixture(scope="module")
def in_process(tmp_path_factory):
    os.environ["SCALINGLAB_THREADS"] = "1"  # same thread count everywhere: bitwise-equal floats
    store = RunStore(tmp_path_factory.mktemp("inproc"))
    return [_strip(r) for r in sweep(_specs(), train_batch_size_family, store, progress=False)]


def _check_store(store, specs):
    for spec in specs:
        path = store.root / run_key(spec)[:2] / f"{run_key(spec)}.json"
        record = json.loads(path.read_text())
        assert record["complete"] and store.get(spec) is not None
    leftovers = [p for p in store.root.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []  # atomic writes leave no temporary files


def _never_called(spec):  # module-level, so that it could be pickled if it were (wrongly) submitted
    raise AssertionError("a finished run was recomputed")


def test_process_pool_matches_in_process(tmp_path, in_process):
    store = RunStore(tmp_path)
    results = sweep(_specs(), train_batch_size_family, store, workers=2, progress=False)
    assert [_strip(r) for r in results] == in_process
    _check_store(store, _specs())
    # a re-run serves every result from the store: the run function is never called
    again = sweep(_specs(), _never_called, store, progress=False)
    assert [_strip(r) for r in again] == in_process


def test_dask_local_cluster_matches_in_process(tmp_path, in_process):
    store = RunStore(tmp_path)
    results = sweep(_specs(), train_batch_size_family, store, scheduler_address="local", workers=2, progress=False)
    assert [_strip(r) for r in results] == in_process
    _check_store(store, _specs())
    again = sweep(_specs(), _never_called, store, scheduler_address="local", progress=False)
    assert [_strip(r) for r in again] == in_process


def test_interrupted_sweep_resumes(tmp_path, in_process):
    store = RunStore(tmp_path)
    specs = _specs()
    sweep(specs[:1], train_batch_size_family, store, progress=False)  # "killed" after the first run
    calls = []

    def counting(spec):
        calls.append(spec.batch_size)
        return train_batch_size_family(spec)

    results = sweep(specs, counting, store, progress=False)
    assert calls == [16]
    assert [_strip(r) for r in results] == in_process
