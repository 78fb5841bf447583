"""The simulation audit on a toy chapter whose answers are known: verdict rates, power, false positives,
coverage, the bar, determinism and the worker pool."""

import sys
import types
from dataclasses import dataclass

import numpy as np
import pytest

from scalinglab import audit
from scalinglab.claims import Claim, Measurement, Precondition, at_least
from scalinglab.intervals import t_interval


@dataclass(frozen=True, kw_only=True)
class MeanWorld(audit.World):
    mu: float            # the true per-seed mean
    sigma: float = 0.3   # seed-to-seed noise


def _toy(threshold=0.5, n_seeds=3, with_truth=True, guard=None):
    """A chapter with one claim: the mean over seeds is at least ``threshold``."""
    mod = types.ModuleType("toy_chapter")
    mod.PROFILES = {"ci": {"n_seeds": n_seeds}, "full": {"n_seeds": 10}}
    pre = (Precondition("n", "seeds", at_least(2)),) if guard is None else guard
    mod.CLAIMS = [Claim(id="T1", statement="the mean is large", source="toy", statistic="mean",
                        interval="t over seeds", criterion=at_least(threshold), preconditions=pre,
                        headline=True, method="seed_t", rivals=("null",))]
    mod.WORLDS = {"paper": MeanWorld(mu=1.5, description="mean 1.5"),
                  "null": MeanWorld(mu=0.0, description="mean 0")}

    def simulate(world, settings, seed):
        return np.random.default_rng(seed).normal(world.mu, world.sigma, settings["n_seeds"])

    def analyse(values, settings, seed):
        return {"T1": Measurement(float(values.mean()), t_interval(values), list(range(len(values))),
                                  {"n": len(values)})}

    mod.simulate, mod.analyse = simulate, analyse
    if with_truth:
        mod.truth = lambda world, settings: {"T1": world.mu}
    sys.modules[mod.__name__] = mod
    return mod


def test_rates_power_false_positives_and_coverage():
    mod = _toy()
    report = audit.audit(mod, n_sims=400, seed=1)
    row = report.claim_row(mod.CLAIMS[0])
    assert 0.7 < row["power"] < 0.9  # t on 2 df: the half-width 4.3·s/√3 (s ≈ 0.3) reaches below 0.5 at times
    assert row["false_positive_rate"] == 0.0        # the null never passes
    assert row["rival_not_reproduced"] > 0.3        # … and often fails outright (hi < 0.5)
    assert 0.92 <= row["coverage"] <= 0.98          # the t interval covers ~95 %
    assert report.problems() == []
    assert set(report.to_dict()) >= {"rates", "claims", "problems"}
    fields = report.verdict_fields("T1")
    assert set(fields["worlds"]) == {"paper", "null"} and fields["worlds"]["null"]["n"] == 400


def test_the_paper_world_gets_enough_simulations_to_measure_coverage():
    # 40 per world, but the paper world (power and coverage) gets MIN_PAPER_SIMS; the rival keeps 40
    mod = _toy()
    for report in (audit.audit(mod, n_sims=40, seed=7), audit.audit_many([mod], n_sims=40, seed=7)[0]):
        assert report.rates["paper"]["T1"]["n"] == audit.MIN_PAPER_SIMS
        assert report.rates["null"]["T1"]["n"] == 40
    same = audit.audit(mod, n_sims=40, seed=7).rates["paper"]["T1"]
    assert same == audit.audit_many([mod], n_sims=40, seed=7, chunk=7)[0].rates["paper"]["T1"]
    assert audit.audit(mod, n_sims=1200, seed=7).rates["paper"]["T1"]["n"] == 1200   # a floor, not a cap


def test_a_design_that_decides_by_itself_is_caught():
    # a threshold below the null's mean: the rival world comes out reproduced, and the bar says so
    mod = _toy(threshold=-1.0)
    report = audit.audit(mod, n_sims=200, seed=2)
    problems = report.problems()
    assert any("rival world 'null'" in p for p in problems), problems


def test_underpowered_headline_and_missing_truth_are_problems():
    mod = _toy(threshold=1.4, with_truth=False)
    problems = audit.audit(mod, n_sims=100, seed=3).problems()
    assert any("headline power" in p for p in problems)
    assert any("coverage not audited" in p for p in problems)


def test_a_precondition_that_turns_refutations_into_inconclusive_shows_in_the_rates():
    # a guard computed from the outcome: "the estimate is at least 0.5" — the rival can then never fail
    mod = _toy()

    def analyse(values, settings, seed):
        return {"T1": Measurement(float(values.mean()), t_interval(values), [0, 1, 2], {"n": float(values.mean())})}

    mod.analyse = analyse
    mod.CLAIMS = [Claim(**{**mod.CLAIMS[0].__dict__,
                           "preconditions": (Precondition("n", "the estimate", at_least(0.5)),)})]
    r = audit.rates(mod, "null", n_sims=100, seed=4)["T1"]
    assert r["not_reproduced"] == 0.0 and r["inconclusive"] == 1.0
    assert r["inconclusive_reasons"] == {"precondition failed": 100}


def test_deterministic_and_independent_of_workers():
    mod = _toy()
    a = audit.rates(mod, "paper", n_sims=30, seed=5)
    b = audit.rates(mod, "paper", n_sims=30, seed=5)
    assert a == b
    with pytest.raises(KeyError, match="no world"):
        audit.rates(mod, "nowhere", n_sims=2)


def test_worker_pool_gives_the_same_counts():
    # a real module (importable by name in a fresh process): the toy lives in this test file
    from scalinglab import audit as _  # noqa: F401
    mod = pytest.importorskip("tests.audit_toy")
    one = audit.rates(mod, "paper", n_sims=8, seed=6)
    two = audit.rates(mod, "paper", n_sims=8, seed=6, workers=2)
    assert one["T1"]["reproduced"] == two["T1"]["reproduced"] and one["T1"]["n"] == two["T1"]["n"] == 8


def test_check_module_names_what_is_missing():
    mod = _toy()
    del mod.simulate
    with pytest.raises(TypeError, match="simulate"):
        audit.check_module(mod)
    mod = _toy()
    mod.CLAIMS = [Claim(**{**mod.CLAIMS[0].__dict__, "rivals": ("elsewhere",)})]
    with pytest.raises(ValueError, match="elsewhere"):
        audit.check_module(mod)
    with pytest.raises(TypeError, match="tuple"):
        Claim(**{**mod.CLAIMS[0].__dict__, "rivals": "null"})
    with pytest.raises(ValueError, match="covering"):
        Claim(**{**mod.CLAIMS[0].__dict__, "method": "hierarchical_bootstrap"})


def test_every_chapter_of_the_book_declares_its_worlds_and_is_audited():
    # the book build audits exactly the chapters whose module declares WORLDS: that must be all of them
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "ci"))
    from audit import audited_chapters
    from build_book import chapter_notebooks

    chapters = [nb.stem for nb in chapter_notebooks()]
    assert len(chapters) >= 7 and audited_chapters() == chapters
    for slug in chapters:
        audit.check_module(audit.chapter_module(slug))
