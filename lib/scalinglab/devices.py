"""Devices and threads: one place for where a run executes and how many threads it uses.

- :func:`default_device`: CUDA when present, else the CPU;
- :func:`configure_threads`: torch threads for this process (``SCALINGLAB_THREADS`` wins);
- :func:`threads_for`: one thread for tiny per-step work (families of small models);
- :func:`single_thread_worker`, :func:`cpu_process_pool`, :func:`shared_cpu_process_pool`: worker processes of
  one thread each, which :func:`scalinglab.runs.sweep` opens for CPU sweeps;
- :func:`matmul_flops_per_s`: the measured fp32 matmul throughput (the denominator of MFU).

Used by: the training loop and the families (``scalinglab.train``, ``scalinglab.families``),
``scalinglab.runs.sweep``, chapter bookkeeping, and chapter 00's MFU column.
"""

from __future__ import annotations

import functools
import math
import os
import time
from concurrent.futures import Executor

import torch


def available_cores() -> int:
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_device() -> torch.device:
    """CUDA when present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def configure_threads(n_threads: int | None = None) -> int:
    """Use every core the process may run on unless ``SCALINGLAB_THREADS`` or ``n_threads`` says less.

    Small models gain nothing from more threads than cores, and over-subscription (e.g. two
    processes with all threads each) costs 2-4× on these machines.
    """
    if n_threads is None:
        env = os.environ.get("SCALINGLAB_THREADS")
        if env:
            n_threads = int(env)
        else:
            n_threads = available_cores()
    torch.set_num_threads(max(1, n_threads))
    return torch.get_num_threads()


@functools.lru_cache(maxsize=None)
def matmul_flops_per_s(device: str = "cpu", n_threads: int | None = None, n: int | None = None,
                       repeats: int = 5) -> float:
    """Measured dense fp32 matmul throughput (FLOP/s) of this process on ``device``: the best of
    ``repeats`` n×n products (n = 1024 on a CPU, 4096 on a GPU). The denominator of model FLOPs
    utilisation (MFU, Chowdhery et al. 2022, App. B) — measured rather than taken from a data
    sheet, so that it counts the threads this process really has (``n_threads``, part of the cache
    key). Used by chapter 00 and ``benchmarks/``."""
    dev = torch.device(device)
    n = n or (4096 if dev.type == "cuda" else 1024)
    generator = torch.Generator(device=dev).manual_seed(0)  # leaves the global RNG alone
    a = torch.randn(n, n, device=dev, generator=generator)
    b = torch.randn(n, n, device=dev, generator=generator)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    a @ b  # warm-up (allocation, kernel selection)
    sync()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        sync()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def threads_for(work: int) -> int | None:
    """Threads for a family whose per-step work is ``work`` (≈ batch × models × width) on the CPU.

    Small steps run on ONE thread: they are too small to split, and on a busy machine two
    spinning OpenMP threads were measured 15× slower than one. ``SCALINGLAB_THREADS`` still wins.
    Returns None (= :func:`configure_threads`'s default) for large steps.
    """
    if os.environ.get("SCALINGLAB_THREADS"):
        return None
    return 1 if work < 2**20 else None


def single_thread_worker() -> None:
    """Process-pool initialiser: one torch thread and one BLAS thread in each worker process."""
    from threadpoolctl import threadpool_limits

    os.environ["SCALINGLAB_THREADS"] = "1"  # read by configure_threads
    torch.set_num_threads(1)
    threadpool_limits(1)


def cpu_process_pool(n_workers: int | None = None) -> Executor | None:
    """A pool of single-threaded worker processes for :func:`scalinglab.runs.sweep`, or None for ``n_workers <= 1``.

    On small CPU models, two one-thread processes side by side outrun one two-thread process
    (+28 % measured on the book's 2-core machines), and idle OpenMP threads stop spinning against each
    other. Workers are spawned, not forked, so no OpenMP state is inherited. Default: one worker
    per core this process may use. Used by: :func:`scalinglab.runs.sweep`.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if n_workers is None:
        n_workers = available_cores()
    if n_workers <= 1:
        return None
    return ProcessPoolExecutor(max_workers=n_workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=single_thread_worker)


#: The pools of :func:`shared_cpu_process_pool`, by number of workers; shut down when the process exits.
_SHARED_POOLS: dict = {}


def shared_cpu_process_pool(n_workers: int | None = None) -> Executor | None:
    """Like :func:`cpu_process_pool`, but one pool per worker count for the whole process, kept open between
    sweeps: a chapter's successive sweeps (tuning rounds, then the runs that test the claims) then pay a
    worker's start — importing torch and building a run's data, seconds each — once, not once per sweep. A
    run's result does not depend on what its worker ran before (every run seeds its own initialisation and data
    order). A pool whose worker died is dropped (:func:`discard_shared_pool`) and the next call opens a fresh
    one. Used by: :func:`scalinglab.runs.sweep`."""
    import atexit

    if n_workers is None:
        n_workers = available_cores()
    if n_workers <= 1:
        return None
    pool = _SHARED_POOLS.get(n_workers)
    if pool is None:
        pool = _SHARED_POOLS[n_workers] = cpu_process_pool(n_workers)
        if len(_SHARED_POOLS) == 1:
            atexit.register(_shut_down_shared_pools)
    return pool


def discard_shared_pool(pool: Executor) -> None:
    """Forget and shut down ``pool`` if it is a shared pool (e.g. after one of its workers died)."""
    for n, p in list(_SHARED_POOLS.items()):
        if p is pool:
            del _SHARED_POOLS[n]
    pool.shutdown(wait=False, cancel_futures=True)


def _shut_down_shared_pools() -> None:
    for pool in list(_SHARED_POOLS.values()):
        pool.shutdown(wait=True, cancel_futures=True)
    _SHARED_POOLS.clear()
