"""The simulation audit: can each claim's *design* come out the other way?

A negative control shows that a criterion fails on an input built to fail it. That is not enough: a
grid, a window or a statistic can decide a result by itself, whatever the models do. The audit runs a
chapter's own analysis on synthetic results from **worlds** whose truth is known:

- ``paper``: every claim true at the published effect size;
- for each claim, its **rival**: the most plausible world in which that claim is false (Kaplan's
  exponent instead of Chinchilla's, capacity ∝ non-embedding N, a pure power law instead of the S–E
  hyperbola, a per-token curve that itself jumps …).

A chapter module (``scalinglab.experiments.<module>``) provides, beside ``PROFILES`` and ``CLAIMS``:

- ``WORLDS``: ``{name: world}``, each a frozen dataclass (subclass :class:`World`) of the generative
  parameters, named as in the papers' equations, with a one-line ``description``; a reader builds
  another world with :func:`dataclasses.replace`. ``"paper"`` is required; every trained claim names
  its rivals in ``Claim.rivals``.
- ``simulate(world, settings, seed)``: results shaped exactly like the chapter's sweep at ``settings``
  (the same sizes, budgets, windows, seeds, test sets and evaluation), with noise at the level measured
  in real runs (the world's fields say where each level comes from);
- ``analyse(observed, settings, seed)``: ``{claim id: Measurement}`` — the function the notebook calls
  on its real runs, unchanged;
- optionally ``truth(world, settings)``: ``{claim id: true value of the statistic}`` in that world (the
  value the interval should contain), from which the audit measures each interval's **coverage** at the
  claim's own design. :func:`monte_carlo_truth` computes it from many replicates where no closed form
  exists.

:func:`rates` counts how often each verdict comes out in one world; :func:`audit` does it for ``paper``
and every rival and returns an :class:`AuditReport`: per claim its **power** P(reproduced | paper), its
**false-positive rate** P(reproduced | rival) (the largest over its rivals), how often the rival comes
out *not reproduced* (a precondition must not turn refutations into "inconclusive"), and the coverage.
The paper world is simulated at least :data:`MIN_PAPER_SIMS` times, so that power and coverage are
measured to better than a point. The book's bar (:meth:`AuditReport.problems`): a claim decided at the profile has a false-positive rate
≤ 5 % in every rival world and coverage ≥ 92 %; a headline decided at the profile has power ≥ 80 %.

Used by: every chapter module (``WORLDS``, ``simulate``, ``analyse``), ``ci/audit.py`` and
``ci/build_book.py`` (the audit numbers in each ``<chapter>.verdicts.json`` and on the report card).
"""

from __future__ import annotations

import importlib
import math
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from types import ModuleType

from .claims import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, Claim, judge
from .params import select_profile
from .seeds import derive_seed

#: The bar every chapter's audit must meet (see the module docstring).
MAX_FALSE_POSITIVE_RATE = 0.05
MIN_HEADLINE_POWER = 0.80
MIN_COVERAGE = 0.92
#: The paper world, where power and coverage are measured, gets at least this many simulations (outside a
#: smoke run). The binomial sd of a coverage near 95 % is 2.8 points at 60 simulations and 1.3 at 300: with
#: some thirty audited claims in the book, one interval that covers 95 % then reads below the 92 % bar in
#: about one audit in five (chapter 03's P4 read 90.7 % at 300 and covers 95.2 % in 4000). At 1000 the sd
#: is 0.7 points and such a misreading is a 4-sd event.
MIN_PAPER_SIMS = 1000


@dataclass(frozen=True, kw_only=True)
class World:
    """A synthetic truth: subclasses add the generative parameters, named as in the paper's equations."""

    description: str = ""


@dataclass
class Design:
    """An auditable design made of plain functions instead of a chapter module — for your own runs.

    ``claims``, ``worlds`` (with a ``"paper"`` entry), ``simulate(world, settings, seed)``,
    ``analyse(observed, settings, seed)`` and optionally ``truth(world, settings)`` play the roles of a
    chapter's ``CLAIMS``, ``WORLDS``, … (see the module docstring); ``settings`` is the one design the
    audit simulates (at every profile). Audited in this process only (``workers=1``).
    """

    name: str
    claims: list
    worlds: dict
    simulate: object
    analyse: object
    truth: object = None
    settings: dict = field(default_factory=dict)

    @property
    def __name__(self) -> str:  # what the audit's messages call it
        return self.name

    @property
    def CLAIMS(self) -> list:  # noqa: N802 - the chapter-module spelling
        return self.claims

    @property
    def WORLDS(self) -> dict:  # noqa: N802
        return self.worlds

    @property
    def PROFILES(self) -> dict:  # noqa: N802
        return {"ci": dict(self.settings), "full": dict(self.settings)}


# --- running one world ----------------------------------------------------------------------------------

def _module(module) -> ModuleType:
    return importlib.import_module(module) if isinstance(module, str) else module


def _truth(module, world, settings) -> dict | None:
    fn = getattr(module, "truth", None)
    return fn(world, settings) if callable(fn) else None


def trained_claims(module) -> list[Claim]:
    """The claims the audit concerns: those decided on models trained in the run."""
    return [c for c in _module(module).CLAIMS if c.evidence == "trained"]


def check_module(module) -> None:
    """Raise ``TypeError``/``ValueError`` if ``module`` lacks what the audit needs (see the module docstring)."""
    module = _module(module)
    for name in ("PROFILES", "CLAIMS", "WORLDS", "simulate", "analyse"):
        if not hasattr(module, name):
            raise TypeError(f"{module.__name__} has no {name}: the simulation audit needs PROFILES, CLAIMS, "
                            "WORLDS, simulate(world, settings, seed) and analyse(observed, settings, seed)")
    if "paper" not in module.WORLDS:
        raise ValueError(f"{module.__name__}.WORLDS needs a 'paper' world (every claim true); has {sorted(module.WORLDS)}")
    for c in trained_claims(module):
        if not c.rivals:
            raise ValueError(f"{module.__name__}: claim {c.id} names no rival world (Claim.rivals)")
        unknown = [r for r in c.rivals if r not in module.WORLDS]
        if unknown:
            raise ValueError(f"{module.__name__}: claim {c.id} names rival worlds {unknown} that are not in WORLDS "
                             f"({sorted(module.WORLDS)})")
        if c.method is None:
            raise ValueError(f"{module.__name__}: claim {c.id} declares no interval method (Claim.method)")


def audit_settings(module, profile: str = "ci", smoke: bool = False) -> dict:
    """The chapter's settings at ``profile`` (with its smoke caps when ``smoke``), as the notebook selects them."""
    module = _module(module)
    return select_profile(profile, module.PROFILES, smoke=smoke,
                          smoke_overrides=getattr(module, "SMOKE_OVERRIDES", None))


def _world(module, world):
    if isinstance(world, str):
        if world not in module.WORLDS:
            raise KeyError(f"{module.__name__}.WORLDS has no world {world!r}; it has {sorted(module.WORLDS)}")
        return world, module.WORLDS[world]
    name = next((k for k, v in module.WORLDS.items() if v == world), type(world).__name__)
    return name, world


@dataclass
class Tally:
    """How the verdicts of one claim came out over the simulations of one world."""

    claim: str
    world: str
    n: int = 0
    reproduced: int = 0
    not_reproduced: int = 0
    inconclusive: int = 0
    covered: int = 0
    coverage_n: int = 0
    estimates: list = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)  # why the inconclusive ones were inconclusive

    def add(self, verdict: str, reason: str, estimate, interval, truth) -> None:
        self.n += 1
        if verdict == REPRODUCED:
            self.reproduced += 1
        elif verdict == NOT_REPRODUCED:
            self.not_reproduced += 1
        else:
            self.inconclusive += 1
            self.reasons[_reason_kind(reason)] += 1
        self.estimates.append(_float(estimate))
        if truth is not None and math.isfinite(truth):
            lo, hi = (_float(x) for x in interval)
            self.coverage_n += 1
            self.covered += bool(math.isfinite(lo) and math.isfinite(hi) and lo <= truth <= hi)

    def merge(self, other: "Tally") -> None:
        for name in ("n", "reproduced", "not_reproduced", "inconclusive", "covered", "coverage_n"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.estimates += other.estimates
        self.reasons.update(other.reasons)

    def rates(self) -> dict:
        """Frequencies of the three verdicts, the coverage (None without a truth) and the median estimate."""
        n = max(self.n, 1)
        finite = sorted(e for e in self.estimates if math.isfinite(e))
        return {"reproduced": self.reproduced / n, "not_reproduced": self.not_reproduced / n,
                "inconclusive": self.inconclusive / n, "n": self.n,
                "coverage": self.covered / self.coverage_n if self.coverage_n else None,
                "median_estimate": finite[len(finite) // 2] if finite else None,
                "inconclusive_reasons": dict(self.reasons.most_common())}


def _float(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def _reason_kind(reason: str) -> str:
    """A short label of why a verdict was inconclusive: "underpowered", "precondition <names>", …"""
    if reason.startswith("underpowered"):
        return "underpowered"
    if reason.startswith("precondition failed"):
        return "precondition failed"
    if reason.startswith("only the"):
        return "profile cannot decide"
    if "could not be measured" in reason:
        return "not measured"
    return reason.split(":")[0][:40]


class _one_thread:
    """In this process, for the duration of a ``with``: one BLAS thread and one torch thread (restored after)."""

    def __enter__(self):
        from threadpoolctl import threadpool_limits

        self._blas = threadpool_limits(limits=1)
        try:
            import torch

            self._torch = torch.get_num_threads()
            torch.set_num_threads(1)
        except ImportError:  # pragma: no cover
            self._torch = None
        return self

    def __exit__(self, *exc):
        self._blas.restore_original_limits()
        if self._torch is not None:
            import torch

            torch.set_num_threads(self._torch)
        return False


def _limit_threads() -> None:
    """A worker process's initializer: one thread for BLAS and torch, for the process's life."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)
    except ImportError:  # pragma: no cover
        pass
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


def _simulate_chunk(module_name: str, world_name: str, world, settings: dict, profile: str,
                    sim_seeds: list[int], truth: dict | None) -> dict[str, Tally]:
    """Run the chapter's simulation and analysis for each seed and tally every trained claim's verdict."""
    module = _module(module_name)  # a module's name (in a worker process) or the module/Design itself
    claims = trained_claims(module)
    tallies = {c.id: Tally(c.id, world_name) for c in claims}
    for sim_seed in sim_seeds:
        try:
            observed = module.simulate(world, settings, sim_seed)
            measured = module.analyse(observed, settings, sim_seed)
        except Exception as exc:  # a world the analysis cannot handle is a finding: say where
            raise RuntimeError(f"{module.__name__}: simulate/analyse failed in world {world_name!r} at simulation "
                               f"seed {sim_seed}: {exc}") from exc
        for c in claims:
            if c.id not in measured:
                raise KeyError(f"{module.__name__}.analyse returned no measurement for claim {c.id}")
            v = judge(c, measured[c.id], profile)
            tallies[c.id].add(v.verdict, v.reason, v.estimate, v.interval, (truth or {}).get(c.id))
    return tallies


def rates(module, world, n_sims: int = 100, profile: str = "ci", seed: int = 0, *, smoke: bool = False,
          workers: int = 1, settings: dict | None = None) -> dict[str, dict]:
    """Each trained claim's verdict frequencies over ``n_sims`` simulations of ``world`` (a name in the
    chapter's ``WORLDS`` or a world object) at ``profile``: ``{claim id: Tally.rates()}``.

    Simulation i uses the seed ``derive_seed(seed, "audit", world name, i)``. ``workers > 1`` spreads the
    simulations over that many processes (the results do not depend on it).
    """
    return {k: t.rates() for k, t in _tallies(module, world, n_sims, profile, seed, smoke=smoke,
                                               workers=workers, settings=settings).items()}


def _tallies(module, world, n_sims, profile, seed, *, smoke=False, workers=1, settings=None) -> dict[str, Tally]:
    module = _module(module)
    name, world = _world(module, world)
    settings = audit_settings(module, profile, smoke) if settings is None else settings
    truth = _truth(module, world, settings)
    sim_seeds = [derive_seed(seed, "audit", name, i) for i in range(n_sims)]
    if workers <= 1 or n_sims < 2 * workers or isinstance(module, Design):
        with _one_thread():
            return _simulate_chunk(module, name, world, settings, profile, sim_seeds, truth)
    import concurrent.futures as cf
    import multiprocessing as mp

    chunks = [sim_seeds[i::workers] for i in range(workers)]
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                initializer=_limit_threads) as pool:
        parts = list(pool.map(_simulate_chunk, *zip(*[(module.__name__, name, world, settings, profile, ch, truth)
                                                      for ch in chunks])))
    merged = parts[0]
    for part in parts[1:]:
        for k, t in part.items():
            merged[k].merge(t)
    return merged


def monte_carlo_truth(module, world, settings: dict, replicates_key: str, n_replicates: int = 200,
                      seed: int = 0) -> dict[str, float]:
    """The statistic each claim's estimator converges to in ``world``: the chapter's own estimate on one
    simulated sweep with ``settings[replicates_key] = n_replicates`` seeds (for a chapter's ``truth``
    where no closed form exists)."""
    module = _module(module)
    big = dict(settings)
    big[replicates_key] = n_replicates
    measured = module.analyse(module.simulate(world, big, derive_seed(seed, "truth")), big, derive_seed(seed, "truth"))
    return {k: float(m.estimate) for k, m in measured.items()}


# --- the audit of a chapter -----------------------------------------------------------------------------

@dataclass
class AuditReport:
    """The audit of one chapter at one profile: verdict frequencies per world and claim, and the bar."""

    chapter: str
    profile: str
    n_sims: int
    seed: int
    claims: list[Claim]
    worlds: dict  # name -> description
    rates: dict[str, dict[str, dict]]  # world -> claim id -> Tally.rates()
    wall_time_s: float = 0.0

    def claim_row(self, c: Claim) -> dict:
        """One claim's audit: power, false-positive rate (worst rival), P(not reproduced | rival), coverage."""
        paper = self.rates.get("paper", {}).get(c.id, {})
        rival_rates = {r: self.rates.get(r, {}).get(c.id, {}) for r in c.rivals}
        fpr = max((x.get("reproduced", math.nan) for x in rival_rates.values()), default=math.nan)
        refuted = min((x.get("not_reproduced", math.nan) for x in rival_rates.values()), default=math.nan)
        decided = self.profile in c.decided_by
        return {"id": c.id, "headline": c.headline, "decided": decided, "rivals": list(c.rivals),
                "power": paper.get("reproduced"), "paper_not_reproduced": paper.get("not_reproduced"),
                "false_positive_rate": fpr, "rival_not_reproduced": refuted,
                "coverage": paper.get("coverage"), "n": paper.get("n", 0),
                "by_rival": {r: {k: x.get(k) for k in ("reproduced", "not_reproduced", "inconclusive", "n",
                                                       "coverage")} for r, x in rival_rates.items()},
                "paper_inconclusive_reasons": paper.get("inconclusive_reasons", {})}

    def rows(self) -> list[dict]:
        return [self.claim_row(c) for c in self.claims]

    def problems(self) -> list[str]:
        """Where the design fails the book's bar at this profile (empty when it meets it)."""
        out = []
        for c in self.claims:
            row = self.claim_row(c)
            if not row["decided"]:
                if c.headline and self.profile == "ci" and not c.revisions:
                    out.append(f"{c.id}: a headline not decided at ci needs a recorded reason (a Revision) "
                               "from the audit")
                continue
            for r, x in row["by_rival"].items():
                if x.get("reproduced") is not None and x["reproduced"] > MAX_FALSE_POSITIVE_RATE:
                    out.append(f"{c.id}: reproduced in rival world {r!r} in {x['reproduced']:.1%} of "
                               f"{x['n']} simulations (bar ≤ {MAX_FALSE_POSITIVE_RATE:.0%})")
            if c.headline and (row["power"] is None or row["power"] < MIN_HEADLINE_POWER):
                out.append(f"{c.id}: headline power {_pct(row['power'])} at {self.profile} "
                           f"(bar ≥ {MIN_HEADLINE_POWER:.0%})")
            if row["coverage"] is None:
                out.append(f"{c.id}: coverage not audited (the chapter gives no truth for it)")
            elif row["coverage"] < MIN_COVERAGE:
                out.append(f"{c.id}: its 95 % interval covers the truth in {row['coverage']:.1%} of the paper "
                           f"world's simulations (bar ≥ {MIN_COVERAGE:.0%})")
        return out

    def table(self):
        """The audit as a DataFrame, one row per claim (for ``ci/audit.py`` and the chapters)."""
        import pandas as pd

        rows = []
        for r in self.rows():
            rows.append({"claim": r["id"] + ("★" if r["headline"] else ""),
                         "decided at " + self.profile: "yes" if r["decided"] else "no",
                         "rival world(s)": ", ".join(r["rivals"]),
                         "power": r["power"], "false-positive rate": r["false_positive_rate"],
                         "rival not reproduced": r["rival_not_reproduced"], "coverage": r["coverage"],
                         "n": r["n"]})
        return pd.DataFrame(rows).set_index("claim")

    def verdict_fields(self, claim_id: str) -> dict:
        """What ``<chapter>.verdicts.json`` records for one claim: ``{world: {reproduced, not_reproduced,
        inconclusive, n, coverage}}`` for the paper world and its rivals, with power and false-positive rate."""
        c = next(c for c in self.claims if c.id == claim_id)
        row = self.claim_row(c)
        worlds = {w: {k: self.rates[w][c.id].get(k) for k in ("reproduced", "not_reproduced", "inconclusive",
                                                               "n", "coverage")}
                  for w in ["paper", *c.rivals] if c.id in self.rates.get(w, {})}
        return {"profile": self.profile, "n_sims": self.n_sims, "worlds": worlds, "power": row["power"],
                "false_positive_rate": row["false_positive_rate"], "rival_not_reproduced": row["rival_not_reproduced"],
                "coverage": row["coverage"], "rivals": list(c.rivals),
                "rival_descriptions": {r: self.worlds.get(r, "") for r in c.rivals}}

    def to_dict(self) -> dict:
        from .claims import _jsonable

        return _jsonable({"chapter": self.chapter, "profile": self.profile, "n_sims": self.n_sims, "seed": self.seed,
                          "wall_time_s": round(self.wall_time_s, 1), "worlds": self.worlds, "rates": self.rates,
                          "claims": self.rows(), "problems": self.problems(),
                          "verdict_fields": {c.id: self.verdict_fields(c.id) for c in self.claims}})


def _pct(x) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.0%}"


def sims_in(world: str, n_sims: int, smoke: bool = False, paper_sims: int | None = None) -> int:
    """How many simulations world ``world`` gets in an audit of ``n_sims`` per world: the paper world at
    least ``paper_sims`` (default :data:`MIN_PAPER_SIMS`; not in a smoke run), so its power and coverage
    are not misread by chance."""
    floor = MIN_PAPER_SIMS if paper_sims is None else paper_sims
    return max(n_sims, floor) if world == "paper" and not smoke else n_sims


def audit(module, n_sims: int = 100, profile: str = "ci", seed: int = 0, *, smoke: bool = False,
          workers: int = 1, paper_sims: int | None = None) -> AuditReport:
    """Audit every trained claim of a chapter module: :func:`rates` in ``paper`` and in every rival world.

    The paper world gets at least ``paper_sims`` simulations (default :data:`MIN_PAPER_SIMS`, what the
    book's bar is checked with; a demonstration that reports its own count may ask for fewer)."""
    module = _module(module)
    check_module(module)
    claims = trained_claims(module)
    names = ["paper", *sorted({r for c in claims for r in c.rivals} - {"paper"})]
    start = time.perf_counter()
    settings = audit_settings(module, profile, smoke)
    table = {w: rates(module, w, sims_in(w, n_sims, smoke, paper_sims), profile, seed, smoke=smoke,
                      workers=workers, settings=settings) for w in names}
    chapter = getattr(module, "CHAPTER", module.__name__.rsplit(".", 1)[-1])
    return AuditReport(chapter=chapter, profile=profile, n_sims=n_sims, seed=seed, claims=claims,
                       worlds={w: getattr(module.WORLDS[w], "description", "") for w in names}, rates=table,
                       wall_time_s=time.perf_counter() - start)


def audit_many(modules: list, n_sims: int = 100, profile: str = "ci", seed: int = 0, *, smoke: bool = False,
               workers: int = 1, chunk: int = 25) -> list[AuditReport]:
    """:func:`audit` of several chapter modules, with one pool of ``workers`` processes for all of them (the
    simulations are cut into chunks of ``chunk``; the counts do not depend on ``workers``)."""
    modules = [_module(m) for m in modules]
    jobs, plans = [], []
    for module in modules:
        check_module(module)
        claims = trained_claims(module)
        names = ["paper", *sorted({r for c in claims for r in c.rivals} - {"paper"})]
        settings = audit_settings(module, profile, smoke)
        plans.append((module, claims, names))
        for w in names:
            world = module.WORLDS[w]
            truth = _truth(module, world, settings)
            n_w = sims_in(w, n_sims, smoke)
            sim_seeds = [derive_seed(seed, "audit", w, i) for i in range(n_w)]
            for i in range(0, n_w, chunk):
                jobs.append((module.__name__, w, world, settings, profile, sim_seeds[i:i + chunk], truth))
    start = time.perf_counter()
    if workers <= 1:
        with _one_thread():
            parts = [_simulate_chunk(*job) for job in jobs]
    else:
        import concurrent.futures as cf
        import multiprocessing as mp

        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                    initializer=_limit_threads) as pool:
            parts = list(pool.map(_simulate_chunk, *zip(*jobs)))
    wall = time.perf_counter() - start
    merged: dict[tuple[str, str], dict[str, Tally]] = {}
    for job, part in zip(jobs, parts):
        key = (job[0], job[1])
        if key not in merged:
            merged[key] = part
        else:
            for k, t in part.items():
                merged[key][k].merge(t)
    reports = []
    for module, claims, names in plans:
        table = {w: {k: t.rates() for k, t in merged[(module.__name__, w)].items()} for w in names}
        chapter = getattr(module, "CHAPTER", module.__name__.rsplit(".", 1)[-1])
        reports.append(AuditReport(chapter=chapter, profile=profile, n_sims=n_sims, seed=seed, claims=claims,
                                   worlds={w: getattr(module.WORLDS[w], "description", "") for w in names},
                                   rates=table, wall_time_s=wall / max(len(modules), 1)))
    return reports


def chapter_module(slug: str) -> str:
    """The experiment module of a chapter slug: ``00_power_laws`` → ``scalinglab.experiments.power_laws``."""
    name = slug.split("_", 1)[1] if slug[:2].isdigit() and "_" in slug else slug
    return f"scalinglab.experiments.{name}"


def default_workers() -> int:
    """One audit process per core (at most 2 on the book's CI machine)."""
    return max(1, min(os.cpu_count() or 1, 2))


__all__ = ["World", "Design", "rates", "audit", "audit_many", "chapter_module", "AuditReport", "Tally", "monte_carlo_truth", "check_module",
           "audit_settings", "trained_claims", "MAX_FALSE_POSITIVE_RATE", "MIN_HEADLINE_POWER", "MIN_COVERAGE",
           "INCONCLUSIVE"]
