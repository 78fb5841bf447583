"""Family speed-up: 16 MLPs trained as stacked families vs the best unbatched use of the same cores.

16 MLP classifiers with MNIST-1D-sized inputs (40 features, 10 classes), hidden widths 64, 128, 192
and 256 (four models each, two hidden layers), batch 128, 500 steps of AdamW with clipping, each
model with its own initial weights and data stream.

- **Batched on single-thread workers (the headline)**: one :class:`scalinglab.families.StackedMLP`
  family per width (the group-by-shape rule) trained with :func:`scalinglab.families.train_family`,
  handed largest first to :func:`scalinglab.devices.cpu_process_pool` (one single-thread worker per
  core) — the way :func:`scalinglab.runs.sweep` runs a CPU sweep.
- **Sequential on the same single-thread workers (the baseline)**: the 16 models one by one, spread
  over the same pool with a lean hand-written loop (fused AdamW, no evaluation, no bookkeeping). This
  is the best unbatched use of the same cores, so the ratio is what batching buys and nothing else.
- **For reference, in this process on every core**: the 16 models one after another, with
  :func:`scalinglab.train.train` and with the lean loop, and the four families one after another
  (printed, not the headline: they do not use the cores the way a sweep does). On a one-core machine
  (no pool) the headline is the families in this process against the faster one-process loop.

The pool is started and warmed before timing (its start-up, printed, is paid once per sweep). Runs
alternate; the best of the rounds is kept. Target: ≥ 3× over the baseline. Never asserts a time.

    .venv/bin/python benchmarks/bench_families.py [--steps 500] [--rounds 2] [--threads N] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import time

import torch
import torch.nn.functional as F

from scalinglab.devices import configure_threads, cpu_process_pool
from scalinglab.families import build_mlp_family, group_by_shape, train_family
from scalinglab.models import MLP, MLPConfig, classification_loss
from scalinglab.train import TrainConfig, seeded, train

WIDTHS = [64, 128, 192, 256]
PER_WIDTH = 4
TARGET = 3.0


def batch_fn(generator):
    x = torch.randn(128, 40, generator=generator)
    y = torch.randint(0, 10, (128,), generator=generator)
    return x, y


def members():
    return [(MLPConfig(input_dim=40, hidden=(w, w), n_classes=10), 10 * i + j)
            for i, w in enumerate(WIDTHS) for j in range(PER_WIDTH)]


def config_for(seed, steps):
    return TrainConfig(steps=steps, batch_size=128, lr=1e-3, seed=seed, schedule="constant", grad_clip=1.0)


def train_one_family(cfg: MLPConfig, seeds: list, steps: int) -> float:
    """Train the family of ``seeds`` (one width) with the library; return its wall time (module-level
    so that pool workers can run it)."""
    start = time.perf_counter()
    family = build_mlp_family(cfg, seeds, device="cpu")
    train_family(family, [config_for(s, steps) for s in seeds], batch_fn, device="cpu")
    return time.perf_counter() - start


def train_one_lean(cfg: MLPConfig, seed: int, steps: int) -> float:
    """One model, the lean loop: fused AdamW, clipping, nothing else."""
    start = time.perf_counter()
    model = seeded(lambda: MLP(cfg), seed)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x, y = batch_fn(g)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return time.perf_counter() - start


def _families():
    models = members()
    groups = group_by_shape([m[0] for m in models])
    # largest first, so that a pool finishes together (the same rule as sweep(cost=...))
    return sorted(((cfg, [models[i][1] for i in idx]) for cfg, idx in groups.items()),
                  key=lambda item: -max(item[0].hidden))


def run_batched(steps, pool=None):
    start = time.perf_counter()
    if pool is None:
        for cfg, seeds in _families():
            train_one_family(cfg, seeds, steps)
    else:
        for future in [pool.submit(train_one_family, cfg, seeds, steps) for cfg, seeds in _families()]:
            future.result()
    return time.perf_counter() - start


def run_sequential_library(steps):
    start = time.perf_counter()
    for cfg, s in members():
        train(seeded(lambda: MLP(cfg), s), config_for(s, steps), batch_fn, classification_loss, device="cpu")
    return time.perf_counter() - start


def run_sequential_lean(steps, pool=None):
    start = time.perf_counter()
    jobs = sorted(members(), key=lambda m: -max(m[0].hidden))
    if pool is None:
        for cfg, s in jobs:
            train_one_lean(cfg, s, steps)
    else:
        for future in [pool.submit(train_one_lean, cfg, s, steps) for cfg, s in jobs]:
            future.result()
    return time.perf_counter() - start


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="threads of the in-process runs")
    parser.add_argument("--workers", type=int, default=None, help="pool size (default: one per core)")
    args = parser.parse_args(argv)
    if args.threads:  # the library's loops call configure_threads() themselves: pass it on
        os.environ["SCALINGLAB_THREADS"] = str(args.threads)
    threads = configure_threads(args.threads)
    start = time.perf_counter()
    pool = cpu_process_pool(args.workers)
    workers = pool._max_workers if pool is not None else 1
    if pool is not None:  # start every worker (spawn + torch import) before timing
        for future in [pool.submit(train_one_family, *_families()[0][:2], 2) for _ in range(workers)]:
            future.result()
    pool_start_s = time.perf_counter() - start
    run_batched(5), run_sequential_lean(5)  # warm-up (lazy imports, allocator)
    names = ["sequential (lean loop)", "sequential (scalinglab.train)", "batched, one process",
             "batched, single-thread workers", "sequential, single-thread workers"]
    times = {k: [] for k in names}
    try:
        for _ in range(args.rounds):  # alternate, so that a change in machine load hits all alike
            times[names[0]].append(run_sequential_lean(args.steps))
            times[names[2]].append(run_batched(args.steps))
            times[names[1]].append(run_sequential_library(args.steps))
            if pool is not None:
                times[names[3]].append(run_batched(args.steps, pool))
                times[names[4]].append(run_sequential_lean(args.steps, pool))
            configure_threads(threads)
    finally:
        if pool is not None:
            pool.shutdown()
    best = {k: min(v) for k, v in times.items() if v}
    # like with like: batched and unbatched on the same pool of single-thread workers; without a pool
    # (one core), batched in this process against the faster of the two one-process loops
    baseline_name = names[4] if pool is not None else min(names[:2], key=lambda k: best[k])
    baseline = best[baseline_name]
    ratios = {k: baseline / v for k, v in best.items()}
    headline_name = names[3] if pool is not None else names[2]
    speedup = ratios[headline_name]
    print(f"family benchmark: 16 MLPs (widths {WIDTHS}, {PER_WIDTH} each), batch 128, {args.steps} steps, "
          f"best of {args.rounds}; in-process runs on {threads} threads, pool of {workers} single-thread "
          f"workers (start-up {pool_start_s:.1f} s, not counted)")
    for k in names:
        if k in best:
            print(f"  {k:36s} {best[k]:7.2f} s  {ratios[k]:5.2f}x")
    print(f"  baseline (unbatched, on the same cores and workers): {baseline_name}")
    print(f"  speed-up of batching ({headline_name} vs {baseline_name}): {speedup:.2f}x "
          f"(target >= {TARGET}x: {'met' if speedup >= TARGET else 'NOT met'})")
    fastest_loop = min(names[:2], key=lambda k: best[k])
    print(f"  for reference: batching in one process {ratios[names[2]]:.2f}x; the pool's batched run vs the "
          f"faster one-process loop ({fastest_loop}): {best[fastest_loop] / best[headline_name]:.2f}x")
    return {"times_s": best, "ratios": ratios, "baseline": baseline_name, "headline": headline_name,
            "speedup": speedup, "speedup_one_process": ratios[names[2]], "threads": threads,
            "workers": workers, "pool_start_s": pool_start_s, "target_met": speedup >= TARGET}

if __name__ == "__main__":
    main()
