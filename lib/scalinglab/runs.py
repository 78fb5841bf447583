"""The run store: every training run, keyed by the spec that determines its result.

A run is described by a **spec**: a frozen dataclass that holds every setting its run function
reads (model config, training config, data, seeds …), so that no hidden constant can serve a
stale result. Its key is a hash of the whole spec — its class name and every field — and the
library version. Entries are written atomically (temporary file + rename): a reader sees a
complete entry or none, so a sweep killed mid-way resumes where it stopped. Weights, when kept,
are written first with safetensors; the JSON record is the commit point.

:func:`sweep` runs what the store lacks, in this process, on a pool of single-thread worker
processes (``workers``; opened by the first sweep and kept for the next ones,
:func:`scalinglab.devices.shared_cpu_process_pool`), or on a Dask cluster (``scheduler_address``).
Workers write to the store themselves, so the store stays the single source of truth.

Used by: every chapter (each sweep goes through :func:`sweep`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from . import __version__

Spec = Any  # a frozen dataclass instance (or, for small tests, a JSON-able dict)
RunFn = Callable[[Spec], dict]


def spec_dict(spec: Spec) -> dict:
    """The JSON-able content of a spec: a dataclass's fields (nested dataclasses too) with its class
    name under ``"run"``, or a dict as it is."""
    if dataclasses.is_dataclass(spec) and not isinstance(spec, type):
        return {"run": f"{type(spec).__module__}.{type(spec).__qualname__}", **dataclasses.asdict(spec)}
    if isinstance(spec, dict):
        return spec
    raise TypeError(f"a run spec is a dataclass instance or a dict, got {type(spec).__name__}")


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def run_key(spec: Spec) -> str:
    """Hash of the whole spec and the library version (hex, 20 characters)."""
    payload = _canonical({"spec": spec_dict(spec), "scalinglab": __version__})
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def default_root() -> Path:
    """``$SCALINGLAB_RUN_STORE`` if set, else ``runs/`` at the book's root (the folder holding
    ``_config.yml``, searched upwards from the working directory), else ``./runs``."""
    env = os.environ.get("SCALINGLAB_RUN_STORE")
    if env:
        return Path(env)
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "_config.yml").exists() and (folder / "lib" / "scalinglab").exists():
            return folder / "runs"
    return here / "runs"


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class RunStore:
    """A folder of finished runs: ``<root>/<key[:2]>/<key>.json`` (+ ``<key>.safetensors``)."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_root()

    def _json_path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def _weights_path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.safetensors"

    def get(self, spec: Spec) -> dict | None:
        """The stored result of ``spec``, or None if it has not finished (or its record is damaged)."""
        path = self._json_path(run_key(spec))
        try:
            record = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            return None
        if not record.get("complete") or record.get("spec") != json.loads(_canonical(spec_dict(spec))):
            return None
        return record["result"]

    def work(self, spec: Spec) -> dict | None:
        """How much the stored run of ``spec`` cost when it was trained (``wall_s``, ``cpu_s``), or None."""
        try:
            return json.loads(self._json_path(run_key(spec)).read_text()).get("work")
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            return None

    def __contains__(self, spec: Spec) -> bool:
        return self.get(spec) is not None

    def put(self, spec: Spec, result: dict, weights: dict | None = None, work: dict | None = None) -> str:
        """Store ``result`` (JSON-able), optional ``weights`` (name -> tensor) and the run's cost ``work``
        (kept beside the result, so that a result does not depend on how fast it was computed). Returns the key."""
        key = run_key(spec)
        if weights is not None:
            from safetensors.torch import save

            tensors = {k: v.detach().cpu().contiguous() for k, v in weights.items()}
            _atomic_write_bytes(self._weights_path(key), save(tensors))
        record = {"key": key, "scalinglab": __version__, "spec": json.loads(_canonical(spec_dict(spec))),
                  "result": result, "has_weights": weights is not None, "work": work, "complete": True}
        _atomic_write_bytes(self._json_path(key), _canonical(record).encode())
        return key

    def weights(self, spec: Spec) -> dict | None:
        """The stored weights of ``spec`` as a dict of CPU tensors, or None."""
        if self.get(spec) is None:
            return None
        path = self._weights_path(run_key(spec))
        if not path.exists():
            return None
        from safetensors.torch import load_file

        return load_file(str(path))

    def keys(self) -> list[str]:
        return sorted(p.stem for p in self.root.glob("*/*.json"))


def _run_and_store(run_fn: RunFn, spec: Spec, root: str) -> dict:
    """Executed where the run happens (this process or a worker): run, then commit to the store. The
    result gets ``work``: the run's wall and CPU seconds in the process that ran it."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run_fn(spec)
    weights = result.pop("_weights", None) if isinstance(result, dict) else None
    work = {"wall_s": round(time.perf_counter() - wall, 4), "cpu_s": round(time.process_time() - cpu, 4)}
    RunStore(root).put(spec, result, weights=weights, work=work)
    return result


#: Every sweep of this process, for the chapter's provenance (:func:`work_summary`): one record per call.
SWEEP_LOG: list[dict] = []


def work_of(results: list[dict], works: list[dict | None]) -> dict:
    """The work behind a sweep's results: runs, their summed wall and CPU seconds (``works``: as each was
    trained, in its own process), the summed training-step seconds and model FLOPs that run functions
    report (``train_s``, ``model_flops``); a sum is None when some run lacks its term."""
    def total(values):
        return None if not values or any(v is None for v in values) else float(sum(values))

    works = [w or {} for w in works]
    return {"runs": len(results), "run_wall_s": total([w.get("wall_s") for w in works]),
            "run_cpu_s": total([w.get("cpu_s") for w in works]),
            "train_s": total([r.get("train_s") for r in results]),
            "model_flops": total([r.get("model_flops") for r in results])}


def work_summary() -> dict:
    """This process's sweeps added up (see :func:`work_of`), plus the sweeps' own wall time and how many runs
    were trained now rather than read from the store. Recorded in each chapter's provenance."""
    if not SWEEP_LOG:
        return {"sweeps": 0, "runs": 0}
    out = {"sweeps": len(SWEEP_LOG), "runs": sum(r["runs"] for r in SWEEP_LOG),
           "trained_now": sum(r["trained_now"] for r in SWEEP_LOG),
           "sweep_wall_s": round(sum(r["sweep_wall_s"] for r in SWEEP_LOG), 2)}
    for key in ("run_wall_s", "run_cpu_s", "train_s", "model_flops"):
        values = [r[key] for r in SWEEP_LOG]
        out[key] = None if any(v is None for v in values) else float(sum(values))
    return out


def _dask_client(scheduler_address: str, workers: int | None):
    """A Dask client: ``"local"`` starts a LocalCluster of single-thread worker processes (closed with
    the client); anything else is the address of a running scheduler (``tcp://host:8786``)."""
    from dask.distributed import Client, LocalCluster

    from .devices import available_cores, single_thread_worker

    if scheduler_address == "local":
        cluster = LocalCluster(n_workers=workers or available_cores(), threads_per_worker=1, processes=True,
                               dashboard_address=None, env={"SCALINGLAB_THREADS": "1"})
        client = Client(cluster)
        client.run(single_thread_worker)
        return client, cluster
    client = Client(scheduler_address)
    client.run(single_thread_worker)
    return client, None


def sweep(specs: list[Spec], run_fn: RunFn, store: RunStore | None = None, *, refresh: bool = False,
          workers: int | None = None, scheduler_address: str = "", progress: bool = True, desc: str = "runs",
          cost: Callable[[Spec], float] | None = None) -> list[dict]:
    """Results of ``run_fn(spec)`` for every spec, in order, computing only what the store lacks.

    ``run_fn`` is a module-level function (so that worker processes can import it) that returns a
    JSON-able dict; a ``"_weights"`` entry (name -> tensor) is saved with safetensors and removed from
    the result. With ``refresh=True`` every run is recomputed.

    Where the missing runs execute:

    - ``scheduler_address`` (a chapter parameter): ``""`` runs locally; ``"local"`` starts a Dask
      ``LocalCluster`` of ``workers`` single-thread processes for this sweep; any other value is the
      address of a running Dask scheduler, whose workers must have ``scalinglab`` installed and share
      the store's folder (``SCALINGLAB_RUN_STORE`` on a shared file system);
    - else ``workers``: ``None`` = one single-thread process per core on a CPU and in-process on a GPU;
      ``1`` = in this process; ``n > 1`` = a pool of n single-thread processes, opened by the first such
      sweep and kept open for the next ones (:func:`scalinglab.devices.shared_cpu_process_pool`).

    ``cost(spec)``, if given, estimates a run's cost: the most expensive runs are submitted first so
    that parallel workers finish together.
    """
    from concurrent.futures.process import BrokenProcessPool

    from .devices import default_device, discard_shared_pool, shared_cpu_process_pool
    from .train import progress_bar

    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"sweep: workers must be None or an integer >= 1, got {workers!r}")
    if not isinstance(scheduler_address, str):
        raise ValueError(f"sweep: scheduler_address must be a string ('' for local runs), got {scheduler_address!r}")
    store = store if store is not None else RunStore()
    sweep_start = time.perf_counter()
    results: list[dict | None] = [None if refresh else store.get(s) for s in specs]
    todo = [i for i, r in enumerate(results) if r is None]
    if cost is not None:
        todo.sort(key=lambda i: -cost(specs[i]))
    bar = progress_bar(len(specs), desc, enabled=progress)
    bar.update(len(specs) - len(todo))
    root = str(store.root)
    executor, cluster, close, submit_options = None, None, None, {}
    if todo and scheduler_address:
        executor, cluster = _dask_client(scheduler_address, workers)
        close, submit_options = executor.close, {"pure": False}  # every call runs: no caching by argument hash
    elif len(todo) > 1:
        n = workers if workers is not None else (None if default_device().type == "cpu" else 1)
        executor = shared_cpu_process_pool(n)  # kept open for the process's next sweep
    try:
        if executor is None:
            for i in todo:
                results[i] = _run_and_store(run_fn, specs[i], root)
                bar.update(1)
        else:
            futures = {i: executor.submit(_run_and_store, run_fn, specs[i], root, **submit_options)
                       for i in todo}
            try:
                for i, future in futures.items():
                    results[i] = future.result()
                    bar.update(1)
            except BrokenProcessPool:
                discard_shared_pool(executor)
                raise
            except BaseException:
                for future in futures.values():  # a failed run: the queued ones are not started
                    future.cancel()
                raise
    finally:
        if close is not None:
            close()
        if cluster is not None:
            cluster.close()
        bar.close()
    SWEEP_LOG.append({"desc": desc, "trained_now": len(todo), "sweep_wall_s": time.perf_counter() - sweep_start,
                      **work_of(results, [store.work(s) for s in specs])})
    return results  # type: ignore[return-value]
