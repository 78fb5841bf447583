"""Chapter 00 (power laws): a ladder of byte-level language models, and the test of L(N).

What is here, in the order the chapter uses it:

- :data:`PROFILES`, :data:`SMOKE_OVERRIDES`: the ``ci`` and ``full`` settings and the smoke caps;
- :data:`CLAIMS`: claim K1, fixed before anything is trained;
- :func:`learning_rate_for`, :func:`model_config`, :func:`ladder_table`: the model ladder;
- :class:`CorpusSpec`, :class:`ByteLMSpec`, :func:`ladder_specs`, :func:`run_byte_lm`, :func:`run_cost`:
  one training run, specified by a frozen dataclass that holds everything the run reads;
- :func:`runs_table`, :func:`size_summary`, :func:`loss_array`: the sweep's results as tables and as an array;
- :func:`measure`, :func:`extrapolation_test`, :func:`saturating_extrapolation`: K1's statistic,
  its interval and the saturating law beside it.

K1 is tested by **prediction**: Kaplan's power law L(N) = (N_c/N)^α (a straight line on log–log axes)
is fitted to every size but the two largest and predicts those two; a rival that is linear in log N
(a straight line on semi-log axes) is fitted to the same points. The statistic is the ratio of their
mean absolute relative errors on the held-out sizes, MARE(log-linear) / MARE(power law); its 95 %
interval comes from a hierarchical bootstrap that resamples replicates (whole ladders), then
evaluation windows within each replicate. The saturating law E + A·N^(−α) is fitted beside it and
reported: with three parameters on five sizes its extrapolation is dominated by the trade-off
between E and α (in a pilot, single-replicate fits put E anywhere from 0 to 0.85 nats/byte).

Used by: chapter 00 (power laws).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..audit import World
from ..claims import Claim, Measurement, Precondition, Revision, at_least, between
from ..data.text import fixed_windows, python_stdlib_corpus, random_windows
from ..devices import default_device, matmul_flops_per_s
from ..fit import fit_power_law
from ..flops import flops_per_token
from ..intervals import jackknife_interval, t_interval
from ..models import Transformer, TransformerConfig, embedding_params, lm_loss, non_embedding_params
from ..seeds import derive_seed
from ..train import TrainConfig, seeded, train

# --- profiles ------------------------------------------------------------------------------------------

#: Settings per profile. ``ladder``: (n_layer, n_head, d_model) per size, depth and width growing together
#: as in Kaplan et al.'s sweeps; ``n_seeds``: replicates of the whole ladder (each with its own
#: initialisation and data order); ``evals``: held-out evaluations along each run; ``eval_windows``:
#: fixed held-out windows of ``context_length`` bytes, the same for every run.
PROFILES = {
    "ci": dict(ladder=[(1, 2, 8), (1, 2, 12), (1, 2, 16), (2, 2, 24), (2, 2, 32), (2, 2, 48), (3, 4, 64)],
               context_length=64, batch_size=32, steps=650, corpus_bytes=4_000_000, n_seeds=3,
               eval_windows=512, evals=7),
    "full": dict(ladder=[(1, 2, 16), (2, 2, 32), (2, 2, 48), (3, 4, 64), (4, 4, 128), (6, 6, 192),
                         (8, 8, 256), (8, 8, 320)],
                 context_length=256, batch_size=64, steps=4000, corpus_bytes=10_000_000, n_seeds=5,
                 eval_windows=2048, evals=20),
}

#: ``smoke=True``: five tiny sizes (three fitted, two held out), two replicates and a few steps, so that
#: the ``full`` code path runs on a CPU in seconds. Such a run decides nothing.
SMOKE_OVERRIDES = dict(ladder=[(1, 2, 8), (1, 2, 12), (1, 2, 16), (2, 2, 16), (2, 2, 24)],
                       context_length=32, batch_size=8, steps=12, n_seeds=2, eval_windows=32, evals=2)

#: K1 holds out this many of the largest sizes and predicts them from the others.
HELD_OUT = 2

# --- the claim ------------------------------------------------------------------------------------------

#: K1's tolerance, in its own units: the held-out losses must lie nearer the power law's predictions than
#: the midpoint between them and the log-linear rival's, on either side (−0.5 and 0.5).
K1_TOLERANCE = 0.5

CLAIMS = [
    Claim(
        id="K1",
        statement="At fixed data, the loss of a language model falls as a power law in its non-embedding "
                  "parameter count N, L(N) = (N_c/N)^α: fitted to the smaller models, the law predicts the "
                  "larger ones — nearer than a log-linear rival does, and without their losses bending away "
                  "towards a floor by as much.",
        source="Kaplan et al. 2020, Fig. 1 (centre) and Sec. 3",
        statistic="position of the held-out losses between the two laws' predictions (0: the power law's, "
                  "1: the log-linear rival's; in log loss)",
        interval="delete-one-replicate jackknife (whole ladders, so that each held-out size is compared with "
                 "fits to the same replicates), Student's t on replicates − 1 degrees of freedom",
        criterion=between(-K1_TOLERANCE, K1_TOLERANCE),
        preconditions=(
            Precondition("alpha_lo", "lower end of the 95 % interval of α fitted on the smaller sizes",
                         at_least(0.0)),
            Precondition("top_gain", "relative loss gain of the largest model over the largest fitted one",
                         at_least(0.0)),
        ),
        decided_by=("full",),
        paper_value="α_N ≈ 0.076 (WebText2, BPE tokens)",
        revisions=(
            Revision(
                date="2026-12-01",
                previous="fit R² (log space) ≥ 0.95 and the 95 % bootstrap CI of α excludes 0",
                reason="that criterion also passes log-linear curves with 2 % noise (20 of 20 synthetic trials), "
                       "so it cannot fail; the power law must now predict the two largest sizes better than a "
                       "log-linear rival fitted to the same points. Kaplan's two-parameter form is tested, "
                       "against a two-parameter rival: with a floor E, three parameters fitted to five sizes "
                       "extrapolate mostly the trade-off between E and α"),
            Revision(
                date="2026-12-04",
                previous="MARE(log-linear) / MARE(power law) ≥ 1.5, 95 % hierarchical bootstrap over replicates "
                         "and windows",
                reason="a ratio of two small held-out errors is heavy-tailed, and where the power law holds "
                       "exactly its true value is infinite, so no interval of it can be shown to cover; a "
                       "bootstrap over three replicates does not cover in any case. The ratio also passed a "
                       "curve bending towards a floor, which still lies nearer the power law than the "
                       "log-linear rival. The position between the two laws' predictions is a difference of "
                       "log losses over the rivals' gap, and ±0.5 is the midpoint between the power law's "
                       "prediction and the rival's, on either side"),
            Revision(
                date="2026-12-04",
                previous="decided at ci and at full",
                reason="the audit puts the ci design's interval (three replicates, five fitted and two held-out "
                       "sizes, run-to-run noise as measured on the ci runs) wholly inside the ±0.5 band on about "
                       "10 % of simulated power-law ladders (median half-width 0.94), far below the 80 % power a "
                       "headline needs; at the full design on all of them (half-width 0.19). K1 is reported at ci "
                       "and decided at full"),
        ),
        headline=True,
        method="jackknife_t",
        rivals=("log_linear", "saturating"),
    ),
]

# --- the model ladder -----------------------------------------------------------------------------------


def learning_rate_for(d_model: int) -> float:
    """Peak learning rate of a model of width ``d_model``: 1e-2 at d = 16, falling as 1/√width (narrow
    models tolerate larger steps; a common heuristic). Used by chapter 00."""
    return 1e-2 * math.sqrt(16 / d_model)


def model_config(rung: tuple[int, int, int], context_length: int) -> TransformerConfig:
    """The byte-level transformer of one ladder rung (n_layer, n_head, d_model). Used by chapter 00."""
    n_layer, n_head, d_model = rung
    return TransformerConfig(vocab_size=256, context_length=context_length, n_layer=n_layer,
                             n_head=n_head, d_model=d_model)


def ladder_table(settings: dict):
    """One row per ladder rung: shape, exact non-embedding N (formula and instantiated model),
    Kaplan's 12·L·d² approximation, embedding parameters, training FLOPs per token and the learning
    rate. Used by chapter 00."""
    import pandas as pd

    rows = []
    for rung in settings["ladder"]:
        cfg = model_config(rung, settings["context_length"])
        n = non_embedding_params(cfg)
        instantiated = Transformer(cfg).num_params(non_embedding=True)
        if n != instantiated:
            raise AssertionError(f"non_embedding_params {n} differs from the model's count {instantiated}")
        rows.append({"n_layer": cfg.n_layer, "d_model": cfg.d_model, "n_head": cfg.n_head,
                     "N (non-embedding)": n, "N check (model)": instantiated,
                     "12·L·d² (Kaplan approx.)": 12 * cfg.n_layer * cfg.d_model ** 2,
                     "embedding params": embedding_params(cfg), "train FLOPs/token": flops_per_token(cfg),
                     "learning rate": learning_rate_for(cfg.d_model)})
    return pd.DataFrame(rows)


# --- one run --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CorpusSpec:
    """What identifies the byte corpus of a run (``scalinglab.data.text.ByteCorpus.spec()``)."""

    name: str
    sha256: str
    train_bytes: int
    val_bytes: int


@dataclass(frozen=True)
class ByteLMSpec:
    """Everything :func:`run_byte_lm` reads: the model, the optimisation (whose ``seed`` is the data
    order), the corpus, the replicate index with its initialisation seed, and the number of fixed
    held-out windows. Used by chapter 00."""

    model: TransformerConfig
    train: TrainConfig
    corpus: CorpusSpec
    replicate: int
    init_seed: int
    eval_windows: int


def ladder_specs(settings: dict, corpus_spec: dict, seed: int) -> list[ByteLMSpec]:
    """The specs of the whole sweep: every rung of the ladder for each of ``n_seeds`` replicates.
    Replicate r draws its initialisation from ``derive_seed(seed, "init", r)`` and its data order from
    ``derive_seed(seed, "data-order", r)``; every size in a replicate shares both. Used by chapter 00."""
    corpus = CorpusSpec(**corpus_spec)
    steps = settings["steps"]
    specs = []
    for replicate in range(settings["n_seeds"]):
        for rung in settings["ladder"]:
            cfg = model_config(rung, settings["context_length"])
            train_config = TrainConfig(steps=steps, batch_size=settings["batch_size"],
                                       lr=learning_rate_for(cfg.d_model), warmup_steps=steps // 20,
                                       schedule="cosine", weight_decay=0.1,
                                       eval_every=max(1, steps // settings["evals"]),
                                       seed=derive_seed(seed, "data-order", replicate))
            specs.append(ByteLMSpec(model=cfg, train=train_config, corpus=corpus, replicate=replicate,
                                    init_seed=derive_seed(seed, "init", replicate),
                                    eval_windows=settings["eval_windows"]))
    return specs


def run_cost(spec: ByteLMSpec) -> float:
    """Training FLOPs of a run (for ``sweep(cost=)``: the largest runs start first). Used by chapter 00."""
    return flops_per_token(spec.model) * spec.train.steps * spec.train.batch_size * spec.model.context_length


@functools.lru_cache(maxsize=2)
def _corpus(n_bytes: int):
    return python_stdlib_corpus(n_bytes)


def _window_losses(model, inputs: torch.Tensor, targets: torch.Tensor, device) -> np.ndarray:
    """Mean next-byte cross-entropy of each window (nats/byte), one value per window."""
    out = []
    for x, y in zip(inputs.split(256), targets.split(256)):
        logits = model(x.to(device))
        nll = F.cross_entropy(logits.flatten(0, 1), y.to(device).flatten(), reduction="none")
        out.append(nll.view(y.shape).mean(dim=1).cpu())
    return torch.cat(out).double().numpy()


def run_byte_lm(spec: ByteLMSpec) -> dict:
    """Train one transformer on the byte corpus of ``spec`` and return its held-out curve.

    The held-out loss is the mean next-byte cross-entropy (nats/byte) on ``eval_windows`` fixed,
    evenly spaced windows of the validation stream. Returns ``history`` (one row per evaluation:
    step, examples, train_loss_ema, lr, val_loss), ``final_val_loss``, ``best_val_loss`` (the minimum
    over the evaluations — Kaplan et al.'s early stopping), ``best_step``, ``window_losses`` (each
    window's loss at the best evaluation), ``n_params`` (non-embedding), ``n_params_total``,
    ``wall_time_s``, ``device``, ``threads``, ``tokens_per_s``, ``model_flops_per_s``,
    ``matmul_flops_per_s`` and ``mfu`` (training steps only), and the run's work for the book's status page:
    ``train_s`` (seconds in training steps) and ``model_flops`` (PaLM's FLOPs per token × tokens trained).
    Used by chapter 00.
    """
    n_bytes = spec.corpus.train_bytes + spec.corpus.val_bytes
    corpus = _corpus(n_bytes)
    if corpus.sha256 != spec.corpus.sha256:
        raise ValueError(f"corpus hash {corpus.sha256[:12]}… differs from the spec's {spec.corpus.sha256[:12]}…")
    cfg, train_cfg = spec.model, spec.train
    model = seeded(lambda: Transformer(cfg), spec.init_seed)
    device = default_device()
    val_inputs, val_targets = fixed_windows(corpus.val, spec.eval_windows, cfg.context_length)
    windows_at: list[np.ndarray] = []  # per-window losses, one entry per evaluation (history row)

    def batch_fn(generator):
        return random_windows(corpus.train, train_cfg.batch_size, cfg.context_length, generator)

    def eval_fn(m):
        losses = _window_losses(m, val_inputs, val_targets, device)
        windows_at.append(losses)
        return {"val_loss": float(losses.mean())}

    result = train(model, train_cfg, batch_fn, lm_loss, eval_fn, device=device)
    best = int(np.argmin([row["val_loss"] for row in result.history]))
    # Throughput and model FLOPs utilisation of the training steps (evaluation excluded): PaLM's
    # 6N + 12·L·T·d FLOPs per token against this process's measured fp32 matmul throughput.
    tokens_per_s = train_cfg.steps * train_cfg.batch_size * cfg.context_length / result.step_time_s
    model_flops_per_s = tokens_per_s * flops_per_token(cfg, "palm")
    peak = matmul_flops_per_s(device.type, torch.get_num_threads())
    return {"history": result.history, "final_val_loss": result.final["val_loss"],
            "best_val_loss": result.history[best]["val_loss"], "best_step": result.history[best]["step"],
            "window_losses": [round(float(v), 6) for v in windows_at[best]],
            "wall_time_s": result.wall_time_s, "n_params": model.num_params(non_embedding=True),
            "n_params_total": model.num_params(non_embedding=False),
            "device": device.type, "threads": torch.get_num_threads(), "tokens_per_s": tokens_per_s,
            "model_flops_per_s": model_flops_per_s, "matmul_flops_per_s": peak,
            "mfu": model_flops_per_s / peak, **result.work(cfg)}


# --- results --------------------------------------------------------------------------------------------


def runs_table(specs: list[ByteLMSpec], results: list[dict]):
    """One row per run (sorted by N, then replicate): shape, N, total parameters, best and final
    held-out loss, ``late_fall`` (the relative fall of the held-out loss over the last evaluation
    interval: how far from converged the run stopped), training time, throughput and MFU.
    Used by chapter 00."""
    import pandas as pd

    def late_fall(history):
        if len(history) < 2:
            return float("nan")
        before, last = history[-2]["val_loss"], history[-1]["val_loss"]
        return (before - last) / before

    rows = [{"n_layer": s.model.n_layer, "d_model": s.model.d_model, "replicate": s.replicate,
             "N": r["n_params"], "N_total": r["n_params_total"], "best_val_loss": r["best_val_loss"],
             "final_val_loss": r["final_val_loss"], "late_fall": late_fall(r["history"]),
             "train_s": r["wall_time_s"],
             "tokens_per_s": r["tokens_per_s"], "MFU": r["mfu"]}
            for s, r in zip(specs, results)]
    return pd.DataFrame(rows).sort_values(["N", "replicate"]).reset_index(drop=True)


def size_summary(table):
    """Per model size: the mean best held-out loss over replicates, its 95 % t-interval (the error
    bars of the chapter's L(N) figure) and ``rel_sd``, the replicates' standard deviation over their
    mean, from a :func:`runs_table`. Used by chapter 00."""
    import pandas as pd

    rows = []
    for n, group in table.groupby("N", sort=True):
        values = group["best_val_loss"].to_numpy(float)
        lo, hi = t_interval(values) if len(values) > 1 else (float("nan"), float("nan"))
        rel_sd = float(values.std(ddof=1) / values.mean()) if len(values) > 1 else float("nan")
        rows.append({"N": int(n), "N_total": int(group["N_total"].iloc[0]), "mean_loss": float(values.mean()),
                     "lo": lo, "hi": hi, "rel_sd": rel_sd, "replicates": len(values)})
    return pd.DataFrame(rows)


def loss_array(specs: list[ByteLMSpec], results: list[dict]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The sweep as arrays for :func:`measure`: sizes N (ascending), per-window held-out losses of shape
    (replicates, sizes, windows) at each run's best evaluation, and the replicate indices.
    Used by chapter 00."""
    sizes = sorted({r["n_params"] for r in results})
    replicates = sorted({s.replicate for s in specs})
    n_windows = {len(r["window_losses"]) for r in results}
    if len(n_windows) != 1:
        raise ValueError(f"runs have different numbers of evaluation windows: {sorted(n_windows)}")
    losses = np.full((len(replicates), len(sizes), n_windows.pop()), np.nan)
    for s, r in zip(specs, results):
        losses[replicates.index(s.replicate), sizes.index(r["n_params"])] = r["window_losses"]
    if np.isnan(losses).any():
        raise ValueError("the sweep lacks a run for some (replicate, size)")
    return np.asarray(sizes, float), losses, replicates


# --- K1: the extrapolation test -------------------------------------------------------------------------


def _mare(predicted, observed) -> float:
    predicted, observed = np.asarray(predicted, float), np.asarray(observed, float)
    return float(np.mean(np.abs(predicted - observed) / observed))


def _line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope and intercept of y on x, in closed form (no BLAS call: the audit fits
    thousands of these five-point lines)."""
    xc = x - x.mean()
    slope = float(np.dot(xc, y - y.mean()) / np.dot(xc, xc))
    return slope, float(y.mean() - slope * x.mean())


def extrapolation_test(n_params, mean_losses, held_out: int = HELD_OUT) -> dict:
    """Fit Kaplan's power law L = (N_c/N)^α (a straight line on log–log axes) and the log-linear rival
    L = a + b·log N (a straight line on semi-log axes), both by least squares, to every size but the
    ``held_out`` largest, and score both on those.

    Returns K1's statistic ``position``: where the held-out losses fall between the two laws'
    predictions, in log loss, Σ(log L − log L̂_power) / Σ(log L̂_loglin − log L̂_power) over the held-out
    sizes — 0 on the power law's predictions, 1 on the rival's, negative beyond the power law on the far
    side from the rival (a curve bending towards a floor). Also ``gap``, the mean log-ratio of the two
    laws' predictions (the denominator over the number of held-out sizes), the predictions, both mean
    absolute relative errors (MARE) and their ratio, α, log10 N_c and both lines' coefficients
    (``log_A`` is the power law's intercept, log L at N = 1). Used by chapter 00.
    """
    n = np.asarray(n_params, float)
    y = np.asarray(mean_losses, float)
    if n.ndim != 1 or n.shape != y.shape:
        raise ValueError("n_params and mean_losses must be 1-D arrays of the same length")
    if np.any(np.diff(n) <= 0):
        raise ValueError("n_params must be strictly increasing")
    if len(n) - held_out < 3:
        raise ValueError(f"need at least 3 fitted sizes besides the {held_out} held out, got {len(n)} sizes")
    if np.any(y <= 0):
        raise ValueError("losses must be positive")
    log_n = np.log(n)
    fit, test = slice(None, -held_out), slice(-held_out, None)
    minus_alpha, log_a = _line(log_n[fit], np.log(y[fit]))
    slope, intercept = _line(log_n[fit], y[fit])
    power = np.exp(log_a + minus_alpha * log_n[test])
    linear = intercept + slope * log_n[test]
    mare_power, mare_linear = _mare(power, y[test]), _mare(linear, y[test])
    alpha = float(-minus_alpha)
    if np.all(linear > 0):
        gap_sum = float(np.sum(np.log(linear) - np.log(power)))
        miss_sum = float(np.sum(np.log(y[test]) - np.log(power)))
        position = miss_sum / gap_sum if gap_sum != 0 else math.nan
        gap = gap_sum / held_out
    else:  # the rival predicts a loss ≤ 0: it has left the range where a log-loss comparison means anything
        position, gap = math.nan, math.nan
    return {"position": position, "gap": gap, "alpha": alpha,
            "log10_N_c": float(log_a / alpha / math.log(10)) if alpha > 0 else math.nan,
            "log_A": float(log_a), "loglin_intercept": float(intercept), "loglin_slope": float(slope),
            "predicted_power": power.tolist(), "predicted_loglin": linear.tolist(), "observed": y[test].tolist(),
            "mare_power": mare_power, "mare_loglin": mare_linear,
            "ratio": mare_linear / mare_power if mare_power > 0 else math.inf}


def saturating_extrapolation(n_params, mean_losses, held_out: int = HELD_OUT) -> dict:
    """The same prediction with the saturating law L = E + A·N^(−α) (:func:`scalinglab.fit.fit_power_law`,
    no bootstrap) in place of Kaplan's form: E, A, α, its predictions of the ``held_out`` largest sizes
    and their MARE. Reported beside K1, not deciding it. Used by chapter 00."""
    n = np.asarray(n_params, float)
    y = np.asarray(mean_losses, float)
    fit = fit_power_law(n[:-held_out], y[:-held_out], n_bootstrap=0, x_label="non-embedding parameters N")
    predicted = fit.predict(n[-held_out:])
    return {"E": fit.E, "A": fit.A, "alpha": fit.alpha, "predicted": predicted.tolist(),
            "mare": _mare(predicted, y[-held_out:])}


def measure(n_params, losses, replicates, *, held_out: int = HELD_OUT) -> dict[str, Measurement]:
    """K1's measurement from a sweep: ``losses[r, s, w]`` is the held-out loss of replicate r's model of
    size ``n_params[s]`` on evaluation window w (the same windows for every size), or ``losses[r, s]``
    a single loss per run.

    The estimate is :func:`extrapolation_test`'s ``position`` on the per-size mean losses over every
    replicate and window. Its 95 % interval is the delete-one-replicate jackknife
    (:func:`scalinglab.intervals.jackknife_interval`): the same computation without each replicate
    ladder in turn (a whole ladder, so that a held-out size is always compared with fits to the
    replicates that produced it), Student's t on replicates − 1 degrees of freedom. The evaluation
    windows are fixed and shared by every run, so they are a fixed part of the design, not a source of
    replicate noise. Preconditions: ``alpha_lo`` (lower end of the jackknife interval of α fitted on the
    smaller sizes) and ``top_gain`` (the relative gain of the largest model's mean loss over the largest
    fitted one's). Details report α with its interval, both laws' predictions and errors, the gap
    between them and the previous edition's statistic (the ratio of the two MAREs).
    Used by chapter 00 (:func:`analyse`, on its runs and on simulated ones).
    """
    n = np.asarray(n_params, float)
    data = np.asarray(losses, float)
    if data.ndim == 2:
        data = data[:, :, None]
    if data.ndim != 3 or data.shape[1] != len(n):
        raise ValueError(f"losses must have shape (replicates, sizes[, windows]) with {len(n)} sizes, "
                         f"got {np.shape(losses)}")
    if len(replicates) != data.shape[0]:
        raise ValueError(f"{len(replicates)} replicate ids for {data.shape[0]} replicates")
    order = np.argsort(n)
    n, data = n[order], data[:, order, :]
    run_means = data.mean(axis=2)  # (replicates, sizes): one held-out loss per run
    means = run_means.mean(axis=0)
    point = extrapolation_test(n, means, held_out)
    cache: dict[tuple, dict] = {}

    def test_on(rows) -> dict:
        key = tuple(rows)
        if key not in cache:
            cache[key] = extrapolation_test(n, run_means[list(rows)].mean(axis=0), held_out)
        return cache[key]

    rows = list(range(data.shape[0]))
    lo, hi = jackknife_interval(lambda g: test_on(g)["position"], rows)
    alpha_lo, alpha_hi = jackknife_interval(lambda g: test_on(g)["alpha"], rows)
    top_gain = float((means[-held_out - 1] - means[-1]) / means[-held_out - 1])
    details = {
        "alpha": point["alpha"], "alpha_lo": alpha_lo, "alpha_hi": alpha_hi, "log10_N_c": point["log10_N_c"],
        "gap": point["gap"], "mare_power": point["mare_power"], "mare_loglin": point["mare_loglin"],
        "mare_ratio": point["ratio"],
        "predicted_power": point["predicted_power"], "predicted_loglin": point["predicted_loglin"],
        "observed": point["observed"], "loglin_intercept": point["loglin_intercept"],
        "loglin_slope": point["loglin_slope"], "log_A": point["log_A"],
        "held_out_N": n[-held_out:].tolist(), "fitted_N": n[:-held_out].tolist(),
        "n_windows": int(data.shape[2]),
    }
    return {"K1": Measurement(estimate=point["position"], interval=(lo, hi), seeds=[int(r) for r in replicates],
                              preconditions={"alpha_lo": alpha_lo, "top_gain": top_gain}, details=details)}


def analyse(observed, settings: dict, seed: int = 0) -> dict[str, Measurement]:
    """K1 from a sweep as :func:`loss_array` returns it, ``(n_params, losses, replicates)`` — the real runs'
    or :func:`simulate`'s: ``{claim id: Measurement}`` (:func:`measure`). ``settings`` and ``seed`` are
    not used (the jackknife is deterministic); they are the simulation audit's protocol.
    Used by chapter 00 (on its runs) and by its simulation audit (on simulated ones), unchanged."""
    n_params, losses, replicates = observed
    return measure(n_params, losses, replicates, held_out=HELD_OUT)


# --- the simulation audit: worlds, simulate, truth (scalinglab.audit) -----------------------------------

#: Seed-to-seed noise of one run's best held-out loss, as a standard deviation of log loss, by size: pairs
#: (N, σ) for the ``ci`` ladder's sizes, measured on the chapter's real ``ci`` runs (see :data:`NOISE_SOURCE`).
#: Between two sizes σ is interpolated in log N; beyond the ends it stays at the nearest end's value.
SEED_SIGMA_BY_SIZE = ((888.0, 0.0113), (1908.0, 0.0131), (3312.0, 0.0141), (14496.0, 0.0201), (25472.0, 0.0265),
                      (56640.0, 0.0523), (150080.0, 0.0264))
#: The same noise as one number: the root mean square of :data:`SEED_SIGMA_BY_SIZE` over the sizes.
SEED_SIGMA_LOG = float(np.sqrt(np.mean(np.square([sd for _, sd in SEED_SIGMA_BY_SIZE]))))
#: Where :data:`SEED_SIGMA_BY_SIZE` comes from.
NOISE_SOURCE = ("the ci ladder at seeds 0, 1, 2 and 3 (three replicates of seven sizes each): at every size, the "
                "variance of the log best held-out loss over a seed's three replicates, averaged over the four "
                "seeds (8 degrees of freedom per size). It grows with size, from 0.011 at the smallest to 0.052 "
                "at the 57k-parameter model. A shift shared by all the sizes of one replicate (the sizes share "
                "its initialisation and data-order seeds) is a small part of it: the two-way residual sd is "
                "0.026 against 0.027 in all, and K1's position does not change when every loss of a ladder is "
                "multiplied by the same factor. The simulation draws every run independently")

#: The per-window spread of held-out losses around their run's mean (sd of log loss over windows): the
#: windows are fixed and shared by every run, so it shapes the simulated arrays but adds no replicate noise.
WINDOW_SIGMA_LOG = 0.3


@dataclass(frozen=True, kw_only=True)
class LadderWorld(World):
    """A synthetic truth for the ladder: the loss of a model with N non-embedding parameters,

    - ``law="power"``: L(N) = E + A·N^(−α), with E = 0 Kaplan et al.'s L = (N_c/N)^α (A = N_c^α);
    - ``law="log_linear"``: L(N) = a − b·ln N (a straight line on semi-log axes);

    and each run's loss multiplied by exp(σ(N)·z), z standard normal, one draw per run: σ(N) from
    ``sigma_by_size`` (pairs (N, σ), interpolated in log N, default :data:`SEED_SIGMA_BY_SIZE`), or ``sigma`` at
    every size when it is set. Build another world with :func:`dataclasses.replace`. Used by chapter 00's audit.
    """

    law: str = "power"
    E: float = 0.0
    A: float = 1.0
    alpha: float = 0.1
    a: float = 0.0
    b: float = 0.0
    sigma: float | None = None
    sigma_by_size: tuple = SEED_SIGMA_BY_SIZE

    def __post_init__(self):
        if self.law not in ("power", "log_linear"):
            raise ValueError(f"LadderWorld.law must be 'power' or 'log_linear', got {self.law!r}")

    def noise(self, n) -> np.ndarray:
        """σ(N): the standard deviation of a run's log loss at sizes ``n``."""
        n = np.asarray(n, float)
        if self.sigma is not None:
            return np.full(n.shape, float(self.sigma))
        at, sd = (np.asarray(v, float) for v in zip(*self.sigma_by_size))
        return np.interp(np.log(n), np.log(at), sd)

    def loss(self, n) -> np.ndarray:
        n = np.asarray(n, float)
        if self.law == "power":
            return self.E + self.A * n ** (-self.alpha)
        return self.a - self.b * np.log(n)


#: The paper world's law, fitted to the chapter's real ``ci`` means (see :data:`NOISE_SOURCE`):
#: L = (N_c/N)^α with α = :data:`PAPER_ALPHA` and log10 N_c = :data:`PAPER_LOG10_NC`.
PAPER_ALPHA = 0.11
PAPER_LOG10_NC = 6.08


def _ci_sizes() -> np.ndarray:
    s = PROFILES["ci"]
    return np.array([non_embedding_params(model_config(r, s["context_length"])) for r in s["ladder"]], float)


def anchored_world(law: str, description: str, *, E: float = 0.0, through=None) -> LadderWorld:
    """A world through the paper world's losses at the smallest and the largest size the ``ci`` ladder
    fits (its two anchor points ``through``, by default those): ``"log_linear"`` (a − b·ln N through both)
    or ``"power"`` with floor ``E`` (E + A·N^(−α) through both). Rivals drawn this way agree with the paper
    world where the fit starts and ends and part only in how they bend. Used by chapter 00's audit."""
    paper = LadderWorld(A=10 ** (PAPER_LOG10_NC * PAPER_ALPHA), alpha=PAPER_ALPHA)
    if through is None:
        sizes = _ci_sizes()
        through = (sizes[0], sizes[-HELD_OUT - 1])
    n1, n2 = through
    l1, l2 = (float(paper.loss(v)) for v in through)
    if law == "log_linear":
        b = (l1 - l2) / math.log(n2 / n1)
        return LadderWorld(law="log_linear", a=l1 + b * math.log(n1), b=b, description=description)
    if not 0 <= E < l2:
        raise ValueError(f"floor E = {E} must lie in [0, {l2:.3f}) (the loss at the largest anchor)")
    alpha = math.log((l1 - E) / (l2 - E)) / math.log(n2 / n1)
    return LadderWorld(E=E, A=(l1 - E) * n1 ** alpha, alpha=alpha, description=description)


def mirror_floor(position: float = -1.0) -> float:
    """The floor E of the anchored saturating world whose held-out losses lie ``position`` (in K1's units)
    from the power law's prediction on the ``ci`` ladder: −1 is as far beyond the power law, on the side of
    a floor, as the log-linear rival lies on the other. Bisection on the noise-free statistic. Used by
    chapter 00's audit."""
    sizes = _ci_sizes()
    lo, hi = 0.0, float(anchored_world("power", "").loss(sizes[-HELD_OUT - 1])) * 0.999
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        p = extrapolation_test(sizes, anchored_world("power", "", E=mid).loss(sizes))["position"]
        lo, hi = (mid, hi) if p > position else (lo, mid)
    return 0.5 * (lo + hi)


def _worlds() -> dict:
    floor = mirror_floor(-1.0)
    return {
        "paper": LadderWorld(A=10 ** (PAPER_LOG10_NC * PAPER_ALPHA), alpha=PAPER_ALPHA,
                             description=f"Kaplan's pure power law L = (N_c/N)^α, α = {PAPER_ALPHA}, "
                                         f"log10 N_c = {PAPER_LOG10_NC} (fitted to the chapter's runs)"),
        "log_linear": anchored_world("log_linear", "a loss linear in log N (a straight line on semi-log axes), "
                                     "through the paper world's losses at the smallest and largest fitted size"),
        "saturating": anchored_world("power", f"a saturating law E + A·N^(−α) with a floor E = {floor:.2f} "
                                     "nats/byte, through the same two losses: it bends as far beyond the power law "
                                     "at the held-out sizes as the log-linear rival does on the other side",
                                     E=floor),
    }


WORLDS = _worlds()


@functools.lru_cache(maxsize=8)
def _ladder_sizes(ladder: tuple, context_length: int) -> tuple:
    return tuple(float(non_embedding_params(model_config(r, context_length))) for r in ladder)


def simulate(world: LadderWorld, settings: dict, seed: int):
    """What :func:`loss_array` returns for the sweep :func:`ladder_specs` builds at ``settings`` — the same
    sizes, ``n_seeds`` replicate ladders and ``eval_windows`` windows — with each run's loss from
    ``world``: L(N)·exp(σ(N)·z), one draw per run, spread over the windows by a fixed per-window factor
    (shared by every run, mean 1, so that a run's mean over windows is exactly its loss). No training.
    Used by chapter 00's audit."""
    sizes = np.asarray(_ladder_sizes(tuple(tuple(r) for r in settings["ladder"]), settings["context_length"]))
    reps, windows = settings["n_seeds"], settings["eval_windows"]
    rng = np.random.default_rng(derive_seed(seed, "simulate"))
    run_loss = world.loss(sizes)[None, :] * np.exp(world.noise(sizes)[None, :] * rng.standard_normal((reps, len(sizes))))
    factor = np.exp(WINDOW_SIGMA_LOG * rng.standard_normal(windows))
    factor /= factor.mean()
    return sizes, run_loss[:, :, None] * factor[None, None, :], list(range(reps))


def truth(world: LadderWorld, settings: dict) -> dict[str, float]:
    """K1's statistic on the noise-free ladder of ``settings`` in ``world`` (every run at its world loss):
    0 in the paper world, 1 in the log-linear one. Used by chapter 00's audit."""
    sizes = np.asarray(_ladder_sizes(tuple(tuple(r) for r in settings["ladder"]), settings["context_length"]))
    return {"K1": float(extrapolation_test(sizes, world.loss(sizes))["position"])}


def design_rates(settings: dict, n_sims: int = 300, seed: int = 0,
                 worlds: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    """How K1's interval falls in each world of :data:`WORLDS` on the design ``settings`` (its sizes and
    replicate ladders), whatever profile decides the claim: over ``n_sims`` simulations, the share of
    intervals wholly inside the criterion (``inside``: it would be reproduced), wholly outside
    (``outside``) and straddling a threshold (``straddling``), and the median half-width. For the chapter's
    paragraph on power: the ``ci`` design's intervals beside the ``full`` design's. ``worlds``: the names of
    the worlds to simulate (default: all). Used by chapter 00."""
    out = {}
    criterion = CLAIMS[0].criterion
    for name, world in WORLDS.items():
        if worlds is not None and name not in worlds:
            continue
        counts = {True: 0, False: 0, None: 0}
        halves = []
        for i in range(n_sims):
            sim_seed = derive_seed(seed, "design-rates", name, i)
            lo, hi = analyse(simulate(world, settings, sim_seed), settings, sim_seed)["K1"].interval
            counts[criterion.decide(lo, hi) if math.isfinite(lo) and math.isfinite(hi) else None] += 1
            halves.append((hi - lo) / 2)
        out[name] = {"inside": counts[True] / n_sims, "outside": counts[False] / n_sims,
                     "straddling": counts[None] / n_sims, "median_half_width": float(np.nanmedian(halves))}
    return out


def replicates_for_power(settings: dict, target: float = 0.8, counts: Sequence[int] = (3, 6, 12, 18, 24, 30, 36),
                         n_sims: int = 200, seed: int = 0) -> dict:
    """How many replicate ladders the design ``settings`` (its sizes, windows and held-out split) would need
    for K1's interval to fall wholly inside the band on at least ``target`` of simulated power-law ladders
    (the ``paper`` world of :data:`WORLDS`, run-to-run noise :data:`SEED_SIGMA_BY_SIZE`): the share inside for
    each count of ``counts`` and the smallest count that reaches ``target`` (None if none does). Used by
    chapter 00, to say what deciding K1 at ``ci`` would cost."""
    inside = {}
    for r in counts:
        rates = design_rates(dict(settings, n_seeds=int(r)), n_sims=n_sims, seed=seed, worlds=("paper",))
        inside[int(r)] = rates["paper"]["inside"]
    enough = [r for r in inside if inside[r] >= target]
    return {"inside": inside, "needed": min(enough) if enough else None, "target": target}
