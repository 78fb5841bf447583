"""Knowledge capacity: how many bits of random facts a transformer stores per parameter.

A ladder of transformers (the library's :class:`~scalinglab.models.Transformer`, trained with
:func:`~scalinglab.train.train`) learns tables of random facts (:mod:`scalinglab.data.facts`): each
value is uniform over K choices, so it carries log₂ K bits that only memorisation can recover. Every
individual (one training sequence: its name, then its values) is seen exactly ``exposures`` times —
the data order is a fresh random permutation per epoch.

**Stored bits.** For each training fact, the model's cross-entropy on the value in bits (its full
next-token distribution, all tokens of the vocabulary) gives a saving ``log₂ K − CE`` over guessing;
the issue-level measure is Σ_facts max(0, log₂ K − CE) (:func:`stored_bits`). Without the clipping
the sum is a lower bound on what the weights hold about the values (a code that uses the model needs
Σ CE bits; Morris et al. 2025's compression argument). The clipping keeps confident errors from
cancelling facts that are known, but it also counts chance savings on facts the model does not know;
the chapter therefore measures the same sum on a **control** table — the same names with values
drawn afresh, which the model has never seen — and reports *net* stored bits = stored(train) −
stored(control) (:func:`net_stored_bits`). On the trained models the net figure is within a few per
cent of the unclipped lower bound (both are reported).

**Capacity** is a size's peak of net stored bits over the grid of table sizes (Allen-Zhu & Li also
take the peak over data sizes). Bits per parameter divide by all parameters (:math:`P`, tied
embeddings counted once) or by the non-embedding parameters (:math:`N`); the capacity law (Q2) is
pre-registered on :math:`N` (the embedding's share of :math:`P` changes along the ladder), the
ratios (Q3–Q5) on :math:`P`, as the papers divide by model size.

Used by: chapter 06 (knowledge capacity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..claims import Claim, Measurement, Precondition, at_least, at_most, between
from ..data.facts import IGNORE, FactSet, lm_tensors, random_facts
from ..devices import default_device
from ..intervals import t_interval
from ..models import Transformer, TransformerConfig, lm_loss
from ..seeds import derive_seed
from ..train import TrainConfig, seeded, train

# --- profiles ---------------------------------------------------------------------------------------

#: Settings of the two profiles. ``widths``: d_model of the ladder (one layer at ci); ``individuals``:
#: the grid of data-set sizes (individuals; facts = individuals × attributes) trained at the highest
#: exposure; the other exposure levels are trained on the largest data set only.
PROFILES = {
    "ci": {"widths": [6, 8, 12, 16, 24, 32], "n_layer": 1, "head_dim": 16,
           "individuals": [128, 256, 512], "exposures": [30, 100],
           "n_attributes": 32, "n_values": 32, "name_length": 3, "name_symbols": 32,
           "batch_size": 32, "lr": 1e-2, "lr_width": 32, "replicates": 5},
    "full": {"widths": [16, 32, 64, 96], "n_layer": 2, "head_dim": 16,
             "individuals": [2048, 4096, 8192, 16384], "exposures": [100, 300, 1000],
             "n_attributes": 32, "n_values": 32, "name_length": 3, "name_symbols": 32,
             "batch_size": 128, "lr": 1e-2, "lr_width": 32, "replicates": 3},
}
#: ``smoke=True``: the full code path on a CPU in seconds (decides nothing).
SMOKE_OVERRIDES = {"widths": [8, 16], "individuals": [32, 64], "exposures": [2, 4], "replicates": 2,
                   "n_attributes": 8, "batch_size": 16}

#: The papers' bits per parameter, drawn as reference lines (ratio, label): Allen-Zhu & Li 2024 at 100
#: and 1000 exposures, Morris et al. 2025 trained to convergence.
REFERENCE_RATIOS = [(1.0, "1 bit/param (Allen-Zhu & Li, 100 exposures)"),
                    (2.0, "2 bits/param (Allen-Zhu & Li, 1000 exposures)"),
                    (3.6, "3.6 bits/param (Morris et al.)")]

#: The exposure at which the papers' 100-exposure figure is compared (Q3) and the full-scale one (Q3F).
Q3_EXPOSURES = 100
Q3F_EXPOSURES = 1000

# --- claims -----------------------------------------------------------------------------------------

_PLATEAU = Precondition("plateau_growth", "growth of stored bits when the largest data set doubled (mean over "
                        "sizes and replicates)", at_most(1.25))
_EXCEEDS = Precondition("data_over_capacity", "bits in the largest data set over the most any model stored",
                        at_least(2.0))
_DECADE = Precondition("param_range", "ratio of the largest to the smallest non-embedding parameter count",
                       at_least(10.0))
_T3 = "t interval (95 %) over replicates (each replicate: its own facts, initialisations and data order)"

CLAIMS = [
    Claim(id="Q1", statement="Stored bits plateau once the number of facts exceeds the model's capacity.",
          source="Morris et al. 2025 (memorisation plateaus at capacity on random data); Allen-Zhu & Li 2024, Sec. 4",
          statistic="growth of stored bits when the facts double at the top of the grid (mean over sizes)",
          interval=_T3, criterion=at_most(1.25), preconditions=(_EXCEEDS,),
          paper_value="a plateau: stored bits stop growing with data size"),
    Claim(id="Q2", statement="Capacity grows linearly with parameters: capacity ∝ N.",
          source="Allen-Zhu & Li 2024, Fig. 1 (bits = 2·P at 1000 exposures); Morris et al. 2025 (capacity ≈ 3.6·P)",
          statistic="log–log slope of capacity (peak stored bits over data sizes) on non-embedding parameters N",
          interval=_T3, criterion=between(0.75, 1.25), preconditions=(_PLATEAU, _EXCEEDS, _DECADE),
          paper_value="1 (a linear law)", headline=True),
    Claim(id="Q3", statement="At 100 exposures a model stores about 1 bit per parameter.",
          source="Allen-Zhu & Li 2024, Fig. 1 (GPT-2 on bioS(N)): peak capacity ratio ≥ 1 bit/param at 100 exposures",
          statistic="capacity (peak stored bits) per parameter P at 100 exposures (mean over sizes)",
          interval=_T3, criterion=between(0.5, 2.0), preconditions=(_PLATEAU, _EXCEEDS),
          paper_value="≈ 1 bit/param (Allen-Zhu & Li, GPT-2, 100 exposures)"),
    Claim(id="Q3F", statement="Sufficiently trained (1000 exposures), a model stores 2–3.6 bits per parameter.",
          source="Allen-Zhu & Li 2024, Fig. 1 (≥ 2 bits/param at 1000 exposures); Morris et al. 2025, abstract (≈ 3.6 bits/param)",
          statistic="capacity (peak stored bits) per parameter P at the highest exposure (mean over sizes)",
          interval=_T3, criterion=between(1.5, 4.5), preconditions=(_PLATEAU, _EXCEEDS),
          decided_by=("full",), paper_value="2 (Allen-Zhu & Li); 3.51 bf16 / 3.83 fp32 (Morris et al.)"),
    Claim(id="Q4", statement="Fewer exposures store fewer bits per parameter.",
          source="Allen-Zhu & Li 2024, Fig. 1: ≥ 1 bit/param at 100 exposures against ≥ 2 at 1000",
          statistic="bits per parameter on the largest table at the lowest exposure over the highest (mean over sizes)",
          interval=_T3, criterion=at_most(0.9), preconditions=(_PLATEAU, _EXCEEDS),
          paper_value="0.5 for 10× fewer exposures"),
    Claim(id="Q5", statement="Knowledge survives int8 quantisation of the weights.",
          source="Allen-Zhu & Li 2024, abstract and quantisation section: int8 keeps 2 bits/param; int4 falls to ≈ 0.7",
          statistic="stored bits on the largest table after int8 weight quantisation over before (mean over sizes)",
          interval=_T3, criterion=at_least(0.9), preconditions=(_PLATEAU, _EXCEEDS),
          paper_value="≈ 1 (no loss at int8)"),
]

# --- run specs and the run function -------------------------------------------------------------------


@dataclass(frozen=True)
class FactsSpec:
    """Which random fact table: its shape and the seed it is drawn from."""

    n_individuals: int
    n_attributes: int
    n_values: int
    name_length: int
    name_symbols: int
    seed: int

    def build(self) -> FactSet:
        return random_facts(self.n_individuals, self.n_attributes, self.n_values, self.seed,
                            name_length=self.name_length, name_symbols=self.name_symbols)


@dataclass(frozen=True)
class CapacitySpec:
    """One run of chapter 06: a transformer trained on one fact table for ``exposures`` epochs.

    ``train.steps`` × ``train.batch_size`` = ``exposures`` × individuals exactly (checked), so every
    individual is seen exactly ``exposures`` times. ``control_seed`` draws the control values.
    """

    model: TransformerConfig
    train: TrainConfig
    facts: FactsSpec
    exposures: int
    init_seed: int
    control_seed: int
    replicate: int

    def __post_init__(self):
        if self.train.steps * self.train.batch_size != self.exposures * self.facts.n_individuals:
            raise ValueError("CapacitySpec: steps × batch_size must equal exposures × individuals "
                             f"({self.train.steps} × {self.train.batch_size} ≠ {self.exposures} × {self.facts.n_individuals})")
        if self.facts.n_individuals % self.train.batch_size:
            raise ValueError("CapacitySpec: the number of individuals must be a multiple of the batch size")


def model_config(width: int, settings: dict) -> TransformerConfig:
    """The ladder's transformer of ``d_model = width`` for a profile's settings (chapter 06)."""
    vocab = settings["name_symbols"] + settings["n_values"]
    context = settings["name_length"] + settings["n_attributes"] - 1
    return TransformerConfig(vocab_size=vocab, context_length=context, n_layer=settings["n_layer"],
                             n_head=max(1, width // settings["head_dim"]), d_model=width)


def make_specs(settings: dict, seed: int) -> list[CapacitySpec]:
    """Every run of chapter 06 at a profile: per replicate and width, the grid of data-set sizes at
    the highest exposure and the largest data set at every lower exposure. Facts, initialisation,
    data order and control values draw from named seed streams of ``seed`` and the replicate."""
    specs = []
    top = max(settings["exposures"])
    largest = max(settings["individuals"])
    runs = [(m, top) for m in settings["individuals"]] + [(largest, e) for e in settings["exposures"] if e != top]
    for r in range(settings["replicates"]):
        data_seed = derive_seed(seed, "facts", r)
        for width in settings["widths"]:
            config = model_config(width, settings)
            lr = settings["lr"] * min(1.0, settings["lr_width"] / width)
            for m, exposures in runs:
                batch = min(settings["batch_size"], m)
                steps = m * exposures // batch
                facts = FactsSpec(n_individuals=m, n_attributes=settings["n_attributes"],
                                  n_values=settings["n_values"], name_length=settings["name_length"],
                                  name_symbols=settings["name_symbols"], seed=data_seed)
                train_config = TrainConfig(steps=steps, batch_size=batch, lr=lr, weight_decay=0.0,
                                           warmup_steps=min(100, steps // 10),
                                           seed=derive_seed(seed, "data-order", r, width, m, exposures))
                specs.append(CapacitySpec(model=config, train=train_config, facts=facts, exposures=exposures,
                                          init_seed=derive_seed(seed, "init", r, width),
                                          control_seed=derive_seed(seed, "control-values", r), replicate=r))
    return specs


def spec_cost(spec: CapacitySpec) -> float:
    """Relative cost of a run (steps × parameters), for :func:`scalinglab.runs.sweep`'s ordering (chapter 06)."""
    width = spec.model.d_model
    return spec.train.steps * (12 * spec.model.n_layer * width * width + 64 * width)


def value_ce_bits(model: nn.Module, facts: FactSet, batch_size: int = 1024) -> np.ndarray:
    """(individuals, attributes) cross-entropy in bits of each value under ``model`` (its full
    next-token distribution, given the name and the earlier values). Used by chapter 06."""
    inputs, targets = lm_tensors(facts)
    try:
        device = next(model.parameters()).device
    except StopIteration:  # a parameter-free model (e.g. a lookup table in a test)
        device = torch.device("cpu")
    out = []
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for x, y in zip(inputs.split(batch_size), targets.split(batch_size)):
            logp = F.log_softmax(model(x.to(device)).float(), dim=-1)
            picked = logp.gather(-1, y.clamp(min=0).to(device).unsqueeze(-1)).squeeze(-1)
            ce = -picked[:, facts.name_length - 1:] / math.log(2)  # the value positions
            out.append(ce.cpu().numpy())
    model.train(was_training)
    ce = np.concatenate(out, axis=0).astype(np.float64)
    assert (targets[:, facts.name_length - 1:] != IGNORE).all()
    return ce


def stored_bits(ce_bits, bits_per_fact: float, clip: bool = True) -> float:
    """Σ over facts of (log₂ K − CE in bits), each term clipped at 0 (``clip=True``); unclipped, the
    sum is a lower bound on the information the model holds about the values. Used by chapter 06."""
    saving = bits_per_fact - np.asarray(ce_bits, dtype=np.float64)
    if clip:
        saving = np.clip(saving, 0.0, None)
    return float(saving.sum())


def net_stored_bits(train_ce_bits, control_ce_bits, bits_per_fact: float) -> float:
    """Clipped stored bits on the training facts minus the same on control facts (the same names,
    values never seen): the chance savings that clipping counts are removed. Used by chapter 06."""
    return stored_bits(train_ce_bits, bits_per_fact) - stored_bits(control_ce_bits, bits_per_fact)


def bits_per_parameter(bits: float, n_params: int) -> float:
    """Stored bits divided by a parameter count (chapter 06)."""
    if n_params <= 0:
        raise ValueError(f"bits_per_parameter: n_params must be positive, got {n_params}")
    return float(bits) / float(n_params)


def quantize_weights(model: nn.Module, bits: int) -> nn.Module:
    """A copy of ``model`` whose weight matrices and embeddings (every parameter with ≥ 2 dimensions)
    are rounded to ``bits``-bit symmetric integers with one scale per tensor (max |w| ↦ 2^(bits−1) − 1);
    biases and layer norms stay in floating point. Used by chapter 06 (int8, int4)."""
    import copy

    if bits < 2:
        raise ValueError(f"quantize_weights: bits must be >= 2, got {bits}")
    levels = 2 ** (bits - 1) - 1
    quantized = copy.deepcopy(model)
    with torch.no_grad():
        for p in quantized.parameters():
            if p.dim() >= 2:
                scale = p.abs().max() / levels
                if scale > 0:
                    p.copy_(torch.round(p / scale).clamp(-levels, levels) * scale)
    return quantized


def _epoch_batches(n: int, batch_size: int):
    """A ``batch_fn`` that walks through fresh random permutations of ``n`` items, ``batch_size`` at a time."""
    state = {"order": None, "position": n}

    def indices(generator: torch.Generator) -> torch.Tensor:
        if state["position"] >= n:
            state["order"] = torch.randperm(n, generator=generator)
            state["position"] = 0
        picked = state["order"][state["position"]:state["position"] + batch_size]
        state["position"] += batch_size
        return picked

    return indices


def evaluate_capacity(model: nn.Module, facts: FactSet, control: FactSet) -> dict:
    """Stored bits of ``model`` on ``facts`` (clipped, unclipped, control, net). Used by chapter 06."""
    train_ce = value_ce_bits(model, facts)
    control_ce = value_ce_bits(model, control)
    b = facts.bits_per_fact
    return {"stored_bits": stored_bits(train_ce, b), "stored_bits_unclipped": stored_bits(train_ce, b, clip=False),
            "control_bits": stored_bits(control_ce, b), "net_bits": net_stored_bits(train_ce, control_ce, b),
            "accuracy": float((train_ce < 1.0).mean())}


def run_capacity(spec: CapacitySpec) -> dict:
    """Train one transformer of chapter 06 on its fact table and measure what it stored (also after
    int8 and int4 weight quantisation)."""
    facts = spec.facts.build()
    control = facts.with_values(np.random.default_rng(spec.control_seed).integers(
        0, facts.n_values, size=facts.values.shape))
    inputs, targets = lm_tensors(facts)
    device = default_device()
    model = seeded(lambda: Transformer(spec.model), spec.init_seed)
    pick = _epoch_batches(facts.n_individuals, spec.train.batch_size)

    def batch_fn(generator):
        idx = pick(generator)
        return inputs[idx], targets[idx]

    result = train(model, spec.train, batch_fn, lm_loss, device=device)
    out = evaluate_capacity(model, facts, control)
    for bits in (8, 4):
        q = evaluate_capacity(quantize_weights(model, bits), facts, control)
        out[f"net_bits_int{bits}"] = q["net_bits"]
    out.update({"n_params": model.num_params(non_embedding=False), "n_params_nonembedding": model.num_params(),
                "total_bits": facts.total_bits, "n_facts": facts.n_facts, "final_train_loss": result.train_loss[-1],
                "wall_time_s": result.wall_time_s, "device": device.type})
    return out


# --- tables and measurements ---------------------------------------------------------------------------


def results_table(specs: list[CapacitySpec], results: list[dict]):
    """One row per run: replicate, width, data-set size, exposures and everything measured (chapter 06)."""
    import pandas as pd

    rows = []
    for spec, res in zip(specs, results):
        rows.append({"replicate": spec.replicate, "width": spec.model.d_model, "n_layer": spec.model.n_layer,
                     "individuals": spec.facts.n_individuals, "exposures": spec.exposures, **res})
    table = pd.DataFrame(rows)
    table["bits_per_param"] = table["net_bits"] / table["n_params"]
    table["bits_per_param_nonembedding"] = table["net_bits"] / table["n_params_nonembedding"]
    return table


def plateau_table(table):
    """Per replicate and size, at the largest data set: net bits (also int8/int4) and bits per parameter
    at every exposure level (chapter 06)."""
    largest = table["individuals"].max()
    top = table[table["individuals"] == largest].copy()
    return top.sort_values(["exposures", "replicate", "n_params"]).reset_index(drop=True)


def growth_ratios(table, per_size: bool = False):
    """Per replicate: the ratio of stored net bits at the largest data set to those at half of it, at
    the highest exposure, averaged over sizes (chapter 06, Q1); ``per_size=True`` returns the ratio of
    every (replicate, width) instead. Below capacity the ratio is 2; on a plateau it is about 1."""
    top_e = table["exposures"].max()
    sizes = sorted(table["individuals"].unique())
    if len(sizes) < 2:
        raise ValueError("growth_ratios needs at least two data-set sizes")
    big, half = sizes[-1], sizes[-2]
    t = table[table["exposures"] == top_e]
    wide = t.pivot_table(index=["replicate", "width"], columns="individuals", values="net_bits")
    ratio = wide[big] / wide[half].clip(lower=1.0)
    return ratio if per_size else ratio.groupby(level="replicate").mean()


def peak_table(table, exposures: int | None = None):
    """Per replicate and size at ``exposures`` (default: the highest): the **peak** net stored bits over
    the data-set sizes — the capacity, as Allen-Zhu & Li take the peak over data sizes (chapter 06, Q2)."""
    e = table["exposures"].max() if exposures is None else exposures
    t = table[table["exposures"] == e]
    best = t.loc[t.groupby(["replicate", "width"])["net_bits"].idxmax()]
    return best.sort_values(["replicate", "n_params"]).reset_index(drop=True)


def capacity_slopes(table, exposures: int | None = None, column: str = "n_params"):
    """Per replicate: the least-squares slope of log(peak net bits) on log(parameters ``column``), at
    ``exposures`` (default: the highest). Chapter 06, Q2."""
    import pandas as pd

    p = peak_table(table, exposures)
    slopes = {}
    for r, g in p.groupby("replicate"):
        x, y = np.log(g[column].to_numpy(float)), np.log(np.clip(g["net_bits"].to_numpy(float), 1e-9, None))
        slopes[r] = float(np.polyfit(x, y, 1)[0]) if len(g) >= 2 else float("nan")
    return pd.Series(slopes)


def mean_bits_per_param(table, exposures: int, peak: bool = True):
    """Per replicate: net stored bits / all parameters at ``exposures``, averaged over sizes — at each
    size's peak over data-set sizes (``peak=True``, the capacity) or at the largest data set (chapter 06)."""
    p = peak_table(table, exposures) if peak else plateau_table(table)
    p = p[p["exposures"] == exposures]
    return (p["net_bits"] / p["n_params"]).groupby(p["replicate"]).mean()


def _measurement(per_replicate, seed: int, preconditions: dict, details: dict | None = None) -> Measurement:
    values = np.asarray(per_replicate, dtype=float)
    lo, hi = t_interval(values)
    return Measurement(estimate=float(np.mean(values)), interval=(lo, hi), seeds=[int(seed)],
                       preconditions=preconditions,
                       details={"per_replicate": values.tolist(), "replicates": int(values.size), **(details or {})})


def measure(table, seed: int = 0) -> dict[str, Measurement]:
    """Chapter 06's measurement of every claim (Q1–Q5) from :func:`results_table`'s rows; intervals are
    t intervals over replicates. A claim whose exposure level was not run gets NaN (undecided).
    ``seed`` is the chapter's seed, recorded in each measurement."""
    exposures = sorted(table["exposures"].unique())
    top_e, low_e = exposures[-1], exposures[0]
    largest = table["individuals"].max()
    growth = growth_ratios(table)
    top = table[(table["individuals"] == largest) & (table["exposures"] == top_e)]
    over_capacity = float((top["total_bits"] / top["net_bits"].clip(lower=1e-9)).min())
    param_range = float(table["n_params_nonembedding"].max() / table["n_params_nonembedding"].min())
    pre = {"plateau_growth": float(growth.mean()), "data_over_capacity": over_capacity}
    nan = [float("nan")] * len(growth)
    bpp_top = mean_bits_per_param(table, top_e)
    q3 = mean_bits_per_param(table, Q3_EXPOSURES) if Q3_EXPOSURES in exposures else nan
    # Q4 compares exposure levels on the same (largest) table, the only one trained at every level
    ratio = (mean_bits_per_param(table, low_e, peak=False) / mean_bits_per_param(table, top_e, peak=False)
             if low_e != top_e else nan)
    p = plateau_table(table)
    p = p[p["exposures"] == top_e]
    int8 = (p["net_bits_int8"] / p["net_bits"].clip(lower=1e-9)).groupby(p["replicate"]).mean()
    int4 = (p["net_bits_int4"] / p["net_bits"].clip(lower=1e-9)).groupby(p["replicate"]).mean()
    return {
        "Q1": _measurement(growth, seed, {"data_over_capacity": over_capacity}),
        "Q2": _measurement(capacity_slopes(table, column="n_params_nonembedding"), seed,
                           {**pre, "param_range": param_range},
                           {"exposures": int(top_e), "slope_all_parameters": float(capacity_slopes(table).mean())}),
        "Q3": _measurement(q3, seed, pre, {"exposures": Q3_EXPOSURES}),
        "Q3F": _measurement(bpp_top, seed, pre, {"exposures": int(top_e)}),
        "Q4": _measurement(ratio, seed, pre, {"low_exposures": int(low_e), "high_exposures": int(top_e)}),
        "Q5": _measurement(int8, seed, pre, {"int4_retention": float(np.mean(int4))}),
    }


def smoke_table(**overrides):
    """A synthetic results table for tests of :func:`measure` (chapter 06): sizes × data sets × exposures
    × replicates, with a chosen capacity law ``bits = a·P^slope``, plateau, exposure ratio and int8 loss."""
    import pandas as pd

    o = {"params": [2_000, 5_000, 10_000, 25_000], "individuals": [128, 256, 512], "exposures": [30, 100],
         "a": 1.0, "slope": 1.0, "growth": 1.0, "exposure_ratio": 0.5, "int8": 1.0, "noise": 0.02,
         "replicates": 3, "bits_per_individual": 160.0, "seed": 0}
    o.update(overrides)
    rng = np.random.default_rng(o["seed"])
    rows = []
    big = max(o["individuals"])
    for r in range(o["replicates"]):
        for i, P in enumerate(o["params"]):
            cap = o["a"] * P ** o["slope"]
            for m in o["individuals"]:
                for e in o["exposures"]:
                    if e != max(o["exposures"]) and m != big:
                        continue
                    data_bits = m * o["bits_per_individual"]
                    # below capacity everything is stored; the last doubling adds (growth − 1)
                    bits = min(data_bits, cap * (o["growth"] if m == big else 1.0))
                    if e != max(o["exposures"]):
                        bits *= o["exposure_ratio"]
                    bits *= float(np.exp(rng.normal(0, o["noise"])))
                    rows.append({"replicate": r, "width": 8 * (i + 1), "individuals": m, "exposures": e,
                                 "net_bits": bits, "net_bits_int8": bits * o["int8"], "net_bits_int4": bits * 0.3,
                                 "n_params": P, "n_params_nonembedding": int(0.8 * P), "total_bits": data_bits})
    table = pd.DataFrame(rows)
    table["bits_per_param"] = table["net_bits"] / table["n_params"]
    return table


__all__ = ["PROFILES", "SMOKE_OVERRIDES", "CLAIMS", "FactsSpec", "CapacitySpec", "model_config", "make_specs",
           "spec_cost", "value_ce_bits", "stored_bits", "net_stored_bits", "bits_per_parameter", "quantize_weights",
           "evaluate_capacity", "run_capacity", "results_table", "plateau_table", "peak_table", "growth_ratios", "capacity_slopes",
           "mean_bits_per_param", "measure", "smoke_table"]
