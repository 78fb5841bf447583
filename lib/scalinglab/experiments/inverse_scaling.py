"""Chapter 02: inverse scaling — the memo trap and imitation of undesirable patterns, on the book's transformers.

Every test set is scored with the Inverse Scaling Prize's classification metric of McKenzie et al. (2023,
"Inverse Scaling: When Bigger Isn't Better", TMLR): the log-probability of each class string after the
prompt, normalised across the classes (:mod:`scalinglab.prize`, whose names are importable from here too,
e.g. ``inverse_scaling.classification_metric``, ``inverse_scaling.evaluate_hf_family``).

The chapter's experiment: :class:`MemoTrapRun` (the spec of one run: corpus, model, optimiser,
seeds), :func:`memo_trap_specs` (the ladder × replicates of a profile), :func:`memo_trap_run`
(train and score one model, for :func:`scalinglab.runs.sweep`), :func:`items_table` (every test
item of every run), and the measurements the claims are decided on — :func:`loss_slope`,
:func:`dose_interaction`, :func:`oneshot_change`, :func:`recovery_slope`, :func:`memory_weight` —, each
with a 95 % interval over seeds (Student's t over one value per seed, or a delete-one-seed jackknife);
:data:`PROFILES`, :data:`SMOKE_OVERRIDES`, :data:`CLAIMS`, :func:`measure` and :func:`analyse`.

The simulation audit: :data:`WORLDS` (:class:`InverseWorld`: the paper's world and a rival for every claim),
:func:`simulate` (items tables shaped like the real sweep's, from a generative model of the margins with the
noise of :data:`NOISE`) and :func:`truth`.

Cause (ii), imitation of undesirable patterns, on the corpus of :mod:`scalinglab.data.imitation` with
the same ladder and metric: :class:`ImitationRun`, :func:`imitation_specs`, :func:`imitation_run`,
:func:`imitation_items`, and the measurements :func:`loss_slope` (with ``column="share"``),
:func:`share_interaction` and :func:`imitation_preconditions` (claims I7–I9).

Used by: chapter 02 (inverse scaling).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Sequence

import numpy as np

from ..claims import Claim, Measurement, Precondition, Revision, at_least, at_most
from ..data.imitation import IMITATION_SPECIAL_TOKENS, Imitation, ImitationConfig, build_imitation, share_label
from ..data.memo_trap import SPECIAL_TOKENS, MemoTrap, MemoTrapConfig, build_memo_trap
from ..devices import default_device
from ..flops import flops_per_token
from ..intervals import jackknife_interval, t_interval
from ..models import Transformer, TransformerConfig, lm_loss
from ..seeds import derive_seed
from ..train import TrainConfig, seeded, train

# The Inverse Scaling Prize's evaluation (importable from here as well, e.g. ``inverse_scaling.load_prize_task``).
from ..prize import (BOUNDARIES, HF_FAMILIES, PRIZE_CLASSIFICATION_TASKS, PrizeExample, as_examples,  # noqa: F401
                     class_logprobs, class_token_span, classification_metric, count_params, evaluate_causal_lm,
                     evaluate_classification, evaluate_hf_family, hf_encode, hf_logits_fn, load_hf_model,
                     load_prize_task, score_two_class_tests, sequence_logprob_sums, write_prize_jsonl)


# ---------------------------------------------------------------------------------------------
# Chapter 02's experiment: a family of transformers trained on the memo-trap corpus, then scored


@dataclass(frozen=True)
class MemoTrapRun:
    """Every setting one chapter-02 run reads: the corpus, the model, the optimiser and the seeds.

    ``corpus.seed`` fixes the corpus (its quotes and test items), ``init_seed`` the initial weights,
    ``train.seed`` the data order; ``replicate`` is the index these seeds were derived for
    (:func:`scalinglab.seeds.derive_seed`). Used by chapter 02 through :func:`memo_trap_run`.
    """

    corpus: MemoTrapConfig
    model: TransformerConfig
    train: TrainConfig
    init_seed: int
    replicate: int
    lines_per_window: int = 2  # a training window is this many aligned corpus lines
    eval_batch_size: int = 256  # sequences per forward pass when scoring the test sets


@lru_cache(maxsize=4)
def memo_trap_corpus(config: MemoTrapConfig) -> MemoTrap:
    """The memo-trap corpus of ``config``, built once per process. Used by chapter 02."""
    return build_memo_trap(config)


def vocab_size_of(config: MemoTrapConfig) -> int:
    """The vocabulary size of the corpus ``config`` describes (its words plus the four symbols)."""
    return config.n_words + len(SPECIAL_TOKENS)


def learning_rate_for(d_model: int, lr_at_width_16: float) -> float:
    """The chapter's learning rate: ``lr_at_width_16`` at width 16, falling as 1/√width (as in chapter 00).
    Used by chapter 02."""
    return lr_at_width_16 * math.sqrt(16 / d_model)


def memo_trap_specs(settings: dict, seed: int) -> list[MemoTrapRun]:
    """The chapter's runs: every rung of ``settings["ladder"]`` × ``settings["n_seeds"]`` replicates.

    Each replicate has its own corpus (its own quotes, hence its own test items), initial weights and
    data order, all derived from the chapter's ``seed`` by named streams. Used by chapter 02.
    """
    specs = []
    for replicate in range(settings["n_seeds"]):
        corpus = MemoTrapConfig(**settings["corpus"], seed=derive_seed(seed, "corpus", replicate))
        for n_layer, n_head, d_model in settings["ladder"]:
            model = TransformerConfig(vocab_size=vocab_size_of(corpus), n_layer=n_layer, n_head=n_head,
                                      d_model=d_model, context_length=settings["lines_per_window"] * corpus.line_length)
            train_config = TrainConfig(steps=settings["steps"], batch_size=settings["batch_size"],
                                       lr=learning_rate_for(d_model, settings["lr_at_width_16"]),
                                       warmup_steps=settings["warmup_steps"], schedule="cosine",
                                       seed=derive_seed(seed, "data-order", replicate))
            specs.append(MemoTrapRun(corpus=corpus, model=model, train=train_config,
                                     init_seed=derive_seed(seed, "init", replicate), replicate=replicate,
                                     lines_per_window=settings["lines_per_window"]))
    return specs


def run_cost(spec: MemoTrapRun) -> float:
    """Training FLOPs of a run (for ``sweep(cost=…)``: the most expensive runs start first)."""
    return flops_per_token(spec.model) * spec.train.steps * spec.train.batch_size * spec.model.context_length


def _train_and_score(spec, corpus) -> dict:
    """Train ``spec``'s transformer on windows of ``corpus`` (a line corpus with prize-format tests) and score
    every test set: what :func:`memo_trap_run` and :func:`imitation_run` share."""
    if spec.model.vocab_size != corpus.vocab_size:
        raise ValueError(f"model vocabulary {spec.model.vocab_size} != corpus vocabulary {corpus.vocab_size}")
    window = spec.lines_per_window * corpus.line_length
    if spec.model.context_length < window:
        raise ValueError(f"context {spec.model.context_length} is shorter than a window of {window} tokens")
    model = seeded(lambda: Transformer(spec.model), spec.init_seed)
    device = default_device()
    result = train(model, spec.train, lambda g: corpus.batch(spec.train.batch_size, spec.lines_per_window, g),
                   lm_loss, device=device)
    model.eval()
    scores = score_two_class_tests(model, corpus.tokenizer.encode, corpus.tests, device, spec.eval_batch_size)
    tokens = spec.train.steps * spec.train.batch_size * window
    return {"scores": scores, "n_params": model.num_params(non_embedding=True),
            "n_params_total": model.num_params(non_embedding=False), "tokens": tokens,
            "train_flops": flops_per_token(spec.model) * tokens,
            "final_train_loss": result.final["train_loss_ema"], "wall_time_s": result.wall_time_s,
            **result.work(spec.model)}


def memo_trap_run(spec: MemoTrapRun) -> dict:
    """Train one transformer on the memo-trap corpus and score it on every test set.

    Returns, per test set (``conflict_R…``, ``control_R…``, ``recall_R…``, ``oneshot_R…``), the prize's
    mean loss and accuracy and every item's **margin**: the normalised log-probability of the correct
    class minus that of the other class (the two-class log-odds; loss = log(1 + e^−margin)). Also the
    parameter counts, tokens and training FLOPs. Module-level so that worker processes can run it.

    Used by: chapter 02 (inverse scaling), through ``scalinglab.runs.sweep``.
    """
    return _train_and_score(spec, memo_trap_corpus(spec.corpus))


def items_table(specs: list[MemoTrapRun], results: list[dict]) -> "pd.DataFrame":
    """One row per (run, test set, item): replicate, N, FLOPs, test kind, dose R, item, margin, loss, correct.

    ``loss`` is the prize's two-class loss log(1 + e^−margin); ``correct`` is margin > 0. Used by chapter 02.
    """
    import pandas as pd

    frames = []
    for spec, res in zip(specs, results):
        for name, score in res["scores"].items():
            kind, R = name.rsplit("_R", 1)
            margin = np.asarray(score["margins"], dtype=float)
            frames.append(pd.DataFrame({
                "replicate": spec.replicate, "N": res["n_params"], "n_layer": spec.model.n_layer,
                "d_model": spec.model.d_model, "flops": res["train_flops"], "test": kind, "R": int(R),
                "item": np.arange(len(margin)), "margin": margin, "loss": np.logaddexp(0.0, -margin),
                "correct": margin > 0}))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------------------------
# Cause (ii): imitation of undesirable patterns (scalinglab.data.imitation), the same ladder and metric


@dataclass(frozen=True)
class ImitationRun:
    """Every setting one cause-(ii) run of chapter 02 reads: the imitation corpus, the model, the optimiser
    and the seeds (``replicate`` is the index they were derived for). Used by chapter 02 through
    :func:`imitation_run`."""

    corpus: ImitationConfig
    model: TransformerConfig
    train: TrainConfig
    init_seed: int
    replicate: int
    lines_per_window: int = 2
    eval_batch_size: int = 256


@lru_cache(maxsize=4)
def imitation_corpus(config: ImitationConfig) -> Imitation:
    """The imitation corpus of ``config``, built once per process. Used by chapter 02."""
    return build_imitation(config)


def imitation_specs(settings: dict, seed: int) -> list[ImitationRun]:
    """Cause (ii)'s runs: the chapter's ladder (``settings["ladder"]``) × ``settings["n_seeds"]`` replicates,
    trained on the imitation corpus with the optimiser settings of ``settings["imitation"]``. Seeds come from
    their own named streams (``imitation-corpus``, ``imitation-init``, ``imitation-data-order``). Used by
    chapter 02."""
    cfg = settings["imitation"]
    specs = []
    for replicate in range(settings["n_seeds"]):
        corpus = ImitationConfig(**cfg["corpus"], seed=derive_seed(seed, "imitation-corpus", replicate))
        vocab = corpus.n_words + len(IMITATION_SPECIAL_TOKENS)
        for n_layer, n_head, d_model in settings["ladder"]:
            model = TransformerConfig(vocab_size=vocab, n_layer=n_layer, n_head=n_head, d_model=d_model,
                                      context_length=cfg["lines_per_window"] * corpus.line_length)
            train_config = TrainConfig(steps=cfg["steps"], batch_size=cfg["batch_size"],
                                       lr=learning_rate_for(d_model, cfg["lr_at_width_16"]),
                                       warmup_steps=cfg["warmup_steps"], schedule="cosine",
                                       seed=derive_seed(seed, "imitation-data-order", replicate))
            specs.append(ImitationRun(corpus=corpus, model=model, train=train_config,
                                      init_seed=derive_seed(seed, "imitation-init", replicate), replicate=replicate,
                                      lines_per_window=cfg["lines_per_window"]))
    return specs


def imitation_run(spec: ImitationRun) -> dict:
    """Train one transformer on the imitation corpus and score it on every test set (``task_S…``,
    ``control_S…``) with the prize's metric; item margins as in :func:`memo_trap_run`. Module-level so that
    worker processes can run it. Used by chapter 02 (cause ii), through ``scalinglab.runs.sweep``."""
    return _train_and_score(spec, imitation_corpus(spec.corpus))


def imitation_items(specs: list[ImitationRun], results: list[dict]) -> "pd.DataFrame":
    """One row per (run, test set, item) of cause (ii): replicate, N, FLOPs, test (``task``/``control``), the
    group's misconception ``share``, item, margin, loss log(1 + e^−margin), correct. Used by chapter 02."""
    import pandas as pd

    frames = []
    for spec, res in zip(specs, results):
        shares = {share_label(s): float(s) for s in spec.corpus.misconception_shares}
        for name, score in res["scores"].items():
            kind, label = name.rsplit("_S", 1)
            margin = np.asarray(score["margins"], dtype=float)
            frames.append(pd.DataFrame({
                "replicate": spec.replicate, "N": res["n_params"], "n_layer": spec.model.n_layer,
                "d_model": spec.model.d_model, "flops": res["train_flops"], "test": kind,
                "share": shares[int(label)], "item": np.arange(len(margin)), "margin": margin,
                "loss": np.logaddexp(0.0, -margin), "correct": margin > 0}))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------------------------
# Measurements: statistics of the items table, with 95 % intervals over seeds
#
# Items are nested in replicates (each replicate has its own corpus, hence its own quotes and questions), and
# the replicates are the independent units. Every interval is therefore computed from one value per seed: a
# statistic that is linear in the seed's mean curve (a slope, a slope of slopes) is computed per seed and gets
# Student's t over seeds (``seed_t``); a ratio or a regression, which one seed alone gives unstably, is computed
# on all seeds together and gets the delete-one-seed jackknife (``jackknife_t``). A bootstrap over three seeds
# does not cover (scalinglab.intervals); the audit (:data:`WORLDS`, :func:`simulate`) checks these at the
# chapter's design.


_COLUMNS: list = []  # the last few tables' key columns as arrays (the audit analyses each table many times)


def _columns(items, column: str) -> dict:
    """The key columns of an items table as numpy arrays, computed once per table and dose column."""
    for table, col, cached in _COLUMNS:
        if table is items and col == column and len(cached["test"]) == len(items):
            return cached
    sizes = np.sort(items["N"].unique())
    cached = {"sizes": sizes, "test": items["test"].to_numpy(dtype=object), "dose": items[column].to_numpy(dtype=float),
              "replicate": items["replicate"].to_numpy(), "item": items["item"].to_numpy().astype(int),
              "size": np.searchsorted(sizes, items["N"].to_numpy())}
    _COLUMNS.insert(0, (items, column, cached))
    del _COLUMNS[6:]
    return cached


def _groups(items, tests: Sequence[str], doses: Sequence, value: str = "loss", column: str = "R"):
    """Per replicate, an array (items, len(tests) · len(doses), sizes) of ``value``, and the sorted sizes N.

    Block k = i · len(doses) + j holds test ``tests[i]`` at dose ``doses[j]``; the same items sit at every
    size. ``column`` names the dose column (``"R"`` for the memo trap, ``"share"`` for the imitation corpus).
    Vectorised (no pivot tables): the audit calls it thousands of times.
    """
    cols = _columns(items, column)
    sizes, test_col, dose_col = cols["sizes"], cols["test"], cols["dose"]
    block = np.full(len(items), -1)
    blocks = [(t, d) for t in tests for d in doses]
    for k, (t, d) in enumerate(blocks):
        mask = (test_col == t) & np.isclose(dose_col, float(d))
        if not mask.any():
            raise ValueError(f"no items for test {t!r} at {column} = {d}")
        block[mask] = k
    keep = block >= 0
    rep = cols["replicate"][keep]
    item = cols["item"][keep]
    size = cols["size"][keep]
    val = items[value].to_numpy(dtype=float)[keep]
    b = block[keep]
    groups = []
    for r in np.unique(rep):
        m = rep == r
        arr = np.full((int(item[m].max()) + 1, len(blocks), len(sizes)), np.nan)
        arr[item[m], b[m], size[m]] = val[m]
        missing = np.isnan(arr).all(axis=(0, 2))
        if missing.any():
            t, d = blocks[int(np.argmax(missing))]
            raise ValueError(f"replicate {r}: no items for test {t!r} at {column} = {d}")
        groups.append(arr)
    return groups, sizes


def _slope(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares slope of y on x along y's last axis (a number for a 1-d y)."""
    xc = np.asarray(x, dtype=float) - np.mean(x)
    y = np.asarray(y, dtype=float)
    s = (y - y.mean(axis=-1, keepdims=True)) @ xc / (xc @ xc)
    return float(s) if np.ndim(s) == 0 else s


def _seed_curves(groups: list[np.ndarray]) -> np.ndarray:
    """(seeds, blocks, sizes): each replicate's item mean of every block at every size."""
    return np.stack([np.nanmean(g, axis=0) for g in groups])


def _mean_curve(groups: list[np.ndarray]) -> np.ndarray:
    """(blocks, sizes): the mean over replicates of each replicate's item mean (replicates weigh equally)."""
    return _seed_curves(groups).mean(axis=0)


def _replicates(items) -> list[int]:
    return sorted(int(r) for r in items["replicate"].unique())


def _seed_t(per_seed: np.ndarray, items, **details) -> Measurement:
    """A Measurement whose estimate is the mean of one value per seed and whose interval is Student's t."""
    per_seed = np.asarray(per_seed, dtype=float)
    return Measurement(estimate=float(per_seed.mean()), interval=t_interval(per_seed), seeds=_replicates(items),
                       details={**details, "per_seed": per_seed.tolist()})


def loss_slope(items, test: str, R, seed: int = 0, column: str = "R") -> Measurement:
    """Slope of the mean loss of ``test`` at dose ``R`` against log10 N (nats per decade of N).

    Each seed's slope is that of its item-mean loss at each size; the estimate is their mean and the 95 %
    interval Student's t over seeds. Positive: the loss rises with size (inverse scaling). ``column`` names
    the dose column (``"share"`` for the imitation items, where ``R`` is a share). ``seed`` is unused (the
    interval is deterministic); kept for a common signature. Used by chapter 02 (I1, I2, I7, I8).
    """
    groups, sizes = _groups(items, [test], [R], column=column)
    curves = _seed_curves(groups)[:, 0]
    return _seed_t(_slope(np.log10(sizes), curves), items, test=test, R=R, sizes=sizes.tolist(),
                   mean_loss=curves.mean(axis=0).tolist())


def oneshot_change(items, R: int, seed: int = 0) -> Measurement:
    """The share of the inverse trend left with a one-shot demonstration: the slope (per decade of N) of the
    one-shot conflict loss divided by that of the zero-shot conflict loss, at dose ``R``, on the seeds'
    mean curves. 0: the demonstration removes the trend; 1: it changes nothing. A ratio of slopes is unstable
    in one seed, so the interval is the delete-one-seed jackknife. Used by chapter 02 (I4)."""
    groups, sizes = _groups(items, ["oneshot", "conflict"], [R])
    x = np.log10(sizes)
    curves = list(_seed_curves(groups))

    def statistic(cs):
        curve = np.mean(cs, axis=0)
        return _slope(x, curve[0]) / _slope(x, curve[1])

    curve = np.mean(curves, axis=0)
    return Measurement(estimate=float(statistic(curves)), interval=jackknife_interval(statistic, curves),
                       seeds=_replicates(items),
                       details={"R": R, "oneshot_slope": _slope(x, curve[0]), "zeroshot_slope": _slope(x, curve[1]),
                                "oneshot_loss_largest": float(curve[0, -1]),
                                "zeroshot_loss_largest": float(curve[1, -1])})


def dose_interaction(items, test: str = "conflict", seed: int = 0) -> Measurement:
    """The dose × size interaction: the slope of (loss slope per decade of N) on log10 R, over every dose.

    Positive: the more often the quotes were repeated, the more steeply the loss rises with size — what
    memorisation as the cause predicts. Computed per seed (Student's t over seeds); the details hold each
    dose's slope. Used by chapter 02 (I3).
    """
    doses = sorted(int(r) for r in items.loc[items["test"] == test, "R"].unique())
    groups, sizes = _groups(items, [test], doses)
    slopes = _slope(np.log10(sizes), _seed_curves(groups))  # (seeds, doses)
    return _seed_t(_slope(np.log10(doses), slopes), items, doses=doses, slopes=slopes.mean(axis=0).tolist())


def dose_slopes(items, test: str = "conflict", seed: int = 0) -> "pd.DataFrame":
    """Per dose R: the loss slope per decade of N with its 95 % t interval over seeds (the interaction
    figure). Used by chapter 02."""
    import pandas as pd

    doses = sorted(int(r) for r in items.loc[items["test"] == test, "R"].unique())
    rows = []
    for R in doses:
        m = loss_slope(items, test, R, seed)
        rows.append({"R": R, "slope": m.estimate, "lo": m.interval[0], "hi": m.interval[1]})
    return pd.DataFrame(rows)


def share_interaction(items, test: str = "task", seed: int = 0, value: str = "loss") -> Measurement:
    """Cause (ii)'s dose–response: the slope of (loss slope per decade of N) on the misconception share s,
    over every share of the imitation items (:func:`imitation_items`). Positive: the more often a question's
    training text gives the misconception, the more steeply the loss of its truth rises with size. Computed
    per seed (Student's t over seeds); the details hold each share's slope. ``value="margin"`` takes the slopes
    of the mean log-odds of the truth instead of the loss (negative: the log-odds fall more steeply at higher
    shares), which is what I9 decides on. Used by chapter 02 (I9)."""
    shares = sorted(float(v) for v in items.loc[items["test"] == test, "share"].unique())
    groups, sizes = _groups(items, [test], shares, value=value, column="share")
    slopes = _slope(np.log10(sizes), _seed_curves(groups))  # (seeds, shares)
    return _seed_t(_slope(np.asarray(shares), slopes), items, shares=shares, slopes=slopes.mean(axis=0).tolist())


def share_slopes(items, test: str = "task", seed: int = 0) -> "pd.DataFrame":
    """Per misconception share s: the loss slope of ``test`` per decade of N with its 95 % t interval over
    seeds (cause (ii)'s dose–response figure). Used by chapter 02."""
    import pandas as pd

    rows = []
    for share in sorted(float(v) for v in items.loc[items["test"] == test, "share"].unique()):
        m = loss_slope(items, test, share, seed, column="share")
        rows.append({"share": share, "slope": m.estimate, "lo": m.interval[0], "hi": m.interval[1]})
    return pd.DataFrame(rows)


def imitation_preconditions(items) -> dict:
    """Cause (ii)'s measured preconditions: the lowest accuracy of any size on the control (fresh questions,
    seed means, every share) and the number of shares. Used by chapter 02."""
    shares = sorted(float(v) for v in items.loc[items["test"] == "control", "share"].unique())
    groups, _ = _groups(items, ["control"], shares, value="correct", column="share")
    return {"imitation_control_min_accuracy": float(_mean_curve(groups).min()),
            "n_shares": float(items.loc[items["test"] == "task", "share"].nunique())}


def imitation_loss_bounds(shares: Sequence[float]) -> dict:
    """The task loss of a perfect imitator of the corpus at each misconception share s, −log(1 − s) (two
    classes: it gives the truth with probability 1 − s); a model that knows only the rule scores ≈ 0.
    Used by chapter 02 (figure reference lines)."""
    return {float(s): float(-math.log1p(-s)) + 0.0 for s in shares}


def cue_fit(conflict: np.ndarray, control: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """Least squares conflict = a + b·control + c·recall over items; returns (a, b, c).

    ``control`` is the instruction's log-odds (rule word over memorised word) on fresh quote-like text
    (the ``novel`` test), ``recall``
    the memory's log-odds (memorised word over rule word, plain context), ``conflict`` the log-odds
    of the rule word when both meet. If the two cues simply add, b = 1 and c = −1; if the
    instruction silences memory, c = 0. Used by chapter 02 (I6).
    """
    conflict, control, recall = (np.asarray(v, dtype=float).ravel() for v in (conflict, control, recall))
    ok = np.isfinite(conflict) & np.isfinite(control) & np.isfinite(recall)
    A = np.column_stack([np.ones(ok.sum()), control[ok], recall[ok]])
    return np.linalg.lstsq(A, conflict[ok], rcond=None)[0]


def memory_weight(items, seed: int = 0) -> Measurement:
    """The weight c of the memory cue in the conflict log-odds (:func:`cue_fit`), over every item, size
    and dose of every seed together, with the delete-one-seed jackknife interval (a regression on pooled
    items; one seed's fit would be noisier). −1: the cues add; 0: the instruction silences memory. The
    details give the instruction weight b with its own jackknife interval (additive: +1). Used by
    chapter 02 (I6)."""
    doses = sorted(int(r) for r in items.loc[items["test"] == "conflict", "R"].unique())
    groups, _ = _groups(items, ["conflict", "novel", "recall"], doses, value="margin")
    k = len(doses)

    def fit(gs):
        g = np.concatenate(gs)  # (items, 3·doses, sizes)
        return cue_fit(g[:, :k], g[:, k:2 * k], g[:, 2 * k:])

    a, b, c = fit(groups)
    b_interval = jackknife_interval(lambda gs: float(fit(gs)[1]), groups)
    return Measurement(estimate=float(c), interval=jackknife_interval(lambda gs: float(fit(gs)[2]), groups),
                       seeds=_replicates(items),
                       details={"intercept": float(a), "instruction_weight": float(b),
                                "instruction_weight_interval": list(b_interval), "memory_weight": float(c)})


#: I5 looks for the recovery over the largest sizes of the ladder: the slope of performance over the top
#: RECOVERY_SIZES sizes, and whether the loss rose over the bottom RECOVERY_SIZES (the inverse trend to recover).
RECOVERY_SIZES = 3


def recovery_slope(items, R: int, seed: int = 0) -> Measurement:
    """Wei et al.'s U-shape read as a recovery: the slope of performance (−conflict loss at dose ``R``) per
    decade of N over the largest :data:`RECOVERY_SIZES` sizes (positive: the largest models climb back), per
    seed with Student's t. Precondition value ``inverse_at_small``: the conflict-loss slope over the smallest
    :data:`RECOVERY_SIZES` sizes (an inverse trend to recover from). Used by chapter 02 (I5)."""
    groups, sizes = _groups(items, ["conflict"], [R])
    x = np.log10(sizes)
    k = min(RECOVERY_SIZES, len(sizes))
    curves = _seed_curves(groups)[:, 0]
    m = _seed_t(_slope(x[-k:], -curves[:, -k:]), items, R=R, sizes=sizes[-k:].tolist())
    m.preconditions["inverse_at_small"] = float(np.mean(_slope(x[:k], curves[:, :k])))
    return m


def quadratic_curvature(log_n: np.ndarray, performance: np.ndarray) -> tuple[float, float]:
    """Curvature (x² coefficient) and vertex of a quadratic fit of ``performance`` in x = log10 N (the
    U-shape figure)."""
    c2, c1, _ = np.polyfit(log_n, performance, 2)
    return float(c2), float(-c1 / (2 * c2)) if c2 != 0 else float("nan")


def size_curve(items, test: str, R=None, column: str = "R") -> "pd.DataFrame":
    """Per size N: the mean loss and accuracy of ``test`` (dose ``R``, or every dose) over replicates, with a
    95 % t-interval over replicates of each replicate's item mean (for figures). ``column`` names the dose
    column (``"share"`` for the imitation items). Used by chapter 02."""
    import pandas as pd

    sub = items[(items["test"] == test) & ((items[column] == R) if R is not None else True)]
    per_seed = sub.groupby(["N", "replicate"]).agg(loss=("loss", "mean"), accuracy=("correct", "mean"),
                                                   flops=("flops", "first")).reset_index()
    rows = []
    for N, frame in per_seed.groupby("N"):
        lo, hi = t_interval(frame["loss"]) if len(frame) > 1 else (np.nan, np.nan)
        rows.append({"N": N, "flops": frame["flops"].mean(), "loss": frame["loss"].mean(), "lo": lo, "hi": hi,
                     "accuracy": frame["accuracy"].mean(), "min_accuracy": frame["accuracy"].min()})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Profiles, claims and the chapter's measurement

#: The model ladder is (n_layer, n_head, d_model), depth and width growing together. The corpus's three
#: doses R (repetitions per quote) live in one corpus; the claims use the middle one unless they say so.
PROFILES = {
    "ci": dict(ladder=[(1, 1, 8), (1, 2, 16), (2, 2, 24), (2, 2, 32), (3, 4, 48)],
               n_seeds=3, steps=1500, batch_size=48, lr_at_width_16=2e-2, warmup_steps=50, lines_per_window=2,
               corpus=dict(n_words=256, quote_length=6, quotes_per_level=96, repetitions=(4, 16, 64),
                           n_instruction_lines=40_000, n_filler_lines=8_000, n_sentence_lines=0,
                           n_ending_words=8, n_sentence_words=96, rule_follow_prob=0.8,
                           quoted_instruction_share=0.0, instruction_vocabulary="disjoint"),
               imitation=dict(steps=600, batch_size=48, lr_at_width_16=2e-2, warmup_steps=50, lines_per_window=2,
                              corpus=dict(n_words=128, n_key_words=8, n_question_words=64, n_topic_words=32,
                                          question_length=4, questions_per_group=48, repetitions=16,
                                          misconception_shares=(0.0, 0.5, 0.9), n_regular_lines=10_000))),
    "full": dict(ladder=[(1, 1, 8), (1, 2, 16), (2, 2, 32), (2, 4, 64), (3, 4, 96), (4, 4, 128), (6, 8, 192),
                         (8, 8, 256), (8, 8, 384)],
                 n_seeds=5, steps=8000, batch_size=128, lr_at_width_16=1e-2, warmup_steps=200, lines_per_window=2,
                 corpus=dict(n_words=256, quote_length=6, quotes_per_level=256, repetitions=(4, 16, 64),
                             n_instruction_lines=400_000, n_filler_lines=80_000, n_sentence_lines=0,
                             n_ending_words=8, n_sentence_words=96, rule_follow_prob=0.8,
                             quoted_instruction_share=0.0, instruction_vocabulary="disjoint"),
                 imitation=dict(steps=2000, batch_size=128, lr_at_width_16=1e-2, warmup_steps=100, lines_per_window=2,
                                corpus=dict(n_words=256, n_key_words=8, n_question_words=128, n_topic_words=64,
                                            question_length=4, questions_per_group=256, repetitions=16,
                                            misconception_shares=(0.0, 0.5, 0.9), n_regular_lines=80_000))),
}

#: ``smoke=True``: two tiny models, two replicates, a few steps and a small corpus (the code path only).
SMOKE_OVERRIDES = dict(ladder=[(1, 1, 8), (1, 2, 16), (2, 2, 16)], n_seeds=2, steps=20, batch_size=8, warmup_steps=5,
                       corpus=dict(n_words=64, quote_length=4, quotes_per_level=8, repetitions=(2, 4, 8),
                                   n_instruction_lines=400, n_filler_lines=100, n_sentence_lines=0,
                                   n_ending_words=4, n_sentence_words=16, rule_follow_prob=0.8,
                                   quoted_instruction_share=0.0, instruction_vocabulary="disjoint"),
                       imitation=dict(steps=20, batch_size=8, lr_at_width_16=2e-2, warmup_steps=5, lines_per_window=2,
                                      corpus=dict(n_words=48, n_key_words=4, n_question_words=16, n_topic_words=8,
                                                  question_length=4, questions_per_group=6, repetitions=4,
                                                  misconception_shares=(0.0, 0.5, 0.9), n_regular_lines=200)))

REVISED = "2026-12-01"
AUDITED = "2026-12-03"  # the intervals over seeds and the simulation audit (WORLDS)
_SLOPE = ("Student's t over seeds of each seed's slope (the seed's conflict items averaged at each size "
          "first)")
_JACKKNIFE = "delete-one-seed jackknife of the statistic of all seeds together, Student's t on seeds − 1 df"

_RECALL_SMALL = Precondition("recall_smallest", "recall accuracy of the smallest models at the middle dose",
                             at_most(0.75))
_RECALL_LARGE = Precondition("recall_largest", "recall accuracy of the largest models at the middle dose",
                             at_least(0.85))
_CONTROL = Precondition("control_min_accuracy", "lowest control accuracy of any size (any dose)", at_least(0.9))

CLAIMS = [
    Claim(id="I1", headline=True, method="seed_t", rivals=("no_carry",),
          statement="Inverse scaling on a memo trap: the larger the model, the higher its classification loss "
                    "when an instruction conflicts with a memorised quote.",
          source="McKenzie et al. 2023, Sec. 3 (strong prior; Memo Trap), Fig. 2",
          statistic="slope of the conflict loss per decade of N (middle dose)",
          interval=_SLOPE, criterion=at_least(0.0), preconditions=(_RECALL_SMALL, _RECALL_LARGE, _CONTROL),
          revisions=(Revision(REVISED, "Spearman ρ(log N, loss) ≥ 0.8 and a log-log slope interval above 0, "
                                        "at the top dose",
                              "one statistic with an interval over seeds and items; the middle dose is the one "
                              "whose memorisation needs capacity, so that size can change the outcome"),)),
    Claim(id="I2", method="seed_t", rivals=("instruction_decays",),
          statement="The instruction itself does not get harder with size: on text that was never memorised, "
                    "the control loss does not rise with N.",
          source="McKenzie et al. 2023, Sec. 2 (control tasks)",
          statistic="slope of the control loss per decade of N (every dose)",
          interval=_SLOPE.replace("conflict", "control"), criterion=at_most(0.05), preconditions=(_CONTROL,),
          revisions=(Revision(REVISED, "control log-log slope below 0, with its 95 % interval below 0",
                              "the control is now a rule every size learns (accuracy ≥ 0.9 at every size, a "
                              "precondition), so its loss sits near its floor and cannot be expected to fall; "
                              "what the conflict test needs is that following the instruction does not get "
                              "worse with N, so that a rising conflict loss is memory's doing"),)),
    Claim(id="I3", method="seed_t", rivals=("dose_free", "no_carry"),
          statement="Dose–response: the more often the quotes were repeated in training, the more steeply the "
                    "conflict loss rises with size.",
          source="McKenzie et al. 2023, Sec. 3 (strong prior as the cause); this chapter's causal check",
          statistic="slope of (conflict-loss slope per decade of N) on log10 R, over every dose",
          interval="Student's t over seeds of each seed's interaction (its slopes of dose-mean curves)",
          criterion=at_least(0.0),
          preconditions=(Precondition("n_doses", "number of doses R", at_least(3)), _CONTROL),
          revisions=(Revision(REVISED, "the conflict slope increases with R across all levels (point estimates)",
                              "an ordering of overlapping point estimates is not evidence; the interaction "
                              "coefficient with its interval is"),)),
    Claim(id="I4", method="jackknife_t", rivals=("no_mitigation",),
          statement="A one-shot demonstration of the conflict case mitigates inverse scaling.",
          source="Wei et al. 2022, Sec. 3 (one-shot prompting)",
          statistic="one-shot slope / zero-shot slope of the conflict loss against log10 N (middle dose)",
          interval=_JACKKNIFE, criterion=at_most(0.5),
          preconditions=(Precondition("zero_shot_slope", "zero-shot conflict slope, nats per decade of N "
                                      "(an inverse trend to mitigate)", at_least(0.1)),),
          revisions=(Revision(REVISED, "one-shot lowers the largest models' mean conflict loss and its slope is "
                                        "below the zero-shot slope (point estimates)",
                              "one statistic with an interval over seeds and items; to mitigate, the demonstration "
                              "must remove at least half of the inverse trend, not merely lower it by any amount"),)),
    Claim(id="I5", decided_by=("full",), method="seed_t", rivals=("no_recovery",),
          statement="With more scale, inverse scaling turns U-shaped: past the sizes where the conflict loss "
                    "rises, the largest models recover.",
          source="Wei et al. 2022, Fig. 1",
          statistic=f"slope of performance (−conflict loss) per decade of N over the largest {RECOVERY_SIZES} "
                    "sizes (middle dose)",
          interval=_SLOPE, criterion=at_least(0.0),
          preconditions=(Precondition("inverse_at_small", f"conflict-loss slope over the smallest {RECOVERY_SIZES} "
                                      "sizes, nats per decade of N (an inverse trend to recover from)",
                                      at_least(0.1)),),
          revisions=(Revision(REVISED, "positive curvature, vertex inside and a recovery larger than the seed "
                                        "spread (point estimates)",
                              "one statistic with an interval over seeds and items"),
                     Revision(AUDITED, "curvature of a quadratic in log10 N fitted to −conflict loss ≥ 0, with the "
                                       "fitted vertex inside the sampled sizes",
                              "a quadratic's curvature is also positive for a decline that merely levels off "
                              "without recovering (the audit's no_recovery world); a U-shape needs the largest "
                              "models to climb back, which the slope over the top of the ladder measures"))),
    Claim(id="I6", method="jackknife_t", rivals=("no_carry",),
          statement="Mechanism (pre-registered): the memorised ending carries into the instruction's context — "
                    "in the conflict log-odds the memory cue enters with at least half the weight it would have "
                    "if the two cues simply added.",
          source="This chapter's test of McKenzie et al. 2023's explanation (Sec. 3, strong prior)",
          statistic="weight c of the memory log-odds in conflict = a + b·instruction + c·memory (additive: −1)",
          interval=_JACKKNIFE, criterion=at_most(-0.5), preconditions=(_RECALL_LARGE,)),
]


# Cause (ii): imitation of undesirable patterns (fixed on the pilot seed 100, before seeds 1–3 were run).
_IMITATION = "Student's t over seeds of each seed's slope (the seed's questions averaged at each size first)"
_RULE = Precondition("imitation_control_min_accuracy", "lowest accuracy of any size on fresh questions (the rule)",
                     at_least(0.9))
TOP_SHARE = 0.9  # the misconception share I7 is decided at (the highest of the corpus)

CLAIMS += [
    Claim(id="I7", method="seed_t", rivals=("no_imitation",),
          statement="Inverse scaling by imitation: on popular questions whose training text mostly gives a "
                    "misconception, the larger the model, the higher its classification loss on the truth.",
          source="McKenzie et al. 2023, Sec. 3 (imitation of undesirable patterns; Modus Tollens, cf. TruthfulQA)",
          statistic="slope of the task loss per decade of N (misconception share 0.9)",
          interval=_IMITATION, criterion=at_least(0.0), preconditions=(_RULE,)),
    Claim(id="I8", method="seed_t", rivals=("repetition_hurts",),
          statement="Repetition alone does not do it: popular questions repeated as often but always answered "
                    "truly do not get harder with N.",
          source="This chapter's control for McKenzie et al. 2023's cause (ii)",
          statistic="slope of the task loss per decade of N (misconception share 0)",
          interval=_IMITATION, criterion=at_most(0.05), preconditions=(_RULE,)),
    Claim(id="I9", method="seed_t", rivals=("no_imitation", "repetition_hurts"),
          statement="Dose–response: the larger the share of a question's training text that gives the "
                    "misconception, the more steeply the model's log-odds of the truth fall with size.",
          source="McKenzie et al. 2023, Sec. 3 (imitation as the cause); this chapter's causal check",
          statistic="slope of (slope of the task's mean log-odds of the truth per decade of N) on the "
                    "misconception share s, over every share",
          interval="Student's t over seeds of each seed's interaction (its slopes of share-mean curves)",
          criterion=at_most(0.0),
          preconditions=(Precondition("n_shares", "number of misconception shares", at_least(3)), _RULE),
          revisions=(Revision(AUDITED, "slope of (task-loss slope per decade of N) on s ≥ 0",
                              "the loss is convex in the log-odds, so a trend that is the same at every share on "
                              "the log-odds scale reads as a steeper rise of the loss where the log-odds are "
                              "lower: in the audit's repetition_hurts world (every share's log-odds of the truth "
                              "fall alike with N) the loss-scale interaction is positive and the claim would be "
                              "reproduced; on the log-odds scale that world's interaction is 0"),)),
]


def middle_dose(settings: dict) -> int:
    """The middle dose R of the profile's corpus (the claims' default). Used by chapter 02."""
    doses = sorted(settings["corpus"]["repetitions"])
    return int(doses[len(doses) // 2])


def preconditions(items, R: int) -> dict:
    """Measured preconditions: recall accuracy of the smallest and the largest size at dose ``R`` (seed means),
    the lowest control accuracy of any size and dose, the number of doses. Used by chapter 02."""
    doses = sorted(int(r) for r in items.loc[items["test"] == "control", "R"].unique())
    recall, _ = _groups(items, ["recall"], [R], value="correct")
    control, _ = _groups(items, ["control"], doses, value="correct")
    recall_curve = _mean_curve(recall)[0]
    return {"recall_smallest": float(recall_curve[0]), "recall_largest": float(recall_curve[-1]),
            "control_min_accuracy": float(_mean_curve(control).min()),
            "n_doses": float(items.loc[items["test"] == "conflict", "R"].nunique())}


def pooled_control(items):
    """The control items of every dose as one set (dose 0), numbered within each run. Used by chapter 02 (I2)."""
    control = items[items["test"] == "control"].assign(R=0)
    return control.assign(item=control.groupby(["replicate", "N"]).cumcount())


def measure(items, R: int, seed: int = 0, only: Sequence[str] | None = None,
            imitation=None) -> dict[str, Measurement]:
    """Every claim's :class:`~scalinglab.claims.Measurement` from the items tables.

    ``items`` is the memo trap's table (:func:`items_table`; I1–I6), ``imitation`` cause (ii)'s
    (:func:`imitation_items`; I7–I9). ``R`` is the dose the single-dose claims use (:func:`middle_dose`);
    ``seed`` is kept for a common signature (every interval is deterministic); ``only`` restricts the result to
    some claim ids (the tests' controls). Used by chapter 02 through :func:`analyse`.
    """
    cause_ii = {"I7", "I8", "I9"}
    wanted = [c.id for c in CLAIMS if only is None or c.id in only]
    if imitation is None and cause_ii & set(wanted):
        raise ValueError("claims I7–I9 need the imitation items table (imitation=…)")
    pre = preconditions(items, R) if set(wanted) - cause_ii else {}
    if imitation is not None and cause_ii & set(wanted):
        pre.update(imitation_preconditions(imitation))
    how = {"I1": lambda: loss_slope(items, "conflict", R, seed),
           "I2": lambda: loss_slope(pooled_control(items), "control", 0, seed),
           "I3": lambda: dose_interaction(items, "conflict", seed), "I4": lambda: oneshot_change(items, R, seed),
           "I5": lambda: recovery_slope(items, R, seed), "I6": lambda: memory_weight(items, seed),
           "I7": lambda: loss_slope(imitation, "task", TOP_SHARE, seed, column="share"),
           "I8": lambda: loss_slope(imitation, "task", 0.0, seed, column="share"),
           "I9": lambda: share_interaction(imitation, "task", seed, value="margin")}
    measured = {}
    for claim in CLAIMS:
        if claim.id not in wanted:
            continue
        m = measured[claim.id] = how[claim.id]()
        for p in claim.preconditions:
            if p.name == "zero_shot_slope":
                m.preconditions[p.name] = float(m.details["zeroshot_slope"])
            elif p.name in pre:
                m.preconditions[p.name] = pre[p.name]
    return measured


# ---------------------------------------------------------------------------------------------
# Tables and figure data for the chapter


def ladder_table(specs: list[MemoTrapRun]) -> "pd.DataFrame":
    """One row per rung of the ladder (replicate 0): shape, N, Kaplan's 12·L·d², embedding parameters,
    training FLOPs per token and the learning rate. Used by chapter 02."""
    import pandas as pd

    from ..models import embedding_params, non_embedding_params

    return pd.DataFrame([{"n_layer": s.model.n_layer, "n_head": s.model.n_head, "d_model": s.model.d_model,
                          "N (non-embedding)": non_embedding_params(s.model),
                          "12·L·d² (Kaplan approx.)": 12 * s.model.n_layer * s.model.d_model ** 2,
                          "embedding params": embedding_params(s.model),
                          "train FLOPs/token": flops_per_token(s.model), "learning rate": s.train.lr}
                         for s in specs if s.replicate == specs[0].replicate])


def cue_points(items) -> "pd.DataFrame":
    """Per (replicate, N, R, item): the instruction's log-odds on novel text, the memory's log-odds (recall),
    the measured conflict log-odds and the additive prediction instruction − memory (the mechanism
    figure). Used by chapter 02."""
    keys = ["replicate", "N", "R", "item"]
    wide = items[items["test"].isin(["conflict", "novel", "recall"])].pivot_table(
        index=keys, columns="test", values="margin", aggfunc="first").reset_index()
    wide = wide.rename(columns={"novel": "instruction", "recall": "memory"})
    wide["additive"] = wide["instruction"] - wide["memory"]
    return wide


def u_fit(items, R: int) -> dict:
    """The quadratic in log10 N fitted to the seed-and-item mean performance (−conflict loss at dose ``R``):
    its coefficients (highest power first), the sizes and the mean performance. Used by chapter 02."""
    groups, sizes = _groups(items, ["conflict"], [R])
    performance = -_mean_curve(groups)[0]
    return {"coefficients": np.polyfit(np.log10(sizes), performance, 2), "N": sizes, "performance": performance}


# ---------------------------------------------------------------------------------------------
# The simulation audit: worlds whose truth is known, simulated at the chapter's design
#
# The boundary with the real runs is the two items tables (:func:`items_table`, :func:`imitation_items`): one
# row per run, test set and item, with the item's two-class log-odds (``margin``). :func:`simulate` writes
# tables of exactly that shape — the ladder's N, the profile's seeds, doses, shares and test-set sizes — from
# a generative model of the margins; :func:`analyse` is what the notebook calls on the real tables.

from ..audit import World  # noqa: E402  (the audit section of the module)
from ..models import non_embedding_params  # noqa: E402

#: Item and seed noise of every test's margins, measured on the chapter's ci runs at seed 0 (three replicates;
#: items nested in replicates): (test, item sd at the smallest size, item sd above it, seed-to-seed sd of a
#: replicate's item mean at the smallest size, above it, correlation of an item's deviations across sizes).
#: The smallest model differs (its margins are compressed towards 0), hence two levels. For ``conflict`` the
#: item and seed sd are those of the residual once the cues are accounted for (a + b·novel + c·recall: residual
#: sd 1.45 pooled); ``oneshot`` lists its extra noise beside the conflict item's own (sd of one-shot − zero-shot
#: margin 0.81).
NOISE = (("recall", 1.15, 1.9, 0.2, 0.25, 0.15), ("novel", 1.25, 2.4, 0.1, 0.45, 0.15),
         ("conflict", 0.35, 1.4, 0.1, 0.6, 0.1), ("oneshot", 0.3, 0.8, 0.05, 0.1, 0.0),
         ("control", 1.2, 0.45, 0.8, 0.12, 0.5),
         ("task", 1.1, 2.0, 0.35, 0.4, 0.45), ("rule", 2.2, 1.6, 0.5, 0.2, 0.25),
         ("fresh", 1.1, 2.7, 0.3, 0.7, 0.45))


@dataclass(frozen=True, kw_only=True)
class InverseWorld(World):
    """A synthetic truth for chapter 02: the mean two-class log-odds (margin) of every test as a function of
    x = log10 N, dose R and misconception share s, plus item and seed noise (:data:`NOISE`).

    Memo trap. Memory (the ``recall`` margin, memorised word over rule word):
    m(N, R) = m_R / (1 + exp(−(x − x_R)/w)) with m_R = ``memory_per_doubling`` · log2(R/``memory_R0``) and
    x_R = ``memory_mid_16`` − ``memory_mid_shift`` · log2(R/16). Instruction on quote-like text (``novel``):
    ``instruction`` − ``instruction_decay`` · (x − x_min). Control: ``control_max`` / (1 + exp(−(x −
    ``control_mid``)/``control_width``)) − ``instruction_decay`` · (x − x_min). The conflict margin of an item is
    the cue equation of I6, conflict = a + b·instruction + c(N)·memory + noise, with the item's own measured
    cues, c(N) = c · exp(−``recovery_rate`` · max(0, x − ``recovery_log10_N``)) (the carry fades past that size:
    the U-turn of Wei et al.); ``dose_specific_carry`` False replaces each dose's memory curve in the conflict by
    the mean over doses. One-shot: the same with memory weight c(N)·(1 − ``oneshot_removal``).

    Imitation. Task margin (truth over misconception) τ(x) − s^γ · ι(x), τ = ``truth_0`` + ``truth_slope`` ·
    (x − x_min), ι = ``imitation_0`` + ``imitation_slope`` · (x − x_min), γ = ``share_exponent``; fresh
    questions (control) ``rule_0`` + ``rule_slope`` · (x − x_min); new questions that resemble the
    misconception (``novel``) ``novel_0`` − ``novel_share`` · s + ``novel_slope`` · (x − x_min).

    The defaults are the curves fitted to the chapter's ci runs at seed 0 (least squares on the seed means):
    the papers give no effect size in these units.
    """

    memory_per_doubling: float = 0.95
    memory_R0: float = 1.25
    memory_mid_16: float = 3.70
    memory_mid_shift: float = 0.142
    memory_width: float = 0.325
    instruction: float = 0.2
    instruction_decay: float = 0.0
    control_max: float = 3.64
    control_mid: float = 2.56
    control_width: float = 0.28
    a: float = 0.19
    b: float = 0.15
    c: float = -0.87
    dose_specific_carry: bool = True
    oneshot_removal: float = 0.75
    recovery_log10_N: float = 5.5
    recovery_rate: float = 1.5
    truth_0: float = 3.05
    truth_slope: float = 2.2
    imitation_0: float = 1.06
    imitation_slope: float = 3.81
    share_exponent: float = 0.56
    rule_0: float = 8.1
    rule_slope: float = 1.5
    novel_0: float = 2.9
    novel_share: float = 0.55
    novel_slope: float = 0.3
    noise: tuple = NOISE


def _flat_spread(noise: tuple, tests: tuple) -> tuple:
    """``noise`` with the item and seed sd of ``tests`` at the smallest size set to those above it. With the
    same mean log-odds at every size, a spread that grows with size alone raises the mean loss (the loss is
    convex in the log-odds): a world whose conflict loss is flat in N needs a flat spread too."""
    return tuple((t, i1, i1, s1, s1, rho) if t in tests else (t, i0, i1, s0, s1, rho)
                 for t, i0, i1, s0, s1, rho in noise)


_PAPER = InverseWorld(description="memorisation carries into the instruction's context (c = −0.87, as measured), "
                                  "so the conflict loss rises with N, more steeply the higher the dose; the "
                                  "instruction itself does not decay; a one-shot demonstration removes three "
                                  "quarters of the carry; the carry fades past N = 10^5.5 (the U-turn); larger "
                                  "models imitate a misconception more, repeated true questions get easier")

WORLDS = {
    "paper": _PAPER,
    "no_carry": replace(_PAPER, c=0.0, noise=_flat_spread(NOISE, ("novel", "conflict", "oneshot")),
                        description="the memory does not carry into the instruction's context (c = 0) and the "
                                    "conflict items' spread does not grow with size: the conflict loss is flat "
                                    "in N"),
    "instruction_decays": replace(_PAPER, instruction_decay=1.2,
                                  description="the instruction itself weakens with size (its log-odds fall 1.2 "
                                              "per decade of N): the control loss rises"),
    "dose_free": replace(_PAPER, dose_specific_carry=False,
                         description="the conflict loss rises with N through memory, but equally at every dose"),
    "no_mitigation": replace(_PAPER, oneshot_removal=0.0,
                             description="a one-shot demonstration changes nothing (the trend is the same)"),
    "no_recovery": replace(_PAPER, recovery_rate=0.0,
                           description="the carry never fades: the largest models do not climb back"),
    "no_imitation": replace(_PAPER, imitation_slope=0.0,
                            description="the misconception pulls every size equally: larger models learn the "
                                        "truth better and do not imitate more"),
    "repetition_hurts": replace(_PAPER, imitation_slope=0.0, truth_slope=-1.0,
                                description="repeated questions get harder with size whatever their answers "
                                            "(the truth's log-odds fall 1 per decade), the misconception's pull "
                                            "does not grow"),
}


def _noise(world: InverseWorld) -> dict:
    return {row[0]: row[1:] for row in world.noise}


def _draw(rng, shape_seeds_blocks, sizes_small, item_sd, seed_sd, persistence, n_items):
    """Item-and-seed noise of shape (seeds, blocks, sizes, items): a persistent item effect plus a fresh one
    at each size (sd by size), plus one deviation per seed, block and size."""
    S, B = shape_seeds_blocks
    J = len(sizes_small)
    isd = np.where(sizes_small, item_sd[0], item_sd[1])[None, None, :, None]
    ssd = np.where(sizes_small, seed_sd[0], seed_sd[1])[None, None, :, None]
    persistent = rng.standard_normal((S, B, 1, n_items))
    fresh = rng.standard_normal((S, B, J, n_items))
    item = isd * (math.sqrt(persistence) * persistent + math.sqrt(1 - persistence) * fresh)
    return item + ssd * rng.standard_normal((S, B, J, 1))


@lru_cache(maxsize=16)
def _design(key: str) -> dict:
    settings = json.loads(key)
    settings["ladder"] = [tuple(r) for r in settings["ladder"]]
    memo = memo_trap_specs({**settings, "n_seeds": 1}, 0)
    imit = imitation_specs({**settings, "n_seeds": 1}, 0)
    return {"N": np.array([non_embedding_params(s.model) for s in memo], dtype=float),
            "n_layer": np.array([s.model.n_layer for s in memo]), "d_model": np.array([s.model.d_model for s in memo]),
            "flops": np.array([run_cost(s) for s in memo]), "flops_ii": np.array([run_cost(s) for s in imit]),
            "doses": sorted(settings["corpus"]["repetitions"]), "n_quotes": settings["corpus"]["quotes_per_level"],
            "shares": sorted(settings["imitation"]["corpus"]["misconception_shares"]),
            "n_questions": settings["imitation"]["corpus"]["questions_per_group"]}


def _table(design, margins: dict, column: str, doses, flops):
    """The items table (the columns of :func:`items_table`) of margins {test: (seeds, doses, sizes, items)}."""
    import pandas as pd

    parts = []
    for test, arr in margins.items():
        S, D, J, K = arr.shape
        rep, d, j, k = (g.ravel() for g in np.meshgrid(np.arange(S), np.arange(D), np.arange(J), np.arange(K),
                                                        indexing="ij"))
        parts.append((np.full(rep.size, test, dtype=object), rep, np.asarray(doses)[d], j, k, arr.ravel()))
    test, rep, dose, j, k, m = (np.concatenate(p) for p in zip(*parts))
    return pd.DataFrame({"replicate": rep, "N": design["N"][j].astype(int), "n_layer": design["n_layer"][j],
                         "d_model": design["d_model"][j], "flops": flops[j], "test": test, column: dose,
                         "item": k, "margin": m, "loss": np.logaddexp(0.0, -m), "correct": m > 0})


def _settings_key(settings: dict) -> str:
    return json.dumps({k: settings[k] for k in ("ladder", "steps", "batch_size", "lr_at_width_16", "warmup_steps",
                                                "lines_per_window", "corpus", "imitation")},
                      sort_keys=True, default=list)


def _margins(world: InverseWorld, settings: dict, seed: int, n_seeds: int):
    """The design of ``settings`` and every test's simulated margins: memo-trap tests (seeds, doses, sizes,
    quotes), imitation tests (seeds, shares, sizes, questions)."""
    design = _design(_settings_key(settings))
    rng = np.random.default_rng(seed)
    noise = _noise(world)
    S = int(n_seeds)
    x = np.log10(design["N"])
    dx = x - x.min()
    small = np.arange(len(x)) == 0
    R = np.asarray(design["doses"], dtype=float)

    def draw(test, blocks, n_items):
        item0, item1, seed0, seed1, rho = noise[test]
        return _draw(rng, (S, blocks), small, (item0, item1), (seed0, seed1), rho, n_items)

    K = design["n_quotes"]
    m_R = world.memory_per_doubling * np.log2(R / world.memory_R0)
    x_R = world.memory_mid_16 - world.memory_mid_shift * np.log2(R / 16)
    memory_curve = m_R[:, None] / (1 + np.exp(-(x[None, :] - x_R[:, None]) / world.memory_width))  # (D, J)
    decay = world.instruction_decay * dx
    memory = memory_curve[None, :, :, None] + draw("recall", len(R), K)
    instruction = (world.instruction - decay)[None, None, :, None] + draw("novel", len(R), K)
    carried = memory if world.dose_specific_carry else memory - memory_curve[None, :, :, None] + \
        memory_curve.mean(axis=0)[None, None, :, None]
    c = world.c * np.exp(-world.recovery_rate * np.maximum(0.0, x - world.recovery_log10_N))[None, None, :, None]
    residual = draw("conflict", len(R), K)
    conflict = world.a + world.b * instruction + c * carried + residual
    oneshot = world.a + world.b * instruction + c * (1 - world.oneshot_removal) * carried + residual + \
        draw("oneshot", len(R), K)
    control_curve = world.control_max / (1 + np.exp(-(x - world.control_mid) / world.control_width)) - decay
    control = control_curve[None, None, :, None] + draw("control", len(R), K)
    memo = {"conflict": conflict, "control": control, "novel": instruction, "recall": memory, "oneshot": oneshot}

    Q = design["n_questions"]
    s = np.asarray(design["shares"], dtype=float)
    truth_curve = world.truth_0 + world.truth_slope * dx
    pull = world.imitation_0 + world.imitation_slope * dx
    task = (truth_curve[None, :] - (s ** world.share_exponent)[:, None] * pull[None, :])[None, :, :, None] + \
        draw("task", len(s), Q)
    rule = (world.rule_0 + world.rule_slope * dx)[None, None, :, None] + draw("rule", len(s), Q)
    fresh = (world.novel_0 - world.novel_share * s[:, None] + world.novel_slope * dx[None, :])[None, :, :, None] + \
        draw("fresh", len(s), Q)
    return design, memo, {"task": task, "control": rule, "novel": fresh}


def simulate(world: InverseWorld, settings: dict, seed: int) -> dict:
    """Both items tables of the chapter's sweep at ``settings`` (the ladder's N, ``n_seeds`` replicates, every
    dose and share, the corpus's test-set sizes), with margins drawn from ``world`` (:class:`InverseWorld`)
    and the noise of :data:`NOISE`: ``{"items": …, "imitation": …}``, what :func:`analyse` takes. Cheap (numpy):
    the audit calls it hundreds of times. Used by chapter 02's audit."""
    design, memo, imitation = _margins(world, settings, seed, settings["n_seeds"])
    items = _table(design, memo, "R", design["doses"], design["flops"])
    items["R"] = items["R"].astype(int)
    return {"items": items, "imitation": _table(design, imitation, "share", design["shares"], design["flops_ii"])}


def analyse(observed: dict, settings: dict, seed: int) -> dict[str, Measurement]:
    """Every claim's measurement from the two items tables ``{"items": …, "imitation": …}`` (the real runs'
    :func:`items_table` and :func:`imitation_items`, or :func:`simulate`'s), at the profile's middle dose:
    :func:`measure`, unchanged between real and simulated runs. Used by chapter 02's Verdicts and its audit."""
    return measure(observed["items"], middle_dose(settings), seed, imitation=observed["imitation"])


#: replicates of the simulated sweep from which :func:`truth` computes each statistic's limit (the truth's own
#: error is then under a tenth of the sd of a three-seed estimate)
TRUTH_REPLICATES = 600


def _loss(margin: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, -margin)


@lru_cache(maxsize=32)
def _truth(world: InverseWorld, key: str) -> tuple:
    settings = json.loads(key)
    design = _design(key)
    x = np.log10(design["N"])
    doses, shares = design["doses"], design["shares"]
    d = doses.index(middle_dose(settings))
    sums: dict = {}
    cue_xtx, cue_xty = np.zeros((3, 3)), np.zeros(3)
    chunk = 50
    for i in range(TRUTH_REPLICATES // chunk):
        _, memo, imitation = _margins(world, settings, derive_seed(0, "truth", i), chunk)
        for name, arr in [*(("memo-" + k, v) for k, v in memo.items()),
                          *(("imit-" + k, v) for k, v in imitation.items())]:
            sums[name] = sums.get(name, 0.0) + _loss(arr).mean(axis=-1).sum(axis=0)  # (blocks, sizes)
        sums["margin-task"] = sums.get("margin-task", 0.0) + imitation["task"].mean(axis=-1).sum(axis=0)
        A = np.stack([np.ones(memo["novel"].size), memo["novel"].ravel(), memo["recall"].ravel()], axis=1)
        cue_xtx += A.T @ A
        cue_xty += A.T @ memo["conflict"].ravel()
    n = (TRUTH_REPLICATES // chunk) * chunk
    curve = {k: v / n for k, v in sums.items()}  # the expected seed curve of every test's mean loss
    k = min(RECOVERY_SIZES, len(x))
    conflict_slopes = _slope(x, curve["memo-conflict"])
    task_slopes = _slope(x, curve["imit-task"])
    out = {"I1": _slope(x, curve["memo-conflict"][d]), "I2": _slope(x, curve["memo-control"].mean(axis=0)),
           "I3": _slope(np.log10(doses), conflict_slopes),
           "I4": _slope(x, curve["memo-oneshot"][d]) / _slope(x, curve["memo-conflict"][d]),
           "I5": _slope(x[-k:], -curve["memo-conflict"][d][-k:]),
           "I6": float(np.linalg.solve(cue_xtx, cue_xty)[2]),
           "I7": float(task_slopes[shares.index(TOP_SHARE)]), "I8": float(task_slopes[shares.index(0.0)]),
           "I9": _slope(np.asarray(shares), _slope(x, curve["margin-task"]))}
    return tuple((key_, float(v)) for key_, v in out.items())


def truth(world: InverseWorld, settings: dict) -> dict[str, float]:
    """The value each claim's statistic converges to in ``world`` at ``settings``, from
    :data:`TRUTH_REPLICATES` simulated replicates: for the statistics taken per seed, the statistic of the
    expected seed curve (they are linear in it); for I4, the ratio of the expected curves' slopes; for I6, the
    regression on every simulated item. Used by chapter 02's audit (coverage)."""
    return dict(_truth(world, _settings_key(settings)))
