"""Chapter 05 (compute-optimal scaling): Kaplan's 0.73 and Chinchilla's 0.50, reconciled.

How should a compute budget C ≈ 6·N·D be split between parameters N and tokens D? Kaplan et al.
(2020) found N_opt ∝ C^0.73 counting non-embedding parameters; Hoffmann et al. (2022,
Chinchilla) found N_opt ∝ C^0.50 counting all of them. The analyses a researcher would run on their
own grid live in :mod:`scalinglab.isoflop` (and are importable from here under the same names):
Approach 2 (:func:`~scalinglab.isoflop.isoflop_minima`, :func:`~scalinglab.isoflop.approach2`), the
seed-noise resamples and the surface misfit, and the analytic reconciliation of Pearce & Song (2024)
(:func:`~scalinglab.isoflop.total_from_nonemb`, :func:`~scalinglab.isoflop.reconciled_exponents`);
Approach 3 is :func:`scalinglab.fit.fit_chinchilla_law`. This module holds what is chapter 05's own:

- **the published laws**: :data:`HOFFMANN_2022` and :data:`BESIROGLU_2024`
  (:class:`~scalinglab.fit.ChinchillaLaw`, L = E + A/N^α + B/D^β), Kaplan's and Chinchilla's exponents
  and Pearce & Song's k (:data:`PEARCE_SONG_K`), and :func:`reconciliation_statistic`, the reconciliation
  over Kaplan's range for both laws;
- **Approach 3 on the grid** as Besiroglu et al. (2024) fitted it — Huber loss (δ = 1e-3) on log-loss,
  summed over points, L-BFGS from a grid of starts (:func:`surface_starts`), bootstrap; a = β/(α+β) —
  and its residuals cell by cell (:func:`surface_residuals`);
- **published data** (:func:`load_gadre2024`, :func:`fit_gadre_law`, :func:`gadre_headline`):
  Gadre et al. (2024)'s runs, their law L(N, M) = E + a·N^b + b′·6^(b/2)·(M·N)^b fitted on their five
  small runs, the extrapolation to 1.4B at M = 640 and 6.9B at M = 20, and leave-one-out refits;
- **our IsoFLOP grid**: :class:`IsoFlopRun` (the run spec), :func:`isoflop_specs`, :func:`run_isoflop`,
  and :func:`analyse_grid`, Approaches 2 and 3 on its runs;
- the claims (:data:`CLAIMS`), profiles (:data:`PROFILES`, :data:`SMOKE_OVERRIDES`) and
  :func:`measure`, which turns runs into one :class:`~scalinglab.claims.Measurement` per claim; the
  simulation audit's worlds (:data:`WORLDS`), :func:`simulate`, :func:`analyse` and :func:`truth`.

Used by: chapter 05 (compute-optimal scaling).
"""

from __future__ import annotations

import csv
import functools
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy import optimize

from ..audit import World
from ..claims import Claim, Measurement, Precondition, Revision, at_least, at_most, between
from ..fit import ChinchillaLaw, SurfaceFit, fit_chinchilla_law
from ..intervals import jackknife_interval
# Approach 2, seed-noise resampling, the surface misfit and the Kaplan–Chinchilla reconciliation are generic
# (plain arrays in, no chapter settings): they live in scalinglab.isoflop, and are imported here so that
# ``compute_optimal.<name>`` names them too.
from ..isoflop import (KAPLAN_RANGE_NONEMB, KAPLAN_RANGE_TOTAL, Approach2Result, IsoFlopMinimum, _cell_residuals,
                       approach2, approach2_exponents, fit_embedding_relation, isoflop_minima, local_exponent_nonemb,
                       nonemb_from_total, optimal_n_nonemb, parabola_minimum, reconciled_exponents,
                       seed_noise_resamples, surface_misfit, total_from_nonemb)
from ..models import TransformerConfig
from ..seeds import derive_seed
from ..train import TrainConfig

# ---------------------------------------------------------------------------------------------
# Published laws and exponents (the reconciliation itself is scalinglab.isoflop's)
# ---------------------------------------------------------------------------------------------


#: Hoffmann et al. (2022) Approach 3, unrounded exponents (as in Pearce & Song's code).
HOFFMANN_2022 = ChinchillaLaw(E=1.6934, A=406.4, B=410.7, alpha=0.3392, beta=0.2849)
#: Besiroglu et al. (2024), the Epoch replication of Approach 3.
BESIROGLU_2024 = ChinchillaLaw(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)
#: Kaplan et al. (2020): N_opt ∝ C^0.73 (non-embedding); Hoffmann et al. (2022): ≈ 0.50 (total parameters).
KAPLAN_EXPONENT = 0.73
CHINCHILLA_EXPONENT = 0.50
#: Pearce & Song (2024): N_total ≈ N_nonemb + 47491·N_nonemb^(1/3) fits Chinchilla's model configurations.
PEARCE_SONG_K = 47491.0


# ---------------------------------------------------------------------------------------------
# Approach 3: the fitted surface's residuals, cell by cell
# ---------------------------------------------------------------------------------------------


def surface_residuals(table, law: ChinchillaLaw):
    """Figure data for the surface's misfit: one row per (budget, size) cell of a :func:`runs_table`
    with the cell mean loss, the surface's prediction and their log difference in standard errors of
    a cell mean (the unit of :func:`~scalinglab.isoflop.surface_misfit`; NaN with one seed per cell).
    Used by chapter 05's residual figure."""
    r = _cell_residuals(list(zip(table["budget_index"], table["size_index"])), table["n_total"], table["tokens"],
                        table["val_loss"], law)
    cells = table.iloc[r["first"]][["budget", "n_total", "tokens"]].reset_index(drop=True)
    cells["mean_loss"] = np.exp(r["mean_log"])
    cells["surface_loss"] = np.exp(r["pred_log"])
    cells["residual_se"] = (r["mean_log"] - r["pred_log"]) / (r["sigma"] / math.sqrt(r["k"]))
    return cells.sort_values(["budget", "n_total"]).reset_index(drop=True)



# ---------------------------------------------------------------------------------------------
# Published data: Gadre et al. (2024), mlfoundations/scaling
# ---------------------------------------------------------------------------------------------

GADRE_DIR = Path(__file__).resolve().parents[3] / "data" / "gadre2024"
#: The four small shapes Gadre et al. fit on (their ``fit_ds``): all at M = 20, plus d=96 at M = 320.
GADRE_FIT_MODELS = ("d=96_l=8_h=4", "d=512_l=8_h=4", "d=576_l=24_h=8", "d=1024_l=24_h=8")
#: The two held-out headline predictions: 1.4B at M = 640 and 6.9B at M = 20 (RedPajama, C4 eval loss).
GADRE_HEADLINE = (("open_lm_1b", 640.0), ("open_lm_7b", 20.0))


@dataclass(frozen=True)
class GadreLaw:
    """Gadre et al. (2024), Eq. 4 as in their code: L(N, M) = E + a·N^b + c·6^(b/2)·(M·N)^b, with
    b < 0 (one exponent for N and D = M·N). Used by chapter 05."""

    a: float
    c: float
    b: float
    E: float

    def loss(self, n, m) -> np.ndarray:
        n, m = np.asarray(n, float), np.asarray(m, float)
        return self.E + self.a * n ** self.b + self.c * 6 ** (self.b / 2) * (m * n) ** self.b


def load_gadre2024(path: str | Path | None = None) -> list[dict]:
    """The 104 model records shipped in ``data/gadre2024/models.csv`` (MIT, see its NOTICE): name,
    training set, shape, N (total and non-embedding), tokens, M = 20 × Chinchilla multiplier, C4
    eval loss and its 95 % interval. Used by chapter 05."""
    path = Path(path) if path is not None else GADRE_DIR / "models.csv"
    rows = []
    with open(path, newline="") as fh:
        for r in csv.DictReader(fh):
            rows.append({"name": r["name"], "dataset": r["dataset"], "model": r["model"],
                         "params": float(r["params"]), "params_no_embed": float(r["params_no_embed"]),
                         "tokens": float(r["tokens"]), "M": 20.0 * float(r["chinchilla_multiplier"]),
                         "loss": float(r["loss_c4_val"]), "loss_lo": float(r["loss_c4_val_lower_95"]),
                         "loss_hi": float(r["loss_c4_val_upper_95"])})
    return rows


def gadre_fit_points(rows: list[dict], dataset: str = "rpj") -> list[dict]:
    """Gadre et al.'s five fitting runs for ``dataset``: the four small shapes at M = 20 and the
    smallest at M = 320. Used by chapter 05."""
    pts = [r for r in rows if r["dataset"] == dataset and r["model"] in GADRE_FIT_MODELS
           and (r["M"] == 20.0 or (r["M"] == 320.0 and r["model"] == GADRE_FIT_MODELS[0]))]
    return sorted(pts, key=lambda r: (r["params"], r["M"]))


def fit_gadre_law(n, m, loss, starts=None) -> GadreLaw:
    """Their fit: least squares (``scipy.optimize.curve_fit``) from their grid of 128 starts, the start
    with the smallest residual kept (``scaling/laws.py: curve_fit_powlaw_ours``); ``starts`` (a list
    of (a, c, b, E)) replaces the grid, e.g. to warm-start refits. Used by chapter 05."""
    import warnings

    n, m, y = (np.asarray(v, float) for v in (n, m, loss))
    x = np.array([n, m])

    def law(x, a, c, b, e):
        return e + a * x[0] ** b + c * 6 ** (b / 2) * (x[1] * x[0]) ** b

    best, best_res = None, math.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grid = starts if starts is not None else itertools.product(
            [1e2, 3e2, 1e3, 3e3], [1e2, 3e2, 1e3, 3e3], [-0.1, -0.3], [0.0, 1.0, 2.0, 10.0])
        for p0 in grid:
            try:
                popt, _ = optimize.curve_fit(law, x, y, p0=list(p0), maxfev=10000)
            except (RuntimeError, ValueError, optimize.OptimizeWarning):
                continue
            r = y - law(x, *popt)
            res = float(np.sqrt(np.sum(r ** 2) / max(1, r.size - 2)))
            if np.isfinite(res) and res < best_res:
                best, best_res = popt, res
    if best is None:
        raise RuntimeError("no start of the Gadre fit converged")
    return GadreLaw(a=float(best[0]), c=float(best[1]), b=float(best[2]), E=float(best[3]))


def gadre_headline(rows: list[dict], dataset: str = "rpj", *, n_resamples: int = 200, seed: int = 0) -> dict:
    """Their headline extrapolation: the law fitted on the five small runs predicts the 1.4B model at
    M = 640 and the 6.9B model at M = 20; relative errors |pred − obs|/obs. Returns the errors, the
    statistic ``max_error`` (the larger of the two), an interval for it from refits to the five losses
    redrawn within their reported 95 % evaluation intervals (normal, σ = width/3.92), and leave-one-out
    refits (one of the five dropped, four parameters on four points). Used by chapter 05."""
    pts = gadre_fit_points(rows, dataset)
    if len(pts) != 5:
        raise ValueError(f"expected Gadre et al.'s 5 fitting runs for {dataset!r}, found {len(pts)}")
    held = []
    for model, m in GADRE_HEADLINE:
        match = [r for r in rows if r["dataset"] == dataset and r["model"] == model and r["M"] == m]
        if len(match) != 1:
            raise ValueError(f"no unique {model} at M = {m} for {dataset!r}")
        held.append(match[0])
    n = np.array([p["params"] for p in pts])
    mm = np.array([p["M"] for p in pts])
    y = np.array([p["loss"] for p in pts])
    sigma = np.array([(p["loss_hi"] - p["loss_lo"]) / 3.92 for p in pts])

    def errors(law):
        return np.array([abs(law.loss(h["params"], h["M"]) - h["loss"]) / h["loss"] for h in held])

    law = fit_gadre_law(n, mm, y)
    err = errors(law)
    warm = [(law.a, law.c, law.b, law.E), (3e2, 3e2, -0.3, 1.0)]
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(n_resamples):
        try:
            samples.append(float(errors(fit_gadre_law(n, mm, y + sigma * rng.standard_normal(len(y)), starts=warm)).max()))
        except RuntimeError:
            continue
    loo = []
    for i in range(len(pts)):
        keep = np.arange(len(pts)) != i
        try:
            e = errors(fit_gadre_law(n[keep], mm[keep], y[keep]))
        except RuntimeError:
            e = np.array([np.nan, np.nan])
        loo.append({"dropped": pts[i]["name"], "errors": e.tolist(), "max_error": float(np.nanmax(e))})
    from ..intervals import percentile_interval

    return {"law": law, "errors": err.tolist(), "max_error": float(err.max()),
            "interval": percentile_interval(samples), "samples": samples, "leave_one_out": loo,
            "held_out": [h["name"] for h in held], "fit_points": [p["name"] for p in pts],
            "predicted": [float(law.loss(h["params"], h["M"])) for h in held],
            "observed": [h["loss"] for h in held]}


# ---------------------------------------------------------------------------------------------
# Our IsoFLOP grid: byte-level transformers on the Python standard library
# ---------------------------------------------------------------------------------------------

#: The model family, smallest first: (n_layer, d_model). Head width 8 (n_head = max(1, d_model / 8)), an
#: UNTIED output head, context 64, vocabulary 256 (bytes). Shallow and wide at the small end, so that
#: the embeddings (token + position + output head: (2·256 + 64)·d_model parameters) are most of the
#: model there (90 % at d_model = 4, 84 % at 8, 74 % at 16) and a small share at the large end. The two
#: smallest members (d_model = 4 and 6, one head) let the lowest ci budget (10¹⁰ FLOPs) bracket its minimum.
CI_LADDER = ((1, 4), (1, 6), (1, 8), (1, 12), (1, 16), (1, 24), (1, 32), (2, 32), (2, 40), (2, 48), (3, 48), (3, 64),
             (4, 64), (4, 80))
FULL_LADDER = CI_LADDER + ((5, 96), (6, 112), (6, 128), (8, 160), (8, 192), (10, 224), (12, 256), (12, 320),
                           (16, 384))


def model_config(n_layer: int, d_model: int, context_length: int = 64):
    """The family member (n_layer, d_model): head width 8, untied output head, byte vocabulary.
    Used by chapter 05."""
    return TransformerConfig(vocab_size=256, context_length=context_length, n_layer=n_layer,
                             n_head=max(1, d_model // 8), d_model=d_model, tie_embeddings=False)


def param_counts(config) -> tuple[int, int]:
    """(N_total, N_nonemb) of a config. N_total counts every parameter (token and position embeddings,
    the untied output head, the blocks); N_nonemb is Kaplan's count (blocks and final norm only).
    Used by chapter 05."""
    from ..models import embedding_params, non_embedding_params

    n_e = non_embedding_params(config)
    return n_e + embedding_params(config), n_e


@dataclass(frozen=True)
class IsoFlopRun:
    """One run of the IsoFLOP grid: a model trained for exactly its budget C = 6·N_total·D (the step
    count rounds D to whole batches), cosine schedule to the end of the run. Used by chapter 05."""

    model: TransformerConfig
    train: TrainConfig
    budget: float  # nominal C, FLOPs (6·N_total·D)
    budget_index: int
    size_index: int  # index in the family ladder
    replicate: int
    init_seed: int
    corpus_bytes: int
    corpus_sha256: str
    eval_windows: int


def choose_window(ladder_log_n: Sequence[float], target_log_n: float, n_sizes: int) -> list[int]:
    """The ``n_sizes`` consecutive ladder members whose mean log N is nearest ``target_log_n``.
    Used by chapter 05 to centre each budget's sizes on a pre-registered guess of the optimum."""
    x = np.asarray(ladder_log_n, float)
    if n_sizes > len(x):
        raise ValueError(f"asked for {n_sizes} sizes from a ladder of {len(x)}")
    starts = range(0, len(x) - n_sizes + 1)
    best = min(starts, key=lambda s: abs(x[s:s + n_sizes].mean() - target_log_n))
    return list(range(best, best + n_sizes))


def isoflop_specs(settings: dict, seed: int, corpus_sha256: str) -> list[IsoFlopRun]:
    """The pre-registered grid of a profile: for each budget C the ``sizes_per_budget`` family members
    centred on N_guess(C) = ``centre_n``·(C/``centre_c``)^0.5, each at ``seeds`` replicates (init and
    data order from :func:`~scalinglab.seeds.derive_seed`). Used by chapter 05."""
    ladder = [tuple(x) for x in settings["ladder"]]
    configs = [model_config(L, d, settings["context_length"]) for L, d in ladder]
    log_nt = [math.log(param_counts(c)[0]) for c in configs]
    tokens_per_step = settings["batch_size"] * settings["context_length"]
    specs = []
    for bi, budget in enumerate(settings["budgets"]):
        target = math.log(settings["centre_n"]) + 0.5 * math.log(budget / settings["centre_c"])
        for si in choose_window(log_nt, target, settings["sizes_per_budget"]):
            n_total = param_counts(configs[si])[0]
            steps = max(1, int(round(budget / (6.0 * n_total * tokens_per_step))))
            for r in range(settings["seeds"]):
                train = TrainConfig(steps=steps, batch_size=settings["batch_size"], lr=settings["lr"],
                                    weight_decay=0.1, warmup_steps=max(1, int(settings["warmup_fraction"] * steps)),
                                    schedule="cosine", min_lr_ratio=settings["min_lr_ratio"], grad_clip=1.0,
                                    eval_every=0, seed=derive_seed(seed, "data-order", r))
                specs.append(IsoFlopRun(model=configs[si], train=train, budget=float(budget), budget_index=bi,
                                        size_index=si, replicate=r, init_seed=derive_seed(seed, "init", r),
                                        corpus_bytes=settings["corpus_bytes"], corpus_sha256=corpus_sha256,
                                        eval_windows=settings["eval_windows"]))
    return specs


def run_cost(spec: IsoFlopRun) -> float:
    """Estimated cost of a run (its FLOPs plus a per-step overhead), to submit the longest first."""
    return spec.budget + 2e7 * spec.train.steps


@functools.lru_cache(maxsize=2)
def _corpus(n_bytes: int):
    from ..data.text import python_stdlib_corpus

    return python_stdlib_corpus(n_bytes)


def corpus_hash(n_bytes: int) -> str:
    """SHA-256 of the byte corpus the grid trains on. Used by chapter 05."""
    return _corpus(n_bytes).sha256


def run_isoflop(spec: IsoFlopRun) -> dict:
    """Train one run of the grid and return its held-out loss (nats/byte, on ``eval_windows`` fixed
    windows of the validation stream, after the last step), its counts and FLOPs, and its work for the
    status page (``train_s``, seconds in training steps; ``model_flops``, PaLM's FLOPs per token × tokens).
    Used by chapter 05."""
    import torch

    from ..data.text import fixed_windows, random_windows
    from ..devices import default_device
    from ..models import Transformer, lm_loss
    from ..train import seeded, train

    corpus = _corpus(spec.corpus_bytes)
    if corpus.sha256 != spec.corpus_sha256:
        raise ValueError("the byte corpus differs from the one in the spec")
    cfg, tc = spec.model, spec.train
    model = seeded(lambda: Transformer(cfg), spec.init_seed)
    device = default_device()
    vx, vy = fixed_windows(corpus.val, spec.eval_windows, cfg.context_length)

    def batch_fn(generator):
        return random_windows(corpus.train, tc.batch_size, cfg.context_length, generator)

    def eval_fn(m):
        with torch.no_grad():
            losses = [lm_loss(m, (x.to(device), y.to(device))).item() * len(x)
                      for x, y in zip(vx.split(256), vy.split(256))]
        return {"val_loss": float(sum(losses) / len(vx))}

    result = train(model, tc, batch_fn, lm_loss, eval_fn, device=device, progress=False)
    n_total, n_nonemb = param_counts(cfg)
    tokens = tc.steps * tc.batch_size * cfg.context_length
    return {"val_loss": result.final["val_loss"], "n_total": n_total, "n_nonemb": n_nonemb, "tokens": tokens,
            "flops_total": 6.0 * n_total * tokens, "flops_nonemb": 6.0 * n_nonemb * tokens,
            "train_loss_end": float(np.mean(result.train_loss[-max(1, tc.steps // 20):])),
            "wall_time_s": result.wall_time_s, **result.work(cfg)}


# ---------------------------------------------------------------------------------------------
# Profiles, claims and the measurement
# ---------------------------------------------------------------------------------------------

#: ``ci``: 5 budgets over 1.3 decades (10¹⁰ – 2·10¹¹ FLOPs), 5 sizes each, 3 seeds (75 runs on 2
#: CPU cores; the third seed and the fifth budget were added because a pilot at a separate seed showed the
#: minima's location, hence a, too noisy with two seeds over one decade); ``full``: 5 budgets over two decades (10¹² – 10¹⁴; at most ≈ 3 epochs of the corpus), 7 sizes, 3 seeds, batches of 256 × 128
#: tokens (a GPU).
#: ``centre_n``/``centre_c``: the pre-registered guess of the optimum each budget's sizes are centred on.
PROFILES = {
    "ci": {"budgets": [1e10, 2e10, 4.5e10, 1e11, 2e11], "ladder": [list(x) for x in CI_LADDER],
           "sizes_per_budget": 5, "centre_n": 2.3e4, "centre_c": 1.3e11, "seeds": 3,
           "batch_size": 16, "context_length": 64, "lr": 1e-2, "warmup_fraction": 0.05,
           "min_lr_ratio": 0.1, "eval_windows": 256, "corpus_bytes": 10_000_000,
           "n_resamples": 1000, "n_surface_resamples": 100, "gadre_resamples": 200},
    "full": {"budgets": [1e12, 3.2e12, 1e13, 3.2e13, 1e14], "ladder": [list(x) for x in FULL_LADDER],
             "sizes_per_budget": 7, "centre_n": 2.3e4, "centre_c": 1.3e11, "seeds": 3,
             "batch_size": 256, "context_length": 128, "lr": 1e-2, "warmup_fraction": 0.05,
             "min_lr_ratio": 0.1, "eval_windows": 1024, "corpus_bytes": 10_000_000,
             "n_resamples": 2000, "n_surface_resamples": 400, "gadre_resamples": 1000},
}
#: ``smoke=True``: two tiny budgets, three sizes, one seed, few resamples — the code path only.
SMOKE_OVERRIDES = {"budgets": [2e9, 4e9], "sizes_per_budget": 3, "centre_n": 1.5e4, "centre_c": 2e9,
                   "seeds": 1, "eval_windows": 32, "n_resamples": 20, "n_surface_resamples": 5,
                   "gadre_resamples": 10}

#: Date of the criteria revised against the previous edition.
REVISED = "2026-12-01"

_INTERIOR = Precondition("interior", "smallest distance of an IsoFLOP minimum inside its budget's sizes "
                         "(fraction of the log-size range)", at_least(0.1))
_PREDICTED = Precondition("predicted_bias", "counting bias the analytic map predicts for this grid's family and "
                          "budgets (minima on the pre-registered guess, a = 0.5)", at_least(0.07))
_SURFACE = Precondition("surface_exponents", "smaller of the fitted α and β", at_least(0.02))
_SURFACE_FIT = Precondition("surface_fit", "RMS misfit of the fitted surface at the (budget, size) cell means, in "
                            "standard errors of a cell mean from seed noise", at_most(2.0))

#: C1's threshold: halfway between Chinchilla's exponent (0.50, Hoffmann et al. 2022, Table 2) and Kaplan's
#: (0.73, Kaplan et al. 2020, Fig. 14 / Eq. 6.6): an interval wholly below it is closer to Chinchilla's answer.
C1_THRESHOLD = round((CHINCHILLA_EXPONENT + KAPLAN_EXPONENT) / 2, 3)
_JACKKNIFE = ("delete-one-seed jackknife over the 3 seeds (every cell mean, parabola and slope recomputed "
              "without one seed), Student's t on seeds − 1 degrees of freedom")

CLAIMS = [
    Claim(id="C1", statement="At a fixed compute budget loss is minimised by an interior model size, and the "
          "optimal size grows as N_opt ∝ C^a with a closer to Chinchilla's 0.5 than to Kaplan's 0.73 when "
          "parameters and FLOPs are counted in full.",
          source="Hoffmann et al. 2022, Table 2 (Approach 2: a = 0.49); Kaplan et al. 2020 (0.73)",
          statistic="a (Approach 2, total parameters)", interval=_JACKKNIFE, method="jackknife_t",
          criterion=at_most(C1_THRESHOLD), preconditions=(_INTERIOR,), headline=True, rivals=("kaplan", "steep"),
          paper_value="0.49 (Approach 2); 0.46–0.51 (Approach 3 fits)",
          revisions=(Revision(REVISED, "0.35 ≤ a ≤ 0.65, with a percentile bootstrap over seed-noise redraws",
                              "the band [0.35, 0.65] comes from no paper, and the simulation audit showed that the "
                              "design cannot place the minima without bias: each budget's sizes are centred on a "
                              "C^0.5 guess, and a parabola fitted to an asymmetric valley is pulled towards the "
                              "window's centre, so a synthetic surface with a = 0.85 measured about 0.63, inside the old band. "
                              "The claim that this design can test is the one that separates the two papers: a "
                              "below the midpoint of Chinchilla's 0.50 and Kaplan's 0.73, audited against worlds "
                              "with a = 0.73 and a = 0.85; and a bootstrap over three seeds does not cover, so the "
                              "interval is a delete-one-seed jackknife"),)),
    Claim(id="C2", statement="Counting non-embedding parameters (and non-embedding FLOPs) at small scale raises the "
          "measured exponent, by at least half of what the counting argument predicts for the grid (≈ 0.10 at ci).",
          source="Pearce & Song 2024; Kaplan et al. 2020 (0.73)",
          statistic="a(non-embedding) − a(total) (Approach 2, same minima re-counted)",
          interval=_JACKKNIFE + ", the two countings paired", method="jackknife_t",
          criterion=at_least(0.05), preconditions=(_INTERIOR, _PREDICTED), paper_value="0.73 − 0.50 ≈ 0.23",
          decided_by=("full",), rivals=("no_embedding",),
          revisions=(Revision(REVISED, "a(non-embedding) − a(total) ≥ 0.10, decided at ci and full",
                              "the size of the counting bias is set by how fast the embedding share falls across the "
                              "sizes the minima cross, so the threshold must come from that prediction for our own "
                              "family, not from Kaplan's range: the analytic map predicts 0.10–0.11 on this grid, "
                              "and the claim tested is a bias of at least half that size. The simulation audit then "
                              "showed that the statistic re-counts the same minima along a fixed family, so on this "
                              "family it comes out positive in every world the audit simulates, whatever exponent "
                              "the runs have (Chinchilla's, Kaplan's or steeper): the counting map and the grid "
                              "decide it, not the runs. It is reported at every profile and decided only by a "
                              "design that also searches at fixed non-embedding compute"),)),
    Claim(id="C3", statement="Approaches 2 (IsoFLOP minima) and 3 (a fitted L(N, D)) agree on the exponent.",
          source="Hoffmann et al. 2022, Table 2 (0.49 vs 0.46); Besiroglu et al. 2024",
          statistic="a(Approach 2) − a(Approach 3), total parameters",
          interval=_JACKKNIFE + ", both approaches refitted on the same seeds", method="jackknife_t",
          criterion=between(-0.15, 0.15), preconditions=(_INTERIOR, _SURFACE, _SURFACE_FIT),
          paper_value="0.49 − 0.46 = 0.03", decided_by=("full",), rivals=("steep",),
          revisions=(Revision(REVISED, "the same criterion with two preconditions (interior minima; α, β ≥ 0.02), "
                              "decided at ci and full",
                              "a third precondition, that the surface describes the runs to within twice the "
                              "standard error of a cell mean: Approach 3's exponent is a property of its fitted "
                              "form, and compared with the minima it says something only where that form follows "
                              "the IsoFLOP valleys (added after the runs at seeds 1–3, when the surface missed the "
                              "cell means by about four standard errors at seed 1). The simulation audit then showed "
                              "that the ci design cannot make C3 false: even in a world with a = 0.85 the "
                              "window-centred parabolas' noise-free exponent differs from the surface's by only about "
                              "0.06, inside ±0.15, so no rival world the audit can build refutes it at ci; C3 is "
                              "reported at ci and decided only at full"),)),
    Claim(id="C4", statement="Chinchilla's law, re-measured in non-embedding parameters over Kaplan's range, gives "
          "Kaplan's exponent 0.73; in total parameters it gives 0.5.",
          source="Pearce & Song 2024 (0.74–0.78 and 0.46–0.51); Kaplan et al. 2020; Hoffmann et al. 2022",
          statistic="max(|a_nonemb − 0.73|, |a_total − 0.50|)",
          interval="range over the two published fits of Chinchilla's data (Hoffmann et al. 2022; Besiroglu et al. "
                   "2024) with k = 47491; the map itself is deterministic",
          criterion=at_most(0.05), paper_value="0.74 / 0.78 and 0.46 / 0.51", method="exact", evidence="published"),
    Claim(id="C5", statement="Gadre et al.'s law, fitted on five small runs, predicts the C4 loss of the 1.4B model "
          "at 640 tokens per parameter and the 6.9B model at 20 to within about 1 %.",
          source="Gadre et al. 2024, Fig. 1 (0.7 % relative error); data: mlfoundations/scaling",
          statistic="larger relative error of the two predictions",
          interval="refits to the five fitting losses redrawn within their published 95 % evaluation intervals "
                   "(normal, σ = width/3.92; 200 redraws)",
          criterion=at_most(0.015), paper_value="0.7 % for both", method="exact", evidence="published"),
]


def predicted_counting_bias(settings: dict, a: float = CHINCHILLA_EXPONENT, family=None) -> dict:
    """The counting bias C2 should see on this profile's grid, before any run: IsoFLOP minima placed
    exactly on N_opt = ``centre_n``·(C/``centre_c``)^a (the pre-registered guess, with the exponent
    ``a``) at the profile's budgets, re-counted along the profile's family by
    :func:`~scalinglab.isoflop.approach2_exponents`. Returns the total and non-embedding exponents and their difference;
    it depends only on the family's embedding share over the sizes the minima cross. ``family`` =
    (log N_total, log N_nonemb) of the model family (default: the profile's ladder). Used by chapter 05
    (C2's threshold is half of this prediction, and a precondition asks the grid for a prediction
    clearly above it)."""
    fam_t, fam_e = family if family is not None else family_log_counts(settings)
    minima = [IsoFlopMinimum(budget=float(c), log_n_opt=math.log(settings["centre_n"]) +
                             a * math.log(c / settings["centre_c"]), curvature=1.0, interior_margin=0.5,
                             coefficients=(0.0, 0.0, 1.0)) for c in settings["budgets"]]
    e = approach2_exponents(minima, fam_t, fam_e)
    return {"a": float(a), "total": e["total"], "nonemb": e["nonemb"], "difference": e["difference"]}


def family_log_counts(settings: dict) -> tuple[np.ndarray, np.ndarray]:
    """log N_total and log N_nonemb of every member of the profile's family. Used by chapter 05."""
    counts = [param_counts(model_config(L, d, settings["context_length"])) for L, d in settings["ladder"]]
    return np.log([c[0] for c in counts]), np.log([c[1] for c in counts])


def runs_table(specs: Sequence[IsoFlopRun], results: Sequence[dict]):
    """One row per run: budget, size, replicate, counts, tokens, loss. Used by chapter 05."""
    import pandas as pd

    return pd.DataFrame([{"budget": s.budget, "budget_index": s.budget_index, "size_index": s.size_index,
                          "n_layer": s.model.n_layer, "d_model": s.model.d_model, "replicate": s.replicate,
                          "steps": s.train.steps, **{k: r[k] for k in ("n_total", "n_nonemb", "tokens", "val_loss")},
                          "embedding_share": 1 - r["n_nonemb"] / r["n_total"]}
                         for s, r in zip(specs, results)])


@dataclass
class GridAnalysis:
    """Approach 2 and Approach 3 on one grid, with the paired bootstrap samples. Used by chapter 05."""

    approach2: Approach2Result
    surface: SurfaceFit
    c3_samples: list
    k_family: float
    reconciliation_ours: dict = field(default_factory=dict)
    predicted_bias: dict = field(default_factory=dict)
    surface_misfit: dict = field(default_factory=dict)


def analyse_grid(table, settings: dict, seed: int, family=None) -> GridAnalysis:
    """Approach 2 (both countings), Approach 3, and the analytic reconciliation with OUR fitted law and
    OUR family's k, on the runs of :func:`runs_table`. Resamples come from
    :func:`~scalinglab.isoflop.seed_noise_resamples` (strata = budgets) under ``derive_seed(seed, "bootstrap")``.
    ``family`` = (log N_total, log N_nonemb) of the model family (default: the profile's ladder). Used by
    chapter 05."""
    cells = list(zip(table["budget_index"], table["size_index"]))
    y = table["val_loss"].to_numpy(float)
    redraws = seed_noise_resamples(cells, y, settings["n_resamples"], seed=derive_seed(seed, "bootstrap"),
                                   strata=table["budget_index"].to_numpy())
    fam_t, fam_e = family if family is not None else family_log_counts(settings)
    log_nt = np.log(table["n_total"].to_numpy(float))
    a2 = approach2(table["budget"].to_numpy(float), log_nt, y, fam_t, fam_e, resampled_losses=redraws)
    m = settings["n_surface_resamples"]
    surface = fit_chinchilla_law(table["n_total"].to_numpy(float), table["tokens"].to_numpy(float), y,
                                 resampled_losses=redraws[:m])
    c3 = [t - s for t, s in zip(a2.samples["total"][:m], surface.a_samples)]
    misfit = surface_misfit(cells, table["n_total"].to_numpy(float), table["tokens"].to_numpy(float), y, surface.law)
    k = fit_embedding_relation(np.exp(fam_e), np.exp(fam_t))
    budgets = settings["budgets"]
    ours = {}
    try:
        share = np.exp(fam_e - fam_t)
        ours = reconciled_exponents(surface.law, k, range_nonemb=(min(budgets) * float(share.min()), max(budgets)),
                                    range_total=(min(budgets), max(budgets)), n_points=30)
    except (ValueError, FloatingPointError, OverflowError, ZeroDivisionError):
        pass
    predicted = predicted_counting_bias(settings, family=(fam_t, fam_e))
    return GridAnalysis(approach2=a2, surface=surface, c3_samples=c3, k_family=k, reconciliation_ours=ours,
                        predicted_bias=predicted, surface_misfit=misfit)


def reconciliation_statistic(laws: Sequence[ChinchillaLaw] = (HOFFMANN_2022, BESIROGLU_2024), k: float = PEARCE_SONG_K,
                             kaplan: float = KAPLAN_EXPONENT, chinchilla: float = CHINCHILLA_EXPONENT) -> dict:
    """C4's statistic for each law: max(|a_nonemb − kaplan|, |a_total − chinchilla|) from
    :func:`~scalinglab.isoflop.reconciled_exponents` over Pearce & Song's ranges. Used by chapter 05."""
    out = []
    for law in laws:
        e = reconciled_exponents(law, k)
        out.append({**e, "statistic": max(abs(e["nonemb"] - kaplan), abs(e["total"] - chinchilla))})
    return {"per_law": out, "estimate": out[-1]["statistic"],
            "interval": (min(o["statistic"] for o in out), max(o["statistic"] for o in out))}


def measure(grid: GridAnalysis | None, gadre: dict, reconciliation: dict, seeds: Sequence[int]) -> dict:
    """One :class:`~scalinglab.claims.Measurement` per claim of :data:`CLAIMS`, from the grid analysis
    (C1–C3), :func:`reconciliation_statistic` (C4) and :func:`gadre_headline` (C5). Used by chapter 05."""
    from ..intervals import percentile_interval

    seeds = list(seeds)
    out = {}
    if grid is not None:
        a2 = grid.approach2
        pre = {"interior": a2.min_interior_margin}
        out["C1"] = Measurement(a2.exponents["total"], percentile_interval(a2.samples["total"]), seeds, dict(pre),
                                {"n_opt": a2.exponents.get("n_opt_total"), "budgets": a2.exponents.get("budgets")})
        out["C2"] = Measurement(a2.exponents["difference"], percentile_interval(a2.samples["difference"]), seeds,
                                {**pre, "predicted_bias": grid.predicted_bias.get("difference", float("nan"))},
                                {"a_nonemb": a2.exponents["nonemb"], "a_total": a2.exponents["total"],
                                 "a_nonemb_interval": percentile_interval(a2.samples["nonemb"]),
                                 "predicted": grid.predicted_bias})
        law = grid.surface.law
        out["C3"] = Measurement(a2.exponents["total"] - grid.surface.a, percentile_interval(grid.c3_samples), seeds,
                                {**pre, "surface_exponents": min(law.alpha, law.beta),
                                 "surface_fit": grid.surface_misfit.get("ratio", float("nan"))},
                                {"a_approach3": grid.surface.a, "a_approach3_interval": grid.surface.a_interval,
                                 "law": law.to_dict(), "surface_misfit": grid.surface_misfit})
    out["C4"] = Measurement(reconciliation["estimate"], tuple(reconciliation["interval"]), [],
                            {}, {"per_law": reconciliation["per_law"]})
    out["C5"] = Measurement(gadre["max_error"], tuple(gadre["interval"]), [], {},
                            {"errors": gadre["errors"], "leave_one_out": gadre["leave_one_out"]})
    return out


def measure_published(gadre: dict, reconciliation: dict) -> dict:
    """C4 and C5, the claims computed from published numbers alone (no seeds, method ``exact``): from
    :func:`reconciliation_statistic` and :func:`gadre_headline`. Used by chapter 05."""
    return {"C4": Measurement(reconciliation["estimate"], tuple(reconciliation["interval"]), [], {},
                              {"per_law": reconciliation["per_law"]}),
            "C5": Measurement(gadre["max_error"], tuple(gadre["interval"]), [], {},
                              {"errors": gadre["errors"], "leave_one_out": gadre["leave_one_out"]})}


# ---------------------------------------------------------------------------------------------
# The simulation audit: worlds, simulate, analyse, truth (scalinglab.audit)
# ---------------------------------------------------------------------------------------------

#: Seed-to-seed noise of a run's held-out loss, as a standard deviation of log loss. Calibrated on the
#: previous edition's real ci runs at seed 0: its C1 interval, a percentile bootstrap over redrawn seed
#: residuals (:func:`~scalinglab.isoflop.seed_noise_resamples`), was 0.385 [0.355, 0.409]; the same bootstrap on this
#: simulator's paper world gives that half-width (≈ 0.027) at σ ≈ 0.008 (0.020 at σ = 0.006, 0.033 at
#: σ = 0.010; eight simulated grids each). The chapter's residual figure reports the seed spread of each run.
SEED_SIGMA_LOG = 0.008


@dataclass(frozen=True, kw_only=True)
class ComputeWorld(World):
    """A synthetic truth for the IsoFLOP grid: L(N, D) = E + A/N^α + B/D^β (Hoffmann et al. 2022, Eq. 2) in
    TOTAL parameters, and each run's loss multiplied by exp(σ·z) (``sigma``: seed-to-seed noise of log
    loss, :data:`SEED_SIGMA_LOG`). ``embedding_share_scale`` scales the embedding part of each member's
    count as the experimenter records it (1: the real family; 0: a family whose embeddings are a
    negligible share, where counting one way or the other cannot matter). Used by chapter 05's audit."""

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    sigma: float = SEED_SIGMA_LOG
    embedding_share_scale: float = 1.0

    @property
    def law(self) -> ChinchillaLaw:
        return ChinchillaLaw(self.E, self.A, self.B, self.alpha, self.beta)


def world_with_exponent(a: float, description: str, *, alpha_plus_beta: float = 0.8, E: float = 1.0,
                        reducible_at_pivot: float = 1.2, pivot_n: float = 2.3e4, pivot_c: float = 1.3e11,
                        **kw) -> ComputeWorld:
    """A :class:`ComputeWorld` with N_opt ∝ C^a (β = a·(α+β)), whose optimum at ``pivot_c`` FLOPs is
    ``pivot_n`` parameters (the ci grid's pre-registered centre, so that every world's minima lie in
    the grid's windows) and whose parameter term is ``reducible_at_pivot`` nats there (a byte-level loss
    of about 2–3 nats, E = 1). Used by chapter 05."""
    beta = a * alpha_plus_beta
    alpha = alpha_plus_beta - beta
    A = reducible_at_pivot * pivot_n ** alpha
    # N_opt = G·(C/6)^a with G = (αA/(βB))^(1/(α+β))  =>  B = αA / (β·G^(α+β))
    g = pivot_n / (pivot_c / 6.0) ** a
    B = alpha * A / (beta * g ** alpha_plus_beta)
    return ComputeWorld(E=E, A=float(A), B=float(B), alpha=float(alpha), beta=float(beta), description=description,
                        **kw)


WORLDS = {
    "paper": world_with_exponent(CHINCHILLA_EXPONENT, "Chinchilla's allocation: N_opt ∝ C^0.5 (α = β = 0.4), loss "
                                 "in total parameters, the real family's embedding share"),
    "kaplan": world_with_exponent(KAPLAN_EXPONENT, "Kaplan's allocation: N_opt ∝ C^0.73 (α = 0.216, β = 0.584), "
                                  "same optimum at the grid's centre"),
    "steep": world_with_exponent(0.85, "a steeper allocation: N_opt ∝ C^0.85 (α = 0.12, β = 0.68), same optimum at "
                                 "the grid's centre"),
    "no_embedding": world_with_exponent(CHINCHILLA_EXPONENT, "Chinchilla's allocation on a family whose embeddings "
                                        "are a negligible share: both countings record the same N",
                                        embedding_share_scale=0.0),
}


@functools.lru_cache(maxsize=8)
def _design(key: tuple) -> tuple:
    """The grid of a profile as arrays (budget, indices, replicate, N_total, N_nonemb, tokens), one per run."""
    settings = dict(key)
    settings["ladder"] = [list(x) for x in settings["ladder"]]
    specs = isoflop_specs(settings, 0, "simulated")
    rows = []
    for s in specs:
        n_t, n_e = param_counts(s.model)
        rows.append((s.budget, s.budget_index, s.size_index, s.replicate, s.model.n_layer, s.model.d_model,
                     s.train.steps, n_t, n_e, s.train.steps * s.train.batch_size * s.model.context_length))
    return tuple(rows)


def _settings_key(settings: dict) -> tuple:
    return tuple(sorted((k, tuple(tuple(x) for x in v) if k == "ladder" else
                         (tuple(v) if isinstance(v, list) else v)) for k, v in settings.items()))


def simulate(world: ComputeWorld, settings: dict, seed: int):
    """A :func:`runs_table` of the grid :func:`isoflop_specs` builds at ``settings`` (the same budgets,
    windows, sizes, step counts and seeds), with each run's loss from ``world`` — L(N_total, D) times
    exp(σ·z), z standard normal, one draw per run. No training. Used by chapter 05's audit."""
    import pandas as pd

    rows = _design(_settings_key(settings))
    arr = np.array([r[7:] for r in rows], float)
    n_t, n_e, tokens = arr[:, 0], arr[:, 1], arr[:, 2]
    n_e_rec = n_t - world.embedding_share_scale * (n_t - n_e)
    rng = np.random.default_rng(derive_seed(seed, "simulate"))
    loss = world.law.loss(n_t, tokens) * np.exp(world.sigma * rng.standard_normal(len(rows)))
    frame = pd.DataFrame([{"budget": r[0], "budget_index": r[1], "size_index": r[2], "n_layer": r[4],
                           "d_model": r[5], "replicate": r[3], "steps": r[6]} for r in rows])
    frame["n_total"], frame["n_nonemb"], frame["tokens"], frame["val_loss"] = n_t, n_e_rec, tokens, loss
    frame["embedding_share"] = 1 - frame["n_nonemb"] / frame["n_total"]
    return frame


def table_family(table) -> tuple[np.ndarray, np.ndarray]:
    """(log N_total, log N_nonemb) of the family members a runs table contains (one per size index), as
    the experimenter counted them. Used by chapter 05."""
    first = table.drop_duplicates("size_index").sort_values("n_total")
    return np.log(first["n_total"].to_numpy(float)), np.log(first["n_nonemb"].to_numpy(float))


def analyse(observed, settings: dict, seed: int) -> dict:
    """C1–C3 from a :func:`runs_table` (real runs, or :func:`simulate`'s): ``{claim id: Measurement}``.

    Each statistic is computed from all seeds together (cell means over seeds, one parabola per budget,
    the slopes; Approach 3 fitted to every run) and its interval is the delete-one-seed jackknife
    (:func:`scalinglab.intervals.jackknife_interval`): the same computation without each seed in turn,
    Student's t on seeds − 1 degrees of freedom. The family (both counts of every member) is read from
    the table. ``seed`` is unused (the jackknife is deterministic); it is kept for the audit's protocol.
    Used by chapter 05 (on its runs) and by its simulation audit (on simulated ones), unchanged."""
    table = observed
    fam_t, fam_e = table_family(table)
    replicates = sorted(set(table["replicate"].tolist()))
    budget = table["budget"].to_numpy(float)
    log_nt = np.log(table["n_total"].to_numpy(float))
    n, d, y = (table[c].to_numpy(float) for c in ("n_total", "tokens", "val_loss"))
    rep = table["replicate"].to_numpy()
    cells = list(zip(table["budget_index"], table["size_index"]))

    def a2(groups):
        m = np.isin(rep, list(groups))
        return approach2(budget[m], log_nt[m], y[m], fam_t, fam_e)

    full_a2 = a2(replicates)
    surface = fit_chinchilla_law(n, d, y, n_bootstrap=0, starts=surface_starts(n, d, y))
    cache = {tuple(replicates): (full_a2, surface.a)}

    def both(groups):
        key = tuple(groups)
        if key not in cache:
            m = np.isin(rep, list(groups))
            s = fit_chinchilla_law(n[m], d[m], y[m], n_bootstrap=0, starts=[surface.law])
            cache[key] = (a2(groups), s.a)
        return cache[key]

    def stat(name):
        return lambda gs: both(gs)[0].exponents[name]

    c1_int = jackknife_interval(stat("total"), replicates)
    c2_int = jackknife_interval(stat("difference"), replicates)
    c3_int = jackknife_interval(lambda gs: both(gs)[0].exponents["total"] - both(gs)[1], replicates)
    seeds = list(replicates)
    pre = {"interior": full_a2.min_interior_margin}
    predicted = predicted_counting_bias(settings, family=(fam_t, fam_e))
    misfit = surface_misfit(cells, n, d, y, surface.law)
    law = surface.law
    ex = full_a2.exponents
    return {
        "C1": Measurement(ex["total"], c1_int, seeds, dict(pre), {"n_opt": ex.get("n_opt_total"),
                                                                  "budgets": ex.get("budgets")}),
        "C2": Measurement(ex["difference"], c2_int, seeds, {**pre, "predicted_bias": predicted["difference"]},
                          {"a_nonemb": ex["nonemb"], "a_total": ex["total"], "predicted": predicted}),
        "C3": Measurement(ex["total"] - surface.a, c3_int, seeds,
                          {**pre, "surface_exponents": min(law.alpha, law.beta), "surface_fit": misfit["ratio"]},
                          {"a_approach3": surface.a, "law": law.to_dict(), "surface_misfit": misfit}),
    }


def surface_starts(n, d, loss) -> list[ChinchillaLaw]:
    """Nine starting laws for Approach 3 on a grid (α, β each 0.2, 0.45 or 0.9; E half the smallest loss;
    each power term 0.3 of it at the geometric-mean N and D): fewer than the library's 72 starts, so
    that the audit can refit hundreds of simulated grids. Used by chapter 05 (:func:`analyse`)."""
    n, d, y = (np.asarray(v, float) for v in (n, d, loss))
    n_ref, d_ref, y_min = float(np.exp(np.log(n).mean())), float(np.exp(np.log(d).mean())), float(y.min())
    return [ChinchillaLaw(E=0.5 * y_min, A=0.3 * y_min * n_ref ** al, B=0.3 * y_min * d_ref ** be, alpha=al, beta=be)
            for al in (0.2, 0.45, 0.9) for be in (0.2, 0.45, 0.9)]


def truth(world: ComputeWorld, settings: dict) -> dict:
    """The value each of C1–C3's estimators converges to in ``world`` on this design: the statistic of the
    noise-free grid (every run at its world loss; the minima, slopes and surface of the design with no
    seed noise). It includes the design's own bias (windows centred on a C^0.5 guess), which the rival
    worlds' false-positive rates measure; the coverage asks whether the interval covers what the design
    estimates. Used by chapter 05's audit."""
    import dataclasses

    quiet = dataclasses.replace(world, sigma=0.0)
    one = {**settings, "seeds": 2}
    m = analyse(simulate(quiet, one, 0), one, 0)
    return {k: float(v.estimate) for k, v in m.items()}
