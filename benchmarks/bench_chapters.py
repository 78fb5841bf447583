"""The chapters' own training shapes: seed replicates trained one by one (as each sweep trains them) against the
same replicates stacked as one family (:mod:`scalinglab.families`), and both against the machine's peak.

For every chapter whose sweep trains transformers one run at a time (00, 01, 02, 05, 06), the bench builds the
``ci`` profile's specs at seed 0 and groups them by everything but their seeds and replicate index: a group is
one size's replicates. For the smallest, the median and the largest group by size (then by the chapter's own run
cost), it
calls the chapter's run function with training intercepted, so that it captures each replicate's model as the
chapter initialises it, its ``TrainConfig``, batch function and loss, and stops before any step. Then, on one
thread (a CPU sweep runs one single-thread process per core), in alternating rounds, the best round kept:

- **one by one**: each replicate trained with :func:`scalinglab.train.train` — what the chapter does;
- **stacked**: the same initial weights as one :class:`scalinglab.families.StackedTransformer`, trained with
  :func:`scalinglab.families.train_family` on :func:`scalinglab.families.stacked_lm_loss`, each member drawing
  its batches from its own batch function and its own data-order seed.

Both run ``--steps`` steps of the chapter's configuration (its batch size, learning rate, schedule shape,
clipping); evaluation is left out, so the numbers are training only. Printed per group: parameters, replicates K,
milliseconds per step per model both ways, the ratio (above 1: stacking pays), model GFLOP/s one by one
(:func:`scalinglab.flops.flops_per_token`, the library's FLOP counter, × tokens per step) and its share of
this machine's measured one-thread fp32 matmul peak (:func:`scalinglab.devices.matmul_flops_per_s`).
Chapters 03 and 04 already train their MLPs as stacked families and are not re-timed. Never asserts a time.

    .venv/bin/python benchmarks/bench_chapters.py [--chapters 00 01] [--steps 100] [--rounds 2]
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import importlib
import os
import time

import numpy as np
import torch

from scalinglab import params
from scalinglab.devices import matmul_flops_per_s
from scalinglab.families import StackedTransformer, _stack_batches, stacked_lm_loss, train_family
from scalinglab.flops import flops_per_token
from scalinglab.models import lm_loss, non_embedding_params
from scalinglab.train import train

#: Speed-up at which a chapter should adopt stacking.
TARGET = 1.5


def _specs_00(mod, settings):
    from scalinglab.data import python_stdlib_corpus

    corpus = python_stdlib_corpus(settings["corpus_bytes"])
    return [("ladder", mod.ladder_specs(settings, corpus.spec(), 0), mod.run_byte_lm, mod.run_cost)]


def _specs_01(mod, settings):
    return [("ladder", mod.ladder_specs(settings, 0), mod.run_arithmetic_model, mod.run_cost)]


def _specs_02(mod, settings):
    return [("memo trap", mod.memo_trap_specs(settings, 0), mod.memo_trap_run, mod.run_cost),
            ("imitation", mod.imitation_specs(settings, 0), mod.imitation_run, mod.run_cost)]


def _specs_05(mod, settings):
    return [("IsoFLOP", mod.isoflop_specs(settings, 0, mod.corpus_hash(settings["corpus_bytes"])), mod.run_isoflop,
             mod.run_cost)]


def _specs_06(mod, settings):
    return [("capacity", mod.make_specs(settings, 0), mod.run_capacity, mod.spec_cost)]


#: chapter -> (experiment module, spec builder)
CHAPTERS = {"00": ("power_laws", _specs_00), "01": ("emergence", _specs_01), "02": ("inverse_scaling", _specs_02),
            "05": ("compute_optimal", _specs_05), "06": ("knowledge_capacity", _specs_06)}
ALREADY_STACKED = {"03": "data_pruning (MLP and CNN families)", "04": "critical_batch (MLP families)"}


def shape_key(obj):
    """Everything of a spec but its seeds and replicate index: specs with equal keys are one size's replicates."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return (type(obj).__name__,) + tuple(
            (f.name, shape_key(getattr(obj, f.name))) for f in dataclasses.fields(obj)
            if "seed" not in f.name and f.name != "replicate")
    if isinstance(obj, (list, tuple)):
        return tuple(shape_key(x) for x in obj)
    if isinstance(obj, dict):
        return tuple(sorted((k, shape_key(v)) for k, v in obj.items()))
    return obj


class _Captured(Exception):
    def __init__(self, model, config, batch_fn, loss_fn):
        super().__init__("captured")
        self.model, self.config, self.batch_fn, self.loss_fn = model, config, batch_fn, loss_fn


def capture(module, run_fn, spec):
    """Call ``run_fn(spec)`` until it trains: return (initial model, TrainConfig, batch_fn, loss_fn)."""
    import scalinglab.train as train_module

    def stub(model, config, batch_fn, loss_fn, *args, **kwargs):
        raise _Captured(model, config, batch_fn, loss_fn)

    saved = {m: m.train for m in (train_module, module) if hasattr(m, "train")}
    try:
        for m in saved:
            m.train = stub
        run_fn(spec)
    except _Captured as c:
        return copy.deepcopy(c.model).cpu(), c.config, c.batch_fn, c.loss_fn
    finally:
        for m, f in saved.items():
            m.train = f
    raise RuntimeError(f"{run_fn.__name__} returned without calling train()")


def _capped(config, steps):
    return dataclasses.replace(config, steps=steps, warmup_steps=min(config.warmup_steps, steps // 20))


def time_one_by_one(members, steps) -> float:
    start = time.perf_counter()
    for model, config, batch_fn, loss_fn in members:
        train(copy.deepcopy(model), _capped(config, steps), batch_fn, loss_fn, device="cpu")
    return time.perf_counter() - start


def time_stacked(members, steps) -> float:
    start = time.perf_counter()
    family = StackedTransformer.from_models([copy.deepcopy(m[0]) for m in members])
    configs = [_capped(m[1], steps) for m in members]
    generators = [torch.Generator().manual_seed(c.seed) for c in configs]
    batch_fns = [m[2] for m in members]
    train_family(family, configs, None, stacked_lm_loss, device="cpu", n_threads=1,
                 stacked_batch_fn=lambda: _stack_batches([f(g) for f, g in zip(batch_fns, generators)]))
    return time.perf_counter() - start


def bench_sweep(module, name, specs, run_fn, cost, steps, rounds, peak):
    groups: dict = {}
    for spec in specs:
        groups.setdefault(shape_key(spec), []).append(spec)
    # by size, then by run cost: per-step speed is a matter of shape (an IsoFLOP grid's small models are not cheap)
    ordered = sorted(groups.values(), key=lambda g: (non_embedding_params(g[0].model), cost(g[0])))
    picks = sorted({0, len(ordered) // 2, len(ordered) - 1})
    rows = []
    for label, i in zip(("smallest", "median", "largest") if len(picks) == 3 else ("smallest", "largest"), picks):
        members = [capture(module, run_fn, s) for s in ordered[i]]
        model, config, batch_fn, loss_fn = members[0]
        tokens = int(np.prod(batch_fn(torch.Generator().manual_seed(0))[0].shape))
        flops_step = flops_per_token(model.config) * tokens
        K = len(members)
        sep, stk = [], []
        for _ in range(rounds):
            sep.append(time_one_by_one(members, steps))
            if K > 1 and loss_fn is lm_loss:
                stk.append(time_stacked(members, steps))
        t_sep = min(sep) / (steps * K)
        t_stk = min(stk) / (steps * K) if stk else float("nan")
        rows.append(dict(sweep=name, member=label, N=non_embedding_params(model.config), K=K,
                         ms_step=1e3 * t_sep, ms_step_stacked=1e3 * t_stk, ratio=t_sep / t_stk,
                         gflops=flops_step / t_sep / 1e9, peak_share=flops_step / t_sep / peak))
        r = rows[-1]
        print(f"  {name:10s} {label:8s} N={r['N']:>9,} K={K}  one by one {r['ms_step']:7.2f} ms/step  "
              f"stacked {r['ms_step_stacked']:7.2f} ms/step  ratio {r['ratio']:5.2f}×  "
              f"{r['gflops']:6.2f} GFLOP/s = {r['peak_share']:5.1%} of peak", flush=True)
    estimate = sweep_ratio(ordered, rows)
    print(f"  {name:10s} the whole sweep ({sum(len(g) for g in ordered)} runs, {len(ordered)} groups), each group's "
          f"steps × its ms/step interpolated in log N between the timed sizes: {estimate:.2f}×", flush=True)
    rows.append(dict(sweep=name, member="whole sweep", ratio=estimate))
    return rows


def sweep_ratio(groups, rows) -> float:
    """The whole sweep's one-by-one time over its stacked time, estimated from the timed sizes: every group's
    steps × replicates × its ms/step, log-interpolated in log N between the timed sizes (flat beyond them)."""
    timed = [r for r in rows if np.isfinite(r["ms_step_stacked"])]
    if not timed:
        return float("nan")
    log_n = np.log([r["N"] for r in timed])
    order = np.argsort(log_n)

    def at(key, n):
        return float(np.exp(np.interp(np.log(n), log_n[order], np.log([timed[i][key] for i in order]))))

    sep = stk = 0.0
    for g in groups:
        n, work = non_embedding_params(g[0].model), g[0].train.steps * len(g)
        sep += work * at("ms_step", n)
        stk += work * at("ms_step_stacked", n)
    return sep / stk


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapters", nargs="+", default=list(CHAPTERS), choices=list(CHAPTERS))
    parser.add_argument("--steps", type=int, default=100, help="training steps per timing (default 100)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; the best is kept (default 2)")
    args = parser.parse_args(argv)
    if args.steps < 20 or args.rounds < 1:
        parser.error("--steps must be at least 20 and --rounds at least 1")
    saved_threads = os.environ.get("SCALINGLAB_THREADS")
    os.environ["SCALINGLAB_THREADS"] = "1"  # read by configure_threads in train(): one thread, as a sweep worker
    torch.set_num_threads(1)
    try:
        return _run(args)
    finally:
        if saved_threads is None:
            os.environ.pop("SCALINGLAB_THREADS", None)
        else:
            os.environ["SCALINGLAB_THREADS"] = saved_threads


def _run(args) -> int:
    peak = matmul_flops_per_s("cpu", 1)
    print(f"[bench_chapters] one thread, fp32 matmul peak {peak / 1e9:.1f} GFLOP/s, {args.steps} steps, "
          f"best of {args.rounds} rounds; ratio = one-by-one time / stacked time (target ≥ {TARGET}×)")
    summary = []
    for ch in args.chapters:
        module_name, builder = CHAPTERS[ch]
        module = importlib.import_module(f"scalinglab.experiments.{module_name}")
        settings = params.select_profile("ci", module.PROFILES)
        print(f"chapter {ch} ({module_name})", flush=True)
        for name, specs, run_fn, cost in builder(module, settings):
            rows = bench_sweep(module, name, specs, run_fn, cost, args.steps, args.rounds, peak)
            summary.append((ch, name, rows))
    for ch, what in ALREADY_STACKED.items():
        print(f"chapter {ch} ({what}): trained as stacked families already, not re-timed")
    print("\nsummary: stacking pays (≥ "
          f"{TARGET}×) for " + (", ".join(f"{ch} {name} {r['member']} ({r['ratio']:.2f}×)" for ch, name, rows in summary
                                      for r in rows if r["ratio"] >= TARGET) or "none of the timed members"))
    print("  whole sweeps: " + ", ".join(f"{ch} {name} {rows[-1]['ratio']:.2f}×" for ch, name, rows in summary)
          + f" (adopt at ≥ {TARGET}×)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
