"""Chapter 07 (learning-rate schedules): a cooldown instead of cosine, and a law that predicts a schedule's curve.

What is here, in the order the chapter uses it:

- :data:`PROFILES`, :data:`SMOKE_OVERRIDES`: the ``ci`` and ``full`` settings and the smoke caps;
- :data:`CLAIMS`: claims S1–S3, fixed before the runs that test them;
- :class:`ScheduleRunSpec`, :func:`tuning_specs`, :func:`main_specs`, :func:`run_schedule`: one training run —
  a cosine or step run to one horizon, or a constant-rate **trunk** with warm-up–stable–decay (WSD) cooldown
  **branches** at every horizon (:func:`scalinglab.train.train` resumes each branch from a snapshot);
- :func:`best_rates`: the learning rate each arm uses, tuned on a grid at the shortest horizon;
- :func:`curves_table`, :func:`finals_table`: the sweep's results as tables;
- :func:`fit_annealing_law` and its rivals, :func:`analyse`: the claims' statistics and intervals;
- :class:`ScheduleWorld`, :data:`WORLDS`, :func:`simulate`, :func:`truth`: the simulation audit.

The arms (Hägele et al. 2024; Tissue et al. 2024), all with the same linear warm-up and the same peak rate
grid: **cosine** to each horizon (decaying to a tenth); **WSD**, the constant rate then a cooldown over the last
20 % of the horizon to zero, in the (1 − √x) shape and the linear one — every WSD run is a branch of one
constant-rate trunk, which is itself the **constant** arm; and a **step** schedule (the rate divided by √10 at
half and three quarters of the run) at the longest horizon.

Used by: chapter 07 (learning-rate schedules).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

from ..audit import World
from ..claims import Claim, Measurement, Precondition, Revision, at_least, at_most
from ..data.text import fixed_windows, python_stdlib_corpus, random_windows
from ..devices import default_device
from ..flops import flops_per_token
from ..grids import log_grid, one_standard_error_choice, stability_margin
from ..intervals import t_interval
from ..models import Transformer, TransformerConfig, lm_loss, non_embedding_params
from ..schedules import annealing_areas, cooldown_start, rates
from ..seeds import derive_seed
from ..train import TrainConfig, seeded, train

# --- profiles ------------------------------------------------------------------------------------------

#: Settings per profile. ``sizes``: (n_layer, n_head, d_model) of the two model sizes; ``base_steps``: the
#: shortest horizon, and ``horizons`` its multiples; ``warmup_steps``: the linear warm-up every arm shares;
#: ``cooldown_fraction``: the WSD cooldown's share of each horizon; ``lr_points`` rates spaced by a factor
#: ``lr_step``, centred on each size's reference rate (:func:`reference_lr`): the tuning grid, widened by one rate
#: beyond an edge that holds the chosen rate for at most ``tune_rounds`` rounds (:func:`tune`), every rate trained on
#: ``tune_replicates`` tuning replicates of their own (the rate is chosen by the one-standard-error rule,
#: :func:`best_rates`); ``n_seeds``: replicates (each with its own
#: initialisation and data order, shared by every arm of the replicate); ``eval_every``: held-out
#: evaluations along every run; ``eval_windows``: fixed held-out windows, the same for every run.
PROFILES = {
    "ci": dict(sizes=[(1, 2, 16), (1, 2, 32)], context_length=64, batch_size=16, base_steps=300,
               horizons=(1, 2, 4), warmup_steps=30, cooldown_fraction=0.2, lr_points=5, lr_step=2.0, tune_rounds=3,
               tune_replicates=2, n_seeds=4, eval_every=20, eval_windows=128, corpus_bytes=4_000_000),
    "full": dict(sizes=[(2, 2, 64), (4, 4, 128)], context_length=256, batch_size=64, base_steps=1000,
                 horizons=(1, 2, 4), warmup_steps=100, cooldown_fraction=0.2, lr_points=5, lr_step=2.0, tune_rounds=3,
                 tune_replicates=2, n_seeds=5, eval_every=50, eval_windows=1024, corpus_bytes=10_000_000),
}

#: ``smoke=True``: the ``ci`` design at a few steps, two replicates and few windows: the code path in seconds.
SMOKE_OVERRIDES = dict(sizes=[(1, 2, 8), (1, 2, 16)], context_length=32, batch_size=8, base_steps=20,
                       warmup_steps=4, n_seeds=2, eval_every=5, eval_windows=16)

#: The arms of a replicate's sweep and the schedule each trains with (``scalinglab.schedules``).
ARMS = ("cosine", "wsd", "step")
#: The arms that are runs of their own: the step arm is a branch of the WSD trunk (``ScheduleRunSpec.with_step``).
SPEC_ARMS = ("cosine", "wsd")
#: The two WSD cooldown shapes; the first is Hägele et al.'s recommended (1 − √x).
SHAPES = ("sqrt", "linear")
#: The step schedule: the rate multiplied by this factor at these fractions of the run.
STEP_MILESTONES = (0.5, 0.75)
STEP_FACTOR = 0.1 ** 0.5
#: Cosine decays to this share of the peak (the book's convention; Hoffmann et al. 2022 decay to a tenth).
COSINE_FLOOR = 0.1


def reference_lr(d_model: int) -> float:
    """The centre of a size's learning-rate grid: 4e-2·16/d_model, falling as 1/width (μP's rule for Adam's
    hidden weights, Yang et al. 2022). Pilot sweeps put the best rate of the narrowest model near 0.04–0.08 and
    of the wider one near 0.014, where chapter 00's 1/√width rule would centre the grid too low for the first.
    Used by chapter 07."""
    return 4e-2 * 16 / d_model


def model_config(size: tuple[int, int, int], context_length: int) -> TransformerConfig:
    """The byte-level transformer of one size (n_layer, n_head, d_model). Used by chapter 07."""
    n_layer, n_head, d_model = size
    return TransformerConfig(vocab_size=256, context_length=context_length, n_layer=n_layer, n_head=n_head,
                             d_model=d_model)


def horizons(settings: dict) -> list[int]:
    """The training lengths in steps: ``base_steps`` × each of ``horizons``. Used by chapter 07."""
    return [int(settings["base_steps"] * h) for h in settings["horizons"]]


# --- one run --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CorpusSpec:
    """What identifies the byte corpus of a run (``scalinglab.data.text.ByteCorpus.spec()``)."""

    name: str
    sha256: str
    train_bytes: int
    val_bytes: int


@dataclass(frozen=True)
class ScheduleRunSpec:
    """Everything :func:`run_schedule` reads. ``arm``: ``"cosine"`` or ``"step"`` (one run to ``horizons[0]``)
    or ``"wsd"`` (a constant-rate trunk to the longest of ``horizons``, with a cooldown branch of each shape in
    ``shapes`` at every horizon, and with ``with_step`` a step-schedule branch to the longest); ``stage``:
    ``"tune"`` or ``"main"``. The trunk and its branches share the replicate's initialisation (``init_seed``) and data order (``data_seed``) with the replicate's other arms.
    Used by chapter 07."""

    model: TransformerConfig
    arm: str
    lr: float
    horizons: tuple
    shapes: tuple
    warmup_steps: int
    cooldown_fraction: float
    batch_size: int
    eval_every: int
    corpus: CorpusSpec
    eval_windows: int
    replicate: int
    stage: str
    init_seed: int
    data_seed: int
    #: ``arm="wsd"`` only: also the step schedule to the longest horizon, as a branch of the trunk. The step
    #: schedule holds the peak rate until its first drop (``STEP_MILESTONES[0]`` of the run), exactly as the trunk
    #: does, so its run from scratch and the branch resumed from the trunk's snapshot there are, number for number,
    #: the same run — without training its first half a second time.
    with_step: bool = False

    def train_config(self, steps: int, schedule: str, shape: str = "sqrt") -> TrainConfig:
        """The optimisation of one run of ``steps`` steps under ``schedule`` (every other setting shared)."""
        return TrainConfig(steps=steps, batch_size=self.batch_size, lr=self.lr, weight_decay=0.1,
                           warmup_steps=self.warmup_steps, schedule=schedule, min_lr_ratio=COSINE_FLOOR,
                           cooldown_fraction=self.cooldown_fraction, cooldown_shape=shape,
                           step_milestones=STEP_MILESTONES, step_factor=STEP_FACTOR,
                           eval_every=self.eval_every, seed=self.data_seed)


def _spec(settings: dict, corpus_spec: dict, size, arm: str, lr: float, hs, replicate: int, stage: str,
          seed: int) -> ScheduleRunSpec:
    # a tuning run is read only at its end (best_rates: the final loss, the WSD arm's (1 − √x) branch), so it
    # evaluates only there and trains no linear branch; evaluating does not touch the training, so its final
    # loss is the one it would have with the curve
    tuning = stage == "tune"
    shapes = () if arm != "wsd" else (SHAPES[:1] if tuning else SHAPES)
    return ScheduleRunSpec(model=model_config(tuple(size), settings["context_length"]), arm=arm, lr=float(lr),
                           horizons=tuple(int(h) for h in hs), shapes=shapes,
                           warmup_steps=settings["warmup_steps"], cooldown_fraction=settings["cooldown_fraction"],
                           batch_size=settings["batch_size"], eval_every=0 if tuning else settings["eval_every"],
                           corpus=CorpusSpec(**corpus_spec), eval_windows=settings["eval_windows"],
                           replicate=replicate, stage=stage,
                           init_seed=derive_seed(seed, stage, "init", replicate),
                           data_seed=derive_seed(seed, stage, "data-order", replicate), with_step=arm == "wsd")


def initial_grids(settings: dict) -> dict:
    """Per size (``d_model``): the first tuning grid, ``lr_points`` rates spaced by ``lr_step`` around the size's
    :func:`reference_lr`. Used by chapter 07."""
    return {int(size[2]): log_grid(reference_lr(size[2]), settings["lr_points"], settings["lr_step"])
            for size in settings["sizes"]}


def tuning_specs(settings: dict, corpus_spec: dict, seed: int, grids: dict | None = None) -> list[ScheduleRunSpec]:
    """The tuning sweep: for each tuning replicate, size and arm, one run per rate of the size's grid (``grids``, by
    default :func:`initial_grids`) at the shortest horizon — the step arm as a branch of the WSD spec's trunk
    (:attr:`ScheduleRunSpec.with_step`). The ``tune_replicates`` tuning replicates have seed
    streams of their own (``"tune"``), so that the runs that test the claims never chose their own rate; a tuning
    replicate's runs share its initialisation and data order. Used by chapter 07."""
    grids = grids or initial_grids(settings)
    h = horizons(settings)[0]
    out = []
    for replicate in range(settings["tune_replicates"]):
        for size in settings["sizes"]:
            for arm in SPEC_ARMS:
                for lr in grids[int(size[2])]:
                    out.append(_spec(settings, corpus_spec, size, arm, lr, (h,), replicate, "tune", seed))
    return out


def extend_grids(grids: dict, tuned: dict, step: float) -> dict:
    """The grids of the next tuning round: a size whose best rate lies on an edge of its grid gets one more rate
    beyond that edge (a factor ``step`` further); the others keep theirs. Equal to ``grids`` when every best rate
    is interior. Used by chapter 07 (:func:`tune`)."""
    out = {}
    for d, grid in grids.items():
        grid = sorted(grid)
        best = tuned[d]["best"]
        if math.isclose(best, grid[0]):
            grid = [grid[0] / step] + grid
        elif math.isclose(best, grid[-1]):
            grid = grid + [grid[-1] * step]
        out[d] = grid
    return out


def tune(settings: dict, corpus_spec: dict, seed: int, sweep) -> tuple[list, list, dict]:
    """Tune each size's shared peak rate: train the tuning sweep (``sweep(specs, round)`` returns their results, e.g.
    :func:`scalinglab.runs.sweep` with :func:`run_schedule`), and while some size's best rate lies on an edge of
    its grid, widen that grid by one rate beyond the edge and train the new runs, for at most ``tune_rounds``
    rounds — so that the precondition fails only where the valley has no bottom within that many steps. Returns
    the tuning specs, their results and :func:`best_rates` (with ``rounds``, the widening rounds taken). Used by
    chapter 07."""
    grids = initial_grids(settings)
    rounds = 0
    while True:
        specs = tuning_specs(settings, corpus_spec, seed, grids)
        results = sweep(specs, rounds)
        tuned = best_rates(specs, results)
        wider = extend_grids(grids, tuned, settings["lr_step"])
        if wider == grids or rounds >= settings["tune_rounds"]:
            for t in tuned.values():
                t["rounds"] = rounds
            return specs, results, tuned
        grids, rounds = wider, rounds + 1


def best_rates(specs: list[ScheduleRunSpec], results: list[dict]) -> dict:
    """From the tuning sweep, per size (``d_model``): the grid's rates, each arm's final held-out loss at each
    rate averaged over the tuning replicates (the WSD arm: its (1 − √x) branch), their mean over the arms, the
    **shared** rate chosen from it, whether it is interior (not the grid's smallest or largest), and each arm's
    own lowest rate. The arms of a size then train at one peak rate, so that they differ only in the schedule's
    shape — the comparison of Hägele et al. (2024, Fig. 3) and the setting of Tissue et al.'s law, whose areas
    compare schedules at one peak rate.

    The shared rate is chosen by the one-standard-error rule (:func:`scalinglab.grids.one_standard_error_choice`
    on each tuning replicate's mean over arms): the smallest rate whose mean loss is within one standard error
    of the lowest. A short tuning run's valley is often flat over two or three rates next to the rate at which
    training diverges; the smallest of them is as good within the noise and far less likely to diverge in the
    longer runs (``argmin``: the rate of the lowest mean, reported beside it; ``se``: the standard error;
    ``one_se``: the rule's rate). Then a stability margin (:func:`scalinglab.grids.stability_margin`): the
    chosen rate is never the neighbour of a rate that diverged in tuning (``diverged``: per rate, its mean loss
    worse than the grid's smallest rate's), stepping down (``stepped``: how far) until the next larger rate trained
    — a tuning run is the shortest horizon, and a rate next to the divergence can blow up in the runs four times
    as long. Used by chapter 07."""
    table: dict = {}
    for s, r in zip(specs, results):
        finals = {s.arm: r["final"] if s.arm != "wsd" else r["branches"][f"{s.horizons[0]}-sqrt"]["final"]}
        if "step" in r:  # the step arm, a branch of the WSD trunk
            finals["step"] = r["step"]["final"]
        for arm, final in finals.items():
            table.setdefault(s.model.d_model, {}).setdefault(arm, {}).setdefault(s.replicate, {})[s.lr] = final
    out = {}
    for d, arms in table.items():
        reps = sorted(next(iter(arms.values())))
        lrs = sorted(next(iter(arms.values()))[reps[0]])
        # per arm: losses[replicate][rate]; per tuning replicate, the mean over arms at each rate
        per_rep = np.array([[np.mean([arms[arm][r][lr] for arm in arms]) for lr in lrs] for r in reps])
        losses = {arm: [float(np.mean([arms[arm][r][lr] for r in reps])) for lr in lrs] for arm in arms}
        mean = [float(np.mean([losses[arm][i] for arm in arms])) for i in range(len(lrs))]
        choice = one_standard_error_choice(per_rep)
        margin = stability_margin(mean, choice["index"])
        i = margin["index"]
        out[int(d)] = {"lrs": lrs, "losses": losses, "mean": mean, "best": lrs[i], "interior": 0 < i < len(lrs) - 1,
                       "argmin": lrs[choice["argmin"]], "one_se": lrs[choice["index"]], "se": choice["se"],
                       "diverged": margin["diverged"], "stepped": margin["stepped"],
                       "arm_best": {arm: lrs[int(np.argmin(v))] for arm, v in losses.items()}}
    return out


def main_specs(settings: dict, corpus_spec: dict, seed: int, tuned: dict) -> list[ScheduleRunSpec]:
    """The sweep that tests the claims: per replicate and size, cosine to every horizon, and the WSD trunk with its
    branches, the step schedule to the longest horizon among them, all at the size's tuned rate (``tuned`` from
    :func:`best_rates`). Replicate r's arms share ``derive_seed(seed, "main", "init", r)`` and
    ``derive_seed(seed, "main", "data-order", r)``. Used by chapter 07."""
    hs = horizons(settings)
    out = []
    for replicate in range(settings["n_seeds"]):
        for size in settings["sizes"]:
            lr = {arm: tuned[int(size[2])]["best"] for arm in ARMS}
            for h in hs:
                out.append(_spec(settings, corpus_spec, size, "cosine", lr["cosine"], (h,), replicate, "main", seed))
            out.append(_spec(settings, corpus_spec, size, "wsd", lr["wsd"], hs, replicate, "main", seed))
    return out


def spec_steps(spec: ScheduleRunSpec) -> int:
    """Training steps a run takes: its horizon, or for the WSD trunk the longest horizon plus every branch's
    cooldown (and, ``with_step``, the step branch after its first drop). Used by chapter 07 (the compute it saves)
    and as the sweep's cost."""
    if spec.arm != "wsd":
        return spec.horizons[0]
    cool = sum(h - cooldown_start(h, spec.cooldown_fraction) for h in spec.horizons)
    longest = max(spec.horizons)
    return longest + len(spec.shapes) * cool + (longest - step_start(longest) if spec.with_step else 0)


def step_start(horizon: int) -> int:
    """The step schedule's first drop in a run of ``horizon`` steps (as :func:`scalinglab.schedules.rate` places
    it): up to there the step schedule is the constant rate. Used by chapter 07."""
    return int(round(STEP_MILESTONES[0] * horizon))


def arm_flops(specs: list[ScheduleRunSpec], results: list[dict]) -> dict:
    """Training FLOPs (the runs' reported model FLOPs) per arm of :data:`ARMS`: the cosine runs; the WSD trunk with
    its cooldown branches; the step branches (their steps after the first drop). Used by chapter 07."""
    out = dict.fromkeys(ARMS, 0.0)
    for s, r in zip(specs, results):
        step = r["step"]["model_flops"] if "step" in r else 0.0
        out[s.arm] += r["model_flops"] - step
        out["step"] += step
    return out


def run_cost(spec: ScheduleRunSpec) -> float:
    """Training FLOPs of a run (for ``sweep(cost=)``: the largest runs start first). Used by chapter 07."""
    return flops_per_token(spec.model) * spec_steps(spec) * spec.batch_size * spec.model.context_length


@functools.lru_cache(maxsize=2)
def _corpus(n_bytes: int):
    return python_stdlib_corpus(n_bytes)


def run_schedule(spec: ScheduleRunSpec) -> dict:
    """Train the run(s) of ``spec`` on the byte corpus and return held-out curves (mean next-byte cross-entropy
    in nats/byte on ``eval_windows`` fixed windows, every ``eval_every`` steps).

    Cosine or step: ``history`` (rows: step, lr, val_loss) and ``final``. WSD: ``trunk`` (the constant-rate
    run to the longest horizon: the constant arm) and ``branches`` (``"{horizon}-{shape}"``: the rows of the
    cooldown, resumed from the trunk's snapshot at the cooldown's first step, and ``final``); a branch is, number
    for number, the WSD run trained from scratch. Also ``n_params``, ``steps_trained``, ``wall_time_s`` and the
    run's work (``train_s``, ``model_flops``). Used by chapter 07.
    """
    n_bytes = spec.corpus.train_bytes + spec.corpus.val_bytes
    corpus = _corpus(n_bytes)
    if corpus.sha256 != spec.corpus.sha256:
        raise ValueError(f"corpus hash {corpus.sha256[:12]}… differs from the spec's {spec.corpus.sha256[:12]}…")
    cfg = spec.model
    device = default_device()
    val_inputs, val_targets = fixed_windows(corpus.val, spec.eval_windows, cfg.context_length)

    def batch_fn(generator):
        return random_windows(corpus.train, spec.batch_size, cfg.context_length, generator)

    def eval_fn(m):
        total, count = 0.0, 0
        for x, y in zip(val_inputs.split(256), val_targets.split(256)):
            logits = m(x.to(device))
            total += float(torch.nn.functional.cross_entropy(logits.flatten(0, 1), y.to(device).flatten(),
                                                             reduction="sum"))
            count += y.numel()
        return {"val_loss": total / count}

    def rows(result):
        return [{"step": r["step"], "lr": r["lr"], "val_loss": round(r["val_loss"], 6)} for r in result.history]

    model = seeded(lambda: Transformer(cfg), spec.init_seed)
    out = {"n_params": model.num_params(non_embedding=True), "n_params_total": model.num_params(non_embedding=False)}
    train_s, tokens, wall = 0.0, 0, 0.0
    if spec.arm in ("cosine", "step"):
        result = train(model, spec.train_config(spec.horizons[0], spec.arm), batch_fn, lm_loss, eval_fn, device=device)
        out.update(history=rows(result), final=result.final["val_loss"])
        train_s, tokens, wall = result.step_time_s, result.tokens, result.wall_time_s
    elif spec.arm == "wsd":
        longest = max(spec.horizons)
        starts = {h: cooldown_start(h, spec.cooldown_fraction) for h in spec.horizons}
        drop = step_start(longest)
        if spec.with_step and drop < spec.warmup_steps:
            raise ValueError(f"the step schedule's first drop (step {drop}) lies inside the warm-up "
                             f"({spec.warmup_steps} steps): it is not a branch of the constant-rate trunk")
        snapshots = set(starts.values()) | ({drop} if spec.with_step else set())
        trunk = train(model, spec.train_config(longest, "constant"), batch_fn, lm_loss, eval_fn, device=device,
                      snapshot_at=sorted(snapshots))
        train_s, tokens, wall = trunk.step_time_s, trunk.tokens, trunk.wall_time_s
        branches = {}
        for h in spec.horizons:
            for shape in spec.shapes:
                branch_model = Transformer(cfg)
                result = train(branch_model, spec.train_config(h, "wsd", shape), batch_fn, lm_loss, eval_fn,
                               device=device, resume=trunk.snapshots[starts[h]])
                branches[f"{h}-{shape}"] = {"start": starts[h], "history": rows(result),
                                            "final": result.final["val_loss"]}
                train_s, tokens, wall = train_s + result.step_time_s, tokens + result.tokens, wall + result.wall_time_s
        out.update(trunk=rows(trunk), final=trunk.final["val_loss"], branches=branches)
        if spec.with_step:  # the step schedule to the longest horizon: the trunk up to its first drop, then its own
            result = train(Transformer(cfg), spec.train_config(longest, "step"), batch_fn, lm_loss, eval_fn,
                           device=device, resume=trunk.snapshots[drop])
            out["step"] = {"start": drop, "history": rows(result), "final": result.final["val_loss"],
                           "model_flops": flops_per_token(cfg, "palm") * result.tokens}
            train_s, tokens, wall = train_s + result.step_time_s, tokens + result.tokens, wall + result.wall_time_s
    else:
        raise ValueError(f"ScheduleRunSpec.arm must be one of {ARMS}, got {spec.arm!r}")
    out.update(steps_trained=tokens // (spec.batch_size * cfg.context_length), wall_time_s=wall, train_s=train_s,
               model_flops=flops_per_token(cfg, "palm") * tokens, device=device.type,
               threads=torch.get_num_threads())
    return out


# --- results as tables ----------------------------------------------------------------------------------

#: The curves of a replicate, by name: ``cosine`` and ``wsd-sqrt``/``wsd-linear`` at every horizon, ``step``
#: at the longest, ``constant`` (the trunk) at the longest (its value at a shorter horizon is read off it).
CURVE_ARMS = ("cosine", "wsd-sqrt", "wsd-linear", "step", "constant")


def curves_table(specs: list[ScheduleRunSpec], results: list[dict]):
    """One row per evaluation of every curve of the main sweep: ``replicate``, ``d_model``, ``n_params``,
    ``arm`` (one of :data:`CURVE_ARMS`), ``horizon`` (the run's length in steps), ``peak_lr``, ``step`` and
    ``val_loss``. A WSD or step curve is the trunk's rows up to its branch's first step followed by the branch's.
    Used by chapter 07."""
    import pandas as pd

    rows = []

    def add(s, r, arm, horizon, history):
        for h in history:
            rows.append({"replicate": s.replicate, "d_model": s.model.d_model, "n_params": r["n_params"], "arm": arm,
                         "horizon": horizon, "peak_lr": s.lr, "step": h["step"], "val_loss": h["val_loss"]})

    for s, r in zip(specs, results):
        if s.arm in ("cosine", "step"):
            add(s, r, s.arm, s.horizons[0], r["history"])
            continue
        add(s, r, "constant", max(s.horizons), r["trunk"])
        branches = [(f"wsd-{key.split('-')[1]}", int(key.split("-")[0]), b) for key, b in r["branches"].items()]
        branches += [("step", max(s.horizons), r["step"])] if "step" in r else []
        for arm, horizon, branch in branches:
            before = [row for row in r["trunk"] if row["step"] <= branch["start"]]
            add(s, r, arm, horizon, before + branch["history"])
    return pd.DataFrame(rows)


def finals_table(curves):
    """The loss at the end of every horizon, one row per (replicate, d_model, arm, horizon): a run's last
    evaluation, and for ``constant`` the trunk's evaluation at each horizon's step. Used by chapter 07."""
    import pandas as pd

    ends = curves[curves["step"] == curves["horizon"]]
    trunk = curves[curves["arm"] == "constant"]
    hs = sorted(curves.loc[curves["arm"] == "cosine", "horizon"].unique())
    const = trunk[trunk["step"].isin(hs)].assign(horizon=lambda t: t["step"])
    out = pd.concat([ends[ends["arm"] != "constant"], const], ignore_index=True)
    return out[["replicate", "d_model", "n_params", "arm", "horizon", "peak_lr", "val_loss"]].sort_values(
        ["d_model", "arm", "horizon", "replicate"]).reset_index(drop=True)


def schedule_of(settings: dict, arm: str, horizon: int, peak_lr: float) -> np.ndarray:
    """The learning rate at every step of the curve ``arm`` (:data:`CURVE_ARMS`) of length ``horizon`` at peak
    ``peak_lr``: exactly what :func:`run_schedule` trained with. Used by chapter 07 (the annealing law's areas)."""
    if arm not in CURVE_ARMS:
        raise ValueError(f"arm must be one of {CURVE_ARMS}, got {arm!r}")
    return _schedule(arm, int(horizon), float(peak_lr), int(settings["warmup_steps"]),
                     float(settings["cooldown_fraction"])).copy()


@functools.lru_cache(maxsize=256)
def _schedule(arm: str, horizon: int, peak_lr: float, warmup_steps: int, cooldown_fraction: float) -> np.ndarray:
    common = dict(warmup_steps=warmup_steps, min_lr_ratio=COSINE_FLOOR, cooldown_fraction=cooldown_fraction,
                  step_milestones=STEP_MILESTONES, step_factor=STEP_FACTOR)
    if arm.startswith("wsd-"):
        return rates(horizon, peak_lr, "wsd", cooldown_shape=arm.split("-")[1], **common)
    return rates(horizon, peak_lr, arm, **common)


# --- the claims -----------------------------------------------------------------------------------------

#: The precondition every claim shares: each size's tuned peak rate lies inside its (widened) grid.
LR_INTERIOR = Precondition("lr_edge_share", "share of the sizes whose tuned learning rate lies on an edge of the grid",
                           at_most(0.0))

CLAIMS = [
    Claim(
        id="S1",
        statement="A constant learning rate followed by a cooldown over the last 20 % of the run in the (1 − √x) "
                  "shape (warm-up–stable–decay, WSD) matches or beats a cosine schedule of the same length and "
                  "peak rate, at every horizon: whatever a cosine decay gains over the constant rate, the short "
                  "cooldown gains too, so that one constant-rate trunk with cooldowns can replace a cosine run per "
                  "length.",
        source="Hägele et al. 2024, Sec. 3 and Fig. 3 (WSD matches or beats cosine at each length)",
        statistic="WSD's final loss minus the midpoint of cosine's and the constant rate's (nats/byte), at the "
                  "horizon where it is largest (mean over sizes, then the largest over horizons, per replicate)",
        interval="Student's t over replicates (paired: every arm of a replicate shares its initialisation and "
                 "data order)",
        criterion=at_most(0.0),
        preconditions=(LR_INTERIOR,),
        paper_value="WSD with a 20 % (1 − √x) cooldown matches or beats cosine (Fig. 3, Fig. 4)",
        revisions=(
            Revision(
                date="2026-12-04",
                previous="(L_WSD − L_cos)/L_cos at the worst horizon ≤ 0: WSD ends no higher than cosine",
                reason="a margin of 0 can only confirm that WSD beats cosine: where it matches cosine, as the paper "
                       "states, the interval straddles 0 whatever the number of replicates, and the audit's world, "
                       "fitted to a pilot in which WSD ended 4 % below cosine, had hidden this. At seed 44 WSD "
                       "matched cosine (−0.3 %, interval −2.9 % to +2.3 %) and S1 was inconclusive. The claim's "
                       "content is that the cooldown gains what a cosine decay gains over the constant rate; its "
                       "statistic now says on which side of the midpoint between cosine (the paper) and the constant "
                       "rate (a cooldown that gains nothing) WSD ends, and 0 is that midpoint, as chapter 00's K1 "
                       "uses the midpoint between two laws. Tested on seeds 47 to 49, never used before"),
            Revision(
                date="2026-12-07",
                previous="criterion unchanged; each size's rate was the lowest mean tuning loss over the arms on one "
                         "tuning replicate",
                reason="at seed 0 the narrower model's tuning valley was flat over three rates (2.091, 2.084 and "
                       "2.081 nats/byte at 0.04, 0.08 and 0.16) next to a rate that diverged (3.07 at 0.32); the "
                       "lowest, 0.16, blew up in one main replicate of four (its constant rate ended near 3.1), and S1 "
                       "came out inconclusive (−0.052, interval −0.158 to +0.054) where seeds 50 to 55 reproduced it. "
                       "The rate is now tuned on two tuning replicates, chosen by the one-standard-error rule and kept "
                       "one grid step clear of a rate that diverged; the audit's paper world gained the flat valley "
                       "and the blow-ups it showed. The criterion is unchanged. Tested on seeds 56 to 58, never used "
                       "before"),
        ),
        headline=True,
        method="seed_t",
        rivals=("long_memory",),
    ),
    Claim(
        id="S2",
        statement="The (1 − √x) cooldown ends lower than a linear cooldown of the same length.",
        source="Hägele et al. 2024, Sec. 3, Fig. 4 and Fig. 5",
        statistic="final loss of the linear cooldown minus the (1 − √x) cooldown's (nats/byte), mean over sizes "
                  "and horizons",
        interval="Student's t over replicates (paired: both cooldowns branch from the same trunk)",
        criterion=at_least(0.0),
        preconditions=(LR_INTERIOR,),
        paper_value="(1 − √x) below linear at every cooldown length they test",
        decided_by=("full",),
        revisions=(
            Revision(
                date="2026-12-04",
                previous="decided at ci and at full",
                reason="the audit gives it 21 % power at ci (the difference between the two cooldowns is a few "
                       "thousandths of a nat against run-to-run noise of the same size, four replicates), and at "
                       "the fresh seeds 50–52 its verdict flipped between reproduced and inconclusive: a verdict "
                       "another seed would flip is no verdict. It is reported at ci and decided at full; tested "
                       "with the chapter on seeds 53–55, never used"),
        ),
        method="seed_t",
        rivals=("path_free",),
    ),
    Claim(
        id="S3",
        statement="Tissue et al.'s law L = L₀ + A·S₁^(−α) − C·S₂, fitted on two curves (WSD with the (1 − √x) "
                  "cooldown and cosine, both at the longest horizon), predicts the final losses of the other "
                  "schedules and lengths better than a law that ignores annealing (a power law of the forward "
                  "area S₁ or of the step count).",
        source="Tissue et al. 2024, Sec. 3 and Fig. 1",
        statistic="mean absolute error of the better rival minus that of the annealing law on the held-out "
                  "final losses (nats/byte), mean over sizes",
        interval="Student's t over replicates (each replicate's curves fitted and predicted on their own)",
        criterion=at_least(0.0),
        preconditions=(LR_INTERIOR,),
        paper_value="fits on one or two curves predict other schedules' curves",
        method="seed_t",
        rivals=("no_annealing", "steps_only"),
    ),
]


def _final(finals, replicate, d_model, arm, horizon) -> float:
    v = finals.get((replicate, d_model, arm, horizon))
    if v is None:
        raise KeyError(f"no final loss for replicate {replicate}, d_model {d_model}, arm {arm}, horizon {horizon}")
    return v


#: The held-out final losses S3 predicts: every (arm, horizon) but the two fitted curves.
def held_out_curves(hs: list[int]) -> list[tuple[str, int]]:
    """(arm, horizon) of the final losses S3 predicts, given the horizons ``hs``: everything but the two
    curves the law is fitted on (cosine and WSD-(1 − √x) at the longest horizon). Used by chapter 07."""
    longest = max(hs)
    out = [(a, h) for a in ("cosine", "wsd-sqrt") for h in hs if h != longest]
    out += [("wsd-linear", h) for h in hs] + [("constant", h) for h in hs] + [("step", longest)]
    return out


def law_predictions(curves, settings: dict, replicate: int, d_model: int) -> dict:
    """S3 on one replicate and size: the annealing law and its two rivals (``"area"``, ``"steps"``) fitted on the
    cosine and WSD-(1 − √x) curves at the longest horizon (evaluations after twice the warm-up), and their
    predictions of every held-out final loss (:func:`held_out_curves`): ``{form: {"fit", "predicted", "mae",
    "curve_mae"}}`` and ``observed``; ``curve_mae`` is the mean absolute error over every evaluation (after twice
    the warm-up) of every held-out curve, the whole curves Tissue et al. predict. Used by chapter 07."""
    from ..schedules import fit_annealing_law

    part = curves[(curves["replicate"] == replicate) & (curves["d_model"] == d_model)]
    hs = sorted(part.loc[part["arm"] == "cosine", "horizon"].unique())
    longest = int(max(hs))
    start = 2 * settings["warmup_steps"]

    def curve(arm, horizon):
        c = part[(part["arm"] == arm) & (part["horizon"] == horizon)]
        if c.empty:
            raise KeyError(f"no curve {arm} at horizon {horizon}")
        c = c[c["step"] > start]
        lr = schedule_of(settings, arm, int(horizon), float(c["peak_lr"].iloc[0]))
        return lr, c["step"].to_numpy(int), c["val_loss"].to_numpy(float)

    fitted = [curve("cosine", longest), curve("wsd-sqrt", longest)]
    targets = held_out_curves([int(h) for h in hs])
    observed, schedules_ = [], []
    for arm, h in targets:
        c = part[(part["arm"] == arm) & (part["horizon"] == (longest if arm == "constant" else h))]
        value = c.loc[c["step"] == h, "val_loss"]
        if value.empty:
            raise KeyError(f"no evaluation of {arm} at step {h}")
        observed.append(float(value.iloc[0]))
        schedules_.append(schedule_of(settings, arm, longest if arm == "constant" else int(h),
                                      float(c["peak_lr"].iloc[0])))
    observed = np.asarray(observed)
    whole = [curve(a, longest if a == "constant" else h) for a, h in dict.fromkeys(
        (a, longest if a == "constant" else h) for a, h in targets)]
    out = {"observed": observed.tolist(), "targets": [f"{a}@{h}" for a, h in targets]}
    for form in ("annealing", "area", "steps"):
        fit = fit_annealing_law(fitted, form)
        predicted = np.array([float(fit.predict(lr, [h])[0]) for lr, (_, h) in zip(schedules_, targets)])
        errors = np.concatenate([np.abs(fit.predict(lr, st) - loss) for lr, st, loss in whole])
        out[form] = {"fit": fit, "predicted": predicted.tolist(), "mae": float(np.mean(np.abs(predicted - observed))),
                     "curve_mae": float(errors.mean())}
    return out


def analyse(observed, settings: dict, seed: int = 0) -> dict[str, Measurement]:
    """S1–S3 from ``observed = {"curves": curves_table, "tuning": best_rates}`` — the real runs' or
    :func:`simulate`'s: ``{claim id: Measurement}``. ``seed`` is not used (every interval is deterministic); it is
    the simulation audit's protocol. Used by chapter 07 (on its runs) and by its audit (on simulated ones)."""
    curves, tuning = observed["curves"], observed["tuning"]
    finals_df = finals_table(curves)
    finals = {(r.replicate, r.d_model, r.arm, r.horizon): r.val_loss for r in finals_df.itertuples()}
    reps = sorted(curves["replicate"].unique())
    sizes = sorted(curves["d_model"].unique())
    hs = sorted(curves.loc[curves["arm"] == "cosine", "horizon"].unique())
    edge = float(np.mean([not v["interior"] for v in tuning.values()]))

    # S1: per replicate, the mean over sizes of L_WSD − (L_cos + L_const)/2 at each horizon; its largest over horizons
    def cell(r, d, h):
        cos, const = _final(finals, r, d, "cosine", h), _final(finals, r, d, "constant", h)
        return _final(finals, r, d, "wsd-sqrt", h) - 0.5 * (cos + const)

    excess = {(r, h): float(np.mean([cell(r, d, h) for d in sizes])) for r in reps for h in hs}
    worst = [max(excess[(r, h)] for h in hs) for r in reps]
    by_horizon = {}
    for h in hs:
        values = [excess[(r, h)] for r in reps]
        rel = [float(np.mean([(_final(finals, r, d, "wsd-sqrt", h) - _final(finals, r, d, "cosine", h))
                              / _final(finals, r, d, "cosine", h) for d in sizes])) for r in reps]
        gap = [float(np.mean([_final(finals, r, d, "constant", h) - _final(finals, r, d, "cosine", h) for d in sizes]))
               for r in reps]
        by_horizon[int(h)] = {"excess": float(np.mean(values)), "interval": list(t_interval(values)),
                              "wsd_vs_cosine": float(np.mean(rel)), "wsd_vs_cosine_interval": list(t_interval(rel)),
                              "constant_minus_cosine": float(np.mean(gap)), "constant_interval": list(t_interval(gap))}
    s1 = Measurement(estimate=float(np.mean(worst)), interval=t_interval(worst), seeds=[int(r) for r in reps],
                     preconditions={"lr_edge_share": edge},
                     details={"per_replicate": worst, "by_horizon": by_horizon,
                              "worst_horizon": [int(max(hs, key=lambda h: excess[(r, h)])) for r in reps]})

    # S2: per replicate, mean (linear − sqrt) over sizes and horizons
    s2_values = [float(np.mean([_final(finals, r, d, "wsd-linear", h) - _final(finals, r, d, "wsd-sqrt", h)
                                for d in sizes for h in hs])) for r in reps]
    s2 = Measurement(estimate=float(np.mean(s2_values)), interval=t_interval(s2_values), seeds=[int(r) for r in reps],
                     preconditions={"lr_edge_share": edge}, details={"per_replicate": s2_values})

    # S3: per replicate, mean over sizes of (better rival's MAE − the law's MAE)
    s3_values, law_mae, rival_mae, law_curve, rival_curve, fits = [], [], [], [], [], {}
    for r in reps:
        per_size = []
        for d in sizes:
            p = law_predictions(curves, settings, r, d)
            better = min(p["area"]["mae"], p["steps"]["mae"])
            per_size.append(better - p["annealing"]["mae"])
            law_mae.append(p["annealing"]["mae"])
            rival_mae.append(better)
            law_curve.append(p["annealing"]["curve_mae"])
            rival_curve.append(min(p["area"]["curve_mae"], p["steps"]["curve_mae"]))
            fit = p["annealing"]["fit"]
            fits[f"{r}-{d}"] = {"L0": fit.L0, "A": fit.A, "alpha": fit.alpha, "C": fit.C, "decay": fit.decay}
        s3_values.append(float(np.mean(per_size)))
    s3 = Measurement(estimate=float(np.mean(s3_values)), interval=t_interval(s3_values), seeds=[int(r) for r in reps],
                     preconditions={"lr_edge_share": edge},
                     details={"law_mae": float(np.mean(law_mae)), "rival_mae": float(np.mean(rival_mae)),
                              "law_curve_mae": float(np.mean(law_curve)), "rival_curve_mae": float(np.mean(rival_curve)),
                              "per_replicate": s3_values, "fits": fits})
    return {"S1": s1, "S2": s2, "S3": s3}


# --- the simulation audit: worlds, simulate, truth (scalinglab.audit) -----------------------------------


@dataclass(frozen=True, kw_only=True)
class ScheduleWorld(World):
    """A synthetic truth for the sweep: the held-out loss of a run after s steps of the schedule η,

    - ``form="annealing"``: Tissue et al.'s L = L₀ + A·S₁^(−α) − C·S₂ (S₁ the forward area, S₂ the annealing area
      with momentum λ = ``decay``; :func:`scalinglab.schedules.annealing_areas`); C = 0 is a world in which a
      cooldown gains nothing beyond its area, λ = 0 one in which only how far the rate has fallen counts, not
      the path;
    - ``form="steps"``: L = L₀ + A·s^(−α): the schedule does not matter, only the step count;

    with ``laws``: per model width, (d_model, L₀, A, α, C, λ) (S₁ and S₂ in units of the peak rate's steps, so that
    A and C do not depend on the rate; a width not listed takes the nearest one's law); ``decay``, when set,
    replaces every width's λ. Noise, as standard deviations in nats/byte (see :data:`NOISE_SOURCE`):
    ``sigma_seed`` shared by every curve of a replicate and size (its initialisation and data order),
    ``sigma_run`` of each run (a cosine run, the step run, the trunk), ``sigma_branch`` of a cooldown branch
    beyond its trunk's, ``sigma_point`` of each evaluation.

    The tuning valley (:meth:`tuning_loss`), in grid steps x from its bottom: ``tune_curvature``·x² below the
    bottom, the flatter ``tune_high_curvature``·x² above it, and a run at ``tune_cliff`` or more steps above the
    bottom diverges (``cliff_loss`` more); the bottom lies ``tune_shift``·U(−1, 1) steps from the grid's centre,
    drawn per simulation and size; ``sigma_tune`` is the noise of a tuning run's final loss. A rate within
    ``risk_steps`` grid steps below the cliff trains, but a longer run at it blows up with probability
    ``blowup_prob`` per replicate and size: its constant-rate trunk and cooldown branches end ``blowup_loss``
    higher, its cosine and step runs (whose rate falls) half that. Used by chapter 07's audit."""

    form: str = "annealing"
    laws: tuple = ()
    decay: float | None = None
    sigma_seed: float = 0.01
    sigma_run: float = 0.003
    sigma_branch: float = 0.002
    sigma_point: float = 0.001
    tune_curvature: float = 0.02
    sigma_tune: float = 0.003
    tune_high_curvature: float | None = None
    tune_shift: float = 0.0
    tune_cliff: float = math.inf
    cliff_loss: float = 1.0
    blowup_prob: float = 0.0
    blowup_loss: float = 0.0
    risk_steps: float = 1.0

    def __post_init__(self):
        if self.form not in ("annealing", "steps"):
            raise ValueError(f"ScheduleWorld.form must be 'annealing' or 'steps', got {self.form!r}")

    def law(self, d_model: int):
        """The :class:`scalinglab.schedules.AnnealingFit` of width ``d_model`` (areas in units of the peak rate)."""
        from ..schedules import AnnealingFit

        if not self.laws:
            raise ValueError("ScheduleWorld.laws is empty: give (d_model, L0, A, alpha, C, decay) per width")
        # a width the pilot did not train (the smoke and full designs) takes the law of the nearest one in log width:
        # the audit of such a design then tests the design's power and false positives, not the values
        d, L0, A, alpha, C, decay = min(self.laws, key=lambda x: abs(math.log(float(x[0]) / float(d_model))))
        return AnnealingFit("steps" if self.form == "steps" else "annealing", L0, A, alpha,
                            0.0 if self.form == "steps" else C, decay if self.decay is None else self.decay, 0.0, 0)

    def tuning_loss(self, x: float) -> float:
        """Noise-free excess loss of a tuning run ``x`` grid steps above the valley's bottom (negative: below)."""
        high = self.tune_curvature if self.tune_high_curvature is None else self.tune_high_curvature
        return (self.tune_curvature if x < 0 else high) * x * x + (self.cliff_loss if x >= self.tune_cliff else 0.0)

    def loss(self, d_model: int, lr: np.ndarray, steps) -> np.ndarray:
        """Noise-free loss after ``steps`` of the schedule ``lr`` (any peak; areas are taken relative to it)."""
        lr = np.asarray(lr, float)
        return self.law(d_model).predict(lr / lr.max(), steps)


#: The corpus :func:`simulate`'s tuning specs name (no run reads it).
_SIMULATED_CORPUS = {"name": "simulated", "sha256": "0" * 64, "train_bytes": 1, "val_bytes": 1}


def _eval_steps(horizon: int, every: int) -> np.ndarray:
    """The steps :func:`scalinglab.train.train` evaluates at: every ``every`` and the last."""
    steps = set(range(every, horizon + 1, every)) if every else set()
    return np.array(sorted(steps | {horizon}), int)


def simulate(world: ScheduleWorld, settings: dict, seed: int) -> dict:
    """What the chapter's sweep gives at ``settings`` — the tuning outcome (:func:`best_rates`'s shape) and the
    main sweep's :func:`curves_table` — with every loss from ``world`` plus its noise. The tuning goes through the
    chapter's own :func:`tune` (its grids, widening rounds and one-standard-error choice) on the world's valley
    (:meth:`ScheduleWorld.tuning_loss`); the chosen rate matters to the curves only through the blow-ups of a rate
    near the cliff (the law's areas are relative to the peak rate). No training. Used by chapter 07's audit."""
    import pandas as pd

    rng = np.random.default_rng(derive_seed(seed, "simulate"))
    hs = horizons(settings)
    longest = max(hs)
    every = settings["eval_every"]
    rows = []
    # the tuning sweep through the chapter's own tune(): each size's valley bottom moves off the grid's centre,
    # every (size, arm, tuning replicate, rate) run draws its loss once, as a run store keeps a trained run
    step = settings["lr_step"]
    bottoms = {size[2]: world.tune_shift * rng.uniform(-1.0, 1.0) for size in settings["sizes"]}
    shared = {(size[2], r): world.sigma_seed * rng.standard_normal()
              for size in settings["sizes"] for r in range(settings["tune_replicates"])}
    draws = {}

    def tuning_sweep(specs, round_):
        # every (size, tuning replicate, arm, rate) in the order of the arms (ARMS) within a size and replicate,
        # whichever spec trains it (the step arm is a branch of the WSD spec)
        runs = [(i, arm) for i, s in enumerate(specs) for arm in (s.arm, *(("step",) if s.with_step else ()))]
        first = {}
        for i, _ in runs:
            first.setdefault((specs[i].replicate, specs[i].model.d_model), i)
        runs.sort(key=lambda run: (first[(specs[run[0]].replicate, specs[run[0]].model.d_model)], ARMS.index(run[1])))
        finals = {}
        for i, arm in runs:
            s = specs[i]
            d = s.model.d_model
            k = round(math.log(s.lr / reference_lr(d)) / math.log(step), 6)
            key = (d, arm, s.replicate, k)
            if key not in draws:
                draws[key] = (world.tuning_loss(k - bottoms[d]) + shared[(d, s.replicate)]
                              + world.sigma_tune * rng.standard_normal())
            finals[(i, arm)] = draws[key]
        out = []
        for i, s in enumerate(specs):
            r = {"final": finals[(i, s.arm)]} if s.arm != "wsd" else {
                "branches": {f"{s.horizons[0]}-sqrt": {"final": finals[(i, "wsd")]}}}
            if s.with_step:
                r["step"] = {"final": finals[(i, "step")]}
            out.append(r)
        return out

    tuning = tune(settings, _SIMULATED_CORPUS, seed, tuning_sweep)[2]
    # a size whose chosen rate lies within risk_steps grid steps of its cliff: its longer runs may blow up
    risky = {d: math.log(t["best"] / reference_lr(d)) / math.log(step) - bottoms[d] >= world.tune_cliff - world.risk_steps
             for d, t in tuning.items()}
    n_params = {s[2]: non_embedding_params(model_config(tuple(s), settings["context_length"])) for s in settings["sizes"]}
    for r in range(settings["n_seeds"]):
        for size in settings["sizes"]:
            d = size[2]
            peak = reference_lr(d)
            u = world.sigma_seed * rng.standard_normal()
            blown = rng.random() < world.blowup_prob and risky[d]
            jump = world.blowup_loss if blown else 0.0

            def add(arm, horizon, steps, values):
                noisy = values + world.sigma_point * rng.standard_normal(len(values))
                rows.extend({"replicate": r, "d_model": d, "n_params": n_params[d], "arm": arm, "horizon": horizon,
                             "peak_lr": peak, "step": int(s), "val_loss": float(v)} for s, v in zip(steps, noisy))

            for h in hs:
                st = _eval_steps(h, every)
                add("cosine", h, st, world.loss(d, schedule_of(settings, "cosine", h, peak), st) + u + jump / 2
                    + world.sigma_run * rng.standard_normal())
            st = _eval_steps(longest, every)
            add("step", longest, st, world.loss(d, schedule_of(settings, "step", longest, peak), st) + u + jump / 2
                + world.sigma_run * rng.standard_normal())
            trunk_offset = u + jump + world.sigma_run * rng.standard_normal()
            trunk_values = world.loss(d, schedule_of(settings, "constant", longest, peak), st) + trunk_offset
            trunk_noise = world.sigma_point * rng.standard_normal(len(st))
            trunk = dict(zip(st.tolist(), (trunk_values + trunk_noise).tolist()))
            rows.extend({"replicate": r, "d_model": d, "n_params": n_params[d], "arm": "constant", "horizon": longest,
                         "peak_lr": peak, "step": int(s), "val_loss": float(v)} for s, v in trunk.items())
            for h in hs:
                start = cooldown_start(h, settings["cooldown_fraction"])
                for shape in SHAPES:
                    arm = f"wsd-{shape}"
                    st_h = _eval_steps(h, every)
                    before = st_h[st_h <= start]
                    after = st_h[st_h > start]
                    rows.extend({"replicate": r, "d_model": d, "n_params": n_params[d], "arm": arm, "horizon": h,
                                 "peak_lr": peak, "step": int(s), "val_loss": float(trunk[int(s)])} for s in before)
                    values = world.loss(d, schedule_of(settings, arm, h, peak), after) + trunk_offset \
                        + world.sigma_branch * rng.standard_normal()
                    add(arm, h, after, values)
    return {"curves": pd.DataFrame(rows), "tuning": tuning}


#: Tissue et al.'s law fitted (:func:`scalinglab.schedules.fit_annealing_law`) to the mean curves over replicates of
#: every arm of a pilot ``ci`` sweep at seed 1000 (a seed no verdict uses), evaluations after twice the warm-up,
#: per width: (d_model, L₀, A, α, C, λ), S₁ and S₂ in units of the peak rate's steps. RMS misfit 0.021 nats/byte
#: at both widths.
PAPER_LAWS = ((16, 1.2405, 6.8473, 0.359, 0.005975, 0.98), (32, -1.1739, 7.7206, 0.1535, 0.002831, 0.99))
#: The same curves fitted without annealing (C = 0; RMS misfit 0.088 and 0.075) …
AREA_LAWS = ((16, 0.9943, 7.0773, 0.3297, 0.0, 0.0), (32, -1.4234, 8.2213, 0.1535, 0.0, 0.0))
#: … and as a function of the step count alone (RMS misfit 0.054 and 0.033).
STEP_LAWS = ((16, 0.4878, 6.2869, 0.2348, 0.0, 0.0), (32, -1.4866, 8.5453, 0.1535, 0.0, 0.0))
#: The noise of the pilot sweep, standard deviations in nats/byte (see :data:`NOISE_SOURCE`).
NOISE = dict(sigma_seed=0.04, sigma_run=0.025, sigma_branch=0.009, sigma_point=0.03, tune_curvature=0.04,
             sigma_tune=0.05, tune_high_curvature=0.01, tune_shift=1.0, tune_cliff=2.0, cliff_loss=1.0,
             blowup_prob=0.25, blowup_loss=0.8, risk_steps=1.0)
#: Where :data:`NOISE` comes from.
NOISE_SOURCE = ("the pilot ci sweep at seed 1000 (four replicates): sigma_seed, the spread of a replicate's mean "
                "final loss over arms (0.021 and 0.037 at the two widths); sigma_run, the residual of the final "
                "losses after the arm-by-horizon and replicate effects are removed (0.018 and 0.024: it includes "
                "cosine runs that spiked early at one replicate); sigma_branch, the spread of the linear minus the "
                "(1 − √x) branch of one trunk over replicates, divided by √2 (0.0006 to 0.0088, largest at the "
                "shortest horizon); sigma_point, the second differences of the constant-rate curves' last 30 "
                "evaluations (0.043 and 0.025); the tuning valley's curvature and noise from the grid's mean "
                "losses (0.04 per grid step squared, 0.05). Each is rounded up. The valley's shape beyond its bottom "
                "from the tuning sweeps of the pilot and of seed 0: flat above the bottom (at d_model = 16 the mean "
                "losses at 0.04, 0.08 and 0.16 lay within 0.01 of each other at seed 0: 0.01 per step squared), a "
                "diverging run two steps above it (3.07 at 0.32), a bottom up to a grid step from the reference rate "
                "(0.08 at seeds 50-55, 0.16 at seed 0 for d_model = 16; 0.01 for d_model = 32, half the reference); "
                "a longer run one step below the cliff blew up at one replicate of four at seed 0 (d_model = 16 at "
                "0.16: its constant rate and cooldowns ended 0.6-0.9 nats/byte higher, its cosine runs 0.4-0.9), "
                "while none blew up in the 24 main replicates of seeds 50-55, at 0.08, two steps below seed 0's "
                "diverging rate (risk_steps = 1: a band of two steps with blow-ups at that rate would show none in 24 "
                "with probability 0.75^24 = 0.001)")


def long_memory_world(paper: ScheduleWorld, settings: dict | None = None) -> ScheduleWorld:
    """S1's rival: annealing with a long memory (λ = 0.999, Tissue et al.'s own value), with C scaled so that, on
    the ``ci`` design, S1's statistic is as far *above* 0 as it is below 0 in ``paper``: WSD ends nearer the
    constant rate than cosine, a world in which a short cooldown cannot collect what a long decay does. Used by
    chapter 07's audit."""
    import dataclasses

    settings = settings or PROFILES["ci"]
    target = -_noise_free_s1(paper, settings)

    def s1_at(scale):
        laws = tuple((d, L0, A, a, C * scale, lam) for d, L0, A, a, C, lam in paper.laws)
        return _noise_free_s1(dataclasses.replace(paper, laws=laws, decay=0.999), settings)

    lo, hi = 0.0, 1.0
    while s1_at(hi) < target and hi < 1e6:
        hi *= 2
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if s1_at(mid) < target else (lo, mid)
    scale = 0.5 * (lo + hi)
    laws = tuple((d, L0, A, a, C * scale, lam) for d, L0, A, a, C, lam in paper.laws)
    return dataclasses.replace(paper, laws=laws, decay=0.999,
                               description=f"annealing with a long memory (λ = 0.999) and C ×{scale:.2f}: at its worst "
                                           f"horizon WSD ends {target:.3f} nats/byte above the midpoint of cosine and "
                                           "the constant rate")


def _noise_free_s1(world: ScheduleWorld, settings: dict) -> float:
    """S1's statistic on the noise-free sweep of ``world`` at ``settings``: the largest over horizons of the mean
    over sizes of L_WSD − (L_cos + L_const)/2."""
    worst = -math.inf
    for h in horizons(settings):
        cells = []
        for size in settings["sizes"]:
            d = size[2]
            loss = {arm: world.loss(d, schedule_of(settings, arm, h, 1.0), [h])[0]
                    for arm in ("wsd-sqrt", "cosine", "constant")}
            cells.append(loss["wsd-sqrt"] - 0.5 * (loss["cosine"] + loss["constant"]))
        worst = max(worst, float(np.mean(cells)))
    return worst


def _worlds() -> dict:
    import dataclasses

    paper = ScheduleWorld(laws=PAPER_LAWS, **NOISE,
                          description="Tissue et al.'s annealing law (C > 0, λ ≈ 0.98–0.99) fitted to a pilot sweep")
    return {
        "paper": paper,
        "long_memory": long_memory_world(paper),
        "path_free": dataclasses.replace(paper, decay=0.0,
                                         description="annealing that depends only on how far the rate has fallen "
                                                     "(λ = 0): the cooldown's shape does not matter beyond its area"),
        "no_annealing": ScheduleWorld(laws=AREA_LAWS, **NOISE,
                                      description="no annealing (C = 0): the loss depends on the forward area S₁ alone"),
        "steps_only": ScheduleWorld(form="steps", laws=STEP_LAWS, **NOISE,
                                    description="the schedule does not matter: the loss depends on the step count alone"),
    }


def truth(world: ScheduleWorld, settings: dict) -> dict[str, float]:
    """Each claim's statistic in ``world`` at the design ``settings``, as its estimator converges to it: the
    chapter's own analysis on one simulated sweep of 200 replicates (:func:`scalinglab.audit.monte_carlo_truth`).
    Used by chapter 07's audit."""
    from ..audit import monte_carlo_truth

    return monte_carlo_truth(__import__(__name__, fromlist=["simulate"]), world, settings, "n_seeds", 200)


WORLDS = _worlds()
