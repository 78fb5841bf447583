import dataclasses
import json
import multiprocessing as mp
import os
import signal
import time

import pytest
import torch

from scalinglab.runs import RunStore, run_key, spec_dict, sweep


@dataclasses.dataclass(frozen=True)
class Inner:
    width: int = 8
    lr: float = 1e-3


@dataclasses.dataclass(frozen=True)
class ExampleSpec:
    inner: Inner = Inner()
    steps: int = 10
    seed: int = 0
    name: str = "a"


def test_every_field_of_a_spec_changes_its_key():
    base = ExampleSpec()
    key = run_key(base)
    changed = [dataclasses.replace(base, steps=11), dataclasses.replace(base, seed=1),
               dataclasses.replace(base, name="b"), dataclasses.replace(base, inner=Inner(width=9)),
               dataclasses.replace(base, inner=Inner(lr=2e-3))]
    keys = {run_key(s) for s in changed}
    assert key not in keys and len(keys) == len(changed)
    assert run_key(ExampleSpec()) == key  # equal specs, equal keys
    assert spec_dict(base)["run"].endswith("ExampleSpec")  # the run's class is part of the key
    with pytest.raises(TypeError):
        run_key(["not", "a", "spec"])


def test_store_round_trips_a_dataclass_spec(tmp_path):
    store = RunStore(tmp_path)
    store.put(ExampleSpec(), {"loss": 1.0})
    assert store.get(ExampleSpec()) == {"loss": 1.0}
    assert store.get(ExampleSpec(steps=11)) is None


def square(spec):
    return {"value": spec["x"] ** 2}


def worker_pid(spec):
    import os
    import time

    time.sleep(0.2)  # long enough that both workers take runs
    return {"pid": os.getpid()}


def failing_square(spec):
    if spec["x"] == 1:
        raise ArithmeticError("run 1 fails")
    return {"value": spec["x"] ** 2}


CALLS = []


def counting_square(spec):
    CALLS.append(spec["x"])
    return {"value": spec["x"] ** 2}


def test_key_depends_on_spec_and_version(monkeypatch):
    a = run_key({"x": 1, "y": [1, 2]})
    assert a == run_key({"y": [1, 2], "x": 1})  # key order does not matter
    assert a != run_key({"x": 2, "y": [1, 2]})
    import scalinglab.runs as runs
    monkeypatch.setattr(runs, "__version__", "999")
    assert a != runs.run_key({"x": 1, "y": [1, 2]})


def test_put_get_and_weights(tmp_path):
    store = RunStore(tmp_path)
    spec = {"kind": "t", "seed": 1}
    assert store.get(spec) is None
    store.put(spec, {"loss": 0.5}, weights={"w": torch.arange(6.0).reshape(2, 3)})
    assert store.get(spec) == {"loss": 0.5}
    assert torch.equal(store.weights(spec)["w"], torch.arange(6.0).reshape(2, 3))
    assert spec in store


def test_sweep_skips_finished_runs_and_refresh_recomputes(tmp_path):
    store = RunStore(tmp_path)
    specs = [{"x": i} for i in range(4)]
    CALLS.clear()
    assert [r["value"] for r in sweep(specs[:2], counting_square, store, workers=1, progress=False)] == [0, 1]
    assert [r["value"] for r in sweep(specs, counting_square, store, workers=1, progress=False)] == [0, 1, 4, 9]
    assert CALLS == [0, 1, 2, 3]  # the second sweep ran only the two new specs
    sweep(specs, counting_square, store, refresh=True, workers=1, progress=False)
    assert CALLS == [0, 1, 2, 3, 0, 1, 2, 3]


def test_half_written_entry_is_never_served(tmp_path):
    store = RunStore(tmp_path)
    spec = {"x": 3}
    path = store._json_path(run_key(spec))
    path.parent.mkdir(parents=True)
    path.write_text('{"complete": true, "result": {"value"')  # torn write
    assert store.get(spec) is None
    path.write_text(json.dumps({"complete": False, "spec": spec, "result": {"value": 9}}))
    assert store.get(spec) is None
    assert sweep([spec], square, store, workers=1, progress=False) == [{"value": 9}]
    assert store.get(spec) == {"value": 9}


def _slow_sweep(root, n):
    def slow(spec):
        time.sleep(0.3)
        return {"value": spec["x"]}
    sweep([{"x": i} for i in range(n)], slow, RunStore(root), workers=1, progress=False)


def test_killed_sweep_resumes_without_redoing_finished_runs(tmp_path):
    ctx = mp.get_context("fork")
    proc = ctx.Process(target=_slow_sweep, args=(str(tmp_path), 20))
    proc.start()
    store = RunStore(tmp_path)
    deadline = time.time() + 30
    while len(store.keys()) < 3 and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # a crash mid-sweep
    proc.join()
    done_before = set(store.keys())
    assert 3 <= len(done_before) < 20
    for record in done_before:  # every entry the killed sweep left is complete and readable
        path = tmp_path / record[:2] / f"{record}.json"
        assert json.loads(path.read_text())["complete"] is True
    CALLS.clear()
    results = sweep([{"x": i} for i in range(20)], counting_square, store, workers=1, progress=False)
    assert len(CALLS) == 20 - len(done_before)
    for i, r in enumerate(results):  # finished runs come from the store, the rest were computed now
        assert r["value"] in (i, i * i)
    assert len(store.keys()) == 20


def test_sweep_on_worker_processes_matches_in_process(tmp_path):
    from scalinglab.devices import cpu_process_pool

    assert cpu_process_pool(1) is None
    specs = [{"x": i} for i in range(4)]
    pooled = sweep(specs, square, RunStore(tmp_path / "a"), workers=2, progress=False)
    assert pooled == sweep(specs, square, RunStore(tmp_path / "b"), workers=1, progress=False)
    assert len(RunStore(tmp_path / "a").keys()) == 4  # the workers wrote to the store
    with pytest.raises(ValueError, match="workers"):
        sweep(specs, square, RunStore(tmp_path / "c"), workers=0, progress=False)


def test_successive_sweeps_share_one_pool_of_workers(tmp_path):
    """A chapter's second sweep reuses the first one's worker processes (no second start of torch and the
    data), and a run that fails leaves the pool usable for the next sweep."""
    from scalinglab.devices import shared_cpu_process_pool

    first = sweep([{"x": i} for i in range(4)], worker_pid, RunStore(tmp_path / "a"), workers=2, progress=False)
    second = sweep([{"x": i} for i in range(4, 8)], worker_pid, RunStore(tmp_path / "b"), workers=2, progress=False)
    assert {r["pid"] for r in second} <= {r["pid"] for r in first}
    assert shared_cpu_process_pool(2) is shared_cpu_process_pool(2)
    with pytest.raises(ArithmeticError, match="run 1 fails"):
        sweep([{"x": i} for i in range(3)], failing_square, RunStore(tmp_path / "c"), workers=2, progress=False)
    after = sweep([{"x": i} for i in range(3)], square, RunStore(tmp_path / "d"), workers=2, progress=False)
    assert [r["value"] for r in after] == [0, 1, 4]


def test_cost_orders_execution_but_not_results(tmp_path):
    CALLS.clear()
    specs = [{"x": i} for i in range(5)]
    results = sweep(specs, counting_square, RunStore(tmp_path), workers=1, progress=False, cost=lambda s: s["x"])
    assert CALLS == [4, 3, 2, 1, 0]
    assert [r["value"] for r in results] == [0, 1, 4, 9, 16]
