"""Claims as data, and verdicts that are evidence.

A :class:`Claim` names a published statement, where it comes from, **one statistic** the chapter
measures, how that statistic's 95 % interval is computed from the run's own replicates, and a
:class:`Criterion` on it — fixed in the chapter before anything is trained. It also lists the
:class:`Precondition` s under which the experiment can test the claim at all (the phenomenon lies
inside the sweep, a tuned value is interior to its grid, the largest model is not budget-limited …).

A chapter measures each claim as a :class:`Measurement` (estimate, interval, the seeds used and the
measured value of every precondition) and the book decides with three words:

- ``reproduced``: every precondition held and the criterion holds over the **whole** interval;
- ``not reproduced``: every precondition held and the criterion fails over the whole interval;
- ``inconclusive at this profile``: the interval straddles a threshold (underpowered), a
  precondition failed, the profile is too small to decide the claim, or the run was a smoke test.

Every verdict carries a one-sentence reason. No point estimate decides anything.

Used by: every chapter (through :meth:`scalinglab.chapter.ChapterRun.finish`), the report card and
the stability tool in ``ci/``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive at this profile"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)
#: Short labels for tables and badges, in the order of :data:`VERDICTS`.
VERDICT_SYMBOLS = {REPRODUCED: "✔", NOT_REPRODUCED: "✘", INCONCLUSIVE: "?"}
#: Colours for figures of verdicts (the report card's forest plots).
VERDICT_COLOURS = {REPRODUCED: "#2e7d32", NOT_REPRODUCED: "#c62828", INCONCLUSIVE: "#9e9e9e"}

#: The execution profiles every chapter defines: ``ci`` (2 CPU cores, ≤ 5 minutes) and ``full`` (a GPU).
PROFILES = ("ci", "full")

#: Where a claim's evidence comes from: models trained in the run (``trained``: replicates, an interval
#: that must cover, a simulation audit) or numbers a paper published (``published``: computed, not
#: sampled; the report card shows these apart).
EVIDENCE = ("trained", "published")


def _fmt(x: float) -> str:
    """A number for a sentence: 3 significant figures, no exponent for ordinary magnitudes."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "nan"
    return f"{x:.3g}"


# --- criteria ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Criterion:
    """A condition on one number: ``statistic ≥ low``, ``statistic ≤ high`` or ``low ≤ statistic ≤ high``.

    Build one with :func:`at_least`, :func:`at_most` or :func:`between`. :meth:`decide` applies it to an
    interval: True when every point of the interval satisfies it, False when none does, None when the
    interval straddles a threshold.
    """

    low: float | None = None
    high: float | None = None

    def __post_init__(self):
        if self.low is None and self.high is None:
            raise ValueError("a Criterion needs a low or a high threshold")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"Criterion: low {self.low} > high {self.high}")

    @property
    def thresholds(self) -> list[float]:
        return [t for t in (self.low, self.high) if t is not None]

    def holds(self, value: float) -> bool:
        """The criterion at a single value (used for preconditions, which are measured quantities)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def decide(self, lo: float, hi: float) -> bool | None:
        """True: the whole interval [lo, hi] satisfies the criterion; False: none of it does; None: it straddles."""
        if lo > hi:
            raise ValueError(f"interval with lo {lo} > hi {hi}")
        inside_low = self.low is None or lo >= self.low
        inside_high = self.high is None or hi <= self.high
        if inside_low and inside_high:
            return True
        below = self.low is not None and hi < self.low
        above = self.high is not None and lo > self.high
        if below or above:
            return False
        return None

    def describe(self, name: str = "statistic") -> str:
        if self.low is not None and self.high is not None:
            return f"{_fmt(self.low)} ≤ {name} ≤ {_fmt(self.high)}"
        if self.low is not None:
            return f"{name} ≥ {_fmt(self.low)}"
        return f"{name} ≤ {_fmt(self.high)}"


def at_least(threshold: float) -> Criterion:
    return Criterion(low=float(threshold))


def at_most(threshold: float) -> Criterion:
    return Criterion(high=float(threshold))


def between(low: float, high: float) -> Criterion:
    return Criterion(low=float(low), high=float(high))


@dataclass(frozen=True)
class Precondition:
    """A condition under which the experiment can test the claim at all, on one measured value."""

    name: str  # short key, e.g. "lr_interior"; the Measurement reports its value under this name
    description: str  # in words, e.g. "share of best learning rates on an edge of the grid"
    requirement: Criterion

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description,
                "requirement": self.requirement.describe(self.name)}


@dataclass(frozen=True)
class Revision:
    """A change of criterion against the previous edition: made before the run that tests it."""

    date: str  # ISO date of the revision
    previous: str  # the old criterion, in words
    reason: str  # why it changed (never "to match a result")


@dataclass(frozen=True)
class Claim:
    """A published claim and the criterion the book holds it to."""

    id: str  # short and unique across the book, e.g. "K1"
    statement: str  # the claim in one sentence
    source: str  # paper, and figure/table/section
    statistic: str  # the one number that decides it, e.g. "MARE(log-linear) / MARE(power law)"
    interval: str  # how the 95 % interval is computed, e.g. "bootstrap over seeds (2000 resamples)"
    criterion: Criterion
    preconditions: tuple[Precondition, ...] = ()
    decided_by: tuple[str, ...] = PROFILES  # profiles large enough to decide it
    paper_value: str | None = None  # the paper's number, when it gives one
    revisions: tuple[Revision, ...] = ()
    headline: bool = False  # the chapter's headline claim (must be decided at every seed)
    #: the interval method, a key of :data:`scalinglab.intervals.COVERING_METHODS` (None: not yet declared)
    method: str | None = None
    #: names of the chapter's ``WORLDS`` in which this claim is false: the simulation audit's rivals
    rivals: tuple[str, ...] = ()
    evidence: str = "trained"  # one of EVIDENCE

    def __post_init__(self):
        from .intervals import COVERING_METHODS

        unknown = set(self.decided_by) - set(PROFILES)
        if unknown:
            raise ValueError(f"Claim {self.id}: decided_by has unknown profiles {sorted(unknown)}; allowed: {PROFILES}")
        if self.method is not None and self.method not in COVERING_METHODS:
            raise ValueError(f"Claim {self.id}: method {self.method!r} is not a covering interval method; "
                             f"allowed: {sorted(COVERING_METHODS)}")
        if self.evidence not in EVIDENCE:
            raise ValueError(f"Claim {self.id}: evidence {self.evidence!r}; allowed: {EVIDENCE}")
        if isinstance(self.rivals, str):
            raise TypeError(f"Claim {self.id}: rivals must be a tuple of world names, got the string {self.rivals!r}")
        names = [p.name for p in self.preconditions]
        if len(set(names)) != len(names):
            raise ValueError(f"Claim {self.id}: precondition names must be unique, got {names}")

    @property
    def criterion_text(self) -> str:
        return self.criterion.describe(self.statistic)

    def to_dict(self) -> dict:
        return {"id": self.id, "statement": self.statement, "source": self.source,
                "statistic": self.statistic, "interval": self.interval, "criterion": self.criterion_text,
                "thresholds": self.criterion.thresholds,
                "preconditions": [p.to_dict() for p in self.preconditions],
                "decided_by": list(self.decided_by), "paper_value": self.paper_value,
                "revisions": [asdict(r) for r in self.revisions], "headline": self.headline,
                "method": self.method, "rivals": list(self.rivals), "evidence": self.evidence}


# --- measurements and verdicts ------------------------------------------------------------------------

@dataclass
class Measurement:
    """What a chapter measured for one claim: the statistic's estimate and 95 % interval, the seeds
    behind it, each precondition's measured value (by name), and any values reported beside it."""

    estimate: float
    interval: tuple[float, float]
    seeds: list[int]
    preconditions: dict[str, float] = field(default_factory=dict)
    details: dict = field(default_factory=dict)


@dataclass
class Verdict:
    """The outcome of one claim in one run: the full record written to ``<chapter>.verdicts.json``."""

    claim: dict
    verdict: str
    reason: str
    estimate: float | None
    interval: list[float | None]
    preconditions: list[dict]
    seeds: list[int]
    profile: str
    details: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.claim["id"]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["id"] = self.id
        d["statistic"] = self.claim["statistic"]
        d["thresholds"] = self.claim["thresholds"]
        d["revised"] = bool(self.claim["revisions"])
        return _jsonable(d)


def _jsonable(value):
    try:
        import numpy as np

        if isinstance(value, np.generic):
            value = value.item()
        elif isinstance(value, np.ndarray):
            value = value.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def judge(claim: Claim, measurement: Measurement, profile: str, smoke: bool = False) -> Verdict:
    """Decide one claim from its measurement, by the book's rule (see the module docstring)."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    missing = [p.name for p in claim.preconditions if p.name not in measurement.preconditions]
    if missing:
        raise KeyError(f"claim {claim.id}: no measured value for preconditions {missing}")
    pre_records, failed = [], []
    for p in claim.preconditions:
        value = measurement.preconditions[p.name]
        held = p.requirement.holds(value)
        pre_records.append({**p.to_dict(), "value": value, "held": held})
        if not held:
            failed.append(f"{p.description} is {_fmt(value)} (needs {p.requirement.describe(p.name)})")
    lo, hi = measurement.interval
    estimate = measurement.estimate
    stat, rule = claim.statistic, claim.criterion_text

    if smoke:
        verdict, reason = INCONCLUSIVE, "smoke run: sizes and steps are capped to test the code path, so nothing is decided"
    elif profile not in claim.decided_by:
        verdict = INCONCLUSIVE
        reason = (f"only the {' and '.join(claim.decided_by)} profile can decide this claim; at '{profile}' "
                  f"{stat} = {_fmt(estimate)} [{_fmt(lo)}, {_fmt(hi)}] is reported, not judged")
    elif not (_finite(estimate) and _finite(lo) and _finite(hi)):
        verdict, reason = INCONCLUSIVE, f"{stat} could not be measured (estimate {_fmt(estimate)}, interval [{_fmt(lo)}, {_fmt(hi)}])"
    elif failed:
        verdict, reason = INCONCLUSIVE, "precondition failed: " + "; ".join(failed)
    else:
        decided = claim.criterion.decide(float(lo), float(hi))
        span = f"{stat} = {_fmt(estimate)}, 95 % interval [{_fmt(lo)}, {_fmt(hi)}]"
        if decided is True:
            verdict, reason = REPRODUCED, f"{span}: the whole interval satisfies {rule}"
        elif decided is False:
            verdict, reason = NOT_REPRODUCED, f"{span}: the whole interval fails {rule}"
        else:
            shown = " and ".join(_fmt(t) for t in claim.criterion.thresholds)
            verdict, reason = INCONCLUSIVE, f"underpowered: {span} straddles the threshold {shown} of {rule}"
    return Verdict(claim=claim.to_dict(), verdict=verdict, reason=reason, estimate=estimate,
                   interval=[lo, hi], preconditions=pre_records, seeds=list(measurement.seeds),
                   profile=profile, details=_jsonable(measurement.details))


def evaluate(claims: list[Claim], measured: dict[str, Measurement], profile: str,
             smoke: bool = False) -> list[Verdict]:
    """Verdicts for ``claims``; ``measured[claim.id]`` is that claim's :class:`Measurement`."""
    ids = [c.id for c in claims]
    if len(set(ids)) != len(ids):
        raise ValueError(f"claim ids must be unique, got {ids}")
    missing = [i for i in ids if i not in measured]
    if missing:
        raise KeyError(f"no measurements for claims {missing}")
    extra = sorted(set(measured) - set(ids))
    if extra:
        raise KeyError(f"measurements for unknown claims {extra}")
    return [judge(c, measured[c.id], profile, smoke=smoke) for c in claims]


# --- tables for the chapter -----------------------------------------------------------------------------

def _claims_frame_class():
    """A DataFrame whose notebook display is one card per claim (statement, statistic, criterion,
    preconditions, profiles, rival world; a revision folded in a ``<details>``) instead of a wide table:
    a claims table of many long cells does not fit a book's column."""
    import html

    import pandas as pd

    class ClaimsFrame(pd.DataFrame):
        @property
        def _constructor(self):
            return ClaimsFrame

        def _repr_html_(self):
            cards = []
            for cid, row in self.iterrows():
                e = lambda x: html.escape(str(x))  # noqa: E731
                items = "".join(f"<li><strong>{e(k)}:</strong> {e(row[k])}</li>"
                                for k in ("statistic (95 % interval)", "criterion", "preconditions", "decided at",
                                          "audited against") if k in row and str(row[k]) != "—")
                revised = ""
                if "revised" in row and str(row["revised"]) != "—":
                    revised = (f"<details class='claim-revision'><summary>Revised against the previous edition"
                               f"</summary><p>{e(row['revised'])}</p></details>")
                cards.append(f"<div class='claims-card'><p><strong>{e(cid)}</strong> {e(row['claim'])} "
                             f"<em>({e(row['source'])})</em></p><ul>{items}</ul>{revised}</div>")
            return "<div class='claims-cards'>" + "".join(cards) + "</div>"

    return ClaimsFrame


def claims_table(claims: list[Claim], worlds: dict | None = None):
    """The claims, whole, for the chapter's claims section (shown before training). With the chapter's
    ``worlds`` (its ``WORLDS``), a column says which synthetic rival world each claim is audited against.
    A DataFrame (one row per claim); in a notebook it displays as one card per claim."""
    def audited(c: Claim) -> str:
        if c.evidence == "published":
            return "— (published numbers)"
        if not c.rivals:
            return "—"
        return "; ".join(f"{r}: {getattr((worlds or {}).get(r), 'description', '') or r}" for r in c.rivals)

    rows = []
    for c in claims:
        rows.append({
            "id": c.id + (" (headline)" if c.headline else ""),
            "claim": c.statement, "source": c.source, "statistic (95 % interval)": f"{c.statistic} — {c.interval}",
            "criterion": c.criterion_text,
            "preconditions": "; ".join(p.requirement.describe(p.description) for p in c.preconditions) or "—",
            "decided at": ", ".join(c.decided_by),
            "audited against": audited(c),
            "revised": "; ".join(f"{r.date}: was “{r.previous}” — {r.reason}" for r in c.revisions) or "—",
        })
    return _claims_frame_class()(rows).set_index("id")


def verdicts_table(verdicts: list[Verdict]):
    """The verdicts as a DataFrame: verdict, estimate and interval, criterion, reason."""
    import pandas as pd

    return pd.DataFrame([
        {"id": v.id, "verdict": f"{VERDICT_SYMBOLS[v.verdict]} {v.verdict}",
         "estimate [95 % interval]": f"{_fmt(v.estimate)} [{_fmt(v.interval[0])}, {_fmt(v.interval[1])}]",
         "criterion": v.claim["criterion"], "reason": v.reason}
        for v in verdicts
    ]).set_index("id")
