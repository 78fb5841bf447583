"""Your own runs: a table of (parameters, tokens, loss) → a fitted scaling law with covering intervals.

A researcher with a CSV of training runs wants what the book's chapters do — a law fitted honestly,
intervals that cover, a claim decided on the whole interval — without writing a chapter. This module is
that path, built only on the library's public pieces:

- :func:`load_runs` reads and checks a table (a CSV path or a DataFrame): every column the law needs is
  present, numeric, finite and positive, and there are enough rows; a bad table fails with the row and
  column named, before anything is fitted;
- :func:`fit_law` fits ``"power"`` (L(N) = E + A·N^(−α), :func:`scalinglab.fit.fit_power_law`) or
  ``"chinchilla"`` (L(N, D) = E + A/N^α + B/D^β, :func:`scalinglab.fit.fit_chinchilla_law`) and gives every
  parameter — and, for Chinchilla's law, the compute-optimal exponent a = β/(α + β) — a delete-one-group
  jackknife interval (:func:`scalinglab.intervals.jackknife_interval`). The groups are the table's
  replicates when it has a seed column, else its model sizes: runs of one size share an architecture
  and a tuning, so they are not independent evidence about the law;
- :class:`LawWorld`, :func:`simulate_table` and :func:`analyse_table` make the same analysis auditable
  (``scalinglab.audit``) on synthetic tables of the same design, which is how the "bring your own runs"
  page shows that its intervals cover and that its claim can come out the other way.

``python -m scalinglab fit RUNS.csv --law chinchilla`` is the same as a command (:mod:`scalinglab.cli`).

Used by: the book's "Bring your own runs" page and ``scalinglab.cli``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .audit import World
from .fit import ChinchillaLaw, fit_chinchilla_law, fit_power_law
from .intervals import jackknife_interval

#: The laws :func:`fit_law` knows: the columns each needs and the fewest rows it can be fitted to.
LAWS = {
    "power": {"columns": ("N", "loss"), "min_rows": 4, "form": "L(N) = E + A·N^(−α)",
              "parameters": ("E", "A", "alpha")},
    "chinchilla": {"columns": ("N", "D", "loss"), "min_rows": 8, "form": "L(N, D) = E + A/N^α + B/D^β",
                   "parameters": ("E", "A", "B", "alpha", "beta", "a")},
}


class RunTableError(ValueError):
    """A table of runs that cannot be fitted: the message names the row and column."""


def _columns(law: str) -> tuple[str, ...]:
    if law not in LAWS:
        raise RunTableError(f"law must be one of {', '.join(repr(k) for k in LAWS)}; got {law!r}")
    return LAWS[law]["columns"]


def load_runs(source, law: str = "chinchilla", *, rename: dict | None = None, group: str | None = None):
    """The table of runs as a DataFrame with the columns ``law`` needs (``N``, ``D``, ``loss``), checked.

    ``source``: a CSV path or a DataFrame. ``rename`` maps the table's own column names to the law's
    (e.g. ``{"params": "N", "tokens": "D", "loss_c4_val": "loss"}``). ``group``: a column of replicate ids
    (seeds), kept as ``group``. Raises :class:`RunTableError` naming the row (1-based, as a spreadsheet
    counts data rows) and column of the first bad value: a missing column, a value that is not a number,
    not finite or not positive, or too few rows for the law.
    """
    import pandas as pd

    needed = _columns(law)
    name = str(source) if isinstance(source, (str, Path)) else "the table"
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise RunTableError(f"{name}: no such file")
        try:
            frame = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise RunTableError(f"{name}: not a readable CSV table ({exc})") from exc
    else:
        frame = pd.DataFrame(source)
    frame = frame.rename(columns=rename or {})
    missing = [c for c in (*needed, *([group] if group else [])) if c not in frame.columns]
    if missing:
        raise RunTableError(f"{name}: no column {', '.join(repr(c) for c in missing)} (the {law} law needs "
                            f"{', '.join(needed)}; the table has {', '.join(map(str, frame.columns)) or 'no columns'})")
    for column in needed:
        values = pd.to_numeric(frame[column], errors="coerce")
        for row, (raw, value) in enumerate(zip(frame[column], values), start=1):
            if not (isinstance(value, float) or isinstance(value, (int, np.number))) or not math.isfinite(value):
                raise RunTableError(f"{name}: row {row}, column {column!r}: {raw!r} is not a finite number")
            if value <= 0:
                raise RunTableError(f"{name}: row {row}, column {column!r}: {raw!r} must be positive")
        frame[column] = values.astype(float)
    rows = len(frame)
    if rows < LAWS[law]["min_rows"]:
        raise RunTableError(f"{name}: {rows} row(s); the {law} law ({LAWS[law]['form']}) needs at least "
                            f"{LAWS[law]['min_rows']}")
    out = frame[list(needed)].copy()
    if group:
        out["group"] = frame[group].to_numpy()
    return out.reset_index(drop=True)


@dataclass
class LawFit:
    """A law fitted to a table of runs: each parameter's estimate and 95 % jackknife interval."""

    law: str
    estimates: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    groups: int
    grouped_by: str
    rows: int
    rmse_log: float
    details: dict = field(default_factory=dict)

    def table(self):
        """The fit as a DataFrame: parameter, estimate, 95 % interval (lower, upper)."""
        import pandas as pd

        return pd.DataFrame([{"parameter": k, "estimate": v, "lower 95 %": self.intervals[k][0],
                              "upper 95 %": self.intervals[k][1]} for k, v in self.estimates.items()]
                            ).set_index("parameter")

    def to_dict(self) -> dict:
        return {"law": self.law, "form": LAWS[self.law]["form"], "estimates": self.estimates,
                "intervals": {k: list(v) for k, v in self.intervals.items()}, "groups": self.groups,
                "grouped_by": self.grouped_by, "rows": self.rows, "rmse_log": self.rmse_log}


def _fit_parameters(frame, law: str, start: dict | None = None) -> dict[str, float]:
    """The law's parameters fitted to ``frame``; ``start`` (a fit to a larger table) warm-starts a refit."""
    if law == "power":
        fit = fit_power_law(frame["N"].to_numpy(), frame["loss"].to_numpy(), n_bootstrap=0)
        return {"E": fit.E, "A": fit.A, "alpha": fit.alpha}
    starts = None if start is None else [ChinchillaLaw(*(start[k] for k in ("E", "A", "B", "alpha", "beta")))]
    fit = fit_chinchilla_law(frame["N"].to_numpy(), frame["D"].to_numpy(), frame["loss"].to_numpy(), n_bootstrap=0,
                             starts=starts)
    return {**fit.law.to_dict(), "a": fit.a}


def _rmse_log(frame, law: str, p: dict) -> float:
    if law == "power":
        pred = p["E"] + p["A"] * frame["N"].to_numpy() ** (-p["alpha"])
    else:
        pred = ChinchillaLaw(p["E"], p["A"], p["B"], p["alpha"], p["beta"]).loss(frame["N"], frame["D"])
    return float(np.sqrt(np.mean((np.log(frame["loss"].to_numpy()) - np.log(pred)) ** 2)))


def fit_law(frame, law: str = "chinchilla") -> LawFit:
    """Fit ``law`` to a table from :func:`load_runs`, with a delete-one-group jackknife interval (Student's t
    on groups − 1 degrees of freedom) for every parameter. Groups: the ``group`` column when present
    (replicates), else one group per model size N. Needs at least three groups."""
    _columns(law)
    grouped_by = "group" if "group" in frame.columns else "N"
    keys = list(dict.fromkeys(frame[grouped_by].tolist()))
    if len(keys) < 3:
        raise RunTableError(f"the table has {len(keys)} distinct value(s) of {grouped_by!r}; a jackknife interval "
                            "needs at least 3 groups")
    import pandas as pd

    parts = [frame[frame[grouped_by] == k] for k in keys]
    estimates = _fit_parameters(frame, law)
    cache: dict[tuple, dict] = {tuple(id(g) for g in parts): estimates}

    def fitted(groups) -> dict:
        # leave-one-group-out refits start from the fit to every group (a grid of starts only once)
        key = tuple(id(g) for g in groups)
        if key not in cache:
            cache[key] = _fit_parameters(pd.concat(groups), law, start=estimates)
        return cache[key]

    intervals = {name: jackknife_interval(lambda gs, name=name: fitted(gs)[name], parts)
                 for name in LAWS[law]["parameters"]}
    return LawFit(law=law, estimates={k: float(v) for k, v in estimates.items()}, intervals=intervals,
                  groups=len(keys), grouped_by=grouped_by, rows=len(frame), rmse_log=_rmse_log(frame, law, estimates))


# --- auditing the analysis on synthetic tables of the same design -----------------------------------------

@dataclass(frozen=True, kw_only=True)
class LawWorld(World):
    """A synthetic truth for a table of runs: Chinchilla's L(N, D) = E + A/N^α + B/D^β (Hoffmann et al. 2022,
    Eq. 2) and multiplicative noise of ``sigma`` (the log-residual scale) on each run's loss, plus
    ``size_sigma``, noise shared by all runs of one size (an architecture or tuning effect)."""

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    sigma: float
    size_sigma: float = 0.0

    @property
    def law(self) -> ChinchillaLaw:
        return ChinchillaLaw(self.E, self.A, self.B, self.alpha, self.beta)


def simulate_table(world: LawWorld, design, seed: int):
    """A table like ``design`` (its N and D columns) with losses drawn from ``world``."""
    rng = np.random.default_rng(seed)
    frame = design[["N", "D"]].copy()
    sizes = {n: rng.normal(0.0, world.size_sigma) for n in frame["N"].unique()}
    shared = frame["N"].map(sizes).to_numpy()
    noise = rng.normal(0.0, world.sigma, len(frame))
    frame["loss"] = world.law.loss(frame["N"], frame["D"]) * np.exp(shared + noise)
    return frame


def analyse_table(frame, law: str = "chinchilla") -> LawFit:
    """:func:`fit_law` (the same analysis for a real or a simulated table)."""
    return fit_law(frame, law)
